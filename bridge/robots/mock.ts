/**
 * A mock robot for tests and benchmarks: a point end-effector that moves exactly as commanded,
 * and remembers every command, hold and e-stop it received. Optionally a camera that produces a
 * fixed-size RGB image each observation, and a network between it and its client: each command
 * then takes effect `latencyMs` (± `jitterMs`) after `sendAction`, and each observation shows the
 * pose as it was that long ago (order is kept, as over TCP).
 *
 * By default the mock trusts the hub entirely (it applies exactly what it is sent, so tests see
 * the hub's own decisions); with `guard: true` it also keeps the workspace box on its own pose,
 * as every real robot does (robots/workspace-guard.ts).
 */
import { Rng } from '../../sim/rng.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import type { ActionForm, ActionVector, Features, FeatureSpec, RobotLimits, SafetyLimits } from '../protocol.ts';
import type { Robot, RobotObservation } from '../robot.ts';
import { WorkspaceGuard } from './workspace-guard.ts';

export interface MockRobotOptions {
  form?: ActionForm;
  /** For `ee_delta_normalized` (default [0.02, 0.02, 0.02, 0.2]). */
  maxDelta?: [number, number, number, number];
  /** Initial [x, y, z, yaw, grip] (default [0, 0, 0.2, 0, -1]). */
  initialPose?: ActionVector;
  controlHz?: number;
  /**
   * Adds an RGB camera feature `camera.front` of this size, with its calibration if given (a
   * camera file of the same size: the hub refuses another).
   */
  camera?: { width: number; height: number; hz?: number; calibration?: CameraFile };
  limits?: RobotLimits;
  /** Remember every command in `commands` (default true; benchmarks turn it off). */
  log?: boolean;
  /** One-way delay of commands and observations, ms (default 0: commands act at once). */
  latencyMs?: number;
  /** Uniform ± spread added to each delay, ms (default 0). */
  jitterMs?: number;
  /** Seed of the jitter (default 1). */
  seed?: number;
  /** Keep the workspace box on its own pose too (default false: apply exactly what the hub sent). */
  guard?: boolean;
}

export interface MockCommandRecord {
  action: ActionVector;
  before: ActionVector;
  after: ActionVector;
  t: number;
}

export class MockRobot implements Robot {
  readonly features: Features;
  pose: ActionVector;
  readonly commands: MockCommandRecord[] = [];
  readonly holds: number[] = [];
  readonly estops: Array<{ reason: string; t: number }> = [];
  estopped = false;
  private connected = false;
  private readonly image: Uint8Array | null;
  private frameCount = 0;
  private faultListener: ((reason: string) => void) | null = null;
  private readonly keepLog: boolean;
  private readonly latencyMs: number;
  private readonly jitterMs: number;
  private readonly rng: Rng;
  /** Commands on their way to the arm (network delay), in order. */
  private inFlight: Array<{ at: number; index: number; action: ActionVector; timer: NodeJS.Timeout }> = [];
  /** Poses as they were, for delayed observations, with the actions they reflect. */
  private history: Array<{ t: number; pose: ActionVector; actions: number }> = [];
  /** sendAction calls so far, and how many of them have taken effect (or were dropped). */
  private sent = 0;
  private settled = 0;
  private lastSeen = 0;
  private readonly guard: WorkspaceGuard | null;
  /** Workspace breaches the guard stopped (with `guard: true`). */
  readonly breaches: string[] = [];
  /** Largest excursion beyond `watchBox` seen so far (metres; benchmarks read it). */
  maxExcursion = 0;
  /** A box whose every crossing is measured into `maxExcursion` (benchmarks set it). */
  watchBox: { min: readonly number[]; max: readonly number[] } | null = null;

