/**
 * What one `simreal run` is asked to do: its stages (by name, in order), its options and their
 * defaults. The stages themselves are in stages.ts, the runner in pipeline.ts.
 */
import type { BackendName } from '../../policy/backend.ts';

export const STAGES = ['demos', 'ablation-data', 'train', 'train-ablation', 'eval', 'sweep', 'pose', 'reality', 'montage'] as const;
export type StageName = (typeof STAGES)[number];

/** A progress bar for long stages (total, unit) → update/stop. */
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
  evalEpisodes: number;
  /** Where it breaks: values per physics parameter, and seeded episodes per value. */
  sweepPoints: number;
  sweepEpisodes: number;
  realityEpisodes: number;
  /**
   * The pose estimator (rendered frames → block positions, trained with and without visual
   * randomization, measured on held-out looks): `auto` trains it where the policy backend runs on a
   * GPU, `on` everywhere (slow on CPUs), `off` never.
   */
  pose: 'auto' | 'on' | 'off';
  /** Frames the pose estimator trains on (each rendered fresh), for the randomized model and its ablation. */
  poseFrames: number;
  workers: number;
  seed: number;
  backend?: BackendName;
  skip: Set<StageName>;
  log: (line: string) => void;
  progress: ProgressFactory;
  signal?: AbortSignal;
}

/** The numbers the defaults give on a 2-core machine are in README.md; `--episodes`, `--epochs` scale them. */
export const RUN_DEFAULTS = {
  scenario: 'scenarios/stack-2.json',
  reality: 'scenarios/reality/lab.json',
  episodes: 900,
  dartNoise: 0.1,
  epochs: 20,
  evalEpisodes: 200,
  sweepPoints: 8,
  sweepEpisodes: 20,
  realityEpisodes: 20,
  pose: 'auto' as const,
  poseFrames: 60_000,
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
