/**
 * The Gymnasium-style environment around a task: `reset({seed}) → {obs, info}`,
 * `step(action) → {obs, reward, terminated, truncated, info}`, declared spaces, `evaluate()`.
 *
 * One seed fixes an episode entirely. It is split into named streams (`task` for the layout,
 * `physics` for the physics randomization, `noise` for action/observation noise and control
 * jitter), so each can change without moving the others.
 *
 * Action: normalized `[dx, dy, dz, dyaw, grip]` in [-1, 1]. The first four move the robot's
 * end-effector setpoint by at most MAX_DELTA metres and MAX_DYAW radians per control step (the
 * mount: from where the palm is now; the SO-101: from its previous target, as its driver does, then
 * through inverse kinematics to its servos); grip is the jaw command (-1 open … 1 closed). The action reaches
 * the robot `actionLatency` control steps late, with the episode's action noise, and runs for one
 * control period of fixed physics substeps (the period jitters by `controlJitter`).
 *
 * Time limits are not here: wrap the environment in TimeLimit.
 */
import { Vec3 } from 'cannon-es';
import { Rng } from './rng.ts';
import { nominalArm, nominalPhysics, sampleArm, samplePhysics } from './randomization.ts';
import { MOUNT_AREA } from './robot/robot.ts';
import type { LayoutArea } from './robot/robot.ts';
import { SO101_AREA, SO101_BLOCK_SIZE } from './robot/so101/arm.ts';
import type { PhysicsSample, RandomizationMode } from './randomization.ts';
import { Scene } from './scene.ts';
import type { Layout, SceneState } from './scene.ts';
import type { PhysicsRandomization, Scenario } from './scenario.ts';
import type { SimState } from './state.ts';
import { ROBOT_FEATURES, ROBOT_POSITION_FEATURES, observeRobot } from './tasks/features.ts';
import { taskSpec } from './tasks/index.ts';
import type { Evaluation, TaskSpec } from './tasks/index.ts';

export const ACTION_NAMES = ['dx', 'dy', 'dz', 'dyaw', 'grip'] as const;
export const ACTION_SIZE = ACTION_NAMES.length;
/** One action value within the normalized range [-1, 1] every action is clipped to before it is executed (NaN stays NaN). */
export function clipAction(v: number): number {
  return Math.max(-1, Math.min(1, v));
}
/** Largest setpoint move per control step for |action| = 1 (m). */
export const MAX_DELTA = 0.025;
/** Largest yaw change per control step for |action| = 1 (rad). */
export const MAX_DYAW = 0.25;

export interface BoxSpace {
  dtype: 'float32';
  shape: [number];
  low: number;
  high: number;
  names: string[];
}

export interface ResetInfo {
  seed: number;
  randomization: RandomizationMode;
  physics: PhysicsSample;
  layout: Layout;
  evaluation: Evaluation;
}

export interface StepInfo extends Evaluation {
  /** The action that reached the robot this step (after latency, noise and clipping). */
  executedAction: Float32Array;
  /** Physics substeps this control period ran. */
  substeps: number;
}

export interface StepResult {
  obs: Float32Array;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: StepInfo;
}

/**
 * A moment of an episode as plain data (JSON-safe): the seed and ranges that rebuild its scene,
 * the scene's changing state, the actions still in the latency queue and where the noise stream
 * is. `restore` continues the episode from it, in this environment or in another one made from
 * the same scenario and randomization.
 */
export interface EnvSnapshot {
  scenario: string;
  randomization: RandomizationMode;
  ranges: PhysicsRandomization | null;
  seed: number;
  scene: SceneState;
  queue: number[][];
  noise: [number, number, number, number];
}

export interface EnvOptions {
  /** Which ranges physics is sampled from: the scenario's training ranges, held-out ranges, or none. Default 'train'. */
  randomization?: RandomizationMode;
  /**
   * Ranges to sample physics from instead of the scenario's (robustness sweeps: sim/robustness.ts
   * gives the nominal ranges with one parameter fixed); `randomization` then only names the run.
   */
  ranges?: PhysicsRandomization;
}

const _tcp = new Vec3();

export class TabletopEnv {
  readonly scenario: Scenario;
  readonly task: TaskSpec;
  readonly randomization: RandomizationMode;
  /** Ranges physics is sampled from when they replace the scenario's (EnvOptions.ranges). */
  readonly ranges: PhysicsRandomization | null;
  readonly actionSpace: BoxSpace;
  readonly observationSpace: BoxSpace;
  /** Physics step (s) and substeps per control period. */
  readonly dt: number;
  readonly substeps: number;

