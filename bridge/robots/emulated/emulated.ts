/**
 * The emulated robot: the reality gap on one machine. A simulator process with its own physics
 * (from a reality file, outside the training ranges), a network between it and the bridge
 * (latency and jitter on every command and observation), noisy perception, and a control loop
 * that runs in real time whether or not commands arrive — like the arm it stands in for.
 *
 * - The loop steps the task at the scenario's control rate (times `speed`), executing the oldest
 *   command that has arrived and not yet run (one per step, in order, none dropped); with none,
 *   after `hold` or under e-stop, the arm holds exactly where it is (no action noise) while the
 *   world goes on.
 * - Observations: `ee.pose` [x, y, z, yaw, grip] (palm, for the bridge's safety checks),
 *   `policy.state` (the task observation the simulator's policies read: robot state plus the true
 *   block poses, with the reality's perception noise: what only a simulator knows), `robot.state`
 *   (the robot's own part of it, ROBOT_FEATURES: tool centre point, gripper yaw and width,
 *   velocities, finger command — what a real arm reports of itself), and `episode` [index, step,
 *   success, fail, prev_success, prev_fail] (the last two: how episode index − 1 ended).
 * - Camera (optional, robots/emulated/camera.ts): `camera.<name>` with its calibration; each
 *   control step hands the camera the state its observation reports.
 * - Episodes: when the task succeeds, fails or runs out of time, the result is published in
 *   `episode` and, after `resetPauseMs` (someone resetting the scene), the next layout appears.
 * - E-stop latches the arm still until `hold` (sent by the hub after a reset by the lease holder).
 * - Its own safe zone (robots/workspace-guard.ts): once the hub's limits arrive, each step's
 *   setpoint is clipped into the workspace box (widened to include where the palm is), and a palm
 *   beyond the box by more than the margin stops the arm and raises the e-stop as a fault.
 * - Each observation says how many actions it reflects (those that reached the arm by the step it
 *   was taken in), so the hub never mistakes a command still on the network for one already done.
 * - With a reality whose scenario has `"robot": "so101"` it is an emulated SO-101: `ee.pose`,
 *   `joints`, the action form and its step scale, and the control rate are exactly those of the
 *   driver of the real arm (bridge/robots/so101/features.ts), read from the simulated arm's encoders
 *   (`ee.pose` is the fingertip point on the roll axis, as the driver reports it). Commands in
 *   `ee_target` or `ee_delta` form become the simulator's normalized step from the arm's target
 *   (clipped to one step's reach, MAX_DELTA / MAX_DYAW, like every simulator action). Besides the
 *   driver's features it publishes `policy.state` and `episode`: what a real arm's setup gets from
 *   perception and from whoever resets the scene.
 */
import { ACTION_SIZE, MAX_DELTA, MAX_DYAW, TabletopEnv } from '../../../sim/env.ts';
import { Rng } from '../../../sim/rng.ts';
import { ROBOT_FEATURES } from '../../../sim/tasks/features.ts';
import type { So101Arm } from '../../../sim/robot/so101/arm.ts';
import type { ActionForm, ActionVector, Features, SafetyLimits } from '../../protocol.ts';
import { so101Features } from '../so101/features.ts';
import type { Robot, RobotObservation } from '../../robot.ts';
import { WorkspaceGuard } from '../workspace-guard.ts';
import type { EmulatedCamera } from './camera.ts';
import type { Reality } from './reality.ts';

export interface EmulatedRobotOptions {
  /** Simulated time runs this many times faster than real time (default 1). */
  speed?: number;
  /**
   * Keep the hub's workspace box on the arm's own measured palm (default true). Benchmarks turn it
   * off to measure what the hub's clamp achieves alone.
   */
  guard?: boolean;
  /** How far the palm may be beyond the box before the arm stops and raises the e-stop (default 5 mm). */
  workspaceMarginM?: number;
  /** Action form an emulated SO-101 takes, as `simreal robot so101 --form` (default `ee_delta_normalized`); the mount takes normalized steps only. */
  form?: ActionForm;
  /** No control loop of its own: `advance()` runs one control period (tests). Default false. */
  manual?: boolean;
  /** The reality's camera (openEmulatedCamera), declared as its image feature and triggered each control step. */
  camera?: EmulatedCamera;
}

