/**
 * What every `simreal train <kind>` does around its model: pick the backend (printed first), load
 * and check the data, split it by episode, build the model from a recipe, run the training loop,
 * then save the best weights in the tfjs layers format with model-card.json beside them.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LayersModel, Scalar, Tensor } from '@tensorflow/tfjs';
import { selectBackend } from '../backend.ts';
import type { BackendChoice, BackendName, TF } from '../backend.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { Rng } from '../../sim/rng.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { PolicyInputError, namesMismatch } from '../errors.ts';
import type { FrameSet } from '../data/frames.ts';
import { concatFrameSets } from '../data/frames.ts';
import { loadFrames } from '../data/load.ts';
import type { LoadOptions } from '../data/load.ts';
import { epochBatches, orderedBatches, splitByEpisode } from '../data/split.ts';
import type { Split } from '../data/split.ts';
import { gitCommit, MODEL_CARD, readModelCard, writeModelCard } from '../model-card.ts';
import type { ModelCard, ModelKind } from '../model-card.ts';
import { loadLayersModel, saveLayersModel } from '../model-io.ts';
import type { ConvArch } from '../models/layers.ts';
import { checkpointDir } from './checkpoint.ts';
import type { EpochRecord } from './checkpoint.ts';
import { trainLoop } from './trainer.ts';
import { executionNoiseOption } from '../execution-noise.ts';
import type { Batch, BatchSource, TrainLoopOptions, TrainProgress } from './trainer.ts';

export interface TrainOptions {
  /** Dataset folders (trained on together; e.g. clean and DART-noised runs of one scenario). */
  datasets: string[];
  out: string;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** The learning-rate schedule (trainer.ts): `plateau` or `cosine`; default the recipe's, else `plateau`. */
  lrSchedule?: 'plateau' | 'cosine';
  patience?: number;
  valFraction?: number;
  seed?: number;
  backend?: BackendName;
  resume?: boolean;
  overwrite?: boolean;
  successOnly?: boolean;
  maxEpisodes?: number;
  framesPerEpisode?: number;
  /** Camera for image models. Default front. */
  camera?: string;
  /** Layer sizes: hidden layers of the MLP. */
  hidden?: number[];
  /** State policies on a stack: append the target features (policy/models/target-features.ts). */
  targetFeatures?: boolean;
  /** Convolutional trunk of the image models (default per model). */
  conv?: ConvArch;
  /**
   * Closed-loop model selection (BC): after each epoch, roll the policy out on this many seeded
   * episodes under training randomization and keep the epoch with the highest success (validation
   * loss breaks ties). 0 turns it off. Default 40 for BC.
   */
  selectEpisodes?: number;
  /**
   * Policies: σ of the seeded noise added to every action before it is executed
   * (policy/execution-noise.ts), in the closed-loop selection and, through the card, wherever the
   * model acts later. Default DEFAULT_EXECUTION_NOISE; pose estimators have none.
   */
  executionNoise?: number;
  /**
   * A saved model (folder) of the same kind and architecture to start from: its weights, its
   * input normalization included, replace the fresh initialization (DAgger's later rounds).
   */
  warmStart?: string;
  /** The scenario, when the dataset does not record it (foreign LeRobot datasets). */
  scenario?: Scenario;
  /** Frames already in memory (tests, in-process experiments) instead of `datasets`. */
  frames?: FrameSet;
  /** A backend already selected (tests); otherwise one is selected here and disposed after. */
  choice?: BackendChoice;
  log?: (line: string) => void;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  signal?: AbortSignal;
  /** Test hook: wraps the batch source (e.g. to poison a batch). */
  wrapSource?: (s: BatchSource) => BatchSource;
}

export interface TrainDefaults {
  epochs: number;
  batchSize: number;
  learningRate: number;
  lrSchedule?: 'plateau' | 'cosine';
  patience: number;
  valFraction: number;
}

export interface Prepared {
  /** The model the loss is computed on. */
  train: LayersModel;
  /** The model saved (may share layers with `train` and add a de-normalizing head). */
  save: LayersModel;
  loss: (yTrue: Tensor, yPred: Tensor) => Scalar;
  makeBatch(frames: Int32Array): Batch;
  valMetrics?: (pred: Float32Array, truth: Float32Array, size: number) => Record<string, number>;
  card: Pick<ModelCard, 'inputs' | 'outputs' | 'normalization' | 'outputScaling'> & { architecture: Record<string, unknown> };
}

export interface Recipe {
  kind: ModelKind;
  /** "the state policy", for messages about missing features. */
  purpose: string;
  defaults: TrainDefaults;
  model: 'mlp' | 'conv';
  load(o: TrainOptions): Partial<LoadOptions>;
  /** What identifies the architecture (part of the resume fingerprint and the card). */
  architecture(o: TrainOptions): Record<string, unknown>;
  prepare(tf: TF, set: FrameSet, split: Split, scenario: Scenario, o: TrainOptions, rng: Rng): Prepared;
  /**
   * Starts `prepared` (built with the normalization of the data it trains on now) from the weights
   * of `warm`, a model of the same architecture; by default they are copied as they are.
   */
  warmStart?(tf: TF, prepared: Prepared, warm: LayersModel, warmCard: ModelCard): void;
  /** Closed-loop selection score for this kind of model, if it has one. */
  score?(tf: TF, scenario: Scenario, o: TrainOptions, seed: number): TrainLoopOptions['score'];
}

