/**
 * RobotSlot: everything the hub knows and decides about one robot, without a socket in sight.
 *
 * State: the robot's declaration (features, limits), whether it is connected, its exclusive lease,
 * the latched e-stop, whether it holds still (and why), the command clamp, the pose estimate, the
 * commands waiting for an ack, and two watchdogs: no command within commandTimeoutMs while moving
 * → `hold` (`watchdog`), no pose within poseTimeoutMs while moving → `hold` (`stale_pose`).
 *
 * The pose estimate (the anchor every delta is clamped against) is the last reported pose plus
 * every delta sent after the last command that pose reflects (the observation's `cmdSeq`). None is
 * ever dropped: when `maxPendingCommands` deltas are waiting to show up in the pose, further
 * commands are refused (`window_full`) until observations catch up.
 *
 * Attached features (since protocol 1.2): a camera process holding the robot's credential may add
 * image or tensor features to it (`attach`). They follow the robot's own features in
 * `features.observation`, so a frame's channel is still the index in that key order; each belongs
 * to the connection that attached it, which alone may send its frames. A robot coming back with the
 * same features keeps them; one that comes back with other features (or takes an attached key for
 * itself) drops them, and the hub closes those camera connections so that they attach again.
 *
 * Transitions are methods (`register`, `lease`, `command`, `observe`, `ack`, `estop`, `reset`,
 * `hold`, `disconnect`, `attach`, `detach`); refusals come back as `{ code, message }` for the hub to answer with, and
 * everything the slot has to say goes out through a `SlotLink` (to the robot, to everybody). The
 * slot is generic in the connection type `C`: the hub passes its connections, unit tests plain
 * objects.
 */
import { CommandClamp } from './safety.ts';
import { hubNow } from './clock.ts';
import type { Pose4 } from './safety.ts';
import { MAX_FEATURES } from '../protocol.ts';
import type {
  ActionVector, ClampReason, ClientMessageOf, ErrorCode, Features, HoldReason, HubMessage, Peer, RobotInfo, RobotState,
  SafetyLimits,
} from '../protocol.ts';

/** How a slot speaks: the hub implements it over sockets. */
export interface SlotLink {
  /** Control-path message to the robot's own connection (never dropped). */
  toRobot(msg: HubMessage): void;
  /** To every controller and viewer. */
  broadcast(msg: HubMessage): void;
  /** The robot's state changed (the hub broadcasts `robot_state`). */
  stateChanged(): void;
  log(line: string): void;
  /** Counts holds and e-stops (hub statistics). */
  countHold(): void;
  /** Counts a command forwarded to the robot (hub statistics). */
  countCommand(clamped: boolean): void;
  /** Time the clamp took (ms), when the hub profiles itself. */
  profile?: (ms: number) => void;
}

/** A refusal, answered to the sender as `error`. */
export interface SlotError {
  code: ErrorCode;
  message: string;
}

export interface PendingCommand<C> {
  ctrlSeq: number;
  conn: C;
  requested: ActionVector;
  sent: ActionVector;
  clamped: ClampReason[];
  received: number;
}

interface SentDelta {
  seq: number;
  d: Pose4;
}

/** How far ahead of the next expected seq a command may jump (a gap of lost or skipped seqs). */
export const MAX_SEQ_JUMP = 65536;

/** a ≤ b for 32-bit sequence numbers that wrap (serial number arithmetic, RFC 1982). */
export function seqLE(a: number, b: number): boolean {
  return ((b - a) >>> 0) < 0x80000000;
}

/** What a robot declares when it registers. */
export interface SlotDeclaration {
  name: string | undefined;
  model: string | undefined;
  features: Features;
  /** The limits the hub enforces for it (hub configuration ∩ the robot's own). */
  limits: SafetyLimits;
}

/** Who is asking, as the slot needs to know it. */
export interface SlotActor<C> {
  conn: C;
  peer: Peer;
}

function err(code: ErrorCode, message: string): SlotError {
  return { code, message };
}

/** Features one connection attached to a robot. */
interface Attachment<C> {
  conn: C;
  features: Features['observation'];
}