export interface EpisodeResult {
  index: number;
  seed: number;
  success: boolean;
  fail: boolean;
  steps: number;
}

interface Pending<T> {
  at: number;
  value: T;
  /** For commands: which sendAction call it was (1-based). */
  index?: number;
}

export class EmulatedRobot implements Robot {
  readonly features: Features;
  readonly reality: Reality;
  readonly results: EpisodeResult[] = [];
  private readonly env: TabletopEnv;
  private steps = 0;
  private readonly speed: number;
  private readonly manual: boolean;
  private readonly form: ActionForm;
  private readonly jitter: Rng;
  private connected = false;
  private timer: NodeJS.Timeout | null = null;
  /** The newest command not yet executed, or null: with none, the arm holds still. */
  private command: Float32Array | null = null;
  private incoming: Array<Pending<Float32Array>> = [];
  private outgoing: Array<Pending<RobotObservation>> = [];
  private latest: RobotObservation | null = null;
  private estopped = false;
  private episode = 0;
  private obs: Float32Array = new Float32Array(0);
  private resetAt = 0;
  private last = { success: 0, fail: 0 };
  private prev = { success: 0, fail: 0 };
  /** sendAction calls so far, and how many have reached the arm (or were dropped). */
  private sent = 0;
  private settled = 0;
  private readonly guard: WorkspaceGuard | null;
  private readonly camera: EmulatedCamera | null;
  private faultListener: ((reason: string) => void) | null = null;
  /** Largest excursion of the palm beyond `watchBox` seen so far (metres; benchmarks read it). */
  maxExcursion = 0;
  /** A box whose every crossing by the palm is measured into `maxExcursion` (benchmarks set it). */
  watchBox: { min: readonly number[]; max: readonly number[] } | null = null;