export interface TrainResult {
  out: string;
  card: ModelCard;
  stoppedBy: 'max-epochs' | 'early-stopping' | 'interrupted';
}

/** Refuses a non-empty output folder unless resuming or overwriting. */
/** Makes `out` ready for a new run (refusing a non-empty one unless resuming or overwriting). */
export function prepareOut(out: string, resume: boolean, overwrite: boolean): void {
  if (resume && overwrite) throw new PolicyInputError('--resume and --overwrite contradict each other: choose one');
  if (existsSync(out) && readdirSync(out).length > 0 && !resume) {
    if (!overwrite) throw new PolicyInputError(`${out} is not empty. Use --resume to continue the training checkpointed there, --overwrite to replace it, or choose another --out.`);
    rmSync(out, { recursive: true, force: true });
  }
  if (resume && !existsSync(checkpointDir(out))) throw new PolicyInputError(`--resume: ${checkpointDir(out)} does not exist; start without --resume`);
  mkdirSync(out, { recursive: true });
}

/** Checks that the frames' observation names are the scenario's. */
export function checkScenarioFits(set: FrameSet, scenario: Scenario): void {
  const names = new TabletopEnv(scenario, { randomization: 'none' }).observationSpace.names;
  const why = namesMismatch(names, set.stateNames);
  if (why) {
    throw new PolicyInputError(`dataset ${set.source.path} observes ${set.stateNames.length} features but scenario ${scenario.id} observes ${names.length} (${why}); the dataset must come from that scenario`);
  }
}

