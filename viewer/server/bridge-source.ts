/**
 * `simreal view --bridge ws://host:8765`: the robots on a bridge hub, live. The server connects
 * to the hub (the token never reaches the browser), subscribes to every robot and relays their
 * observations, camera frames and the estimates controllers publish of them to the pages unchanged.
 *
 * Role: with the hub's main token the server connects as a `controller` and the page's e-stop
 * button works (any controller may raise the latched e-stop; only the one that raised it, or an
 * operator, may clear it, which the viewer never does). With the read-only viewer token it connects as a `viewer` and the
 * button stays disabled. The server reconnects to the hub by itself (backoff 250 ms → 2 s).
 */
import { ControllerClient, BridgeError } from '../../bridge/controller-client.ts';
import { parseMessage } from '../../bridge/protocol.ts';
import type { HubMessage } from '../../bridge/protocol.ts';
import type { ViewerClientMessage } from '../protocol.ts';
import { RobotScene } from './robot-scene.ts';
import { Pages } from './source.ts';
import type { HelloInfo, PageLink, ViewerSource } from './source.ts';

export interface BridgeSourceOptions {
  /** The hub, e.g. ws://127.0.0.1:8765/ */
  url: string;
  token: string;
  /** Robot drawn in 3D (default: the first that reports a pose). */
  robot?: string;
  /** Name the hub shows for this connection (default `viewer`). */
  name?: string;
  /** Pose frames per second at most (default 60). */
  streamHz?: number;
  /** Largest wait between reconnection attempts (ms, default 2000). */
  maxBackoffMs?: number;
  log?: (line: string) => void;
}

export class BridgeSource implements ViewerSource {
  readonly mode = 'bridge' as const;
  private readonly pages = new Pages();
  private readonly options: BridgeSourceOptions;
  private readonly scene: RobotScene;
  private client: ControllerClient | null = null;
  private role: 'controller' | 'viewer' = 'controller';
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoff = 250;
  private closed = false;
  private linkMessage = 'connecting to the bridge…';
  private linked = false;

  constructor(options: BridgeSourceOptions) {
    this.options = options;
    this.scene = new RobotScene(this.pages, { robot: options.robot, canEstop: false });
  }

  /** Connects once (rejecting if the hub refuses this token), then keeps reconnecting. */
  async start(): Promise<void> {
    await this.connect(true);
    const hz = this.options.streamHz ?? 60;
    this.timer = setInterval(() => this.scene.flush(), 1000 / hz);
  }

  hello(): HelloInfo {
    return { streamHz: this.options.streamHz ?? 60, scenarios: [], driver: 'bridge', bridge: { url: this.options.url, role: this.role } };
  }

  attach(page: PageLink): void {
    this.pages.add(page);
    page.send({ op: 'link', connected: this.linked, message: this.linkMessage });
    this.scene.attach(page);
  }

  detach(page: PageLink): void {
    this.pages.delete(page);
  }

  handle(page: PageLink, msg: ViewerClientMessage): void {
    if (msg.op !== 'estop') {
      page.send({ op: 'notice', level: 'warn', message: `${msg.op} does nothing in bridge mode` });
      return;
    }
    const c = this.client;
    if (this.role !== 'controller') {
      page.send({ op: 'notice', level: 'error', message: 'read-only: this viewer holds the viewer token; start it with the bridge\'s main token (--token-file) to e-stop' });
      return;
    }
    if (!c || !c.isOpen) {
      page.send({ op: 'notice', level: 'error', message: 'not connected to the bridge: the e-stop was not sent' });
      return;
    }
    c.estop(msg.robot, msg.reason).then(
      () => page.send({ op: 'notice', level: 'info', message: `e-stop raised on ${msg.robot}` }),
      (err: unknown) => page.send({ op: 'notice', level: 'error', message: `e-stop on ${msg.robot} failed: ${(err as Error).message}`.slice(0, 1000) }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.timer = this.retryTimer = null;
    const c = this.client;
    this.client = null;
    if (c) await c.close();
  }

  // -------------------------------------------------------------------------------------------

  private setLink(connected: boolean, message: string): void {
    this.linked = connected;
    this.linkMessage = message;
    this.pages.send({ op: 'link', connected, message });
  }

  private async open(role: 'controller' | 'viewer'): Promise<ControllerClient> {
    return ControllerClient.connect({ url: this.options.url, token: this.options.token, role, name: this.options.name ?? 'viewer', timeoutMs: 5000 });
  }

  private async connect(first: boolean): Promise<void> {
    let c: ControllerClient;
    try {
      try {
        c = await this.open(this.role);
      } catch (err) {
        // A read-only token: the hub refuses the controller role with 403.
        if (this.role === 'controller' && err instanceof BridgeError && /grants only the viewer role/.test(err.message)) {
          this.role = 'viewer';
          c = await this.open('viewer');
        } else throw err;
      }
    } catch (err) {
      const message = `cannot reach the bridge at ${this.options.url}: ${(err as Error).message}`;
      if (first && err instanceof BridgeError && err.code === 'forbidden') throw err;
      this.setLink(false, message);
      this.retry();
      return;
    }
    if (this.closed) {
      await c.close();
      return;
    }
    this.client = c;
    this.backoff = 250;
    this.scene.canEstop = this.role === 'controller';
    c.ws.on('message', (data, isBinary) => this.onHubMessage(data as Buffer, isBinary));
    c.on('close', () => {
      if (this.client !== c) return;
      this.client = null;
      if (this.closed) return;
      this.setLink(false, `lost the bridge at ${this.options.url}; reconnecting…`);
      this.retry();
    });
    this.scene.setRobots([...c.robots.values()]);
    try {
      await c.subscribe('*');
    } catch (err) {
      this.options.log?.(`subscribe failed: ${(err as Error).message}`);
    }
    this.setLink(true, `connected to ${this.options.url} as ${this.role}${this.role === 'viewer' ? ' (read-only)' : ''}`);
  }

  private retry(): void {
    if (this.closed || this.retryTimer) return;
    const wait = this.backoff;
    this.backoff = Math.min(this.options.maxBackoffMs ?? 2000, this.backoff * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect(false);
    }, wait);
  }

  private onHubMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      // Camera frames and dense arrays, unchanged (their handle tells the page which robot).
      this.pages.sendFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return;
    }
    const p = parseMessage(data.toString('utf8'), { from: 'hub' });
    if (!p.ok) return;
    const m: HubMessage = p.msg;
    switch (m.op) {
      case 'observation': this.scene.observation(m); break;
      case 'robots': this.scene.setRobots(m.robots); break;
      // The client has already updated its list from these (its listener runs first).
      case 'robot': case 'robot_removed': if (this.client) this.scene.setRobots([...this.client.robots.values()]); break;
      case 'robot_state': this.scene.robotState(m.robot, m.state); break;
      case 'estop': case 'hold': case 'status': case 'estimate': this.scene.relay(m); break;
      default: break;
    }
  }
}
