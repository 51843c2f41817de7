/**
 * ControllerClient: what a policy runner, a script or a test uses to drive robots through a hub
 * (and, with `role: 'viewer'`, to watch them read-only).
 *
 *   const c = await ControllerClient.connect({ url, token, name: 'policy' });
 *   await c.waitForRobot('emu-1');
 *   const { limits } = await c.lease('emu-1');          // also subscribes to its observations
 *   c.on('observation', (obs) => { … obs.state['ee.pose'] … });
 *   const ack = await c.command('emu-1', [dx, dy, dz, dyaw, grip]);   // ack.sent = what the robot got
 *   await c.estop('emu-1', 'operator');  await c.reset('emu-1');
 *   c.estimate('emu-1', { t, camera: 'camera.front', blocks });   // what a pose estimator saw, for viewers
 *   await c.release('emu-1');  await c.close();
 *
 * Every request carries an id and resolves on the hub's `ok` (or the robot's `ack`), or rejects
 * with a `BridgeError` carrying the hub's error code.
 */
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { SUBPROTOCOL, parseMessage } from './protocol.ts';
import type {
  ActionForm, ActionVector, ClientMessage, ClientMessageOf, ControllerAck, ErrorCode, Frame, HubMessage, HubMessageOf, Observation,
  RobotInfo, RobotState, SafetyLimits,
} from './protocol.ts';

export class BridgeError extends Error {
  readonly code: ErrorCode | 'timeout' | 'closed';
  constructor(code: ErrorCode | 'timeout' | 'closed', message: string) {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
  }
}

export interface ControllerClientOptions {
  url: string;
  token: string;
  name?: string;
  role?: 'controller' | 'viewer';
  /** Request timeout (default 5 s). */
  timeoutMs?: number;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Extra headers for the upgrade request (e.g. an Origin, in tests). */
  headers?: Record<string, string>;
}

