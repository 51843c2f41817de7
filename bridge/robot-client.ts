/**
 * RobotClient: connects any `Robot` to a hub and keeps it safe when the link is not.
 *
 * - Registers the robot's features, streams observations (JSON state + binary frames) at
 *   `observationHz`, executes `command`s and acknowledges each with the action applied.
 * - Holds the robot on every `hold` from the hub, whenever the link drops, and when no command
 *   has come for twice the hub's watchdog timeout while moving (in case the hub itself stalls).
 * - E-stop from the hub → `robot.emergencyStop()`; a robot fault → e-stop raised at the hub.
 * - Reconnects with exponential backoff and jitter; after a reconnect the robot stays stopped until
 *   a controller leases it again (the hub sends `hold` on registration).
 * - Hands the robot the limits the hub enforces (`robot.setLimits`) before any command, so the robot
 *   keeps the workspace box on its own measured state too.
 * - Reports in each observation, as `cmdSeq`, the last hub command the observed state already
 *   reflects (the robot says how many actions its observation reflects; commands skipped here count
 *   as done once everything before them is), never merely the last one handed to the robot: the
 *   hub predicts the pose from that observation plus every later command.
 *
 * Usage:
 *   const client = new RobotClient({ url, token, id: 'emu-1', robot });
 *   await client.start();           // robot.connect(), then connects to the hub in the background
 *   await client.waitRegistered();  // optional
 *   …
 *   await client.stop();            // hold, disconnect from the hub, robot.disconnect()
 */
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { Rng } from '../sim/rng.ts';
import { SUBPROTOCOL, parseMessage, writeFrameHeader, FRAME_HEADER_BYTES, payloadBytes } from './protocol.ts';
import type { ActionVector, HubMessage, HubMessageOf, SafetyLimits, ClientMessage } from './protocol.ts';
import type { Robot } from './robot.ts';

export interface BackoffOptions {
  /** First retry delay (default 250 ms). */
  initialMs?: number;
  /** Longest delay (default 10 s). */
  maxMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** ± fraction of random spread so many robots do not reconnect in lockstep (default 0.2). */
  jitter?: number;
}

export interface RobotClientOptions {
  /** Hub URL, e.g. ws://localhost:8765/ */
  url: string;
  token: string;
  /** Robot id on the hub, e.g. `emu-1`. */
  id: string;
  robot: Robot;
  name?: string;
  model?: string;
  /** Observations per second (default: the robot's controlHz). */
  observationHz?: number;
  backoff?: BackoffOptions;
  /** Seed for the backoff jitter (default: from the robot id). */
  seed?: number;
  /** Extra options for wss (e.g. `ca` for a self-signed certificate). */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Frames are skipped while more than this many bytes wait to be sent (default 8 MiB). */
  maxBufferedBytes?: number;
  /**
   * Mask client frames with random keys (default false: an all-zero key, which ws then skips).
   * Masking exists so that scripts in browsers cannot choose the bytes an intermediary sees; a
   * robot process is not a browser, and XOR-ing every camera frame costs about a millisecond of
   * CPU per megabyte on each end. Set true when the robot reaches the hub through proxies you do not trust.
   */
  randomMask?: boolean;
  log?: (line: string) => void;
}

/** An all-zero masking key: ws sends and receives such frames without XOR-ing the payload. */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export type RobotClientState = 'idle' | 'connecting' | 'registered' | 'backoff' | 'stopped';

export interface RobotClientEvents {
  registered: [{ handle: number; limits: SafetyLimits }];
  disconnected: [{ code: number; reason: string }];
  command: [HubMessageOf<'command'>, ActionVector];
  hold: [HubMessageOf<'hold'>];
  estop: [HubMessageOf<'estop'>];
  error: [Error];
  hubError: [HubMessageOf<'error'>];
}

