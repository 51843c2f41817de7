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
 */
import { ACTION_SIZE, MAX_DELTA, MAX_DYAW, TabletopEnv } from '../../../sim/env.ts';
import { Rng } from '../../../sim/rng.ts';
import { ROBOT_FEATURES } from '../../../sim/tasks/features.ts';
import type { ActionVector, Features, SafetyLimits } from '../../protocol.ts';
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
    if (!(this.speed > 0 && this.speed <= 100)) throw new RangeError(`speed must be in (0, 100], got ${this.speed}`);
    this.env = new TabletopEnv(reality.scenario, { randomization: 'train' });
    this.jitter = new Rng(reality.config.seed).fork('transport');
    this.guard = options.guard === false ? null : new WorkspaceGuard({ marginM: options.workspaceMarginM });
    this.camera = options.camera ?? null;
    const names = this.env.observationSpace.names;
    // Observations and commands flow at the loop's real-time rate.
    const hz = reality.scenario.control.rateHz * this.speed;
    this.features = {
      observation: {
        'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'], hz },
        'policy.state': { kind: 'state', dtype: 'float32', shape: [names.length], names, hz },
        'robot.state': { kind: 'state', dtype: 'float32', shape: [ROBOT_FEATURES.length], names: [...ROBOT_FEATURES], hz },
        episode: { kind: 'state', dtype: 'float64', shape: [6], names: ['index', 'step', 'success', 'fail', 'prev_success', 'prev_fail'], hz },
        ...(this.camera ? { [this.camera.key]: this.camera.spec } : {}),
      },
      action: { form: 'ee_delta_normalized', maxDelta: [MAX_DELTA, MAX_DELTA, MAX_DELTA, MAX_DYAW], poseKey: 'ee.pose' },
      controlHz: hz,
    };
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
    this.guard?.rebase(this.palm());
    this.publish();
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
      const r = this.env.step(this.command);
      this.obs = r.obs;
      ev = r.info;
    } else {
      // No fresh command (or e-stopped): the arm holds exactly where it is while the world goes on.
      const scene = this.env.scene;
      const g = scene.gripper, p = g.palm.position;
      g.setTarget(p.x, p.y, p.z, g.yaw);
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
    const measured = this.palm();
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
    const p = this.env.scene.gripper.palm.position;
    const v = [p.x, p.y, p.z];
    for (let i = 0; i < 3; i++) this.maxExcursion = Math.max(this.maxExcursion, v[i] - b.max[i], b.min[i] - v[i]);
  }

  private publish(): void {
    const scene = this.env.scene;
    const p = scene.gripper.palm.position;
    const t = Date.now();
    const observation: RobotObservation = {
      state: {
        'ee.pose': [p.x, p.y, p.z, scene.gripper.yaw, scene.gripper.grip],
        'policy.state': Array.from(this.obs),
        'robot.state': Array.from(this.obs.subarray(0, ROBOT_FEATURES.length)),
        episode: [this.episode, this.steps, this.last.success, this.last.fail, this.prev.success, this.prev.fail],
      },
      t,
      actions: this.settled,
    };
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
    for (let i = 0; i < ACTION_SIZE; i++) {
      const v = action[i];
      if (!Number.isFinite(v)) {
        if (this.incoming.length === 0) this.settled = index;
        throw new RangeError(`action[${i}] is not a finite number`);
      }
      a[i] = Math.max(-1, Math.min(1, v));
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
    this.guard?.setLimits(limits, this.connected ? this.palm() : undefined);
  }

  private palm(): number[] {
    const p = this.env.scene.gripper.palm.position;
    return [p.x, p.y, p.z];
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