export interface ControllerClientEvents {
  observation: [Observation];
  frame: [Frame, string | undefined];
  ack: [ControllerAck];
  robot_state: [string, RobotState];
  robots: [RobotInfo[]];
  estop: [HubMessageOf<'estop'>];
  /** A controller's estimate of a subscribed robot's blocks (since 1.2). */
  estimate: [HubMessageOf<'estimate'>];
  status: [HubMessageOf<'status'>];
  hubError: [HubMessageOf<'error'>];
  close: [{ code: number; reason: string }];
}

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ControllerClient extends EventEmitter<ControllerClientEvents> {
  readonly ws: WebSocket;
  readonly session: string;
  readonly robots = new Map<string, RobotInfo>();
  private readonly byHandle = new Map<number, string>();
  private readonly timeoutMs: number;
  private nextId = 1;
  private readonly requests = new Map<number, Waiter<HubMessageOf<'ok'>>>();
  private readonly commands = new Map<string, Waiter<ControllerAck>>();
  /** The seq the next command to each robot carries. */
  private readonly seqs = new Map<string, number>();
  /** Seq of the last estimate this client published (one sequence over all robots). */
  private estimateSeq = 0;
  private pings = new Map<number, Waiter<number>>();
  private closed = false;

  private constructor(ws: WebSocket, welcome: HubMessageOf<'welcome'>, timeoutMs: number) {
    super();
    this.ws = ws;
    this.session = welcome.session;
    this.timeoutMs = timeoutMs;
    this.setRobots(welcome.robots);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', (code, reason) => {
      this.closed = true;
      const err = new BridgeError('closed', `connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
      for (const w of [...this.requests.values(), ...this.commands.values(), ...this.pings.values()]) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      this.requests.clear();
      this.commands.clear();
      this.pings.clear();
      this.emit('close', { code, reason: reason.toString() });
    });
  }

  /** Opens a connection and resolves after the hub's `welcome`. Rejects with the HTTP refusal if any. */
  static connect(options: ControllerClientOptions): Promise<ControllerClient> {
    const url = new URL(options.url);
    url.searchParams.set('role', options.role ?? 'controller');
    if (options.name) url.searchParams.set('name', options.name);
    const ws = new WebSocket(url, [SUBPROTOCOL], {
      headers: { Authorization: `Bearer ${options.token}`, ...(options.headers ?? {}) },
      perMessageDeflate: false,
      maxPayload: 64 << 20,
      handshakeTimeout: options.timeoutMs ?? 5000,
      ...(options.tls ?? {}),
    });
    return new Promise((resolve, reject) => {
      const fail = (e: Error): void => { ws.removeAllListeners(); ws.on('error', () => {}); ws.terminate(); reject(e); };
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => fail(new BridgeError('forbidden', `hub refused the connection: ${res.statusCode} ${body.trim()}`)));
      });
      ws.once('error', (e) => fail(e));
      ws.once('close', (code, reason) => fail(new BridgeError('closed', `closed before welcome (${code} ${reason.toString()})`)));
      ws.once('message', (data) => {
        const p = parseMessage((data as Buffer).toString('utf8'), { from: 'hub' });
        if (!p.ok || p.msg.op !== 'welcome') return fail(new Error(`expected welcome from the hub, got ${p.ok ? p.msg.op : p.error.message}`));
        ws.removeAllListeners();
        ws.on('error', () => {});
        const client = new ControllerClient(ws, p.msg, options.timeoutMs ?? 5000);
        // The welcome carries the first page of the robot list; fetch the rest before resolving.
        client.loadRemainingRobots(p.msg).then(() => resolve(client), (e: Error) => { ws.terminate(); reject(e); });
      });
    });
  }

  private async loadRemainingRobots(welcome: HubMessageOf<'welcome'>): Promise<void> {
    if (welcome.robotsTotal === undefined || welcome.robots.length >= welcome.robotsTotal) return;
    let after = welcome.robots.length ? welcome.robots[welcome.robots.length - 1].id : undefined;
    for (let pages = 0; pages < 10_000; pages++) {
      const ok = await this.request({ op: 'list_robots', ...(after !== undefined ? { after } : {}) });
      for (const r of ok.robots ?? []) this.upsertRobot(r);
      if (!ok.next) break;
      after = ok.next;
    }
  }

  private upsertRobot(r: RobotInfo): void {
    this.robots.set(r.id, r);
    this.byHandle.set(r.handle, r.id);
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  /** Resolves when the robot is registered and connected (rejects after `timeoutMs`). */
  waitForRobot(id: string, timeoutMs = 10_000): Promise<RobotInfo> {
    const now = this.robots.get(id);
    if (now?.state.connected) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const r = this.robots.get(id);
        if (r?.state.connected) {
          clearTimeout(timer);
          this.off('robots', check);
          this.off('robot_state', check);
          resolve(r);
        }
      };
      const timer = setTimeout(() => {
        this.off('robots', check);
        this.off('robot_state', check);
        reject(new BridgeError('timeout', `robot ${id} did not come online within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('robots', check);
      this.on('robot_state', check);
    });
  }

  /** Takes the exclusive lease; subscribes to the robot's observations unless `subscribe: false`. */
  async lease(robot: string, options: { subscribe?: boolean; channels?: string[] } = {}): Promise<{ limits: SafetyLimits }> {
    const ok = await this.request({ op: 'lease', robot });
    // Seqs belong to the lease: continue from where the hub says this one starts.
    if (ok.seq !== undefined) this.seqs.set(robot, ok.seq);
    if (options.subscribe !== false) await this.subscribe(robot, options.channels ?? []);
    return { limits: ok.limits! };
  }

  async release(robot: string): Promise<void> {
    await this.request({ op: 'release', robot });
  }

  /** Sends a command and resolves with the ack: `sent` is exactly what the robot was sent. */
  command(robot: string, action: ActionVector, options: { form?: ActionForm } = {}): Promise<ControllerAck> {
    const seq = this.sendCommand(robot, action, options);
    return new Promise((resolve, reject) => {
      const key = `${robot}\u0000${seq}`;
      const timer = setTimeout(() => {
        this.commands.delete(key);
        reject(new BridgeError('timeout', `no ack for command ${seq} to ${robot} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.commands.set(key, { resolve, reject, timer });
    });
  }

  /** Fire and forget; returns the sequence number (acks arrive as 'ack' events). */
  sendCommand(robot: string, action: ActionVector, options: { form?: ActionForm; t?: number } = {}): number {
    const seq = this.seqs.get(robot) ?? 1;
    this.seqs.set(robot, (seq + 1) >>> 0);
    this.send({ op: 'command', robot, seq, action, ...(options.form ? { form: options.form } : {}), ...(options.t !== undefined ? { t: options.t } : {}) });
    return seq;
  }

  async estop(robot: string, reason = 'operator'): Promise<void> {
    await this.request({ op: 'estop', robot, reason });
  }

  async reset(robot: string): Promise<void> {
    await this.request({ op: 'reset', robot });
  }

  /**
   * Publishes what a pose estimator saw of `robot`'s blocks, for its subscribers (viewers) to
   * draw; fire and forget, like observations (the hub answers only a bad one, as a hubError).
   * Returns the estimate's seq.
   */
  estimate(robot: string, e: Omit<ClientMessageOf<'estimate'>, 'op' | 'robot' | 'seq'>): number {
    const seq = (this.estimateSeq = (this.estimateSeq + 1) >>> 0);
    this.send({ ...e, op: 'estimate', robot, seq });
    return seq;
  }

  /** Observations of `robot` (or `*`: every robot); `channels` picks binary channels ([] for none). */
  async subscribe(robot: string, channels?: string[]): Promise<void> {
    await this.request({ op: 'subscribe', robot, ...(channels ? { channels } : {}) });
  }

  async unsubscribe(robot: string): Promise<void> {
    await this.request({ op: 'unsubscribe', robot });
  }

  /** Round trip to the hub in ms. */
  ping(): Promise<number> {
    const id = this.nextId++;
    const t0 = performance.now();
    this.send({ op: 'ping', id });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pings.delete(id); reject(new BridgeError('timeout', 'no pong')); }, this.timeoutMs);
      this.pings.set(id, { resolve: () => resolve(performance.now() - t0), reject, timer });
    });
  }

  /** Sends any client message as is (for tests and tools). */
  send(msg: ClientMessage): void {
    if (this.isOpen) this.ws.send(JSON.stringify(msg));
  }

  close(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000, 'bye');
      setTimeout(() => { this.ws.terminate(); resolve(); }, 1000).unref();
    });
  }

  // -------------------------------------------------------------------------------------------

  private request(msg: Extract<ClientMessage, { id?: unknown }>): Promise<HubMessageOf<'ok'>> {
    if (!this.isOpen) return Promise.reject(new BridgeError('closed', 'connection is closed'));
    const id = this.nextId++;
    this.send({ ...msg, id } as ClientMessage);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(id);
        reject(new BridgeError('timeout', `no answer to ${msg.op} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.requests.set(id, { resolve, reject, timer });
    });
  }

  private setRobots(list: RobotInfo[]): void {
    this.robots.clear();
    this.byHandle.clear();
    for (const r of list) {
      this.robots.set(r.id, r);
      this.byHandle.set(r.handle, r.id);
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const p = parseMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (p.ok) this.emit('frame', p.msg.frame, this.byHandle.get(p.msg.frame.handle));
      return;
    }
    const p = parseMessage(data.toString('utf8'), { from: 'hub' });
    if (!p.ok) return;
    const m: HubMessage = p.msg;
    switch (m.op) {
      case 'ok': {
        if (typeof m.id === 'number') {
          const w = this.requests.get(m.id);
          if (w) {
            this.requests.delete(m.id);
            clearTimeout(w.timer);
            w.resolve(m);
          }
        }
        return;
      }
      case 'error': {
        const id = m.ref?.id;
        if (typeof id === 'number' && this.requests.has(id)) {
          const w = this.requests.get(id)!;
          this.requests.delete(id);
          clearTimeout(w.timer);
          w.reject(new BridgeError(m.code, m.message));
          return;
        }
        if (m.ref?.op === 'command' && m.ref.robot !== undefined && m.ref.seq !== undefined) {
          const key = `${m.ref.robot}\u0000${m.ref.seq}`;
          const w = this.commands.get(key);
          if (w) {
            this.commands.delete(key);
            clearTimeout(w.timer);
            w.reject(new BridgeError(m.code, m.message));
            return;
          }
        }
        this.emit('hubError', m);
        return;
      }
      case 'ack': {
        const key = `${m.robot}\u0000${m.seq}`;
        const w = this.commands.get(key);
        if (w) {
          this.commands.delete(key);
          clearTimeout(w.timer);
          w.resolve(m);
        }
        this.emit('ack', m);
        return;
      }
      case 'pong': {
        if (typeof m.id === 'number') {
          const w = this.pings.get(m.id);
          if (w) {
            this.pings.delete(m.id);
            clearTimeout(w.timer);
            w.resolve(0);
          }
        }
        return;
      }
      case 'observation': this.emit('observation', m); return;
      case 'robots': this.setRobots(m.robots); this.emit('robots', m.robots); return;
      case 'robot': this.upsertRobot(m.info); this.emit('robots', [...this.robots.values()]); return;
      case 'robot_removed': {
        const r = this.robots.get(m.robot);
        if (r) {
          this.robots.delete(m.robot);
          if (this.byHandle.get(r.handle) === m.robot) this.byHandle.delete(r.handle);
        }
        this.emit('robots', [...this.robots.values()]);
        return;
      }
      case 'robot_state': {
        const r = this.robots.get(m.robot);
        if (r) this.robots.set(m.robot, { ...r, state: m.state });
        this.emit('robot_state', m.robot, m.state);
        return;
      }
      case 'estop': this.emit('estop', m); return;
      case 'estimate': this.emit('estimate', m); return;
      case 'status': this.emit('status', m); return;
      default: return;
    }
  }
}