  constructor(options: MockRobotOptions = {}) {
    const form = options.form ?? 'ee_delta_normalized';
    const observation: Record<string, FeatureSpec> = {
      'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'] },
    };
    if (options.camera) {
      const c = options.camera;
      observation['camera.front'] = { kind: 'image', dtype: 'uint8', shape: [c.height, c.width, 3], format: 'rgb8', ...(c.hz ? { hz: c.hz } : {}), ...(c.calibration ? { calibration: c.calibration } : {}) };
    }
    this.features = {
      observation,
      action: { form, poseKey: 'ee.pose', ...(form === 'ee_delta_normalized' ? { maxDelta: options.maxDelta ?? [0.02, 0.02, 0.02, 0.2] } : {}) },
      controlHz: options.controlHz ?? 20,
      ...(options.limits ? { limits: options.limits } : {}),
    };
    this.keepLog = options.log ?? true;
    this.latencyMs = options.latencyMs ?? 0;
    this.jitterMs = options.jitterMs ?? 0;
    if (!(this.latencyMs >= 0) || !(this.jitterMs >= 0) || this.jitterMs > this.latencyMs) throw new RangeError(`mock robot latency must be ≥ 0 with jitter ≤ latency (got ${this.latencyMs} ± ${this.jitterMs} ms)`);
    this.rng = new Rng(options.seed ?? 1).fork('network');
    this.guard = options.guard ? new WorkspaceGuard() : null;
    this.pose = [...(options.initialPose ?? [0, 0, 0.2, 0, -1])] as ActionVector;
    this.image = options.camera ? new Uint8Array(options.camera.width * options.camera.height * 3) : null;
    if (this.image) for (let i = 0; i < this.image.length; i++) this.image[i] = (i * 7) & 0xff;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async getObservation(): Promise<RobotObservation> {
    const seen = this.observed();
    const obs: RobotObservation = { state: { 'ee.pose': [...seen.pose] }, actions: seen.actions };
    if (this.image) {
      this.image[0] = this.frameCount++ & 0xff;
      obs.frames = { 'camera.front': this.image };
    }
    return obs;
  }

  async sendAction(action: ActionVector): Promise<ActionVector> {
    const index = ++this.sent;
    if (!this.connected) {
      if (this.inFlight.length === 0) this.settled = index;
      throw new Error('mock robot is not connected');
    }
    if (this.latencyMs === 0) return this.apply(action, index);
    const now = performance.now();
    const last = this.inFlight.length ? this.inFlight[this.inFlight.length - 1].at : 0;
    const at = Math.max(last, now + this.delay());
    const entry = { at, index, action: [...action] as ActionVector, timer: setTimeout(() => this.arrive(entry), at - now) };
    this.inFlight.push(entry);
    return action;
  }

  private arrive(entry: { at: number; index: number; action: ActionVector }): void {
    const i = this.inFlight.indexOf(entry as (typeof this.inFlight)[number]);
    if (i < 0) return;
    // Everything sent earlier is due first (order is kept).
    for (const e of this.inFlight.splice(0, i + 1)) {
      clearTimeout(e.timer);
      this.apply(e.action, e.index);
    }
  }

  private delay(): number {
    return Math.max(0, this.latencyMs + this.rng.uniform(-this.jitterMs, this.jitterMs));
  }

  /** What an observation taken now shows: the present pose, or the one a network delay ago. */
  private observed(): { pose: ActionVector; actions: number } {
    if (this.latencyMs === 0) return { pose: this.pose, actions: this.settled };
    // Over TCP nothing overtakes: an observation never shows an older moment than the one before.
    const seen = (this.lastSeen = Math.max(this.lastSeen, performance.now() - this.delay()));
    let p = this.history.length ? this.history[0] : { pose: this.pose, actions: this.settled };
    for (const h of this.history) {
      if (h.t > seen) break;
      p = h;
    }
    return p;
  }

  setLimits(limits: SafetyLimits): void {
    this.guard?.setLimits(limits, this.pose);
  }

  private apply(action: ActionVector, index: number): ActionVector {
    this.settled = index;
    const before = [...this.pose] as ActionVector;
    if (this.estopped) {
      this.watch();
      return this.features.action.form === 'ee_target' ? before : [0, 0, 0, 0, before[4]];
    }
    const f = this.features.action;
    const next = [...this.pose] as ActionVector;
    if (f.form === 'ee_target') for (let i = 0; i < 5; i++) next[i] = action[i];
    else {
      const s = f.form === 'ee_delta_normalized' ? f.maxDelta! : [1, 1, 1, 1];
      for (let i = 0; i < 4; i++) next[i] += action[i] * s[i];
      next[4] = action[4];
    }
    if (this.guard) {
      const breach = this.guard.check(this.pose);
      if (breach) {
        this.breaches.push(breach);
        this.estopped = true;
        this.faultListener?.(breach);
        this.watch();
        return f.form === 'ee_target' ? before : [0, 0, 0, 0, before[4]];
      }
      if (this.guard.clampTarget(next, this.pose) && f.form !== 'ee_target') {
        // What was applied, in the robot's form.
        const s = f.form === 'ee_delta_normalized' ? f.maxDelta! : [1, 1, 1, 1];
        action = [(next[0] - before[0]) / s[0], (next[1] - before[1]) / s[1], (next[2] - before[2]) / s[2], (next[3] - before[3]) / s[3], next[4]];
      } else if (f.form === 'ee_target') action = [...next] as ActionVector;
    }
    this.pose = next;
    if (this.keepLog) this.commands.push({ action: [...action] as ActionVector, before, after: [...this.pose] as ActionVector, t: performance.now() });
    this.watch();
    return action;
  }

  private watch(): void {
    const now = performance.now();
    if (this.latencyMs > 0) {
      this.history.push({ t: now, pose: [...this.pose] as ActionVector, actions: this.settled });
      // Keep what a delayed observation may still show, and one entry before it.
      const horizon = now - this.latencyMs - this.jitterMs - 1;
      let k = 0;
      while (k + 1 < this.history.length && this.history[k + 1].t < horizon) k++;
      if (k > 0) this.history.splice(0, k);
    }
    const b = this.watchBox;
    if (!b) return;
    for (let i = 0; i < 3; i++) this.maxExcursion = Math.max(this.maxExcursion, this.pose[i] - b.max[i], b.min[i] - this.pose[i]);
  }

  /** Holds still; after an e-stop this is the re-arm (the client calls it only after a reset). */
  async hold(): Promise<void> {
    this.holds.push(performance.now());
    this.dropInFlight();
    this.estopped = false;
  }

  async emergencyStop(reason: string): Promise<void> {
    this.estopped = true;
    this.dropInFlight();
    this.estops.push({ reason, t: performance.now() });
  }

  async disconnect(): Promise<void> {
    this.dropInFlight();
    this.connected = false;
  }

  /** Commands still on the way never arrive (a hold, an e-stop or the link going down). */
  private dropInFlight(): void {
    for (const e of this.inFlight) clearTimeout(e.timer);
    this.inFlight = [];
    this.settled = this.sent;
    this.watch();
  }

  onFault(listener: (reason: string) => void): void {
    this.faultListener = listener;
  }

  /** Test hook: the robot reports a fault of its own. */
  fault(reason: string): void {
    this.faultListener?.(reason);
  }
}