export async function runTraining(recipe: Recipe, o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? (() => {});
  const d = recipe.defaults;
  const epochs = o.epochs ?? d.epochs;
  const batchSize = o.batchSize ?? d.batchSize;
  const learningRate = o.learningRate ?? d.learningRate;
  const patience = o.patience ?? d.patience;
  const lrSchedule = o.lrSchedule ?? d.lrSchedule ?? 'plateau';
  const valFraction = o.valFraction ?? d.valFraction;
  const seed = o.seed ?? 0;
  const out = resolve(o.out);
  if (!o.frames && o.datasets.length === 0) throw new PolicyInputError('name at least one dataset folder');

  const choice = o.choice ?? (await selectBackend({ backend: o.backend, model: recipe.model, log }));
  try {
    const { tf } = choice;
    const loadOpts: LoadOptions = { purpose: recipe.purpose, successOnly: o.successOnly, maxEpisodes: o.maxEpisodes, framesPerEpisode: o.framesPerEpisode, seed, ...recipe.load(o) };
    const set = o.frames ?? concatFrameSets(await Promise.all(o.datasets.map((p) => loadFrames(p, loadOpts))));
    const scenario = o.scenario ?? set.source.scenario;
    if (!scenario) throw new PolicyInputError(`dataset ${set.source.path} does not record its scenario (no meta/simreal.json); pass --scenario <file>`);
    checkScenarioFits(set, scenario);
    prepareOut(out, !!o.resume, !!o.overwrite);
    const split = splitByEpisode(set, valFraction, seed);
    log(`data: ${set.episodes.length} episodes, ${set.frames} frames from ${set.source.path} (${split.trainEpisodes.length} episodes / ${split.trainFrames.length} frames to train, ${split.valEpisodes.length} / ${split.valFrames.length} to validate)`);
    const rng = new Rng(seed).fork(`model-${recipe.kind}`);
    const prepared = recipe.prepare(tf, set, split, scenario, o, rng);
    if (o.warmStart) await warmStartFrom(tf, prepared, recipe, o.warmStart);
    const source: BatchSource = {
      trainSize: split.trainFrames.length,
      valSize: split.valFrames.length,
      *trainBatches(epoch) {
        for (const idx of epochBatches(split.trainFrames, batchSize, seed, epoch)) yield prepared.makeBatch(idx);
      },
      *valBatches() {
        for (const idx of orderedBatches(split.valFrames, Math.max(batchSize, 256))) yield prepared.makeBatch(idx);
      },
    };
    const architecture = recipe.architecture(o);
    const execution = recipe.kind === 'pose' ? undefined : { actionNoise: executionNoiseOption(o.executionNoise) };
    const fingerprint = {
      kind: recipe.kind, data: set.source.path, episodes: set.episodes.length, frames: set.frames, seed, batchSize, valFraction,
      successOnly: !!o.successOnly, maxEpisodes: o.maxEpisodes ?? null, framesPerEpisode: o.framesPerEpisode ?? null, architecture,
      selectEpisodes: o.selectEpisodes ?? null, warmStart: o.warmStart ?? null,
      // Absent in checkpoints made before execution noise existed, which were selected without it.
      executionNoise: execution && execution.actionNoise > 0 ? execution.actionNoise : null,
      // Absent in checkpoints made before schedules existed, which all held the plateau one.
      lrSchedule: lrSchedule === 'plateau' ? null : lrSchedule,
    };
    const result = await trainLoop({
      tf, model: prepared.train, loss: prepared.loss, source: o.wrapSource ? o.wrapSource(source) : source,
      epochs, learningRate, schedule: lrSchedule, patience, dir: out, resume: !!o.resume, fingerprint,
      valMetrics: prepared.valMetrics, onProgress: o.onProgress, onEpoch: o.onEpoch, log, signal: o.signal,
      score: recipe.score?.(tf, scenario, o, seed),
    });
    const best = result.history.find((h) => h.epoch === result.bestEpoch) ?? result.history.at(-1);
    const metrics: Record<string, number> = {
      trainLoss: best?.loss ?? NaN,
      valLoss: result.bestValLoss,
      ...(best?.metrics ?? {}),
    };
    await saveLayersModel(tf, prepared.save, out);
    const episodesOf = (list: number[]) => list.map((i) => set.episodes[i]);
    const card: ModelCard = {
      format: 'simreal-model-card',
      version: 1,
      kind: recipe.kind,
      created: new Date().toISOString(),
      gitCommit: gitCommit(),
      inputs: prepared.card.inputs,
      outputs: prepared.card.outputs,
      ...(prepared.card.normalization ? { normalization: prepared.card.normalization } : {}),
      ...(prepared.card.outputScaling ? { outputScaling: prepared.card.outputScaling } : {}),
      dataset: {
        path: set.source.path,
        format: set.source.format,
        episodes: set.episodes.length,
        frames: set.frames,
        trainEpisodes: split.trainEpisodes.length,
        valEpisodes: split.valEpisodes.length,
        trainFrames: split.trainFrames.length,
        valFrames: split.valFrames.length,
        successOnly: !!o.successOnly,
        randomization: set.source.randomization,
        dartNoise: [...new Set(set.episodes.map((e) => e.dartNoise).filter((x): x is number => x !== null))].sort((a, b) => a - b),
        fps: set.source.fps,
        seeds: [...episodesOf(split.trainEpisodes), ...episodesOf(split.valEpisodes)].map((e) => e.seed).filter((s): s is number => s !== null).sort((a, b) => a - b),
      },
      scenario: { id: scenario.id, task: scenario.task as Record<string, unknown>, blockCount: set.blockCount || blockCountOf(scenario) },
      training: {
        backend: choice.name,
        device: choice.device,
        seed,
        epochs: result.epochs,
        bestEpoch: result.bestEpoch,
        batchSize,
        learningRate,
        lrSchedule,
        stoppedBy: result.stoppedBy,
        seconds: result.seconds,
        samplesPerSec: result.samplesPerSec,
        architecture: { ...architecture, ...prepared.card.architecture },
      },
      metrics,
      ...(execution ? { execution } : {}),
    };
    writeModelCard(out, card);
    log(`saved ${out}/model.json, weights.bin and ${MODEL_CARD} (best epoch ${result.bestEpoch} of ${result.epochs}, val loss ${result.bestValLoss.toPrecision(4)}; ${result.stoppedBy})`);
    // The saved model holds every layer of the trained one.
    prepared.save.dispose();
    return { out, card, stoppedBy: result.stoppedBy };
  } finally {
    if (!o.choice) choice.dispose();
  }
}

/** Starts `prepared` from the weights of the model saved in `dir` (the recipe's warmStart, or a plain copy). */
async function warmStartFrom(tf: TF, prepared: Prepared, recipe: Recipe, dir: string): Promise<void> {
  const card = readModelCard(dir);
  if (card.kind !== recipe.kind) throw new PolicyInputError(`cannot warm-start a ${recipe.kind} model from ${dir}, a ${card.kind} model`);
  const warm = await loadLayersModel(tf, dir);
  try {
    const have = warm.getWeights(), want = prepared.save.getWeights();
    const shapes = (ws: Tensor[]): string => ws.map((w) => w.shape.join('x')).join(',');
    if (shapes(have) !== shapes(want)) {
      throw new PolicyInputError(`cannot warm-start from ${dir}: its weights [${shapes(have)}] differ from the model being trained [${shapes(want)}] (another architecture or observation)`);
    }
    if (recipe.warmStart) recipe.warmStart(tf, prepared, warm, card);
    else {
      prepared.save.setWeights(have);
      if (card.normalization) prepared.card.normalization = card.normalization;
      if (card.outputScaling) prepared.card.outputScaling = card.outputScaling;
    }
  } finally {
    warm.dispose();
  }
}

function blockCountOf(scenario: Scenario): number {
  return new TabletopEnv(scenario, { randomization: 'none' }).task.blockCount(scenario.task);
}