export class RobotClient extends EventEmitter<RobotClientEvents> {
  readonly options: RobotClientOptions;
  readonly robot: Robot;
  private ws: WebSocket | null = null;
  private _state: RobotClientState = 'idle';
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private obsTimer: NodeJS.Timeout | null = null;
  private readonly rng: Rng;
  private handle = 0;
  private limits: SafetyLimits | null = null;
  private obsSeq = 0;
  private frameSeq = 0;
  /** The last hub command the reported state reflects (with every command before it). */
  private lastCmdSeq: number | undefined = undefined;
  /**
   * Hub commands not yet reflected, in arrival order: `action` is the robot's count of the
   * `sendAction` call that carried it, 0 while queued, -1 when skipped (never to be executed).
   */
  private unsettled: Array<{ seq: number; action: number }> = [];
  /** sendAction calls made (the robot counts the same calls), and how many had resolved. */
  private actionsSent = 0;
  private actionsResolved = 0;
  private lastCommandAt = 0;
  private moving = false;
  private estopped = false;
  private busy = false;
  /** Commands waiting while the robot executes one (for `ee_target`, only the latest). */
  private queue: Array<HubMessageOf<'command'>> = [];
  private reading = false;
  private readonly channels: string[];
  private readonly frameBuffers = new Map<string, Buffer>();
  private readonly framesInFlight = new Set<Buffer>();

  constructor(options: RobotClientOptions) {
    super();
    this.options = options;
    this.robot = options.robot;
    this.channels = Object.keys(options.robot.features.observation);
    let seed = options.seed;
    if (seed === undefined) {
      seed = 0;
      for (let i = 0; i < options.id.length; i++) seed = (Math.imul(seed, 31) + options.id.charCodeAt(i)) | 0;
    }
    this.rng = new Rng(seed);
    if (options.robot.onFault) options.robot.onFault((reason) => this.estop(`robot fault: ${reason}`));
  }

  get state(): RobotClientState {
    return this._state;
  }

  /** Connects the robot (held still), then the hub; reconnects until `stop`. */
  async start(): Promise<void> {
    if (this._state !== 'idle') throw new Error(`RobotClient already ${this._state}`);
    if (!this.robot.isConnected) await this.robot.connect();
    await this.safeHold();
    this.connect();
  }

