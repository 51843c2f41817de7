/**
 * `simreal eval <model> <scenario> --sweep <parameter>|all`: where a policy breaks. For each swept
 * physics parameter (sim/robustness.ts), closed-loop success with its 95 % Wilson interval at each
 * of `points` values across and beyond the training range, every other parameter at its nominal
 * value. Every value runs the same seeded episodes (the evaluation seeds, minus any the model
 * trained on), so neighbouring points differ by the parameter alone. Each point is marked with the
 * range it falls in: training, held-out, or beyond both.
 *
 * All points of all parameters share one pool of worker threads (evaluate.ts's runner).
 */
import type { Scenario } from '../../sim/scenario.ts';
import { SWEEP_PARAMETERS, extentOf, intervalsOf, nominalValuesFor, rangesWith, regionOf, sweepValues } from '../../sim/robustness.ts';
import type { Region, SweepParameter } from '../../sim/robustness.ts';
import { PolicyInputError } from '../errors.ts';
import { planEvaluation, runPlan } from './evaluate.ts';
import type { EvaluateOptions } from './evaluate.ts';
import { formatRate, wilson } from './stats.ts';
import type { EpisodeOutcome, Rate } from './stats.ts';

export interface SweepOptions extends Omit<EvaluateOptions, 'randomization' | 'looks' | 'perception' | 'onEpisode'> {
  /** Parameters to sweep, in order. */
  parameters: SweepParameter[];
  /** Values per parameter (integer parameters may get fewer). */
  points: number;
  onEpisode?: (done: number, total: number) => void;
}

export interface SweepPoint {
  value: number;
  region: Region;
  /** Whether this is the parameter's nominal value (the no-randomization episode). */
  nominal: boolean;
  success: Rate;
  failures: Record<string, number>;
}

export interface ParameterSweep {
  parameter: SweepParameter;
  nominal: number;
  /** The scenario's training and held-out ranges of this parameter, as intervals. */
  train: Array<[number, number]>;
  heldout: Array<[number, number]>;
  points: SweepPoint[];
}

export interface SweepResult {
  format: 'simreal-sweep';
  version: 1;
  model: string;
  kind: string;
  modelScenario: string;
  scenario: string;
  /** Episodes per value. */
  episodes: number;
  seeds: { base: number; count: number; derivation: string; skippedAsTrainingSeeds: number };
  backend: string;
  device: string;
  workers: number;
  /** σ of the noise the policy's actions were executed with at every point (policy/execution-noise.ts; 0: exactly). */
  executionNoise: number;
  sweeps: ParameterSweep[];
  seconds: number;
}

/** Parses `--sweep`: one parameter name, several separated by commas, or `all`. */
export function parseSweepParameters(text: string): SweepParameter[] {
  if (text.trim() === 'all') return [...SWEEP_PARAMETERS];
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(SWEEP_PARAMETERS as string[]).includes(n));
  if (names.length === 0 || unknown.length) {
    throw new PolicyInputError(`--sweep: ${unknown.length ? `unknown parameter ${unknown.join(', ')}` : 'no parameter given'}; use all, or one or more of ${SWEEP_PARAMETERS.join(', ')} separated by commas`);
  }
  return [...new Set(names)] as SweepParameter[];
}

