/**
 * `simreal train dagger <scenario.json> --out <dir>` and `simreal train bc <datasets…> --dagger N`:
 * DAgger with the scripted expert (policy/train/dagger.ts). The backend is printed first; each
 * round prints what it collected (rollouts, β, new labels) and the learner's closed-loop success
 * on the selection seeds, with a progress bar while it trains. At the end a table of the rounds
 * and the label count. Ctrl-C stops after the current batch; the best round so far is saved.
 */
import type { Command } from 'commander';
import { DAGGER_DEFAULTS, trainDagger } from '../policy/train/dagger.ts';
import type { DaggerOptions } from '../policy/train/dagger.ts';
import type { DaggerRecord } from '../policy/model-card.ts';
import type { TrainProgress } from '../policy/train/trainer.ts';
import { UserError, asUserError } from './errors.ts';
import { loadScenarioOrExit, parseBackend, parseIntOption, parseNumberOption, parseHiddenOption } from './options.ts';
import { createProgress } from './progress.ts';
import type { Progress } from './progress.ts';
import { twoStageInterrupt } from './signals.ts';

export interface DaggerFlags {
  out: string;
  rounds?: string;
  dagger?: string;
  episodesPerRound?: string;
  beta?: string;
  betaDecay?: string;
  roundEpochs?: string;
  demos?: string;
  labels?: string;
  dartNoise?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  lrSchedule?: 'plateau' | 'cosine';
  patience?: string;
  hidden?: string;
  targetFeatures?: boolean;
  selectEpisodes?: string;
  executionNoise?: string;
  seed: string;
  backend?: string;
  workers?: string;
  overwrite?: boolean;
  resume?: boolean;
  successOnly?: boolean;
  maxEpisodes?: string;
  scenario?: string;
  progress: boolean;
  json?: boolean;
}

const d = DAGGER_DEFAULTS;

/** The options every DAgger run takes (`train dagger` and `train bc --dagger`). */
export function daggerOptions(cmd: Command): Command {
  return cmd
    .option('--episodes-per-round <n>', `DAgger: rollouts per round (default ${d.episodesPerRound})`)
    .option('--beta <p>', `DAgger: probability that a step of round 1 executes the expert's action; it is multiplied by --beta-decay each round (default ${d.beta})`)
    .option('--beta-decay <f>', `DAgger: factor β shrinks by each round (default ${d.betaDecay})`)
    .option('--round-epochs <n>', `DAgger: most epochs of each round after the first, warm-started from the last (default ${d.roundEpochs})`);
}

function options(f: DaggerFlags, rounds: number | undefined): Omit<DaggerOptions, 'log' | 'onProgress' | 'onRound' | 'signal'> {
  const int = (flag: string, v: string | undefined, min: number, max = Infinity): number | undefined => (v === undefined ? undefined : parseIntOption(flag, v, min, max));
  const num = (flag: string, v: string | undefined, min: number, max: number): number | undefined => (v === undefined ? undefined : parseNumberOption(flag, v, min, max));
  return {
    out: f.out,
    rounds,
    episodesPerRound: int('--episodes-per-round', f.episodesPerRound, 1),
    beta: num('--beta', f.beta, 0, 1),
    betaDecay: num('--beta-decay', f.betaDecay, 0, 1),
    roundEpochs: int('--round-epochs', f.roundEpochs, 1),
    demos: int('--demos', f.demos, 1),
    labels: int('--labels', f.labels, 1),
    dartNoise: num('--dart-noise', f.dartNoise, 0, 1),
    epochs: int('--epochs', f.epochs, 1),
    batchSize: int('--batch-size', f.batchSize, 1, 65536),
    learningRate: num('--lr', f.lr, 1e-7, 1),
    lrSchedule: f.lrSchedule,
    patience: int('--patience', f.patience, 0),
    hidden: f.hidden === undefined ? undefined : parseHiddenOption(f.hidden),
    targetFeatures: !!f.targetFeatures,
    selectEpisodes: int('--select-episodes', f.selectEpisodes, 0, 10000),
    executionNoise: num('--execution-noise', f.executionNoise, 0, 1),
    seed: parseIntOption('--seed', f.seed, 0, 0xffffffff),
    backend: parseBackend(f.backend),
    workers: int('--workers', f.workers, 0, 256),
    overwrite: !!f.overwrite,
    resume: !!f.resume,
    successOnly: !!f.successOnly,
    maxEpisodes: int('--max-episodes', f.maxEpisodes, 1),
  };
}