export class RobotSlot<C> {
  readonly id: string;
  readonly handle: number;
  name: string | undefined;
  model: string | undefined;
  /** The robot's own features followed by every attached one (what clients are told). */
  features: Features;
  /** The features the robot itself declared. */
  private declared: Features;
  /** Attachments in the order they came (their features follow the robot's in that order). */
  private readonly attachments: Array<Attachment<C>> = [];
  /** Which connection may send each channel (the robot's own, or the attaching one). */
  private channelOwners: Array<C | null> = [];
  limits: SafetyLimits;
  /** Feature keys in declaration order: a frame's channel number indexes this. */
  channels: string[];
  state: RobotState;
  /** The robot's own connection while it is connected. */
  conn: C | null;
  /** Connections that receive its observations and frames (kept by the hub). */
  readonly subscribers = new Set<C>();
  leaseHolder: SlotActor<C> | null = null;
  readonly pending = new Map<number, PendingCommand<C>>();
  private clamp: CommandClamp;
  private hubSeq = 0;
  /** The lowest controller seq the next command may carry (over all leases, wrapping at 2^32). */
  private ctrlNext: number;
  /** Where the current lease's seqs start (told to its holder in `ok`). */
  private leaseStart: number;
  /** The first hub seq of the current registration (acks for earlier ones are unknown). */
  private firstSeq = 1;
  private watchdog: NodeJS.Timeout | null = null;
  private pose: Pose4 | null = null;
  private grip: number | null = null;
  private poseAt = 0;
  private deltas: SentDelta[] = [];
  /** The last cmdSeq an observation reported (the pose reflects every command up to it). */
  private reflected: number | null = null;
  /**
   * After a hold the robot may have dropped commands still on their way (their deltas would then be
   * counted but never happen): until a pose reflects this command, the anchor is unknown.
   */
  private settleAfter: number | null = null;
  private poseTimer: NodeJS.Timeout | null = null;
  private readonly link: SlotLink;
  private readonly maxPending: number;
  private readonly now: () => number;

  constructor(options: {
    id: string; handle: number; declaration: SlotDeclaration; conn: C; link: SlotLink; maxPendingCommands: number;
    now?: () => number;
    /** The controller seq the first lease starts at (default 1). */
    ctrlSeqStart?: number;
  }) {
    const d = options.declaration;
    this.id = options.id;
    this.handle = options.handle;
    this.name = d.name;
    this.model = d.model;
    this.declared = d.features;
    this.features = d.features;
    this.limits = d.limits;
    this.channels = [];
    this.clamp = new CommandClamp(d.limits, d.features.action);
    this.conn = options.conn;
    this.link = options.link;
    this.maxPending = options.maxPendingCommands;
    this.now = options.now ?? hubNow;
    this.ctrlNext = (options.ctrlSeqStart ?? 1) >>> 0;
    this.leaseStart = this.ctrlNext;
    this.state = { connected: true, lease: null, estop: null, holding: true, holdReason: 'registered' };
    this.merge();
  }

  /** Rebuilds `features` and the channel table from the declaration and the attachments. */
  private merge(): void {
    const observation: Features['observation'] = { ...this.declared.observation };
    const owners: Array<C | null> = Object.keys(observation).map(() => null);
    for (const a of this.attachments) {
      for (const [k, f] of Object.entries(a.features)) {
        observation[k] = f;
        owners.push(a.conn);
      }
    }
    this.features = this.attachments.length ? { ...this.declared, observation } : this.declared;
    this.channels = Object.keys(observation);
    this.channelOwners = owners;
  }

  /** The connection that may send frames on `channel` (null: the robot's own connection). */
  channelOwner(channel: number): C | null | undefined {
    return channel < this.channelOwners.length ? this.channelOwners[channel] : undefined;
  }

