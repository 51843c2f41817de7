/**
 * What the runs that drive a robot through the bridge share (policy-on-bridge.ts, with the true
 * block poses a simulator reports, and perception-on-bridge.ts, through the robot's camera): their
 * options and result, counting the robot's episodes, and command statistics.
 *
 * Episodes come from the robot's `episode` feature ([index, step, success, fail, prev_success,
 * prev_fail], as the emulated robot reports it).
 * Observations are sampled, not queued, so a controller may never see an episode's last frame:
 * a robot that reports how episode i ended with episode i + 1 (`prev_success`, `prev_fail`) is
 * believed over the last frame this controller happened to see of episode i.
 */
import type { ActionVector } from '../bridge/protocol.ts';
import type { BackendName } from '../policy/backend.ts';
import { wilson } from '../policy/eval/stats.ts';
import type { Rate } from '../policy/eval/stats.ts';
import type { BlockEstimate } from '../policy/perception/estimator.ts';
import type { CameraFile } from '../sim/camera/camera-file.ts';
import { clipAction } from '../sim/env.ts';

export interface BridgeRunOptions {
  modelDir: string;
  url: string;
  token: string;
  robot: string;
  /** Finished episodes to wait for. */
  episodes: number;
  backend?: BackendName;
  log?: (line: string) => void;
  /** Give up after this long without an observation (ms). Default 5000. */
  stallMs?: number;
  onEpisode?: (e: BridgeEpisode, done: number) => void;
  /** A pose estimator (simreal train pose): see the blocks through the robot's camera. */
  perceptionDir?: string;
  /** σ of the seeded noise added to each action before it is sent (policy/execution-noise.ts); default: the model card's. */
  executionNoise?: number;
  /**
   * With a pose estimator: how long after a step's observation the controller may wait for the
   * estimate of a frame of that step before it acts on the newest it has (ms; default half a
   * control period). It never waits longer for a frame.
   */
  frameWaitMs?: number;
  /** With a pose estimator: called with each step's policy input and the observation it was built from (tests). */
  onAct?: (inputs: Float32Array, obs: { state: Record<string, number[]> }) => void;
  /**
   * With a pose estimator: called with each step's camera frame (the one its estimate came
   * from), the camera's calibration, the named block estimates acted on and the observation
   * (the report draws a few).
   */
  onSeen?: (s: SeenFrame) => void;
}

/** A camera frame as the controller acted on it (BridgeRunOptions.onSeen). */
export interface SeenFrame {
  /** Episode index and step (the robot's episode counter). */
  episode: number;
  step: number;
  rgb: Uint8Array;
  calibration: CameraFile;
  /** Block estimates in the task's order, as the policy read them. */
  blocks: BlockEstimate[];
  obs: { state: Record<string, number[]> };
}

export interface BridgeRunResult {
  robot: string;
  episodes: BridgeEpisode[];
  success: Rate;
  /** Command round trips (ms). */
  roundTripMs: number[];
  commands: number;
  /** Commands whose action the hub clamped. */
  clamped: number;
  /** How often each clamp applied (a command can hit several). */
  clampReasons: Record<string, number>;
  backend: string;
  /** With a pose estimator: what the camera path did. */
  perception?: PerceptionReport;
}

/** What the camera path of a perception run did. */
export interface PerceptionReport {
  model: string;
  /** The image feature and the calibration it came with. */
  camera: string;
  calibration: string;
  /** Which of the policy's inputs came from the robot's own state feature, and which from the estimate. */
  inputs: { robotFeature: string; fromRobot: string[]; fromEstimate: string[] };
  /** Per command: frame capture → command sent (ms, capture time on the camera's clock). */
  cameraToActionMs: number[];
  /** Per estimated frame: the estimator's own time (ms). */
  estimateMs: number[];
  /** Control steps acted on, and those that acted on an estimate of a frame older than the step before. */
  steps: number;
  staleSteps: number;
  /** Steps acted on at the wait's end without the estimate of their own frame. */
  waitedOut: number;
  framesReceived: number;
  framesEstimated: number;
  /** Frames a newer one replaced before the estimator got to them. */
  framesSuperseded: number;
  estimatesPublished: number;
  /** Holds asked of the hub because the camera stopped, with why. */
  cameraHolds: string[];
}