function roundRow(r: DaggerRecord['rounds'][number]): string {
  const pct = (x: number | null): string => (x === null ? '     -' : `${(100 * x).toFixed(1).padStart(5)}%`);
  return `${String(r.round).padStart(5)}  ${r.beta.toFixed(3).padStart(5)}  ${String(r.episodes).padStart(8)}  ${String(r.labels).padStart(9)}  ${String(r.totalLabels).padStart(9)}  ${pct(r.rolloutSuccess)}  ${pct(r.selectSuccess)}  ${String(r.epochs).padStart(6)}  ${r.seconds.toFixed(0).padStart(6)}`;
}

async function run(o: Omit<DaggerOptions, 'log' | 'onProgress' | 'onRound' | 'signal'>, f: DaggerFlags): Promise<void> {
  const interrupt = twoStageInterrupt({ stopsWhen: 'after this batch', kept: 'the rounds finished so far are kept under rounds/' });
  let bar: Progress | null = null;
  const fmt = (x: number | null): string => (x === null ? '-' : x.toPrecision(4));
  const say = (line: string): void => {
    (bar as Progress | null)?.stop();
    bar = null;
    process.stderr.write(`${line}\n`);
  };
  try {
    const result = await trainDagger({
      ...o,
      signal: interrupt.signal,
      log: say,
      onProgress: (p: TrainProgress) => {
        bar ??= createProgress({ total: p.samplesTotal, start: p.samplesDone, enabled: f.progress, unit: 'samples', fields: { epoch: '-', loss: '-', val_loss: '-' } });
        bar.update(p.samplesDone, { epoch: `${p.epoch}/${p.epochs}`, loss: fmt(p.loss), val_loss: fmt(p.valLoss) });
      },
      onEpoch: (r) => {
        if (!f.progress) process.stderr.write(`  epoch ${r.epoch}: loss ${fmt(r.loss)}, val loss ${fmt(r.valLoss)}${r.metrics?.selectSuccess !== undefined ? `, selection success ${(100 * r.metrics.selectSuccess).toFixed(1)}%` : ''} (${r.seconds.toFixed(1)} s)\n`);
      },
    });
    (bar as Progress | null)?.stop();
    const dg = result.card.dagger!;
    process.stdout.write(`${result.stoppedBy === 'interrupted' ? 'stopped' : 'done'}: ${result.out} (DAgger, round ${dg.bestRound} of ${dg.rounds.length - 1} kept; ${dg.labels.total} expert labels: ${dg.labels.demonstrations} from demonstrations, ${dg.labels.rollouts} from rollouts)\n`);
    process.stdout.write('round      β  episodes     labels      total  rollouts  learner  epochs       s\n');
    for (const r of dg.rounds) process.stdout.write(`${roundRow(r)}\n`);
    if (result.stoppedBy === 'interrupted') process.exitCode = 130;
    if (f.json) process.stdout.write(`${JSON.stringify(result.card)}\n`);
  } catch (err) {
    (bar as Progress | null)?.stop();
    throw asUserError(err);
  } finally {
    interrupt.release();
  }
}

/** `train dagger <scenario.json>`: demonstrations generated here, then the rounds. */
export async function trainDaggerFromScenario(scenarioPath: string, f: DaggerFlags): Promise<void> {
  const scenario = loadScenarioOrExit(scenarioPath);
  const rounds = f.rounds === undefined ? undefined : parseIntOption('--rounds', f.rounds, 0, 1000);
  await run({ ...options(f, rounds), scenario }, f);
}

/** `train bc <datasets…> --dagger N`: round 0 learns from the datasets. */
export async function trainDaggerFromDatasets(datasets: string[], f: DaggerFlags): Promise<void> {
  const rounds = parseIntOption('--dagger', f.dagger as string, 1, 1000);
  if (f.demos !== undefined || f.labels !== undefined) throw new UserError('--demos and --labels size generated demonstrations (train dagger <scenario>); with datasets, round 0 learns from them');
  await run({ ...options(f, rounds), datasets, scenario: f.scenario === undefined ? undefined : loadScenarioOrExit(f.scenario) }, f);
}
