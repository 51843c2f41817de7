/**
 * The emulated robot: the reality gap on one machine. A simulator process with its own physics
 * (from a reality file, outside the training ranges), a network between it and the bridge
 * (latency and jitter on every command and observation), noisy perception, and a control loop
 * that runs in real time whether or not commands arrive — like the arm it stands in for.
 *
 * - The loop steps the task at the scenario's control rate (times `speed`), executing the newest
 *   command that has arrived since the last step; with none, after `hold` or under e-stop, the arm
 *   holds exactly where it is (no action noise) while the world goes on.
 * - Observations: `ee.pose` [x, y, z, yaw, grip] (palm, for the bridge's safety checks),
 *   `policy.state` (the task observation the simulator's policies read: robot state plus perceived
 *   block poses, with the reality's perception noise), and `episode` [index, step, success, fail,
 *   prev_success, prev_fail] (the last two: how episode index − 1 ended).
 * - Episodes: when the task succeeds, fails or runs out of time, the result is published in
 *   `episode` and, after `resetPauseMs` (someone resetting the scene), the next layout appears.
 * - E-stop latches the arm still until `hold` (sent by the hub after a reset by the lease holder).
 */
import { ACTION_SIZE, MAX_DELTA, MAX_DYAW, TabletopEnv } from '../../../sim/env.ts';
import { Rng } from '../../../sim/rng.ts';
import type { ActionVector, Features } from '../../protocol.ts';
import type { Robot, RobotObservation } from '../../robot.ts';
import type { Reality } from './reality.ts';

export interface EmulatedRobotOptions {
  /** Simulated time runs this many times faster than real time (default 1). */
  speed?: number;
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

  constructor(reality: Reality, options: EmulatedRobotOptions = {}) {
    this.reality = reality;
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0 && this.speed <= 100)) throw new RangeError(`speed must be in (0, 100], got ${this.speed}`);
    this.env = new TabletopEnv(reality.scenario, { randomization: 'train' });
    this.jitter = new Rng(reality.config.seed).fork('transport');
    const names = this.env.observationSpace.names;
    // Observations and commands flow at the loop's real-time rate.
    const hz = reality.scenario.control.rateHz * this.speed;
    this.features = {
      observation: {
        'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'], hz },
        'policy.state': { kind: 'state', dtype: 'float32', shape: [names.length], names, hz },
        episode: { kind: 'state', dtype: 'float64', shape: [6], names: ['index', 'step', 'success', 'fail', 'prev_success', 'prev_fail'], hz },
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
    this.publish();
  }

  /** One control period of the arm. */
  private tick(): void {
    const now = Date.now();
    while (this.incoming.length > 0 && this.incoming[0].at <= now) {
      const c = (this.incoming.shift() as Pending<Float32Array>).value;
      if (!this.estopped) this.command = c;
    }
    if (this.resetAt > 0) {
      if (now >= this.resetAt) {
        this.episode++;
        this.startEpisode();
      }
      return;
    }
    let ev;
    if (this.command && !this.estopped) {
      const r = this.env.step(this.command);
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
    if (ev.success || ev.fail || this.steps >= this.reality.scenario.maxSteps) {
      this.results.push({ index: this.episode, seed: (this.reality.config.seed + this.episode) >>> 0, success: ev.success, fail: ev.fail, steps: this.steps });
      this.last = { success: ev.success ? 1 : 0, fail: ev.fail ? 1 : 0 };
      this.resetAt = now + this.reality.config.resetPauseMs / this.speed;
    }
    this.publish();
  }

  private publish(): void {
    const g = this.env.scene.gripper.state();
    const observation: RobotObservation = {
      state: {
        'ee.pose': [...g.position, g.yaw, g.grip],
        'policy.state': Array.from(this.obs),
        episode: [this.episode, this.steps, this.last.success, this.last.fail, this.prev.success, this.prev.fail],
      },
      t: Date.now(),
    };
    this.outgoing.push({ at: Date.now() + this.delay(), value: observation });
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
    const a = new Float32Array(ACTION_SIZE);
    for (let i = 0; i < ACTION_SIZE; i++) {
      const v = action[i];
      if (!Number.isFinite(v)) throw new RangeError(`action[${i}] is not a finite number`);
      a[i] = Math.max(-1, Math.min(1, v));
    }
    if (!this.estopped) this.incoming.push({ at: Date.now() + this.delay(), value: a });
    return Array.from(a) as ActionVector;
  }

  async hold(): Promise<void> {
    this.estopped = false;
    this.incoming = [];
    this.command = null;
  }

  async emergencyStop(_reason: string): Promise<void> {
    this.estopped = true;
    this.incoming = [];
    this.command = null;
  }

  async disconnect(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.connected = false;
  }
}