export async function sweep(o: SweepOptions): Promise<SweepResult> {
  const t0 = performance.now();
  if (o.parameters.length === 0) throw new PolicyInputError('--sweep needs at least one parameter');
  const plan = planEvaluation({ ...o, randomization: 'none' });
  if (plan.job.mode === 'pose-only') {
    throw new PolicyInputError(`${o.modelDir} is a pose estimator; a sweep measures a policy that acts (simreal train bc or visuomotor, or expert). Measure a pose estimator with --frames`);
  }
  const grid = o.parameters.map((parameter) => ({ parameter, values: sweepValues(parameter, o.scenario, o.points) }));
  const tasks = grid.flatMap(({ parameter, values }) =>
    values.flatMap((value) => plan.groups.map((seeds) => ({ seeds, ranges: rangesWith(parameter, value, o.scenario.robot) }))),
  );
  const total = tasks.reduce((n, t) => n + t.seeds.length, 0);
  let done = 0;
  const run = await runPlan(plan.job, tasks, { workers: o.workers, choice: o.choice, log: o.log, onEpisode: () => o.onEpisode?.(++done, total) });
  let k = 0;
  const nominal = nominalValuesFor(o.scenario.robot);
  const sweeps: ParameterSweep[] = grid.map(({ parameter, values }) => {
    const train = o.scenario.randomization[parameter], heldout = o.scenario.heldout[parameter];
    const points = values.map((value): SweepPoint => {
      const outcomes: EpisodeOutcome[] = [];
      for (let g = 0; g < plan.groups.length; g++) outcomes.push(...run.results[k++].outcomes);
      const failures: Record<string, number> = {};
      for (const e of outcomes) if (!e.success) failures[e.cause] = (failures[e.cause] ?? 0) + 1;
      return {
        value,
        region: regionOf(value, train, heldout),
        nominal: Math.abs(value - nominal[parameter]) < 1e-12,
        success: wilson(outcomes.filter((e) => e.success).length, outcomes.length),
        failures: Object.fromEntries(Object.entries(failures).sort((a, b) => b[1] - a[1])),
      };
    });
    return { parameter, nominal: nominal[parameter], train: intervalsOf(train), heldout: intervalsOf(heldout), points };
  });
  return {
    format: 'simreal-sweep',
    version: 1,
    model: plan.label,
    kind: plan.kind,
    modelScenario: plan.modelScenario,
    scenario: o.scenario.id,
    episodes: plan.seeds.length,
    seeds: { base: plan.base, count: plan.seeds.length, derivation: plan.derivation, skippedAsTrainingSeeds: plan.skipped },
    backend: run.backend,
    device: run.device,
    workers: run.workers,
    executionNoise: plan.job.executionNoise ?? 0,
    sweeps,
    seconds: (performance.now() - t0) / 1000,
  };
}

const REGION_LABEL: Record<Region, string> = { train: 'training', heldout: 'held-out', beyond: 'beyond' };

function formatIntervals(parts: Array<[number, number]>): string {
  return parts.map(([a, b]) => (a === b ? `${fmt(a)}` : `${fmt(a)}–${fmt(b)}`)).join(' and ');
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}

/** The sweep as text: one table per parameter, each value with its range mark and a bar. */
export function formatSweep(r: SweepResult): string {
  const lines: string[] = [];
  lines.push(`${r.model}${r.kind === 'expert' ? '' : ` (${r.kind}, trained on ${r.modelScenario})`} on ${r.scenario}: success per value of one parameter, the others at their nominal values${r.executionNoise ? `; actions executed with noise σ ${r.executionNoise}` : ''}; ${r.episodes} seeded episodes per value (${r.backend}, ${r.workers} worker${r.workers === 1 ? '' : 's'}, ${r.seconds.toFixed(1)} s)`);
  lines.push(`seeds: ${r.seeds.derivation}; ${r.seeds.skippedAsTrainingSeeds} skipped`);
  for (const s of r.sweeps) {
    const [lo, hi] = extentOf(s.train);
    lines.push('');
    lines.push(`${s.parameter}: nominal ${fmt(s.nominal)}, training ${formatIntervals(s.train)}, held-out ${formatIntervals(s.heldout)}`);
    const width = Math.max(...s.points.map((p) => fmt(p.value).length), 5);
    for (const p of s.points) {
      const bar = '#'.repeat(Math.round(20 * p.success.rate)).padEnd(20, '.');
      const mark = `${REGION_LABEL[p.region]}${p.nominal ? ', nominal' : ''}`;
      lines.push(`  ${fmt(p.value).padStart(width)}  ${mark.padEnd(17)} ${bar}  ${formatRate(p.success)}`);
    }
    const worstTrain = s.points.filter((p) => p.region === 'train').sort((a, b) => a.success.rate - b.success.rate)[0];
    if (worstTrain && lo < hi) lines.push(`  lowest inside the training range: ${(100 * worstTrain.success.rate).toFixed(1)}% at ${fmt(worstTrain.value)}`);
  }
  return lines.join('\n');
}