  private current: Scene | null = null;
  private seed = 0;
  /** The seed of the current episode (the last `reset`'s). */
  get episodeSeed(): number {
    return this.seed;
  }
  private noise = new Rng(0);
  private queue: Float32Array[] = [];
  private positionMask: Uint8Array;

  constructor(scenario: Scenario, options: EnvOptions = {}) {
    this.scenario = scenario;
    this.task = taskSpec(scenario.task);
    this.randomization = options.randomization ?? 'train';
    this.ranges = options.ranges ?? null;
    this.dt = 1 / scenario.control.physicsHz;
    this.substeps = scenario.control.physicsHz / scenario.control.rateHz;
    const names = [...ROBOT_FEATURES, ...this.task.featureNames(scenario.task)];
    this.observationSpace = { dtype: 'float32', shape: [names.length], low: -Infinity, high: Infinity, names };
    this.actionSpace = { dtype: 'float32', shape: [ACTION_SIZE], low: -1, high: 1, names: [...ACTION_NAMES] };
    this.positionMask = new Uint8Array(names.length);
    for (const i of ROBOT_POSITION_FEATURES) this.positionMask[i] = 1;
    for (const i of this.task.positionFeatures(scenario.task)) this.positionMask[ROBOT_FEATURES.length + i] = 1;
  }

  /** Where the task lays its blocks out: what the scenario's robot reaches. */
  get area(): LayoutArea {
    return this.scenario.robot === 'so101' ? SO101_AREA : MOUNT_AREA;
  }

  /** The episode's scene (privileged access for experts, renderers and tests). */
  get scene(): Scene {
    if (!this.current) throw new Error('call reset({ seed }) before using the environment');
    return this.current;
  }

