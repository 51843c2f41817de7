/**
 * The hub: accepts already-upgraded WebSocket connections (it never owns a listening socket; see
 * server.ts for that) and routes between robots, controllers and viewers.
 *
 * Control path: controller `command` → lease and e-stop checks → CommandClamp → robot `command`;
 * robot `ack` → controller `ack` (requested, sent, applied). These messages are never dropped.
 * Data path: robot `observation` and binary frames → subscribers, each skipped for a subscriber
 * whose socket already holds more than `backpressure.dropAboveBytes` unsent: a slow viewer loses
 * frames and never delays anybody else (nothing here ever waits on a socket).
 *
 * The hot loop (command, ack, observation) is kept cheap: those three are validated by the
 * parser's fast path (protocol/fast.ts); an observation that held exactly its fields is forwarded
 * and recorded as the bytes it came in; everything sent to one socket during a turn of the event
 * loop leaves in one write (cork); observations for anyone but the lease holder, and camera frames,
 * go out after the turn's control traffic; the recorder is handed entries and never awaited.
 *
 * Cameras (since protocol 1.2): a connection holding a robot's credential may `attach` image
 * features to that robot instead of registering it; its frames are checked against what it
 * attached and forwarded like the robot's own. Controllers' `estimate`s (what their pose estimator
 * saw) go to the robot's subscribers on the data path, like observations.
 *
 * Each robot's safety state (lease, watchdog, e-stop, clamp, pose estimate) is a RobotSlot
 * (robot-slot.ts); this file keeps connections (rate limits, error budgets, backpressure, bulk
 * frame sending) and routes messages between them and the slots.
 */
import type { WebSocket } from 'ws';
import { parseMessage, SUBPROTOCOL, PROTOCOL_VERSION, PERMISSIONS, FRAME_KINDS } from '../protocol.ts';
import type { ClientMessage, ClientMessageOf, ErrorCode, HubMessage, Peer, Role, RobotInfo, Frame } from '../protocol.ts';
import { resolveHubConfig, intersectLimits, poseTimeoutFor } from '../config.ts';
import type { HubConfig, HubConfigInput } from '../config.ts';
import { TokenBucket } from './rate-limit.ts';
import { RobotSlot } from './robot-slot.ts';
import type { SlotLink } from './robot-slot.ts';
import { hubNow } from './clock.ts';
import { HubProfile } from './profile.ts';

export { hubNow };

/** Where the hub reports every message it handles (the MCAP recorder implements it). */
export interface HubRecorder {
  record(entry: RecordEntry): void;
  close(): Promise<void>;
}
export interface RecordEntry {
  /**
   * `in`: received from a client and accepted (a refused message is not handed over; its `error`
   * reply is); `out`: sent by the hub (recorded once, however many recipients).
   */
  dir: 'in' | 'out';
  op: string;
  robot: string | null;
  /** Feature key, for binary frames. */
  channel?: string;
  /** ms since the Unix epoch, hub clock. */
  t: number;
  text?: string;
  bytes?: Uint8Array;
}

export interface HubOptions {
  config?: HubConfigInput;
  recorder?: HubRecorder;
  /** Diagnostic lines (connections, refusals, safety events). */
  log?: (line: string) => void;
  /** Name the hub gives itself in e-stops it raises. */
  name?: string;
  /** Time every message's handling by kind and stage (hub.profile; `bench bridge` turns it on). */
  profile?: boolean;
}

export interface HubStats {
  connections: number;
  messagesIn: number;
  /** Messages handed to sockets (each recipient counts). */
  messagesOut: number;
  errorsSent: number;
  framesIn: number;
  /** Frames refused: not of their feature's declared size, type or format, or not the sender's to send. */
  framesRefused: number;
  framesDropped: number;
  /** Estimates forwarded from controllers, and those skipped for a subscriber behind. */
  estimates: number;
  estimatesDropped: number;
  observationsDropped: number;
  commandsForwarded: number;
  commandsClamped: number;
  holds: number;
  closedForAbuse: number;
  /** Acks for commands the hub sent but no longer waited for (the lease ended, or skipped). */
  lateAcks: number;
}

/** Connections one robot credential may hold at once: the robot, its cameras, and a reconnect each. */
export const ROBOT_CREDENTIAL_CONNECTIONS = 4;

/**
 * Refusals caused by the robot's state, not by the sender: an honest controller meets them whenever
 * a robot is slow or stopped, so they never spend its error budget (its message rate still bounds them).
 */
const ROBOT_STATE_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['stale_pose', 'window_full', 'no_pose', 'estop_latched', 'robot_offline']);

/** The socket under a `ws` WebSocket (its `_socket`: ws keeps it there and has no public accessor). */
function socketOf(ws: WebSocket): Corkable | null {
  const s = (ws as unknown as { _socket?: unknown })._socket;
  return s && typeof (s as Corkable).cork === 'function' && typeof (s as Corkable).uncork === 'function' ? (s as Corkable) : null;
}

/** A received text message as it came (bytes and string), when it held exactly its validated fields. */
interface Raw {
  data: Buffer;
  text: string;
}

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;

interface Conn {
  session: string;
  role: Role;
  /** Which credential it connected with (per-credential limits). */
  credential: string;
  /** For a robot: the id its credential is pinned to (it may register only that one). */
  pinnedRobot: string | undefined;
  name: string | undefined;
  ws: WebSocket;
  peer: Peer;
  msgBucket: TokenBucket;
  byteBucket: TokenBucket;
  errBucket: TokenBucket;
  maxMessageBytes: number;
  /** robot id (or `*`) → wanted binary channels (null: all). */
  subs: Map<string, Set<string> | null>;
  leases: Set<string>;
  robot: RobotSlot<Conn> | null;
  /** For a camera connection: the robot it attached features to. */
  attached: RobotSlot<Conn> | null;
  alive: boolean;
  closed: boolean;
  dropped: number;
  /** The TCP (or TLS) socket under the WebSocket, corked while this event-loop turn sends to it. */
  socket: Corkable | null;
  corked: boolean;
}