  /**
   * Adds image or tensor features sent by another connection (a camera process). Answers the
   * channel of each, or a refusal: a key the robot or another attachment already has.
   */
  attach(conn: C, features: Features['observation']): { channels: Record<string, number> } | SlotError {
    for (const [k, f] of Object.entries(features)) {
      if (f.kind === 'state') return err('invalid', `attach image or tensor features: ${k} is a state feature (state travels in the robot's own observations)`);
      if (k in this.features.observation) {
        const mine = this.attachments.find((a) => a.conn === conn && k in a.features);
        if (!mine) return err('feature_in_use', `robot ${this.id} already has a feature ${k}${k in this.declared.observation ? ' of its own' : ' attached by another connection'}`);
      }
    }
    if (this.channels.length + Object.keys(features).length > MAX_FEATURES) return err('too_large', `robot ${this.id} would have more than ${MAX_FEATURES} features`);
    const existing = this.attachments.find((a) => a.conn === conn);
    if (existing) existing.features = { ...existing.features, ...features };
    else this.attachments.push({ conn, features: { ...features } });
    this.merge();
    const channels: Record<string, number> = {};
    for (const k of Object.keys(features)) channels[k] = this.channels.indexOf(k);
    this.link.log(`${this.id}: attached ${Object.keys(features).join(', ')}`);
    return { channels };
  }

  /** Removes what `conn` attached (it disconnected); true if it had attached anything. */
  detach(conn: C): boolean {
    const i = this.attachments.findIndex((a) => a.conn === conn);
    if (i < 0) return false;
    const [a] = this.attachments.splice(i, 1);
    this.merge();
    this.link.log(`${this.id}: detached ${Object.keys(a.features).join(', ')}`);
    return true;
  }

  /** Connections with attached features. */
  get attachedConns(): C[] {
    return this.attachments.map((a) => a.conn);
  }

  /**
   * The same robot back (a restart): its e-stop latch, if any, survives; it stays stopped until
   * leased. Attachments survive when the robot declares the same feature keys as before; otherwise
   * they are dropped (their channels would move): returns the connections that lost theirs.
   */
  reconnect(conn: C, d: SlotDeclaration): C[] {
    this.conn = conn;
    this.firstSeq = (this.hubSeq + 1) >>> 0;
    this.name = d.name;
    this.model = d.model;
    const sameKeys = Object.keys(d.features.observation).join('\u0000') === Object.keys(this.declared.observation).join('\u0000');
    const dropped = sameKeys ? [] : this.attachments.splice(0).map((a) => a.conn);
    this.declared = d.features;
    this.merge();
    this.limits = d.limits;
    this.clamp = new CommandClamp(d.limits, d.features.action);
    this.state = { ...this.state, connected: true, holding: true, holdReason: 'registered' };
    return dropped;
  }

  /** After the hub has answered `register`: the robot holds, and hears of a latched e-stop. */
  registered(): void {
    this.hold('registered', 'robot registered: holding until a controller leases it and commands');
    const e = this.state.estop;
    if (e) this.link.toRobot({ op: 'estop', robot: this.id, reason: e.reason, by: e.by, t: e.t });
  }

