/**
 * summary.json: everything one `simreal run` measured, as plain data. The HTML report is drawn
 * from it alone, so a summary can be re-rendered or compared without re-running anything.
 */
import type { Rate } from '../../policy/eval/stats.ts';
import type { SweepResult } from '../../policy/eval/sweep.ts';

export interface StageRecord {
  name: string;
  /** Seconds this run spent on the stage (0 when reused from the cache). */
  seconds: number;
  cached: boolean;
  /** Where the stage's output lives. */
  output: string;
  skipped?: boolean;
}

export interface EpochPoint {
  epoch: number;
  loss: number;
  valLoss: number;
}

export interface TrajectoryPoint {
  t: number;
  tcp: [number, number, number];
  blocks: Array<[number, number, number]>;
}

export interface SuccessRow {
  /** What was evaluated, e.g. "BC, held-out randomization". */
  label: string;
  key: string;
  rate: Rate;
  /** Per-stage success for stacking (stage name → rate). */
  stages?: Record<string, number>;
  /** Why episodes failed (cause → count). */
  causes?: Record<string, number>;
}

export interface RunSummary {
  format: 'simreal-run-summary';
  version: 1;
  scenario: { id: string; path: string; task: string };
  reality: { id: string; path: string } | null;
  created: string;
  seconds: number;
  codeVersion: string;
  gitCommit: string | null;
  /**
   * `mlpWasmSamplesPerSec`: the machine's speed as `bench train` measures it (MLP, wasm), taken at
   * the start of the run (policy/machine-speed.ts); null when not measured.
   */
  machine: { cpu: string; cores: number; node: string; mlpWasmSamplesPerSec?: number | null };
  backend: { name: string; device: string };
  stages: StageRecord[];
  success: SuccessRow[];
  training: Array<{ model: string; epochs: EpochPoint[]; samplesPerSec: number; seconds: number }>;
  pose: { meanCm: number; medianCm: number; ablationMeanCm: number | null; frames: number } | null;
  bridge: {
    commands: number;
    clamped: number;
    clampReasons: Record<string, number>;
    roundTripMs: { p50: number; p99: number; max: number };
    histogram: { edgesMs: number[]; counts: number[] };
  } | null;
  /**
   * The emulated robot driven through its camera and the pose estimator (the `reality-camera`
   * row): camera-to-action latency (frame capture → command sent), the estimator's own time per
   * frame, steps acted on an estimate of a frame older than the step before (stale), and frames.
   */
  perception?: {
    camera: string;
    calibration: string;
    commands: number;
    cameraToActionMs: { p50: number; p99: number; max: number };
    estimateMs: { p50: number; p99: number };
    steps: number;
    staleSteps: number;
    waitedOut: number;
    frames: { received: number; estimated: number; superseded: number };
    cameraHolds: string[];
  } | null;
  /** Where the policy breaks: its success along each physics parameter (policy/eval/sweep.ts), if swept. */
  sweep: SweepResult | null;
  /** Montage of randomized training frames (PNG file name next to the report), if rendered. */
  montage: string | null;
  /**
   * Frames of the emulated robot's camera the policy acted on, the estimated blocks drawn in
   * orange and the true ones in green (PNG file name next to the report), if that run happened.
   */
  cameraFrames?: string | null;
  trajectory: { label: string; seed: number; success: boolean; points: TrajectoryPoint[] } | null;
  /** Commands that reproduce each stage by hand. */
  commands: string[];
  notes: string[];
}