/** What the hub needs of a socket to batch its writes. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

export class BridgeHub {
  readonly config: HubConfig;
  private readonly recorder: HubRecorder | undefined;
  private readonly log: (line: string) => void;
  private readonly conns = new Set<Conn>();
  private readonly robots = new Map<string, RobotSlot<Conn>>();
  private readonly wildcardSubs = new Set<Conn>();
  /** Refusals so far (a message handled without one was accepted). */
  private refusals = 0;
  /** While a message is handled with a recorder: what the hub says meanwhile, recorded after it. */
  private staged: RecordEntry[] | null = null;
  /** Sockets corked during this event-loop turn (see cork). */
  private corkedConns: Conn[] = [];
  private readonly roleCounts = new Map<Role, number>();
  /** Connections per credential and role. */
  private readonly tokenCounts = new Map<string, number>();
  /** Departed robots waiting to be forgotten, with when they left. */
  private readonly departures = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private nextSession = 1;
  private nextHandle = 1;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly bulk: Array<{ conn: Conn; data: Buffer }> = [];
  private later: Array<{ conn: Conn; data: Buffer; estimate?: boolean }> = [];
  private laterScheduled = false;
  private bulkScheduled = false;
  private closing = false;
  private readonly hubPeer: Peer;
  /** CPU time by message kind and stage, when made with `profile: true`. */
  readonly profile: HubProfile | null;
  readonly stats: HubStats = {
    connections: 0, messagesIn: 0, messagesOut: 0, errorsSent: 0, framesIn: 0, framesRefused: 0, framesDropped: 0, estimates: 0, estimatesDropped: 0, observationsDropped: 0,
    commandsForwarded: 0, commandsClamped: 0, holds: 0, closedForAbuse: 0, lateAcks: 0,
  };

  constructor(options: HubOptions = {}) {
    this.config = resolveHubConfig(options.config);
    this.recorder = options.recorder;
    this.log = options.log ?? (() => {});
    this.profile = options.profile ? new HubProfile() : null;
    // The hub's own e-stops (from code embedding it) are an operator's: only an operator clears them.
    this.hubPeer = { role: 'controller', session: 'hub', name: options.name ?? 'hub', operator: true };
    if (this.config.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.beat(), this.config.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Robots known to the hub (connected or not), as sent to clients. */
  robotList(): RobotInfo[] {
    return [...this.robots.values()].map((r) => r.info());
  }

  /** One page of the robot list, ordered by id: the robots after `after`. */
  robotPage(after: string | undefined, limit: number): { robots: RobotInfo[]; next?: string } {
    const ids = [...this.robots.keys()].filter((id) => after === undefined || id > after).sort();
    const page = ids.slice(0, limit);
    const robots = page.map((id) => this.robots.get(id)!.info());
    return ids.length > page.length ? { robots, next: page[page.length - 1] } : { robots };
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /**
   * Whether a connection of `role` with `credential` may join now (null), or why not. Each role
   * has its own pool and each credential its own share of it, so no one client, and no one leaked
   * token, can take the places of others.
   */
  admit(role: Role, credential: string): string | null {
    if (this.closing) return 'the hub is shutting down';
    if (this.conns.size >= this.config.maxConnections) return `the hub already has ${this.conns.size} connections (its limit)`;
    const inRole = this.roleCounts.get(role) ?? 0;
    if (inRole >= this.config.roleConnections[role]) return `the hub already has ${inRole} ${role} connections (its limit); other roles keep their own places`;
    const mine = this.tokenCounts.get(`${credential}\u0000${role}`) ?? 0;
    // A robot's credential: the robot and its camera processes, each with room to reconnect.
    const cap = credential.startsWith('robot:') ? Math.min(ROBOT_CREDENTIAL_CONNECTIONS, this.config.tokenConnections) : this.config.tokenConnections;
    if (mine >= cap) return `this credential already has ${mine} ${role} connections (its limit)`;
    return null;
  }

  /**
   * Takes a WebSocket whose upgrade was authorized for `role`. The hub owns it from now on.
   * `credential` names the token it presented (default `main`), for per-credential limits.
   */
  handleConnection(ws: WebSocket, peer: { role: Role; name?: string; credential?: string; robot?: string; operator?: boolean }): void {
    const credential = peer.credential ?? 'main';
    const refused = this.admit(peer.role, credential);
    if (refused) {
      ws.close(1013, refused.slice(0, 120));
      return;
    }
    const now = hubNow();
    const lim = this.config.connection[peer.role];
    const session = `s${this.nextSession++}`;
    const conn: Conn = {
      session,
      role: peer.role,
      credential,
      pinnedRobot: peer.robot,
      name: peer.name,
      ws,
      peer: { role: peer.role, session, ...(peer.name ? { name: peer.name } : {}), ...(peer.operator ? { operator: true } : {}) },
      msgBucket: new TokenBucket(lim.messagesPerSecond, lim.messagesPerSecond, now),
      byteBucket: new TokenBucket(lim.bytesPerSecond, lim.bytesPerSecond, now),
      errBucket: new TokenBucket(this.config.errorBudget.perSecond, this.config.errorBudget.burst, now),
      maxMessageBytes: lim.maxMessageBytes,
      subs: new Map(),
      leases: new Set(),
      robot: null,
      attached: null,
      alive: true,
      closed: false,
      dropped: 0,
      socket: socketOf(ws),
      corked: false,
    };
    this.conns.add(conn);
    this.count(conn, 1);
    this.stats.connections++;
    this.log(`connect ${session} ${peer.role}${peer.name ? ` (${peer.name})` : ''}`);
    this.recordEvent('connect', conn);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data as Buffer, isBinary));
    ws.on('pong', () => { conn.alive = true; });
    ws.on('close', (code, reason) => this.onClose(conn, code, reason.toString()));
    ws.on('error', (err) => this.log(`socket error ${session}: ${err.message}`));
    this.send(conn, {
      op: 'welcome',
      protocol: SUBPROTOCOL,
      version: { ...PROTOCOL_VERSION },
      session,
      role: peer.role,
      hubTime: now,
      limits: lim,
      robots: this.robotPage(undefined, this.config.robotPageSize).robots,
      robotsTotal: this.robots.size,
    });
  }

  /** Holds every robot, closes every connection, flushes the recorder. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const id of [...this.departures.keys()]) this.cancelDeparture(id);
    for (const r of this.robots.values()) {
      if (r.conn) r.hold('hub_shutdown', 'the hub is shutting down');
      r.stopWatchdog();
    }
    const closed: Promise<void>[] = [];
    for (const c of this.conns) {
      closed.push(new Promise((resolve) => {
        if (c.ws.readyState === c.ws.CLOSED) return resolve();
        c.ws.once('close', () => resolve());
        c.ws.close(1001, 'hub shutting down');
        setTimeout(() => { c.ws.terminate(); resolve(); }, 1000).unref();
      }));
    }
    await Promise.all(closed);
    await this.recorder?.close();
  }

  /** Raises the latched e-stop on a robot from code embedding the hub (false: no such robot). */
  estop(robot: string, reason: string): boolean {
    const r = this.robots.get(robot);
    if (!r) return false;
    r.estop(reason, this.hubPeer);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Inbound
  // -------------------------------------------------------------------------------------------

  private onMessage(conn: Conn, data: Buffer, isBinary: boolean): void {
    if (conn.closed) return;
    const now = hubNow();
    this.stats.messagesIn++;
    if (data.byteLength > conn.maxMessageBytes) {
      this.error(conn, 'too_large', `message of ${data.byteLength} bytes exceeds the ${conn.role} limit of ${conn.maxMessageBytes}`);
      return;
    }
    if (!conn.msgBucket.take(1, now) || !conn.byteBucket.take(data.byteLength, now)) {
      this.error(conn, 'rate_limited', `rate limit exceeded for a ${conn.role} connection`);
      return;
    }
    const p = this.profile;
    const t0 = p ? p.now() : 0;
    try {
      if (isBinary) {
        p?.begin('frame', 0);
        this.onFrame(conn, data, now);
      } else this.onText(conn, data, now, t0);
    } catch (e) {
      // A bug must not take the hub down; the peer learns something went wrong.
      this.log(`internal error handling a message from ${conn.session}: ${(e as Error).stack ?? e}`);
      this.error(conn, 'internal', 'the hub failed to handle this message');
    }
    if (p && isBinary) p.end(p.now() - t0);
  }

  private onText(conn: Conn, data: Buffer, now: number, t0: number): void {
    const p = this.profile;
    const text = data.toString('utf8');
    const parsed = parseMessage(text, { from: 'client', maxChars: conn.maxMessageBytes });
    if (!parsed.ok) {
      if (p) p.add('parse', p.now() - t0, 'invalid');
      this.error(conn, parsed.error.code, parsed.error.message, parsed.error.ref);
      return;
    }
    const msg = parsed.msg;
    // A message that held exactly its validated fields travels on as it came (no second serialization).
    const raw = parsed.exact ? { data, text } : null;
    if (p) {
      const t1 = p.now();
      p.begin(msg.op, t1 - t0);
      try {
        this.accept(conn, msg, now, raw);
      } finally {
        p.end(p.now() - t1);
      }
      return;
    }
    this.accept(conn, msg, now, raw);
  }

  private accept(conn: Conn, msg: ClientMessage, now: number, raw: Raw | null): void {
    if (!PERMISSIONS[msg.op].includes(conn.role)) {
      this.error(conn, 'forbidden', `a ${conn.role} may not send ${msg.op}`, { op: msg.op, ...('id' in msg && msg.id !== undefined ? { id: msg.id } : {}) });
      return;
    }
    // Only what the hub accepts is recorded: a refused message leaves its `error` reply, not itself.
    if (this.recorder) {
      this.staged = [];
      const refusals = this.refusals;
      try {
        this.dispatch(conn, msg, now, raw);
      } finally {
        const staged = this.staged;
        this.staged = null;
        const p = this.profile;
        const t = p ? p.now() : 0;
        if (this.refusals === refusals) this.recorder.record({ dir: 'in', op: msg.op, robot: 'robot' in msg && msg.robot !== '*' ? msg.robot : null, t: now, text: raw ? raw.text : JSON.stringify(msg) });
        for (const e of staged) this.recorder.record(e);
        if (p) p.add('record', p.now() - t);
      }
      return;
    }
    this.dispatch(conn, msg, now, raw);
  }

  private dispatch(conn: Conn, msg: ClientMessage, now: number, raw: Raw | null): void {
    switch (msg.op) {
      case 'register': return this.onRegister(conn, msg);
      case 'observation': return this.onObservation(conn, msg, now, raw);
      case 'ack': return this.onRobotAck(conn, msg, now);
      case 'lease': return this.onLease(conn, msg);
      case 'release': return this.onRelease(conn, msg);
      case 'command': return this.onCommand(conn, msg, now);
      case 'estop': return this.onEstop(conn, msg);
      case 'reset': return this.onReset(conn, msg);
      case 'subscribe': return this.onSubscribe(conn, msg);
      case 'unsubscribe': return this.onUnsubscribe(conn, msg);
      case 'ping': return this.send(conn, { op: 'pong', ...(msg.id !== undefined ? { id: msg.id } : {}), ...(msg.t !== undefined ? { t: msg.t } : {}), hubTime: now });
      case 'list_robots': {
        const page = this.robotPage(msg.after, Math.min(msg.limit ?? this.config.robotPageSize, this.config.robotPageSize));
        return this.send(conn, { op: 'ok', of: 'list_robots', ...(msg.id !== undefined ? { id: msg.id } : {}), ...page });
      }
      case 'attach': return this.onAttach(conn, msg);
      case 'estimate': return this.onEstimate(conn, msg);
      case 'hold': return this.onControllerHold(conn, msg);
    }
  }

  /** A camera process adds image features to the robot its credential is for. */
  private onAttach(conn: Conn, msg: ClientMessageOf<'attach'>): void {
    const ref = { op: 'attach', robot: msg.robot, ...(msg.id !== undefined ? { id: msg.id } : {}) };
    if (conn.robot) return this.error(conn, 'already_registered', `this connection registered robot ${conn.robot.id}; a camera attaches from a connection of its own`, ref);
    if (conn.pinnedRobot !== undefined && conn.pinnedRobot !== msg.robot) {
      return this.error(conn, 'forbidden', `this connection's credential is for robot ${conn.pinnedRobot}, not ${msg.robot}`, ref);
    }
    if (conn.attached && conn.attached.id !== msg.robot) return this.error(conn, 'forbidden', `this connection attached to robot ${conn.attached.id}; attach to ${msg.robot} from another connection`, ref);
    const r = this.lookup(conn, msg.robot, 'attach', msg.id);
    if (!r) return;
    const bytes = JSON.stringify(r.features).length + JSON.stringify(msg.features).length;
    if (bytes > this.config.maxFeatureBytes) {
      return this.error(conn, 'too_large', `robot ${r.id}'s features with these would be ${bytes} bytes of JSON; the limit is ${this.config.maxFeatureBytes}`, ref);
    }
    const a = r.attach(conn, msg.features);
    if ('code' in a) return this.error(conn, a.code, a.message, ref);
    conn.attached = r;
    this.log(`${conn.session} attached ${Object.keys(msg.features).join(', ')} to robot ${r.id}`);
    this.send(conn, { op: 'ok', of: 'attach', ...(msg.id !== undefined ? { id: msg.id } : {}), robot: r.id, handle: r.handle, channels: a.channels });
    this.broadcast({ op: 'robot', info: r.info() });
  }

  /** What a controller's pose estimator saw: to the robot's subscribers, droppable like observations. */
  private onEstimate(conn: Conn, msg: ClientMessageOf<'estimate'>): void {
    const r = this.robots.get(msg.robot);
    if (!r) return this.error(conn, 'unknown_robot', `no robot ${msg.robot} is registered`, { op: 'estimate', robot: msg.robot, seq: msg.seq });
    this.stats.estimates++;
    const out: HubMessage = { ...msg, by: conn.peer };
    const buf = Buffer.from(JSON.stringify(out));
    for (const c of r.subscribers) this.later.push({ conn: c, data: buf, estimate: true });
    if (this.later.length && !this.laterScheduled) {
      this.laterScheduled = true;
      setImmediate(this.sendLater);
    }
  }

  private onControllerHold(conn: Conn, msg: ClientMessageOf<'hold'>): void {
    const ref = { op: 'hold', robot: msg.robot, ...(msg.id !== undefined ? { id: msg.id } : {}) };
    const r = this.lookup(conn, msg.robot, 'hold', msg.id);
    if (!r) return;
    const e = r.controllerHold(conn, msg.reason);
    if (e) return this.error(conn, e.code, e.message, ref);
    this.send(conn, { op: 'ok', of: 'hold', ...(msg.id !== undefined ? { id: msg.id } : {}), robot: r.id });
  }

  /** What a slot needs to speak, bound to one robot. */
  private linkFor(id: string): SlotLink {
    return {
      toRobot: (m) => {
        const r = this.robots.get(id);
        if (r?.conn) this.send(r.conn, m);
      },
      broadcast: (m) => this.broadcast(m),
      stateChanged: () => {
        const r = this.robots.get(id);
        if (r) this.broadcastState(r);
      },
      log: this.log,
      profile: this.profile ? (ms) => this.profile!.add('safety', ms) : undefined,
      countHold: () => { this.stats.holds++; },
      countCommand: (clamped) => {
        this.stats.commandsForwarded++;
        if (clamped) this.stats.commandsClamped++;
      },
    };
  }

  private onRegister(conn: Conn, msg: ClientMessageOf<'register'>): void {
    const ref = { op: 'register', id: msg.id, robot: msg.robot };
    if (conn.robot) return this.error(conn, 'already_registered', `this connection already registered robot ${conn.robot.id}`, ref);
    if (conn.attached) return this.error(conn, 'already_registered', `this connection attached features to robot ${conn.attached.id}; register from a connection of its own`, ref);
    if (conn.pinnedRobot !== undefined && conn.pinnedRobot !== msg.robot) {
      return this.error(conn, 'forbidden', `this connection's credential is for robot ${conn.pinnedRobot}, not ${msg.robot}`, ref);
    }
    const features = msg.features;
    const featureBytes = JSON.stringify(features).length;
    if (featureBytes > this.config.maxFeatureBytes) {
      return this.error(conn, 'too_large', `features of robot ${msg.robot} are ${featureBytes} bytes of JSON; the limit is ${this.config.maxFeatureBytes}`, ref);
    }
    const pose = features.observation[features.action.poseKey];
    if (!pose || pose.kind !== 'state' || (pose.shape[0] ?? 0) < 4) {
      return this.error(conn, 'invalid', `features.action.poseKey "${features.action.poseKey}" must name a state feature of at least 4 numbers [x, y, z, yaw]`, ref);
    }
    const lim = intersectLimits(this.config.limits, features.limits);
    if (!lim.ok) return this.error(conn, 'limits_conflict', lim.error, ref);
    const limits = { ...lim.limits, poseTimeoutMs: poseTimeoutFor(lim.limits.poseTimeoutMs, features.controlHz, this.config.poseTimeoutPeriods) };
    const declaration = { name: msg.name, model: msg.model, features, limits };
    let r = this.robots.get(msg.robot);
    if (r && r.conn) return this.error(conn, 'robot_id_in_use', `robot ${msg.robot} is already connected (session ${r.conn.session})`, ref);
    if (!r && this.robots.size >= this.config.maxRobots && !this.forgetOldestDeparted()) {
      return this.error(conn, 'hub_full', `this hub holds ${this.robots.size} robots (limit ${this.config.maxRobots}), none of which can be forgotten; raise maxRobots or clear their e-stops`, ref);
    }
    if (r) this.cancelDeparture(r.id);
    if (!r) {
      r = new RobotSlot<Conn>({ id: msg.robot, handle: this.nextHandle++, declaration, conn, link: this.linkFor(msg.robot), maxPendingCommands: this.config.maxPendingCommands });
      this.robots.set(r.id, r);
      for (const c of this.wildcardSubs) r.subscribers.add(c);
    } else {
      // Cameras attached before a restart keep their channels if the robot's features keep their keys;
      // otherwise they are sent away to attach again (their channel numbers moved).
      for (const c of r.reconnect(conn, declaration)) {
        c.attached = null;
        c.ws.close(1012, `robot ${r.id} registered again with other features; attach again`);
      }
    }
    conn.robot = r;
    this.log(`robot ${r.id} registered by ${conn.session} (handle ${r.handle}, ${features.action.form})`);
    this.send(conn, { op: 'ok', of: 'register', ...(msg.id !== undefined ? { id: msg.id } : {}), robot: r.id, handle: r.handle, limits: r.limits });
    r.registered();
    this.broadcast({ op: 'robot', info: r.info() });
  }

  // -------------------------------------------------------------------------------------------
  // Departed robots
  // -------------------------------------------------------------------------------------------

  /** A departed robot is forgotten after departedRobotMs, unless its e-stop is latched (then once cleared). */
  private scheduleDeparture(r: RobotSlot<Conn>): void {
    this.cancelDeparture(r.id);
    if (r.conn || r.state.estop || this.closing) return;
    const timer = setTimeout(() => this.forget(r), this.config.departedRobotMs);
    timer.unref();
    this.departures.set(r.id, { timer, at: hubNow() });
  }

  private cancelDeparture(id: string): void {
    const d = this.departures.get(id);
    if (d) clearTimeout(d.timer);
    this.departures.delete(id);
  }

  private forget(r: RobotSlot<Conn>): void {
    this.cancelDeparture(r.id);
    if (this.robots.get(r.id) !== r || r.conn || r.state.estop) return;
    this.robots.delete(r.id);
    r.stopWatchdog();
    for (const c of r.subscribers) c.subs.delete(r.id);
    for (const c of r.attachedConns) {
      c.attached = null;
      c.ws.close(1001, `robot ${r.id} departed and was forgotten; attach again when it is back`);
    }
    this.log(`robot ${r.id} forgotten (departed)`);
    this.broadcast({ op: 'robot_removed', robot: r.id });
  }

  /** Makes room for a new robot: forgets the departed robot that left first (false: none can go). */
  private forgetOldestDeparted(): boolean {
    let oldest: { id: string; at: number } | null = null;
    for (const [id, d] of this.departures) if (!oldest || d.at < oldest.at) oldest = { id, at: d.at };
    const r = oldest ? this.robots.get(oldest.id) : undefined;
    if (!r) return false;
    this.forget(r);
    return !this.robots.has(r.id);
  }

  private ownRobot(conn: Conn, robot: string, op: string): RobotSlot<Conn> | null {
    if (!conn.robot) {
      this.error(conn, 'not_registered', `register before sending ${op}`, { op, robot });
      return null;
    }
    if (conn.robot.id !== robot) {
      this.error(conn, 'forbidden', `this connection is robot ${conn.robot.id}, not ${robot}`, { op, robot });
      return null;
    }
    return conn.robot;
  }

  private onObservation(conn: Conn, msg: ClientMessageOf<'observation'>, now: number, raw: Raw | null): void {
    const r = this.ownRobot(conn, msg.robot, 'observation');
    if (!r) return;
    r.observe(msg, now);
    if (r.subscribers.size === 0) return;
    const p = this.profile;
    const t = p ? p.now() : 0;
    const buf = raw ? raw.data : Buffer.from(JSON.stringify(msg));
    // The lease holder's copy goes now (it closes its control loop on it); everybody else's once
    // this turn's control messages are out, so viewers never hold up a command or an ack.
    const holder = r.leaseHolder?.conn ?? null;
    for (const c of r.subscribers) {
      if (c === holder) {
        if (!this.sendDroppable(c, buf, false)) this.stats.observationsDropped++;
      } else this.later.push({ conn: c, data: buf });
    }
    if (this.later.length && !this.laterScheduled) {
      this.laterScheduled = true;
      setImmediate(this.sendLater);
    }
    if (p) p.add('fanout', p.now() - t);
  }

  /** Observations for subscribers other than the lease holder, after the control traffic of the turn. */
  private readonly sendLater = (): void => {
    this.laterScheduled = false;
    const jobs = this.later;
    this.later = [];
    const p = this.profile;
    const t = p ? p.now() : 0;
    for (const j of jobs) {
      if (this.sendDroppable(j.conn, j.data, false)) continue;
      if (j.estimate) this.stats.estimatesDropped++;
      else this.stats.observationsDropped++;
    }
    if (p) p.add('fanout', p.now() - t, 'observation');
  };

  /** A frame refused: answered with why, counted, never forwarded. */
  private refuseFrame(conn: Conn, code: ErrorCode, message: string, ref?: { robot?: string; seq?: number }): void {
    this.stats.framesRefused++;
    this.error(conn, code, message, ref);
  }

  private onFrame(conn: Conn, data: Buffer, now: number): void {
    const r = conn.robot ?? conn.attached;
    if (!r) {
      this.stats.framesRefused++;
      return this.error(conn, conn.role === 'robot' ? 'not_registered' : 'forbidden', conn.role === 'robot' ? 'register (or attach a camera) before sending frames' : `a ${conn.role} may not send binary frames`);
    }
    const p = this.profile;
    const tp = p ? p.now() : 0;
    const parsed = parseMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (p) p.add('parse', p.now() - tp);
    if (!parsed.ok) return this.refuseFrame(conn, 'bad_frame', parsed.error.message, { robot: r.id });
    const f: Frame = parsed.msg.frame;
    if (f.handle !== r.handle) return this.refuseFrame(conn, 'forbidden', `frame carries handle ${f.handle}; this robot's handle is ${r.handle}`, { robot: r.id });
    const key = r.channels[f.channel];
    const spec = key === undefined ? undefined : r.features.observation[key];
    if (!spec || spec.kind === 'state' || FRAME_KINDS[spec.kind] !== FRAME_KINDS[f.kind]) {
      return this.refuseFrame(conn, 'bad_frame', `channel ${f.channel} is not an image or tensor feature of ${r.id}`, { robot: r.id });
    }
    // Each channel has one sender: the robot for its own features, a camera for what it attached.
    if (r.channelOwner(f.channel) !== (conn.robot ? null : conn)) {
      return this.refuseFrame(conn, 'forbidden', `${key} of ${r.id} is sent by ${conn.robot ? 'the camera that attached it' : 'another connection'}, not this one`, { robot: r.id, seq: f.seq });
    }
    if (spec.dtype !== f.dtype || spec.shape.length !== f.shape.length || spec.shape.some((d, i) => d !== f.shape[i]) || (spec.format ?? null) !== f.format) {
      return this.refuseFrame(conn, 'bad_frame', `frame on ${key} is ${f.dtype}${JSON.stringify(f.shape)}${f.format ? ` ${f.format}` : ''}; declared ${spec.dtype}${JSON.stringify(spec.shape)}${spec.format ? ` ${spec.format}` : ''}`, { robot: r.id, seq: f.seq });
    }
    this.stats.framesIn++;
    if (this.recorder) {
      const tr = p ? p.now() : 0;
      this.recorder.record({ dir: 'in', op: 'frame', robot: r.id, channel: key, t: now, bytes: data });
      if (p) p.add('record', p.now() - tr);
    }
    for (const c of r.subscribers) {
      const want = c.subs.get(r.id) ?? c.subs.get('*');
      if (want && !want.has(key)) continue;
      if (this.bulk.length >= 1024) {
        this.bulk.shift(); // hopelessly behind: the oldest frame goes
        this.stats.framesDropped++;
      }
      this.bulk.push({ conn: c, data });
    }
    this.scheduleBulk();
  }

  /**
   * Large frames go out one per event-loop turn, so copying a camera frame into four viewer
   * sockets never holds up a command or an ack waiting to be read in between.
   */
  private scheduleBulk(): void {
    if (this.bulkScheduled || this.bulk.length === 0) return;
    this.bulkScheduled = true;
    setImmediate(() => {
      this.bulkScheduled = false;
      const job = this.bulk.shift();
      const p = this.profile;
      const t = p ? p.now() : 0;
      if (job && !this.sendDroppable(job.conn, job.data, true)) this.stats.framesDropped++;
      if (p) p.add('fanout', p.now() - t, 'frame');
      this.scheduleBulk();
    });
  }

  private onRobotAck(conn: Conn, msg: ClientMessageOf<'ack'>, now: number): void {
    const r = this.ownRobot(conn, msg.robot, 'ack');
    if (!r) return;
    const a = r.ack(msg);
    if ('code' in a) return this.error(conn, a.code, a.message, { op: 'ack', seq: msg.seq, robot: r.id });
    const p = a.pending;
    if (!p) {
      // An honest ack for a command nobody waits for any more (the lease ended): not the robot's fault.
      this.stats.lateAcks++;
      return;
    }
    if (p.conn.closed) return;
    this.send(p.conn, {
      op: 'ack', robot: r.id, seq: p.ctrlSeq, requested: p.requested, sent: p.sent, applied: msg.applied, clamped: p.clamped,
      hubReceived: p.received, hubAcked: now,
    });
  }

  private lookup(conn: Conn, robot: string, op: string, id?: string | number): RobotSlot<Conn> | null {
    const r = this.robots.get(robot);
    if (!r) {
      this.error(conn, 'unknown_robot', `no robot ${robot} is registered`, { op, robot, ...(id !== undefined ? { id } : {}) });
      return null;
    }
    return r;
  }

  private onLease(conn: Conn, msg: ClientMessageOf<'lease'>): void {
    const ref = { op: 'lease', robot: msg.robot, ...(msg.id !== undefined ? { id: msg.id } : {}) };
    const r = this.lookup(conn, msg.robot, 'lease', msg.id);
    if (!r) return;
    const e = r.lease({ conn, peer: conn.peer });
    if (e) return this.error(conn, e.code, e.message, ref);
    conn.leases.add(r.id);
    this.send(conn, { op: 'ok', of: 'lease', ...(msg.id !== undefined ? { id: msg.id } : {}), robot: r.id, limits: r.limits, seq: r.leaseSeq });
  }

  private onRelease(conn: Conn, msg: ClientMessageOf<'release'>): void {
    const r = this.lookup(conn, msg.robot, 'release', msg.id);
    if (!r) return;
    const e = r.release(conn, `${conn.name ?? conn.session} released the lease`);
    if (e) return this.error(conn, e.code, e.message, { op: 'release', robot: r.id, ...(msg.id !== undefined ? { id: msg.id } : {}) });
    conn.leases.delete(r.id);
    this.send(conn, { op: 'ok', of: 'release', ...(msg.id !== undefined ? { id: msg.id } : {}), robot: r.id });
  }

  private onCommand(conn: Conn, msg: ClientMessageOf<'command'>, now: number): void {
    const ref = { op: 'command', seq: msg.seq, robot: msg.robot };
    const r = this.robots.get(msg.robot);
    if (!r) return this.error(conn, 'unknown_robot', `no robot ${msg.robot} is registered`, ref);
    const e = r.command(conn, msg, now);
    if (e) return this.error(conn, e.code, e.message, ref);
  }

  private onEstop(conn: Conn, msg: ClientMessageOf<'estop'>): void {
    let r: RobotSlot<Conn> | null;
    if (conn.role === 'robot') r = this.ownRobot(conn, msg.robot, 'estop');
    else r = this.lookup(conn, msg.robot, 'estop', msg.id);
    if (!r) return;
    r.estop(msg.reason || 'e-stop', conn.peer);
    this.send(conn, { op: 'ok', of: 'estop', ...(msg.id !== undefined ? { id: msg.id } : {}), robot: r.id });
  }

  private onReset(conn: Conn, msg: ClientMessageOf<'reset'>): void {
    const ref = { op: 'reset', robot: msg.robot, ...(msg.id !== undefined ? { id: msg.id } : {}) };
    const r = this.lookup(conn, msg.robot, 'reset', msg.id);
    if (!r) return;
    const e = r.reset(conn.peer);
    if (e) return this.error(conn, e.code, e.message, ref);
    if (!r.conn) this.scheduleDeparture(r);
    this.send(conn, { op: 'ok', of: 'reset', ...(msg.id !== undefined ? { id: msg.id } : {}), robot: r.id });
  }

  private onSubscribe(conn: Conn, msg: ClientMessageOf<'subscribe'>): void {
    const channels = msg.channels ? new Set(msg.channels) : null;
    if (msg.robot === '*') {
      conn.subs.set('*', channels);
      this.wildcardSubs.add(conn);
      for (const r of this.robots.values()) r.subscribers.add(conn);
    } else {
      const r = this.lookup(conn, msg.robot, 'subscribe', msg.id);
      if (!r) return;
      conn.subs.set(r.id, channels);
      r.subscribers.add(conn);
    }
    this.send(conn, { op: 'ok', of: 'subscribe', ...(msg.id !== undefined ? { id: msg.id } : {}), ...(msg.robot !== '*' ? { robot: msg.robot } : {}) });
  }

  private onUnsubscribe(conn: Conn, msg: ClientMessageOf<'unsubscribe'>): void {
    conn.subs.delete(msg.robot);
    if (msg.robot === '*') {
      this.wildcardSubs.delete(conn);
      for (const r of this.robots.values()) if (!conn.subs.has(r.id)) r.subscribers.delete(conn);
    } else {
      const r = this.robots.get(msg.robot);
      if (r && !conn.subs.has('*')) r.subscribers.delete(conn);
    }
    this.send(conn, { op: 'ok', of: 'unsubscribe', ...(msg.id !== undefined ? { id: msg.id } : {}), ...(msg.robot !== '*' ? { robot: msg.robot } : {}) });
  }

  // -------------------------------------------------------------------------------------------
  // Connections closing
  // -------------------------------------------------------------------------------------------

  private count(conn: Conn, d: 1 | -1): void {
    this.roleCounts.set(conn.role, (this.roleCounts.get(conn.role) ?? 0) + d);
    const key = `${conn.credential}\u0000${conn.role}`;
    const n = (this.tokenCounts.get(key) ?? 0) + d;
    if (n > 0) this.tokenCounts.set(key, n);
    else this.tokenCounts.delete(key);
  }

  private onClose(conn: Conn, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    this.conns.delete(conn);
    this.count(conn, -1);
    this.wildcardSubs.delete(conn);
    this.log(`disconnect ${conn.session} ${conn.role} (${code}${reason ? ` ${reason}` : ''})`);
    this.recordEvent('disconnect', conn, code, reason);
    for (const r of this.robots.values()) r.subscribers.delete(conn);
    for (const id of [...conn.leases]) {
      const r = this.robots.get(id);
      if (r && r.leaseHolder?.conn === conn) {
        conn.leases.delete(id);
        r.endLease('controller_disconnected', `controller ${conn.name ?? conn.session} disconnected`);
      }
    }
    const a = conn.attached;
    if (a && a.detach(conn)) {
      conn.attached = null;
      if (!this.closing && this.robots.get(a.id) === a) this.broadcast({ op: 'robot', info: a.info() });
    }
    const r = conn.robot;
    if (r && r.conn === conn) {
      const holder = r.disconnect();
      if (holder) holder.conn.leases.delete(r.id);
      this.scheduleDeparture(r);
      if (!this.closing) {
        this.broadcast({ op: 'status', level: 'warn', code: 'robot_disconnected', message: `robot ${r.id} disconnected${holder ? `; lease of ${holder.conn.name ?? holder.conn.session} ended` : ''}`, robot: r.id, t: hubNow() });
        this.broadcastState(r);
      }
    }
  }

  private beat(): void {
    for (const c of this.conns) {
      if (!c.alive) {
        this.log(`heartbeat: ${c.session} missed a pong; dropping it`);
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Outbound
  // -------------------------------------------------------------------------------------------

  /** Control-path send: never dropped. A peer that stopped reading altogether is disconnected. */
  private sendRaw(c: Conn, data: string | Buffer, binary: boolean): void {
    if (c.closed || c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > this.config.backpressure.disconnectAboveBytes) {
      this.log(`${c.session} has ${c.ws.bufferedAmount} bytes unread; disconnecting it`);
      c.ws.terminate();
      return;
    }
    this.stats.messagesOut++;
    this.cork(c);
    c.ws.send(data, binary ? BINARY : TEXT);
  }

  /**
   * Everything sent to one socket while this turn of the event loop lasts goes out in one write:
   * the socket is corked at the first message and uncorked once the turn is done. Under load, when
   * one read brings many messages, acks, observations and commands to the same peer leave
   * together instead of one system call each; with one message per turn nothing changes.
   */
  private cork(c: Conn): void {
    if (c.corked || !c.socket) return;
    c.socket.cork();
    c.corked = true;
    this.corkedConns.push(c);
    if (this.corkedConns.length === 1) process.nextTick(this.uncorkAll);
  }

  private readonly uncorkAll = (): void => {
    const list = this.corkedConns;
    this.corkedConns = [];
    for (const c of list) {
      c.corked = false;
      c.socket!.uncork();
    }
  };

  private send(c: Conn, msg: HubMessage): void {
    const p = this.profile;
    const t = p ? p.now() : 0;
    const text = JSON.stringify(msg);
    this.sendRaw(c, text, false);
    if (p) p.add('fanout', p.now() - t);
    if (this.recorder && msg.op !== 'robot_state') this.recordOut({ dir: 'out', op: msg.op, robot: 'robot' in msg && typeof msg.robot === 'string' ? msg.robot : null, t: hubNow(), text });
  }

  /** Data-path send: skipped (false) when the peer is behind. */
  private sendDroppable(c: Conn, data: Buffer, binary: boolean): boolean {
    if (c.closed || c.ws.readyState !== c.ws.OPEN) return false;
    if (c.ws.bufferedAmount > this.config.backpressure.dropAboveBytes) {
      c.dropped++;
      return false;
    }
    this.stats.messagesOut++;
    this.cork(c);
    c.ws.send(data, binary ? BINARY : TEXT);
    return true;
  }

  /** To every client connection except robots (and except `skip`). Recorded once. */
  private broadcast(msg: HubMessage, skip: Conn | null = null): void {
    const p = this.profile;
    const t = p ? p.now() : 0;
    const text = JSON.stringify(msg);
    const buf = Buffer.from(text);
    for (const c of this.conns) if (c !== skip && c.role !== 'robot') this.sendRaw(c, buf, false);
    if (p) p.add('fanout', p.now() - t);
    if (this.recorder) this.recordOut({ dir: 'out', op: msg.op, robot: 'robot' in msg && typeof msg.robot === 'string' ? msg.robot : null, t: hubNow(), text });
  }

  private broadcastState(r: RobotSlot<Conn>): void {
    if (this.closing) return;
    this.broadcast({ op: 'robot_state', robot: r.id, state: r.state });
  }

  private error(conn: Conn, code: ErrorCode, message: string, ref?: { op?: string; id?: string | number; seq?: number; robot?: string }): void {
    if (conn.closed) return;
    if (!ROBOT_STATE_REFUSALS.has(code) && !conn.errBucket.take(1, hubNow())) {
      this.stats.closedForAbuse++;
      this.refusals++;
      this.log(`closing ${conn.session}: too many invalid messages (last: ${code})`);
      conn.ws.close(1008, `too many invalid messages (last: ${code})`.slice(0, 120));
      // Give the close handshake a moment, then cut it off; the bookkeeping runs now.
      setTimeout(() => conn.ws.terminate(), 1000).unref();
      this.onClose(conn, 1008, 'too many invalid messages');
      return;
    }
    this.stats.errorsSent++;
    this.refusals++;
    const cleanRef = ref ? Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined)) : undefined;
    this.send(conn, { op: 'error', code, message: message.slice(0, 500), ...(cleanRef && Object.keys(cleanRef).length ? { ref: cleanRef } : {}) });
  }

  /** Out-records made while a message is handled wait for it (write order stays time order). */
  private recordOut(e: RecordEntry): void {
    if (this.staged) this.staged.push(e);
    else if (this.recorder) {
      const p = this.profile;
      const t = p ? p.now() : 0;
      this.recorder.record(e);
      if (p) p.add('record', p.now() - t);
    }
  }

  private recordEvent(event: 'connect' | 'disconnect', conn: Conn, code?: number, reason?: string): void {
    if (!this.recorder) return;
    this.recordOut({
      dir: 'out', op: 'session', robot: null, t: hubNow(),
      text: JSON.stringify({ event, session: conn.session, role: conn.role, ...(conn.name ? { name: conn.name } : {}), ...(code !== undefined ? { code } : {}), ...(reason ? { reason } : {}) }),
    });
  }
}
