/**
 * What one `simreal run` is asked to do: its stages (by name, in order), its options and their
 * defaults. The stages themselves are in stages.ts, the runner in pipeline.ts.
 */
import type { BackendName } from '../../policy/backend.ts';

export const STAGES = ['demos', 'ablation-data', 'train', 'train-ablation', 'eval', 'sweep', 'pose', 'reality', 'reality-camera', 'montage'] as const;
export type StageName = (typeof STAGES)[number];

/**
 * Stages that run side by side: each group is a list of lanes, the stages of a lane one after the
 * other, the lanes at the same time; a group starts where its first stage stands in STAGES.
 * - The policy and its ablation train at the same time, each in a worker thread of its own (on CPU
 *   backends only, where each takes one core; results are bit-identical to training them one after
 *   the other).
 * - The emulated robot's true-state run goes on in real time (its physics, network and policy take
 *   a few percent of one core) while the evaluations and the pose estimator's training use the
 *   cores. The robot's stage does not read their results; the camera stage, which needs the
 *   estimator, comes after the group, alone, so its camera-to-action latency is measured on a quiet
 *   machine.
 * The data stages and evaluation already use every core through their own workers.
 */
export const CONCURRENT: ReadonlyArray<{ lanes: ReadonlyArray<readonly StageName[]>; cpuOnly: boolean }> = [
  { lanes: [['train'], ['train-ablation']], cpuOnly: true },
  { lanes: [['eval', 'sweep', 'pose'], ['reality']], cpuOnly: false },
];

/** A progress bar for long stages (total, unit) → update/stop. Bars of concurrent stages are alive at the same time. */
export type ProgressFactory = (total: number, unit: string, fields?: Record<string, string>) => { update(value: number, fields?: Record<string, string>): void; stop(): void };

export interface RunOptions {
  scenarioPath: string;
  realityPath: string;
  /** Folder for this run's report and summary. */
  out: string;
  /** Folder for cached stage outputs, shared between runs. */
  cacheDir: string;
  /** Demonstrations per dataset (a third clean, a third each with DART noise σ and 2σ). */
  episodes: number;
  dartNoise: number;
  /** Training epochs (upper bound; early stopping may end sooner). */
  epochs: number;
  /** Hidden layer sizes of the policy's MLP and its ablation's (default RUN_DEFAULTS.hidden). */
  hidden?: number[];
  evalEpisodes: number;
  /** Where it breaks: values per physics parameter, and seeded episodes per value. */
  sweepPoints: number;
  sweepEpisodes: number;
  realityEpisodes: number;
  /** Episodes on the emulated robot through its camera and the pose estimator (the `reality-camera` stage). */
  cameraEpisodes: number;
  /**
   * The pose estimator (rendered frames → block positions, measured on held-out looks), which the
   * `reality-camera` stage drives the emulated robot through: `auto` and `on` train it wherever a
   * WebGPU adapter renders frames (`on` fails the stage where none does), `off` never.
   */
  pose: 'auto' | 'on' | 'off';
  /**
   * Its budget: `full` trains on `poseFrames` frames and, as its ablation, as many without visual
   * randomization; `short` on `poseFramesShort` frames and no ablation, sized for the default
   * run's time on a CPU; `auto` is `full` on a GPU backend and `short` elsewhere.
   */
  perception?: 'auto' | 'short' | 'full';
  /** Frames the pose estimator trains on (each rendered fresh) at `--perception full`, for the randomized model and its ablation. */
  poseFrames: number;
  /** Frames it trains on at `--perception short`. */
  poseFramesShort?: number;
  workers: number;
  seed: number;
  backend?: BackendName;
  /** Seconds spent measuring the machine's speed at the start (policy/machine-speed.ts); 0 leaves it out. Default 3. */
  machineSpeedSeconds?: number;
  skip: Set<StageName>;
  log: (line: string) => void;
  progress: ProgressFactory;
  signal?: AbortSignal;
}

/** The numbers the defaults give on a 2-core machine are in README.md; `--episodes`, `--epochs` scale them. */
export const RUN_DEFAULTS = {
  scenario: 'scenarios/stack-2.json',
  reality: 'scenarios/reality/lab.json',
  /** The emulated robot of an SO-101 scenario's run. */
  realitySo101: 'scenarios/reality/so101-lab.json',
  episodes: 900,
  dartNoise: 0.1,
  /**
   * An SO-101 scenario's DART σ. Its servos carry a noisy step out in full within the 50 ms where
   * the mount's position loop smooths it, so at 2σ = 0.2 the expert's descents overshoot the block
   * and start again (130 restarts in 30 episodes, 14/30 successes, vs 10 and 30/30 on the mount);
   * the policy then learns labels that disagree at the same state (stack-2 BC held-out 32.5 % at
   * σ = 0.1, 93 % at σ = 0.05).
   */
  dartNoiseSo101: 0.05,
  epochs: 20,
  /**
   * The run's policy network (and its ablation's): 128 × 3, narrower than `train bc`'s 256 × 3.
   * Its two trainings side by side take a third of the time (160 vs 442 s here) for about a point
   * of held-out success (97.0 / 96.5 % against 98.0 / 97.5 % at seeds 0 / 1, intervals
   * overlapping; policy/README.md, "The run's network, executed with noise"). It was kept off the
   * default while it stalled without action noise; executing with noise removed the stall.
   */
  hidden: [128, 128, 128],
  evalEpisodes: 200,
  sweepPoints: 8,
  sweepEpisodes: 20,
  realityEpisodes: 20,
  /**
   * Half the true-state run's: each failed episode runs its full time limit in real time (13 s),
   * and at the short budget the estimator stacks none (0/20 in the last runs: 260 s of the run for
   * the interval 0–16 % where 10 episodes give 0–28 %); 5,000 steps measured the latency, 2,500
   * measure it as well. `--camera-episodes 40` for issue-level numbers with a full estimator.
   */
  cameraEpisodes: 10,
  pose: 'auto' as const,
  perception: 'auto' as const,
  poseFrames: 60_000,
  /**
   * About 2.5 minutes of rendering and training on a 2-core CPU (lavapipe renders; 6,956 MLP
   * samples/s in `bench train`): an estimator far from the full one's accuracy (the learning
   * curve in policy/README.md), which is what the default run can afford.
   */
  poseFramesShort: 6_000,
  seed: 0,
};

/**
 * How the demonstrations split: a third clean, a third with DART noise σ, a third with 2σ (the
 * executed action perturbed, the label clean), so the policy sees its own drift at two scales.
 */
export function demoParts(episodes: number, sigma: number): Array<[label: string, dart: number, count: number]> {
  const a = Math.ceil(episodes / 3), b = Math.ceil((episodes - a) / 2);
  const round = (x: number): number => Math.round(x * 1e6) / 1e6;
  return [['clean', 0, a], [`dart${round(sigma)}`, round(sigma), b], [`dart${round(2 * sigma)}`, round(2 * sigma), episodes - a - b]];
}
