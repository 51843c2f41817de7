/**
 * `simreal train dagger <scenario>` and `simreal train bc <datasets> --dagger N`: DAgger (Ross,
 * Gordon & Bagnell 2011, "A reduction of imitation learning and structured prediction to no-regret
 * online learning") with the scripted experts as the queryable expert.
 *
 *   Round 0   plain BC (bc.ts) on expert demonstrations: generated here (a third clean, a third
 *             each with DART noise σ and 2σ), or the datasets `train bc` was given.
 *   Round i   1. roll out π_i = β_i·expert + (1 − β_i)·learner_{i−1} on `episodesPerRound` fresh
 *                seeded episodes of the training randomization: at every control step the
 *                expert's action is executed with probability β_i, else the learner's;
 *             2. label every visited state with the expert's action: the experts are re-entrant
 *                (they derive their stage from the state), so they answer in states they never
 *                led to;
 *             3. aggregate with all earlier data (demonstrations included);
 *             4. retrain, warm-started from round i−1's weights (its input normalization too), for
 *                `roundEpochs` epochs, keeping the epoch with the best closed-loop success on the
 *                selection seeds, as BC does.
 *
 * β_i = β·decay^(i−1): by default 0.5, 0.25, 0.125, … Ross et al. take β_1 = 1 (a pure expert
 * round: our round 0) and β_i = p^(i−1); executing the expert half the time in round 1 keeps the
 * first rollouts near the task while they already visit the learner's mistakes.
 *
 * Warm start rather than retraining from scratch each round: the aggregate grows every round, and
 * starting from the last learner reaches the same loss in a fraction of the epochs.
 *
 * Labels are frames (an observation with the expert's action), counted the same way for the
 * demonstrations and for every rollout; the card records them per round. With `rounds: 0` this is
 * plain BC on the demonstrations, which is how a BC baseline gets the same label budget
 * (`--labels`). The saved model is the round whose learner succeeded most often on the selection
 * seeds (a later round wins a tie); every round's model stays in `rounds/round-<i>/`.
 *
 * `resume` continues a run in its folder, with the same options, or more rounds: every round that
 * has a checkpoint resumes it (a finished round is only reloaded), and a round's rollouts are rolled
 * again from the round before's saved learner, on the same seeds, which gives the same labels (a
 * round whose data came out otherwise is refused by its checkpoint, naming what differs).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { selectBackend } from '../backend.ts';
import type { BackendChoice, BackendName } from '../backend.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { deriveSeed } from '../../sim/rng.ts';
import { PolicyInputError } from '../errors.ts';
import type { FrameSet } from '../data/frames.ts';
import { concatFrameSets } from '../data/frames.ts';
import { loadFrames } from '../data/load.ts';
import { MODEL_CARD, readModelCard, writeModelCard } from '../model-card.ts';
import type { DaggerRecord, ModelCard } from '../model-card.ts';
import { MODEL_JSON, WEIGHTS_BIN, loadLayersModel } from '../model-io.ts';
import { statePredictor } from '../state-policy.ts';
import type { EpochRecord } from './checkpoint.ts';
import { trainBc } from './bc.ts';
import { checkpointDir } from './checkpoint.ts';
import { demoFrames, expertDemos, labelledRollouts, rolloutFrames } from './dagger-data.ts';
import type { TrainOptions } from './run.ts';
import type { TrainProgress } from './trainer.ts';

export const DAGGER_DEFAULTS = {
  demos: 300,
  dartNoise: 0.1,
  rounds: 4,
  episodesPerRound: 100,
  beta: 0.5,
  betaDecay: 0.5,
  roundEpochs: 12,
};

export interface DaggerOptions {
  out: string;
  /** Round 0 from demonstrations generated here: the scenario and how many. */
  scenario?: Scenario;
  /** Demonstrations (episodes); ignored with `labels`. Default 300. */
  demos?: number;
  /** Generate demonstrations until this many labels instead (a BC baseline on a DAgger run's budget). */
  labels?: number;
  /** DART σ of the noisy thirds of the demonstrations. Default 0.1. */
  dartNoise?: number;
  /** Round 0 from these datasets instead (`train bc … --dagger N`). */
  datasets?: string[];
  /** DAgger rounds after round 0. Default 4; 0 is plain BC. */
  rounds?: number;
  /** Rollouts (episodes) per round. Default 100. */
  episodesPerRound?: number;
  /** β of round 1. Default 0.5. */
  beta?: number;
  /** β is multiplied by this each further round. Default 0.5. */
  betaDecay?: number;
  /**
   * Steps a rollout runs at most. Default: twice the mean length of the round-0 episodes (within
   * the scenario's time limit): a learner that has not finished by then is stuck, and labelling
   * hundreds more steps of the same loop costs labels that teach little.
   */
  horizon?: number;
  /** Most epochs of round 0 (default: BC's 60). */
  epochs?: number;
  /** Most epochs of each later round. Default 12. */
  roundEpochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** The learning-rate schedule of every round (trainer.ts; default plateau). */
  lrSchedule?: 'plateau' | 'cosine';
  patience?: number;
  hidden?: number[];
  /** Append the target features to the observation (policy/models/target-features.ts). */
  targetFeatures?: boolean;
  /** Closed-loop selection episodes per epoch (default BC's 40); 0 selects by validation loss. */
  selectEpisodes?: number;
  /** σ of the policy's execution noise (policy/execution-noise.ts): selection, and the saved card. */
  executionNoise?: number;
  seed?: number;
  backend?: BackendName;
  choice?: BackendChoice;
  /** Worker threads for generating demonstrations. */
  workers?: number;
  overwrite?: boolean;
  /** Continue the run in `out`: rounds with a checkpoint resume it, the others train (see above). */
  resume?: boolean;
  successOnly?: boolean;
  maxEpisodes?: number;
  log?: (line: string) => void;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  onRound?: (r: DaggerRecord['rounds'][number]) => void;
  signal?: AbortSignal;
}