  /** Resolves once registered with the hub (rejects after `timeoutMs`). */
  waitRegistered(timeoutMs = 10_000): Promise<void> {
    if (this._state === 'registered') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('registered', onReg); reject(new Error(`robot ${this.options.id} did not register within ${timeoutMs} ms`)); }, timeoutMs);
      const onReg = (): void => { clearTimeout(timer); resolve(); };
      this.once('registered', onReg);
    });
  }

  /** Raises the e-stop at the hub on behalf of the robot (and stops the robot locally at once). */
  estop(reason: string): void {
    void this.robot.emergencyStop(reason).catch((e) => this.fail(e));
    this.estopped = true;
    this.sendJson({ op: 'estop', robot: this.options.id, reason: reason.slice(0, 200) });
  }

  async stop(): Promise<void> {
    if (this._state === 'stopped') return;
    this._state = 'stopped';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopObservations();
    await this.safeHold();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState !== ws.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'robot stopping');
        setTimeout(() => { ws.terminate(); resolve(); }, 1000).unref();
      });
    }
    if (this.robot.isConnected) await this.robot.disconnect();
  }

  // -------------------------------------------------------------------------------------------

  /** Errors go to 'error' listeners if there are any, else to the log (never an unhandled throw). */
  private fail(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.log(`error: ${err.message}`);
  }

  private log(line: string): void {
    this.options.log?.(`[robot ${this.options.id}] ${line}`);
  }

  private connect(): void {
    if (this._state === 'stopped') return;
    this._state = 'connecting';
    const url = new URL(this.options.url);
    url.searchParams.set('role', 'robot');
    url.searchParams.set('name', this.options.name ?? this.options.id);
    const ws = new WebSocket(url, [SUBPROTOCOL], {
      headers: { Authorization: `Bearer ${this.options.token}` },
      perMessageDeflate: false,
      maxPayload: 16 << 20,
      handshakeTimeout: 5000,
      ...(this.options.randomMask ? {} : { generateMask: zeroMask }),
      ...(this.options.tls ?? {}),
    });
    this.ws = ws;
    ws.on('open', () => {
      this.log('connected; registering');
      const f = this.robot.features;
      this.sendJson({ op: 'register', robot: this.options.id, ...(this.options.name ? { name: this.options.name } : {}), ...(this.options.model ? { model: this.options.model } : {}), features: f });
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return; // the hub sends robots no frames
      this.onHubMessage((data as Buffer).toString('utf8'));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => this.fail(new Error(`hub refused the robot: ${res.statusCode} ${body.trim()}`)));
    });
    ws.on('error', (err) => this.log(`socket error: ${err.message}`));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws && this.ws !== null) return;
    this.stopObservations();
    const wasRegistered = this._state === 'registered';
    this.moving = false;
    void this.safeHold();
    this.emit('disconnected', { code, reason });
    if (this._state === 'stopped') return;
    const b = this.options.backoff ?? {};
    const initial = b.initialMs ?? 250;
    const max = b.maxMs ?? 10_000;
    const factor = b.factor ?? 2;
    const jitter = b.jitter ?? 0.2;
    if (wasRegistered) this.attempt = 0;
    const base = Math.min(max, initial * Math.pow(factor, this.attempt));
    const delay = Math.max(0, base * (1 + jitter * (2 * this.rng.next() - 1)));
    this.attempt++;
    this._state = 'backoff';
    this.log(`link down (${code}${reason ? ` ${reason}` : ''}); robot held; retrying in ${Math.round(delay)} ms`);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private onHubMessage(text: string): void {
    const parsed = parseMessage(text, { from: 'hub' });
    if (!parsed.ok) {
      this.log(`bad message from hub: ${parsed.error.message}`);
      return;
    }
    const m: HubMessage = parsed.msg;
    switch (m.op) {
      case 'ok':
        if (m.of === 'register' && m.handle !== undefined && m.limits) {
          this.handle = m.handle;
          this.limits = m.limits;
          // A robot written before setLimits existed (plain JavaScript) keeps working, unguarded.
          if (typeof this.robot.setLimits === 'function') this.robot.setLimits(m.limits);
          else this.log('this robot has no setLimits: it does not keep the workspace box itself (only the hub does)');
          // A new registration: the hub starts a new command sequence and knows no deltas.
          this.unsettled = [];
          this.lastCmdSeq = undefined;
          this.attempt = 0;
          this._state = 'registered';
          this.log(`registered (handle ${m.handle})`);
          this.startObservations();
          this.emit('registered', { handle: m.handle, limits: m.limits });
        }
        return;
      case 'command':
        return this.onCommand(m);
      case 'hold':
        this.moving = false;
        this.skipQueued();
        if (m.reason === 'reset') this.estopped = false;
        if (!this.estopped) void this.safeHold();
        this.emit('hold', m);
        return;
      case 'estop':
        this.estopped = true;
        this.moving = false;
        this.skipQueued();
        void this.robot.emergencyStop(m.reason).catch((e) => this.fail(e));
        this.emit('estop', m);
        return;
      case 'error':
        this.log(`hub error ${m.code}: ${m.message}`);
        this.emit('hubError', m);
        if (m.ref?.op === 'register') {
          // Registration refused (id in use, bad features): close and retry with backoff.
          this.ws?.close(1000, 'registration refused');
        }
        return;
      default:
        return;
    }
  }

  private onCommand(m: HubMessageOf<'command'>): void {
    if (this.estopped) {
      // The hub never sends these while latched; belt and braces. Never executed: settled.
      this.unsettled.push({ seq: m.seq, action: -1 });
      return;
    }
    this.unsettled.push({ seq: m.seq, action: 0 });
    if (this.busy) {
      // Targets: latest wins, a slower robot skips intermediate ones (never acked; cmdSeq covers
      // them). Deltas: each one is motion the hub counted on, so all run, in order.
      if (this.robot.features.action.form === 'ee_target') this.skipQueued();
      this.queue.push(m);
      return;
    }
    void this.execute(m);
  }

  /** The queued commands (if any) will never be executed. */
  private skipQueued(): void {
    if (this.queue.length === 0) return;
    const skipped = new Set(this.queue.map((q) => q.seq));
    this.queue = [];
    for (const u of this.unsettled) if (u.action === 0 && skipped.has(u.seq)) u.action = -1;
  }

  /** Moves `lastCmdSeq` past every command the robot says its observation reflects. */
  private settle(reflected: number): void {
    let i = 0;
    while (i < this.unsettled.length) {
      const u = this.unsettled[i];
      if (u.action === -1 || (u.action > 0 && u.action <= reflected)) {
        this.lastCmdSeq = u.seq;
        i++;
      } else break;
    }
    if (i > 0) this.unsettled.splice(0, i);
  }

  private async execute(m: HubMessageOf<'command'>): Promise<void> {
    this.busy = true;
    try {
      let next: HubMessageOf<'command'> | null = m;
      while (next) {
        const cmd: HubMessageOf<'command'> = next;
        const index = ++this.actionsSent;
        for (const u of this.unsettled) if (u.seq === cmd.seq && u.action === 0) u.action = index;
        let applied: ActionVector;
        try {
          applied = await this.robot.sendAction(cmd.action);
        } finally {
          this.actionsResolved = index;
        }
        this.lastCommandAt = performance.now();
        this.moving = true;
        this.sendJson({ op: 'ack', robot: this.options.id, seq: cmd.seq, applied, t: performance.timeOrigin + performance.now() });
        this.emit('command', cmd, applied);
        next = this.queue.shift() ?? null;
      }
    } catch (e) {
      this.fail(e);
      this.estop(`sendAction failed: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private startObservations(): void {
    this.stopObservations();
    const hz = this.options.observationHz ?? this.robot.features.controlHz;
    const period = Math.max(1, 1000 / hz);
    this.obsTimer = setInterval(() => void this.observe(), period);
  }

  private stopObservations(): void {
    if (this.obsTimer) clearInterval(this.obsTimer);
    this.obsTimer = null;
  }

  private async observe(): Promise<void> {
    if (this.reading || this._state !== 'registered') return;
    // Local watchdog, in case the hub stalls with the link still up.
    if (this.moving && this.limits && performance.now() - this.lastCommandAt > 2 * this.limits.commandTimeoutMs) {
      this.moving = false;
      this.log('no command for twice the watchdog timeout: holding locally');
      await this.safeHold();
    }
    this.reading = true;
    try {
      const resolvedBefore = this.actionsResolved;
      const obs = await this.robot.getObservation();
      const ws = this.ws;
      if (!ws || ws.readyState !== ws.OPEN || this._state !== 'registered') return;
      this.settle(obs.actions ?? resolvedBefore);
      const t = obs.t ?? performance.timeOrigin + performance.now();
      this.sendJson({ op: 'observation', robot: this.options.id, seq: this.obsSeq = (this.obsSeq + 1) >>> 0, t, ...(this.lastCmdSeq !== undefined ? { cmdSeq: this.lastCmdSeq } : {}), state: obs.state });
      if (obs.frames) for (const [key, data] of Object.entries(obs.frames)) this.sendFrame(key, data, t);
    } catch (e) {
      this.fail(e);
    } finally {
      this.reading = false;
    }
  }

  /**
   * Sends one frame of an image or tensor feature of the robot now, captured at `t` (ms since the
   * Unix epoch), for robots whose cameras run on their own clock rather than in getObservation.
   * False when it was not sent: not registered, the socket more than `maxBufferedBytes` behind
   * (frames are skipped, never queued), or not a frame of a declared feature.
   */
  sendFrame(key: string, data: ArrayBufferView, t: number): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== ws.OPEN || this._state !== 'registered') return false;
    if (ws.bufferedAmount > (this.options.maxBufferedBytes ?? 8 << 20)) return false;
    const channel = this.channels.indexOf(key);
    const spec = this.robot.features.observation[key];
    if (channel < 0 || !spec || spec.kind === 'state') return false;
    const bytes = payloadBytes(spec.dtype, spec.shape);
    if (data.byteLength !== bytes) {
      this.log(`frame ${key} has ${data.byteLength} bytes, expected ${bytes}; skipped`);
      return false;
    }
    // One buffer per channel, reused once the previous frame has left.
    let buf = this.frameBuffers.get(key);
    if (!buf || buf.byteLength !== FRAME_HEADER_BYTES + bytes || this.framesInFlight.has(buf)) {
      buf = Buffer.allocUnsafeSlow(FRAME_HEADER_BYTES + bytes);
      this.frameBuffers.set(key, buf);
    }
    writeFrameHeader(buf, { kind: spec.kind, dtype: spec.dtype, shape: spec.shape, handle: this.handle, channel, seq: this.frameSeq = (this.frameSeq + 1) >>> 0, t, format: spec.format ?? null });
    buf.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), FRAME_HEADER_BYTES);
    const sent = buf;
    this.framesInFlight.add(sent);
    ws.send(sent, { binary: true }, () => this.framesInFlight.delete(sent));
    return true;
  }

  private async safeHold(): Promise<void> {
    try {
      if (this.robot.isConnected && !this.estopped) await this.robot.hold();
    } catch (e) {
      this.fail(e);
    }
  }

  private sendJson(msg: ClientMessage): void {
    const ws = this.ws;
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }
}