  info(): RobotInfo {
    return {
      id: this.id, handle: this.handle, ...(this.name ? { name: this.name } : {}), ...(this.model ? { model: this.model } : {}),
      features: this.features, limits: this.limits, state: this.state,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Lease
  // -------------------------------------------------------------------------------------------

  lease(who: SlotActor<C>): SlotError | null {
    if (!this.conn) return err('robot_offline', `robot ${this.id} is not connected`);
    const h = this.leaseHolder;
    if (h && h.conn !== who.conn) return err('lease_held', `robot ${this.id} is leased by ${h.peer.name ?? h.peer.session}`);
    if (!h) {
      this.leaseHolder = who;
      // Seqs belong to the lease: this one starts after every seq accepted before, so a command
      // of an earlier lease can never count again.
      this.leaseStart = this.ctrlNext;
      this.clamp.restart();
      this.state = { ...this.state, lease: who.peer };
      this.link.log(`lease ${this.id} → ${who.peer.session}`);
      this.link.stateChanged();
    }
    return null;
  }

  /** Ends the lease `conn` holds (not_leased if it holds none). */
  release(conn: C, message: string): SlotError | null {
    if (this.leaseHolder?.conn !== conn) return err('not_leased', `you do not hold the lease on ${this.id}`);
    this.endLease('lease_released', message);
    return null;
  }

  endLease(reason: HoldReason, message: string): void {
    this.leaseHolder = null;
    this.stopWatchdog();
    this.pending.clear();
    this.state = { ...this.state, lease: null };
    if (this.conn) this.hold(reason, message);
    else this.link.stateChanged();
  }

  // -------------------------------------------------------------------------------------------
  // Commands, observations, acks
  // -------------------------------------------------------------------------------------------

  /** A controller's command: refused, or clamped and sent to the robot. */
  command(conn: C, msg: ClientMessageOf<'command'>, now: number): SlotError | null {
    if (this.leaseHolder?.conn !== conn) return err('not_leased', `lease ${this.id} before commanding it`);
    if (!this.conn) return err('robot_offline', `robot ${this.id} is not connected`);
    if (this.state.estop) return err('estop_latched', `robot ${this.id} is e-stopped (${this.state.estop.reason || 'no reason given'}); it is cleared by reset from whoever raised it, or an operator`);
    const ahead = (msg.seq - this.ctrlNext) >>> 0;
    if (ahead >= 0x80000000) return err('stale_seq', `command seq ${msg.seq} is not after the last one accepted (${(this.ctrlNext - 1) >>> 0}); this lease started at ${this.leaseStart}`);
    if (ahead >= MAX_SEQ_JUMP) return err('stale_seq', `command seq ${msg.seq} jumps ${ahead} past the next expected (${this.ctrlNext}); continue from there (at most ${MAX_SEQ_JUMP - 1} ahead)`);
    if (msg.form && msg.form !== this.features.action.form) return err('wrong_form', `robot ${this.id} takes ${this.features.action.form}, not ${msg.form}`);
    if (!this.pose) return err('no_pose', `robot ${this.id} has not reported its pose (${this.features.action.poseKey}) yet`);
    if (now - this.poseAt > this.limits.poseTimeoutMs) return err('stale_pose', `robot ${this.id}'s last pose is ${Math.round(now - this.poseAt)} ms old (limit ${this.limits.poseTimeoutMs} ms)`);
    const form = this.features.action.form;
    if (this.settleAfter !== null) return err('stale_pose', `robot ${this.id} was told to hold; waiting for a pose that reflects command ${this.settleAfter} (commands on their way may have been dropped)`);
    if (form !== 'ee_target' && this.deltas.length >= this.maxPending) {
      return err('window_full', `robot ${this.id} has ${this.deltas.length} commands not yet reflected in its pose (limit ${this.maxPending}); wait for its observations`);
    }
    if (this.pending.size >= this.maxPending) {
      return err('window_full', `robot ${this.id} has ${this.pending.size} commands waiting for an ack (limit ${this.maxPending}); wait for its acks`);
    }
    this.ctrlNext = (msg.seq + 1) >>> 0;

    const prof = this.link.profile;
    const t = prof ? performance.now() : 0;
    const anchor: Pose4 = [this.pose[0], this.pose[1], this.pose[2], this.pose[3]];
    if (form !== 'ee_target') for (const d of this.deltas) for (let i = 0; i < 4; i++) anchor[i] += d.d[i];
    const result = this.clamp.clamp(msg.action, anchor, this.grip, now);
    if (prof) prof(performance.now() - t);
    const seq = (this.hubSeq = (this.hubSeq + 1) >>> 0);
    if (form !== 'ee_target') {
      this.deltas.push({ seq, d: [result.target[0] - anchor[0], result.target[1] - anchor[1], result.target[2] - anchor[2], result.target[3] - anchor[3]] });
    }
    this.pending.set(seq, { ctrlSeq: msg.seq, conn, requested: msg.action, sent: result.sent, clamped: result.clamped, received: now });
    this.link.countCommand(result.clamped.length > 0);
    this.link.toRobot({ op: 'command', robot: this.id, seq, form, action: result.sent, clamped: result.clamped, t: now });
    this.touchWatchdog();
    this.armPoseWatch();
    if (this.state.holding) {
      this.state = { ...this.state, holding: false, holdReason: null };
      this.link.stateChanged();
    }
    return null;
  }

  /**
   * The robot's observation: its pose (if it carries one) becomes the anchor, with the deltas of
   * every command after `cmdSeq` (the last one the pose reflects) still added to it. Without
   * `cmdSeq` no delta counts as reflected; a `cmdSeq` the hub never sent is not believed.
   */
  observe(msg: ClientMessageOf<'observation'>, now: number): void {
    const pose = msg.state[this.features.action.poseKey];
    if (!pose || pose.length < 4) return;
    const c = msg.cmdSeq;
    if (c !== undefined && seqLE(c, this.hubSeq)) {
      // An observation older than one already used (it reflects less) would anchor without the
      // deltas that one removed: keep the newer anchor.
      if (this.reflected !== null && !seqLE(this.reflected, c)) return;
      this.reflected = c;
      if (this.settleAfter !== null && seqLE(this.settleAfter, c)) this.settleAfter = null;
      let k = 0;
      while (k < this.deltas.length && seqLE(this.deltas[k].seq, c)) k++;
      if (k > 0) this.deltas.splice(0, k);
    }
    this.pose = [pose[0], pose[1], pose[2], pose[3]];
    if (pose.length >= 5) this.grip = pose[4];
    this.poseAt = now;
  }

  /** The first seq of the current lease (the holder continues from there). */
  get leaseSeq(): number {
    return this.leaseStart;
  }

  /** Commands sent whose deltas the reported pose does not show yet. */
  get unreflected(): number {
    return this.deltas.length;
  }

  /**
   * The robot acknowledges one command: its pending entry (commands before it that are still
   * pending were skipped: robots work in order), `null` for a command this hub did send it but
   * no longer waits for (its lease ended, or it was skipped), or a refusal for one never sent.
   */
  ack(msg: ClientMessageOf<'ack'>): { pending: PendingCommand<C> | null } | SlotError {
    const s = msg.seq;
    const p = this.pending.get(s);
    if (p) {
      for (const k of this.pending.keys()) {
        if (k === s) break;
        this.pending.delete(k);
      }
      this.pending.delete(s);
      return { pending: p };
    }
    if (this.hubSeq !== this.firstSeq - 1 && seqLE(this.firstSeq, s) && seqLE(s, this.hubSeq)) return { pending: null };
    return err('unknown_command', `no command ${s} was sent to robot ${this.id} since it registered`);
  }

  // -------------------------------------------------------------------------------------------
  // E-stop and holding
  // -------------------------------------------------------------------------------------------

  /** Latches the e-stop (a second one keeps the first reason). */
  estop(reason: string, by: Peer): void {
    if (this.state.estop) return;
    const t = this.now();
    this.state = { ...this.state, estop: { reason: reason.slice(0, 200), by, t }, holding: true, holdReason: 'estop' };
    this.stopWatchdog();
    this.link.countHold();
    this.link.log(`E-STOP ${this.id} by ${by.name ?? by.session}: ${reason}`);
    const m: HubMessage = { op: 'estop', robot: this.id, reason: this.state.estop!.reason, by, t };
    if (this.conn) this.link.toRobot(m);
    this.link.broadcast(m);
    this.link.stateChanged();
  }

  /**
   * Clears a latched e-stop; the robot then holds until the next command. Its owner decides who
   * may: one raised by an operator, by the robot itself or by the hub is cleared only by an
   * operator; one raised by a controller, by that same controller (session) or an operator. The
   * lease plays no part: holding it gives no right over someone else's stop.
   */
  reset(by: Peer): SlotError | null {
    const e = this.state.estop;
    if (!e) return err('not_latched', `robot ${this.id} is not e-stopped`);
    const owner = e.by.name ?? e.by.session;
    const operatorOnly = e.by.operator === true || e.by.role === 'robot';
    if (!by.operator) {
      if (operatorOnly) return err('forbidden', `the e-stop on ${this.id} was raised by ${e.by.role === 'robot' ? 'the robot itself' : `operator ${owner}`}; only an operator may clear it`);
      if (e.by.session !== by.session) return err('forbidden', `the e-stop on ${this.id} was raised by ${owner}; only ${owner} or an operator may clear it`);
    }
    const who = by.name ?? by.session;
    this.link.log(`reset ${this.id} by ${who}`);
    this.state = { ...this.state, estop: null };
    this.clamp.restart();
    if (this.conn) this.hold('reset', `e-stop cleared by ${who}; holding until the next command`);
    else this.link.stateChanged();
    return null;
  }

  /**
   * Tells the robot to hold, with `reason` (a hold reason every robot knows); `code` names the cause
   * in the robot's state and the `status` everyone hears (default: the reason itself).
   */
  hold(reason: HoldReason, message: string, code: string = reason): void {
    const t = this.now();
    this.stopWatchdog();
    if (this.deltas.length > 0) this.settleAfter = this.deltas[this.deltas.length - 1].seq;
    this.clamp.restart();
    this.state = { ...this.state, holding: true, holdReason: reason === 'estop' ? 'estop' : this.state.estop ? 'estop' : code };
    this.link.countHold();
    this.link.toRobot({ op: 'hold', robot: this.id, reason, message, t });
    if (reason !== 'registered') {
      const level = reason === 'watchdog' || reason === 'controller_disconnected' ? 'warn' : 'info';
      this.link.broadcast({ op: 'status', level, code, message: `${this.id}: ${message}`, robot: this.id, t });
      this.link.log(`hold ${this.id}: ${code} (${message})`);
    }
    this.link.stateChanged();
  }

  /**
   * The lease holder asks for a hold, saying why (its camera stopped, say). The robot hears a
   * `watchdog` hold (a reason every 1.x robot knows: the controller has nothing to send) with the
   * holder's words; the state and the status say `controller_hold`. Its next command moves it again.
   */
  controllerHold(conn: C, reason: string): SlotError | null {
    const h = this.leaseHolder;
    if (h?.conn !== conn) return err('not_leased', `hold asks for the lease on ${this.id}; you do not hold it`);
    if (!this.conn) return err('robot_offline', `robot ${this.id} is not connected`);
    this.hold('watchdog', `${h.peer.name ?? h.peer.session} holds it: ${reason}`, 'controller_hold');
    return null;
  }

  /** The robot's connection closed: its lease ends; returns who held it. */
  disconnect(): SlotActor<C> | null {
    this.conn = null;
    this.stopWatchdog();
    this.pending.clear();
    this.deltas = [];
    this.reflected = null;
    this.settleAfter = null;
    this.pose = null;
    this.grip = null;
    const holder = this.leaseHolder;
    this.leaseHolder = null;
    this.state = { ...this.state, connected: false, lease: null, holding: true, holdReason: 'registered' };
    return holder;
  }

  /** Stops the watchdog timers (a hold, an e-stop, the hub shutting down). */
  stopWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    if (this.poseTimer) clearTimeout(this.poseTimer);
    this.poseTimer = null;
  }

  /**
   * While the robot moves, its pose must keep coming: the timer wakes when the last pose would go
   * stale and holds the robot if no newer one came (one timer per timeout, not per observation).
   */
  private armPoseWatch(): void {
    if (this.poseTimer) return;
    const wait = Math.max(1, this.poseAt + this.limits.poseTimeoutMs - this.now() + 1);
    this.poseTimer = setTimeout(() => {
      this.poseTimer = null;
      if (!this.leaseHolder || this.state.holding || !this.conn) return;
      const age = this.now() - this.poseAt;
      if (age <= this.limits.poseTimeoutMs) return this.armPoseWatch();
      this.hold('stale_pose', `no pose from ${this.id} for ${Math.round(age)} ms (limit ${this.limits.poseTimeoutMs} ms)`);
    }, wait);
    this.poseTimer.unref();
  }

  private touchWatchdog(): void {
    if (this.watchdog) {
      this.watchdog.refresh();
      return;
    }
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      const h = this.leaseHolder;
      if (!h || this.state.holding || !this.conn) return;
      this.hold('watchdog', `no command from ${h.peer.name ?? h.peer.session} for ${this.limits.commandTimeoutMs} ms`);
    }, this.limits.commandTimeoutMs);
    this.watchdog.unref();
  }
}