  constructor(reality: Reality, options: EmulatedRobotOptions = {}) {
    this.reality = reality;
    this.speed = options.speed ?? 1;
    this.manual = options.manual ?? false;
    if (!(this.speed > 0 && this.speed <= 100)) throw new RangeError(`speed must be in (0, 100], got ${this.speed}`);
    const arm = reality.scenario.robot === 'so101';
    this.form = options.form ?? 'ee_delta_normalized';
    if (!arm && this.form !== 'ee_delta_normalized') throw new RangeError(`the emulated ${reality.scenario.robot} takes ee_delta_normalized actions only, not ${this.form}`);
    this.env = new TabletopEnv(reality.scenario, { randomization: 'train' });
    this.jitter = new Rng(reality.config.seed).fork('transport');
    this.guard = options.guard === false ? null : new WorkspaceGuard({ marginM: options.workspaceMarginM });
    this.camera = options.camera ?? null;
    const names = this.env.observationSpace.names;
    // Observations and commands flow at the loop's real-time rate.
    const hz = reality.scenario.control.rateHz * this.speed;
    const world = {
      'policy.state': { kind: 'state' as const, dtype: 'float32' as const, shape: [names.length], names, hz },
      episode: { kind: 'state' as const, dtype: 'float64' as const, shape: [6], names: ['index', 'step', 'success', 'fail', 'prev_success', 'prev_fail'], hz },
      'robot.state': { kind: 'state' as const, dtype: 'float32' as const, shape: [ROBOT_FEATURES.length], names: [...ROBOT_FEATURES], hz },
      ...(this.camera ? { [this.camera.key]: this.camera.spec } : {}),
    };
    if (arm) {
      const f = so101Features({ form: this.form, controlHz: hz });
      this.features = { ...f, observation: { ...f.observation, ...world } };
    } else {
      this.features = {
        observation: {
          'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'], hz },
          ...world,
        },
        action: { form: 'ee_delta_normalized', maxDelta: [MAX_DELTA, MAX_DELTA, MAX_DELTA, MAX_DYAW], poseKey: 'ee.pose' },
        controlHz: hz,
      };
    }
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** One-way transport delay for the next message (ms). */
  private delay(): number {
    const { latencyMs, jitterMs } = this.reality.config.transport;
    return Math.max(0, latencyMs + this.jitter.uniform(-jitterMs, jitterMs));
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    this.connected = true;
    this.startEpisode();
    if (this.manual) return;
    const period = 1000 / (this.reality.scenario.control.rateHz * this.speed);
    this.timer = setInterval(() => this.tick(), period);
  }

  private startEpisode(): void {
    const seed = (this.reality.config.seed + this.episode) >>> 0;
    const { obs } = this.env.reset({ seed });
    this.obs = obs;
    this.steps = 0;
    this.command = null;
    this.resetAt = 0;
    // The outcome of the episode just finished rides along with the new one, so a controller that
    // sampled past its final frame (observations are polled, not queued) still counts it right.
    this.prev = this.last;
    this.last = { success: 0, fail: 0 };
    // The scene was set up afresh, the arm with it: its safe zone starts from where it now is.
    this.guard?.rebase(this.measured());
    this.publish();
  }

  /** Runs one control period now (a robot made with `manual: true`). */
  advance(): void {
    if (!this.manual) throw new Error('advance() is for an emulated robot made with manual: true; this one runs its own loop');
    if (!this.connected) throw new Error('connect() before advance()');
    this.tick();
  }

  /** The simulated SO-101 (null for the mount). */
  private get arm(): So101Arm | null {
    const g = this.env.scene.gripper;
    return g.kind === 'so101' ? (g as So101Arm) : null;
  }

  /** One control period of the arm. */
  private tick(): void {
    const now = Date.now();
    // One command per control period, in order: each is a step the hub counted on, so none is
    // dropped for a newer one (commands bunched by the network wait a period).
    if (this.incoming.length > 0 && this.incoming[0].at <= now) {
      const c = this.incoming.shift() as Pending<Float32Array>;
      this.settled = c.index!;
      if (!this.estopped) this.command = c.value;
    }
    if (this.resetAt > 0) {
      if (now >= this.resetAt) {
        this.episode++;
        this.startEpisode();
      }
      return;
    }
    let ev;
    if (this.command && !this.estopped && !this.guardStep()) this.command = null;
    if (this.command && !this.estopped) {
      const r = this.env.step(this.normalized(this.command));
      this.obs = r.obs;
      ev = r.info;
    } else {
      // No fresh command (or e-stopped): the arm holds exactly where it is while the world goes on.
      const scene = this.env.scene;
      scene.gripper.hold();
      scene.advance(this.env.substeps);
      this.obs = this.env.observe();
      ev = this.env.evaluate();
    }
    this.command = null;
    this.steps++;
    this.watch();
    if (ev.success || ev.fail || this.steps >= this.reality.scenario.maxSteps) {
      this.results.push({ index: this.episode, seed: (this.reality.config.seed + this.episode) >>> 0, success: ev.success, fail: ev.fail, steps: this.steps });
      this.last = { success: ev.success ? 1 : 0, fail: ev.fail ? 1 : 0 };
      this.resetAt = now + this.reality.config.resetPauseMs / this.speed;
    }
    this.publish();
    // The camera's look of the next episode is made ready while the scene is reset.
    if (this.resetAt > 0) {
      const state = this.env.state();
      this.camera?.prepare((this.reality.config.seed + this.episode + 1) >>> 0, state.bodies.map((b) => b.name), state);
    }
  }

  /**
   * Before a commanded step: checks the palm against the box (false: breach, the arm stopped and
   * the e-stop is raised) and clips the coming setpoint into it.
   */
  private guardStep(): boolean {
    const g = this.env.scene.gripper;
    const measured = this.measured();
    if (!this.guard) {
      g.limit = null;
      return true;
    }
    const breach = this.guard.check(measured);
    if (breach) {
      this.estopped = true;
      this.incoming = [];
      this.settled = this.sent;
      g.limit = null;
      this.faultListener?.(breach);
      return false;
    }
    const box = this.guard.clipBox(measured);
    g.limit = box ? { min: [...box.min], max: [...box.max] } : null;
    return true;
  }

  private watch(): void {
    const b = this.watchBox;
    if (!b) return;
    const v = this.measured();
    for (let i = 0; i < 3; i++) this.maxExcursion = Math.max(this.maxExcursion, v[i] - b.max[i], b.min[i] - v[i]);
  }

  /** A command in the robot's form as the simulator's normalized step (from the arm's target). */
  private normalized(c: Float32Array): Float32Array {
    const arm = this.arm;
    if (!arm || this.form === 'ee_delta_normalized') return c;
    const t = arm.targetPose();
    const d = this.form === 'ee_target' ? [c[0] - t[0], c[1] - t[1], c[2] - t[2], c[3] - t[3]] : [c[0], c[1], c[2], c[3]];
    const scale = [MAX_DELTA, MAX_DELTA, MAX_DELTA, MAX_DYAW];
    return Float32Array.from([0, 1, 2, 3].map((i) => d[i] / scale[i]).concat(c[4]));
  }

  private publish(): void {
    const arm = this.arm;
    const g = this.env.scene.gripper.state();
    const state: Record<string, number[]> = arm
      ? { 'ee.pose': [...arm.reportedPose().slice(0, 3), g.yaw, arm.reportedGrip()], joints: [...arm.motorAngles(), arm.reportedGrip()] }
      : { 'ee.pose': [...g.position, g.yaw, g.grip] };
    state['policy.state'] = Array.from(this.obs);
    state['robot.state'] = Array.from(this.obs.subarray(0, ROBOT_FEATURES.length));
    state.episode = [this.episode, this.steps, this.last.success, this.last.fail, this.prev.success, this.prev.fail];
    const t = Date.now();
    const observation: RobotObservation = { state, t, actions: this.settled };
    this.outgoing.push({ at: t + this.delay(), value: observation });
    // The camera sees the moment this observation reports.
    this.camera?.capture(this.env.state(), t, (this.reality.config.seed + this.episode) >>> 0);
  }

  async getObservation(): Promise<RobotObservation> {
    const now = Date.now();
    while (this.outgoing.length > 0 && this.outgoing[0].at <= now) this.latest = (this.outgoing.shift() as Pending<RobotObservation>).value;
    if (!this.latest) {
      // Nothing has crossed the network yet: wait for the first observation.
      const first = this.outgoing[0];
      await new Promise((r) => setTimeout(r, Math.max(0, first.at - now)));
      return this.getObservation();
    }
    return this.latest;
  }

  async sendAction(action: ActionVector): Promise<ActionVector> {
    // Counted first: a refused action is settled too (it will never move the arm).
    const index = ++this.sent;
    const a = new Float32Array(ACTION_SIZE);
    const normalized = this.form === 'ee_delta_normalized';
    for (let i = 0; i < ACTION_SIZE; i++) {
      const v = action[i];
      if (!Number.isFinite(v)) {
        if (this.incoming.length === 0) this.settled = index;
        throw new RangeError(`action[${i}] is not a finite number`);
      }
      a[i] = normalized || i === 4 ? Math.max(-1, Math.min(1, v)) : v;
    }
    if (this.estopped) this.settled = index;
    else this.incoming.push({ at: Date.now() + this.delay(), value: a, index });
    return Array.from(a) as ActionVector;
  }

  async hold(): Promise<void> {
    this.estopped = false;
    this.incoming = [];
    this.settled = this.sent;
    this.command = null;
  }

  async emergencyStop(_reason: string): Promise<void> {
    this.estopped = true;
    this.incoming = [];
    this.settled = this.sent;
    this.command = null;
  }

  setLimits(limits: SafetyLimits): void {
    this.guard?.setLimits(limits, this.connected ? this.measured() : undefined);
  }

  /** Where the end effector is, as `ee.pose` reports it: the mount's palm, the SO-101's grasp point from its encoders. */
  private measured(): number[] {
    const arm = this.arm;
    return arm ? arm.reportedPose().slice(0, 3) : [...this.env.scene.gripper.state().position];
  }

  onFault(listener: (reason: string) => void): void {
    this.faultListener = listener;
  }

  async disconnect(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.connected = false;
  }
}