  reset({ seed }: { seed: number }): { obs: Float32Array; info: ResetInfo } {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
    }
    this.seed = seed;
    const root = new Rng(seed);
    const n = this.task.blockCount(this.scenario.task);
    const ranges = this.ranges ?? (this.randomization === 'train' ? this.scenario.randomization : this.randomization === 'heldout' ? this.scenario.heldout : null);
    const physics = ranges ? samplePhysics(root.fork('physics'), ranges, n) : nominalPhysics(n);
    if (this.scenario.robot === 'so101') {
      Object.assign(physics, ranges ? sampleArm(root.fork('arm'), ranges) : nominalArm());
      if (!ranges) physics.blockSize = physics.blockSize.map(() => SO101_BLOCK_SIZE);
    }
    const layout = this.task.layout(root.fork('task'), this.scenario.task, physics.blockSize, this.area);
    this.noise = root.fork('noise');
    this.current = new Scene({ task: this.task.id, physics, layout, dt: this.dt, robot: this.scenario.robot });
    // Let the blocks settle onto the table before the first observation.
    this.current.advance(this.substeps);
    this.current.step = 0;
    this.current.time = 0;
    this.queue = [];
    for (let i = 0; i < physics.actionLatency; i++) this.queue.push(new Float32Array([0, 0, 0, 0, -1]));
    return {
      obs: this.observe(),
      info: { seed, randomization: this.randomization, physics, layout, evaluation: this.evaluate() },
    };
  }

  step(action: ArrayLike<number>): StepResult {
    const scene = this.scene;
    if (!action || action.length !== ACTION_SIZE) {
      throw new RangeError(`action must have ${ACTION_SIZE} numbers [${ACTION_NAMES.join(', ')}], got ${action ? action.length : action}`);
    }
    const a = new Float32Array(ACTION_SIZE);
    for (let i = 0; i < ACTION_SIZE; i++) {
      const v = Number(action[i]);
      if (!Number.isFinite(v)) {
        throw new RangeError(`action[${i}] (${ACTION_NAMES[i]}) must be a finite number, got ${action[i]}; the world was not stepped`);
      }
      a[i] = clipAction(v);
    }
    const p = scene.physics;
    this.queue.push(a);
    const executed = this.queue.shift() as Float32Array;
    if (p.actionNoise > 0) {
      for (let i = 0; i < ACTION_SIZE; i++) executed[i] = clipAction(executed[i] + this.noise.normal(0, p.actionNoise));
    }
    const g = scene.gripper;
    g.moveBy(executed[0] * MAX_DELTA, executed[1] * MAX_DELTA, executed[2] * MAX_DELTA, executed[3] * MAX_DYAW);
    g.grip = executed[4];
    const jitter = p.controlJitter > 0 ? this.noise.uniform(-p.controlJitter, p.controlJitter) : 0;
    const substeps = Math.max(1, Math.round(this.substeps * (1 + jitter)));
    scene.advance(substeps);
    if (scene.corrupted()) {
      throw new Error(`physics diverged at step ${scene.step} of seed ${this.seed} (non-finite state); please report the scenario and seed`);
    }
    const ev = this.evaluate();
    return {
      obs: this.observe(),
      reward: this.task.reward(scene, this.scenario.task),
      terminated: ev.success || ev.fail,
      truncated: false,
      info: { ...ev, executedAction: executed, substeps },
    };
  }

  evaluate(): Evaluation {
    return this.task.evaluate(this.scene, this.scenario.task);
  }

  /** This moment of the episode (see EnvSnapshot). */
  snapshot(): EnvSnapshot {
    return {
      scenario: this.scenario.id,
      randomization: this.randomization,
      ranges: this.ranges,
      seed: this.seed,
      scene: this.scene.saveState(),
      queue: this.queue.map((a) => Array.from(a)),
      noise: this.noise.getState(),
    };
  }

  /** Continues the episode a snapshot was taken of: its scene is rebuilt from the seed, then set to the saved state. */
  restore(s: EnvSnapshot): void {
    if (s.scenario !== this.scenario.id || s.randomization !== this.randomization || JSON.stringify(s.ranges) !== JSON.stringify(this.ranges)) {
      throw new RangeError(`the snapshot is of scenario ${s.scenario} with ${s.randomization} randomization${s.ranges ? ' (own ranges)' : ''}; this environment runs ${this.scenario.id} with ${this.randomization}${this.ranges ? ' (own ranges)' : ''}: make it with the same options`);
    }
    this.reset({ seed: s.seed });
    this.scene.restoreState(s.scene);
    this.queue = s.queue.map((a) => Float32Array.from(a));
    this.noise.setState(s.noise);
  }

  /** Plain-data snapshot of the current moment. */
  state(): SimState {
    return this.scene.snapshot();
  }

  /** The noise-free observation (what a perfect sensor would give). */
  observeClean(): Float32Array {
    const out = new Float32Array(this.observationSpace.shape[0]);
    const scene = this.scene;
    const o = observeRobot(scene, out, 0);
    this.task.observe(scene, this.scenario.task, out, o);
    return out;
  }

  /** The observation of the current state as the policy sees it (with the episode's sensor noise). */
  observe(): Float32Array {
    const out = this.observeClean();
    const sigma = this.scene.physics.observationNoise;
    if (sigma > 0) {
      for (let i = 0; i < out.length; i++) if (this.positionMask[i]) out[i] += this.noise.normal(0, sigma);
    }
    return out;
  }

  /** Tool centre point (world frame), for experts and tests. */
  tcp(): [number, number, number] {
    const t = this.scene.tcp(_tcp);
    return [t.x, t.y, t.z];
  }
}

/** Gymnasium's TimeLimit: truncates an episode after `maxSteps` control steps. */
export class TimeLimit {
  readonly env: TabletopEnv;
  readonly maxSteps: number;
  private steps = 0;

  constructor(env: TabletopEnv, maxSteps = env.scenario.maxSteps) {
    if (!(Number.isInteger(maxSteps) && maxSteps > 0)) throw new RangeError(`maxSteps must be a positive integer, got ${maxSteps}`);
    this.env = env;
    this.maxSteps = maxSteps;
  }

  get observationSpace(): BoxSpace { return this.env.observationSpace; }
  get actionSpace(): BoxSpace { return this.env.actionSpace; }
  get elapsedSteps(): number { return this.steps; }

  reset(options: { seed: number }): { obs: Float32Array; info: ResetInfo } {
    this.steps = 0;
    return this.env.reset(options);
  }

  step(action: ArrayLike<number>): StepResult {
    const r = this.env.step(action);
    this.steps++;
    if (this.steps >= this.maxSteps && !r.terminated) r.truncated = true;
    return r;
  }

  evaluate(): Evaluation { return this.env.evaluate(); }
  state(): SimState { return this.env.state(); }
}