export interface DaggerResult {
  out: string;
  card: ModelCard;
  stoppedBy: 'finished' | 'interrupted';
}

/** β of round `round` (1-based). */
export function betaOf(round: number, beta: number, decay: number): number {
  return beta * decay ** (round - 1);
}

/** Seeds of round `round`'s rollouts: a stream of their own, apart from generation, selection and evaluation. */
export function rolloutSeeds(seed: number, round: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => deriveSeed(seed, 'dagger', round, i));
}

function prepareOut(out: string, overwrite: boolean, resume: boolean): void {
  if (resume && overwrite) throw new PolicyInputError('--resume and --overwrite contradict each other: choose one');
  if (resume) {
    if (!existsSync(checkpointDir(join(out, 'rounds', 'round-0')))) throw new PolicyInputError(`--resume: ${out} holds no DAgger run (no rounds/round-0/checkpoint); start without --resume`);
    return;
  }
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!overwrite) throw new PolicyInputError(`${out} is not empty. Use --resume to continue the DAgger run there (more rounds too), --overwrite to replace it, or choose another --out.`);
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
}

export async function trainDagger(o: DaggerOptions): Promise<DaggerResult> {
  const log = o.log ?? (() => {});
  const out = resolve(o.out);
  const rounds = o.rounds ?? DAGGER_DEFAULTS.rounds;
  const perRound = o.episodesPerRound ?? DAGGER_DEFAULTS.episodesPerRound;
  const beta = o.beta ?? DAGGER_DEFAULTS.beta, decay = o.betaDecay ?? DAGGER_DEFAULTS.betaDecay;
  const seed = o.seed ?? 0;
  const check = (ok: boolean, msg: string): void => { if (!ok) throw new PolicyInputError(msg); };
  check(Number.isInteger(rounds) && rounds >= 0, `--rounds must be a whole number ≥ 0, got ${rounds}`);
  check(Number.isInteger(perRound) && perRound >= 1, `--episodes-per-round must be a whole number ≥ 1, got ${perRound}`);
  check(beta >= 0 && beta <= 1, `--beta must lie in [0, 1], got ${beta}`);
  check(decay >= 0 && decay <= 1, `--beta-decay must lie in [0, 1], got ${decay}`);
  check(!o.datasets?.length || o.labels === undefined, '--labels sets how many demonstrations to generate; with datasets, round 0 learns from them (use --max-episodes to cut them)');
  check(!!o.datasets?.length || !!o.scenario, 'DAgger needs a scenario (to generate demonstrations) or datasets (round 0)');
  if (o.horizon !== undefined) check(Number.isInteger(o.horizon) && o.horizon >= 1, `--horizon must be a whole number ≥ 1, got ${o.horizon}`);
  if (o.labels !== undefined) check(Number.isInteger(o.labels) && o.labels >= 1, `--labels must be a whole number ≥ 1, got ${o.labels}`);
  prepareOut(out, !!o.overwrite, !!o.resume);

  const choice = o.choice ?? (await selectBackend({ backend: o.backend, model: 'mlp', log }));
  try {
    // Round 0's data.
    let data: FrameSet;
    if (o.datasets?.length) {
      data = concatFrameSets(await Promise.all(o.datasets.map((p) => loadFrames(p, { purpose: 'the state policy', successOnly: o.successOnly, maxEpisodes: o.maxEpisodes, seed }))));
      data = { ...data, blockPoses: null };
    } else {
      const scenario = o.scenario as Scenario;
      const records = await expertDemos({
        scenario, episodes: o.labels === undefined ? (o.demos ?? DAGGER_DEFAULTS.demos) : undefined, labels: o.labels,
        dartNoise: o.dartNoise ?? DAGGER_DEFAULTS.dartNoise, seed, workers: o.workers, signal: o.signal,
      });
      data = demoFrames(records, scenario);
      log(`round 0: ${records.length} expert demonstrations, ${data.frames} labels (expert success ${((100 * records.filter((r) => r.success).length) / records.length).toFixed(1)}%)`);
    }
    const horizon = Math.min(scenario0(o, data).maxSteps, o.horizon ?? Math.ceil((2 * data.frames) / Math.max(1, data.episodes.length)));
    const demoSeeds = data.episodes.map((e) => e.seed).filter((s): s is number => s !== null);
    const scenario = scenario0(o, data);

    const base: Omit<TrainOptions, 'out' | 'frames' | 'epochs'> = {
      datasets: [], scenario, choice, seed, batchSize: o.batchSize, learningRate: o.learningRate, lrSchedule: o.lrSchedule, patience: o.patience, hidden: o.hidden, targetFeatures: o.targetFeatures,
      selectEpisodes: o.selectEpisodes, executionNoise: o.executionNoise, log, onProgress: o.onProgress, onEpoch: o.onEpoch, signal: o.signal,
    };
    const roundDir = (i: number): string => join(out, 'rounds', `round-${i}`);
    /** A round's training: resumed where `resume` finds its checkpoint, else from its start. */
    const again = (i: number): Pick<TrainOptions, 'resume' | 'overwrite'> => {
      const resume = !!o.resume && existsSync(checkpointDir(roundDir(i)));
      if (resume) log(`round ${i}: resuming ${roundDir(i)}`);
      return { resume, overwrite: !resume };
    };
    const record: DaggerRecord = {
      algorithm: 'DAgger (Ross et al. 2011)',
      beta: { initial: beta, decay, schedule: 'beta_i = initial * decay^(i-1) for rounds i >= 1; round 0 is the expert alone' },
      warmStart: true,
      episodesPerRound: perRound,
      horizon,
      roundEpochs: o.roundEpochs ?? DAGGER_DEFAULTS.roundEpochs,
      labels: { demonstrations: data.frames, rollouts: 0, total: data.frames },
      rounds: [],
      bestRound: 0,
    };
    const t0 = performance.now();
    const r0 = await trainBc({ ...base, ...again(0), frames: data, out: roundDir(0), epochs: o.epochs });
    const selectOf = (c: ModelCard): number | null => c.metrics.selectSuccess ?? null;
    const push = (round: number, b: number, episodes: number, labels: number, rolloutSuccess: number | null, card: ModelCard, seconds: number): void => {
      const entry = {
        round, beta: b, episodes, labels, totalLabels: data.frames, rolloutSuccess,
        selectSuccess: selectOf(card), valLoss: card.metrics.valLoss, epochs: card.training.epochs, seconds,
      };
      record.rounds.push(entry);
      o.onRound?.(entry);
      log(`round ${round}${round ? ` (β ${b})` : ''}: ${labels} labels, ${data.frames} in all; learner's closed-loop success on the selection seeds ${entry.selectSuccess === null ? 'not measured' : `${(100 * entry.selectSuccess).toFixed(1)}%`}`);
    };
    push(0, 1, data.episodes.length, data.frames, null, r0.card, roundSeconds(t0, r0.card));
    let stopped = r0.stoppedBy === 'interrupted';
    const rolloutSeedList: number[] = [];

    for (let i = 1; i <= rounds && !stopped; i++) {
      const t1 = performance.now();
      const b = betaOf(i, beta, decay);
      const prev = roundDir(i - 1);
      const model = await loadLayersModel(choice.tf, prev);
      const S = data.stateNames.length, A = data.actionNames.length;
      let episodes;
      try {
        episodes = await labelledRollouts(statePredictor(choice.tf, model, S, A), rolloutSeeds(seed, i, perRound), { scenario, beta: b, horizon, signal: o.signal });
      } catch (err) {
        if (o.signal?.aborted) {
          stopped = true;
          break;
        }
        throw err;
      } finally {
        model.dispose();
      }
      rolloutSeedList.push(...episodes.map((e) => e.seed));
      const fresh = rolloutFrames(episodes, data, data.episodes.length, `DAgger round ${i} rollouts`);
      data = concatFrameSets([data, fresh]);
      record.labels.rollouts += fresh.frames;
      record.labels.total = data.frames;
      const ok = episodes.filter((e) => e.success).length / episodes.length;
      log(`round ${i} (β ${b}): ${episodes.length} rollouts (${(100 * ok).toFixed(0)}% solved, expert acted on ${((100 * episodes.reduce((n, e) => n + e.expertSteps, 0)) / Math.max(1, fresh.frames)).toFixed(0)}% of steps), ${fresh.frames} new labels`);
      const r = await trainBc({ ...base, ...again(i), frames: data, out: roundDir(i), epochs: record.roundEpochs, warmStart: prev });
      stopped = r.stoppedBy === 'interrupted';
      push(i, b, episodes.length, fresh.frames, ok, r.card, roundSeconds(t1, r.card));
    }

    // The saved model: the best round by selection success (later rounds win ties).
    let best = record.rounds[0];
    for (const r of record.rounds) if (!(selectOf0(r) < selectOf0(best))) best = r;
    record.bestRound = best.round;
    const bestCard = readModelCard(roundDir(best.round));
    for (const f of [MODEL_JSON, WEIGHTS_BIN]) copyFileSync(join(roundDir(best.round), f), join(out, f));
    const card: ModelCard = {
      ...bestCard,
      created: new Date().toISOString(),
      dataset: {
        ...bestCard.dataset,
        path: o.datasets?.length ? `${o.datasets.join(',')} + DAgger rollouts` : `expert demonstrations of ${scenario.id} + DAgger rollouts`,
        // Every seed any round saw, so evaluation skips them all.
        seeds: [...new Set([...demoSeeds, ...rolloutSeedList])].sort((a, b) => a - b),
      },
      training: { ...bestCard.training, seconds: (performance.now() - t0) / 1000 },
      dagger: record,
    };
    writeModelCard(out, card);
    log(`saved ${out}/${MODEL_JSON}, ${WEIGHTS_BIN} and ${MODEL_CARD}: round ${best.round} of ${record.rounds.length - 1}; ${record.labels.total} expert labels in all (${record.labels.demonstrations} demonstrations, ${record.labels.rollouts} rollouts)`);
    return { out, card, stoppedBy: stopped ? 'interrupted' : 'finished' };
  } finally {
    if (!o.choice) choice.dispose();
  }
}

/**
 * A round's seconds: since `t0` in this process, or its trainer's own total where that is longer (a
 * round resumed by `resume` trained before this process).
 */
function roundSeconds(t0: number, card: ModelCard): number {
  return Math.max((performance.now() - t0) / 1000, card.training.seconds);
}

/** The scenario of a run: given, or recorded by its datasets. */
function scenario0(o: DaggerOptions, data: FrameSet): Scenario {
  const s = o.scenario ?? data.source.scenario;
  if (!s) throw new PolicyInputError(`dataset ${data.source.path} does not record its scenario (no meta/simreal.json); pass --scenario <file>`);
  return s;
}

/** Selection success with "not measured" lowest. */
function selectOf0(r: { selectSuccess: number | null }): number {
  return r.selectSuccess ?? -1;
}