export interface BridgeEpisode {
  index: number;
  success: boolean;
  fail: boolean;
  steps: number;
}

export interface EpisodeTick {
  index: number;
  step: number;
  /** The robot moved on to a step this counter has not seen (a control step to act on). */
  newStep: boolean;
  /** The first observation of a new episode. */
  newEpisode: boolean;
  /** Enough episodes have finished. */
  done: boolean;
}

export class EpisodeCounter {
  readonly episodes: BridgeEpisode[] = [];
  private readonly want: number;
  private readonly onEpisode: ((e: BridgeEpisode, done: number) => void) | undefined;
  private lastIndex = -1;
  /** The (episode, step) acted on last. */
  private lastActed = '';
  private lastFlags = { success: false, fail: false, steps: 0 };

  constructor(want: number, onEpisode?: (e: BridgeEpisode, done: number) => void) {
    this.want = want;
    this.onEpisode = onEpisode;
  }

  get finished(): boolean {
    return this.episodes.length >= this.want;
  }

  /** Feeds one observation's `episode` feature. */
  observe(ep: readonly number[]): EpisodeTick {
    const [index, step, success, fail, prevSuccess, prevFail] = ep;
    const newEpisode = index !== this.lastIndex;
    if (this.lastIndex >= 0 && newEpisode) {
      const flags = index === this.lastIndex + 1 && prevSuccess !== undefined
        ? { success: prevSuccess === 1, fail: prevFail === 1, steps: this.lastFlags.steps }
        : this.lastFlags;
      const e: BridgeEpisode = { index: this.lastIndex, ...flags };
      this.episodes.push(e);
      this.onEpisode?.(e, this.episodes.length);
    }
    this.lastIndex = index;
    this.lastFlags = { success: success === 1, fail: fail === 1, steps: step };
    const newStep = `${index}:${step}` !== this.lastActed;
    return { index, step, newStep, newEpisode, done: this.finished };
  }

  /** Marks a step as acted on. */
  acted(tick: EpisodeTick): void {
    this.lastActed = `${tick.index}:${tick.step}`;
  }
}

/**
 * A policy's output as the command the simulator would have executed: its first five values, each
 * clipped to [-1, 1] as sim/env.ts clips every action before using it (the policies' output
 * layers are linear, so the grip often lies past ±1). The robot then gets what the policy was
 * trained and evaluated with, and the hub's clamps count only what its limits changed. A value
 * that is not a number stays one, for the hub to refuse.
 */
export function commandOf(action: ArrayLike<number>): ActionVector {
  const a = [0, 0, 0, 0, 0] as ActionVector;
  for (let i = 0; i < 5; i++) a[i] = clipAction(action[i]);
  return a;
}

/** Round trips, clamps and commands of a run, as acks come in. */
export class CommandStats {
  readonly roundTripMs: number[] = [];
  commands = 0;
  clamped = 0;
  readonly clampReasons: Record<string, number> = {};

  ack(t0: number, clamped: readonly string[]): void {
    this.roundTripMs.push(performance.now() - t0);
    if (clamped.length > 0) this.clamped++;
    for (const why of clamped) this.clampReasons[why] = (this.clampReasons[why] ?? 0) + 1;
  }
}

/** What a run that drove `robot` reports: its episodes with their success rate, and its commands. */
export function bridgeRunResult(robot: string, counter: EpisodeCounter, stats: CommandStats, backend: string): BridgeRunResult {
  const k = counter.episodes.filter((e) => e.success).length;
  return {
    robot,
    episodes: counter.episodes,
    success: wilson(k, counter.episodes.length),
    roundTripMs: stats.roundTripMs,
    commands: stats.commands,
    clamped: stats.clamped,
    clampReasons: stats.clampReasons,
    backend,
  };
}

/** The value at quantile p (0…1) of ascending `sorted` (NaN for none). */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** The median, 99th percentile, largest and count of `values` (unsorted; NaN where there are none). */
export function spread(values: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1] ?? NaN, n: s.length };
}
