/**
 * The training loop every model shares: seeded mini-batches from a BatchSource, Adam, validation
 * after each epoch, early stopping with best-weights restore, a learning-rate cut on plateaus,
 * checkpoints after each epoch and `resume`, and a NaN guard: a non-finite loss stops training at
 * once, before the bad step's weights can reach a checkpoint, and says which checkpoint is the
 * last good one.
 */
import type { LayersModel, Optimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import { PolicyInputError, TrainingDivergedError } from '../errors.ts';
import { checkpointDir, readCheckpointState, restoreOptimizer, restoreWeights, saveCheckpoint } from './checkpoint.ts';
import type { CheckpointState, EpochRecord } from './checkpoint.ts';
import { periodicYield } from '../event-loop.ts';

/** The learning rate after `done` of `total` samples on the cosine schedule: from `peak` down to peak/100. */
export function cosineLearningRate(done: number, total: number, peak: number): number {
  const t = Math.min(1, done / Math.max(1, total));
  return peak * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export interface Batch {
  xs: Tensor | Tensor[];
  ys: Tensor;
  size: number;
}

/** Where mini-batches come from; tensors it yields belong to the caller (who disposes them). */
export interface BatchSource {
  readonly trainSize: number;
  readonly valSize: number;
  /** Mini-batches of epoch `epoch` (1-based) in an order fixed by the run's seed and the epoch. */
  trainBatches(epoch: number): Iterable<Batch>;
  valBatches(): Iterable<Batch>;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  samplesDone: number;
  samplesTotal: number;
  loss: number;
  valLoss: number | null;
  bestValLoss: number | null;
  samplesPerSec: number;
}

export interface TrainLoopOptions {
  tf: TF;
  /** The model whose outputs the loss compares with the targets. */
  model: LayersModel;
  loss: (yTrue: Tensor, yPred: Tensor) => Scalar;
  source: BatchSource;
  epochs: number;
  learningRate: number;
  /** Epochs without validation improvement before stopping (0: never stop early). */
  patience: number;
  /** The learning rate is multiplied by this after `patience / 2` epochs without improvement. Default 0.3. */
  plateauFactor?: number;
  /**
   * How the learning rate moves: `plateau` (default) holds it and cuts it by `plateauFactor` when
   * validation stalls; `cosine` lowers it at every step from `learningRate` to a hundredth of it
   * at the last step of `epochs` (a cosine), so the last epochs settle instead of wandering.
   */
  schedule?: 'plateau' | 'cosine';
  /** Output folder; checkpoints go to `<dir>/checkpoint`. */
  dir: string;
  resume: boolean;
  /** What identifies the run (data, model, options): `resume` refuses a checkpoint made by another. */
  fingerprint: Record<string, unknown>;
  /**
   * Closed-loop model selection: a score (higher is better, e.g. the success rate of rollouts on
   * validation seeds) computed after each epoch. When given, it decides which epoch is best and
   * when to stop early; the validation loss only breaks ties. Validation loss alone is a poor
   * guide to how a cloned policy behaves in closed loop (small errors at a decision point, such
   * as when to open the fingers, cost little loss and many episodes).
   */
  score?: (model: LayersModel) => Promise<{ score: number; metrics?: Record<string, number> }>;
  /** Extra validation metrics from the model's outputs on the validation batches. */
  valMetrics?: (pred: Float32Array, truth: Float32Array, size: number) => Record<string, number>;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  log?: (line: string) => void;
  /** Stops after the current batch; the last complete epoch's checkpoint stays. */
  signal?: AbortSignal;
}

export interface TrainLoopResult {
  epochs: number;
  bestEpoch: number;
  bestValLoss: number;
  history: EpochRecord[];
  stoppedBy: 'max-epochs' | 'early-stopping' | 'interrupted';
  seconds: number;
  samplesPerSec: number;
}

/** Adam reads its learning rate at every step; tfjs declares the field protected. */
function setLearningRate(optimizer: Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

function sameFingerprint(a: Record<string, unknown>, b: Record<string, unknown>): string | null {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    // An absent key and null are the same (options added later read as null in older checkpoints).
    const was = JSON.stringify(a[k] ?? null), now = JSON.stringify(b[k] ?? null);
    if (was !== now) return `${k} was ${was}, now ${now}`;
  }
  return null;
}

export async function trainLoop(o: TrainLoopOptions): Promise<TrainLoopResult> {
  const { tf, model, source } = o;
  const log = o.log ?? (() => {});
  const optimizer = tf.train.adam(o.learningRate);
  const plateau = Math.max(1, Math.floor(o.patience / 2));
  const factor = o.plateauFactor ?? 0.3;
  const cosine = o.schedule === 'cosine';
  let state: CheckpointState | null = null;
  let epoch = 0, bestEpoch = 0, bestValLoss = Infinity, bestScore = -Infinity, stale = 0, samples = 0, seconds = 0;
  let lr = o.learningRate;
  let history: EpochRecord[] = [];

  if (o.resume) {
    state = readCheckpointState(o.dir);
    if (!state) throw new PolicyInputError(`--resume: ${checkpointDir(o.dir)} holds no checkpoint; start without --resume`);
    const why = sameFingerprint(state.fingerprint, o.fingerprint);
    if (why) throw new PolicyInputError(`--resume: the checkpoint in ${checkpointDir(o.dir)} belongs to another run (${why}); use the same data and options, or start over with --overwrite`);
    await restoreWeights(tf, o.dir, state.lastDir, model);
    await restoreOptimizer(tf, o.dir, state.lastDir, optimizer);
    ({ epoch, bestEpoch, bestValLoss, samples, seconds, history } = state);
    bestScore = state.bestScore ?? -Infinity;
    stale = state.epochsWithoutImprovement;
    // A run that ended at its epoch limit continues when more epochs are asked for.
    if (state.finished === 'max-epochs' && epoch < o.epochs) state = { ...state, finished: null };
    lr = state.learningRate;
    setLearningRate(optimizer, lr);
    log(`resuming after epoch ${epoch} (best val loss ${bestValLoss.toPrecision(4)} at epoch ${bestEpoch})`);
  }

  // Only the model's trainable weights: minimize() would otherwise update every trainable
  // variable in the engine, including the fixed normalization layers (whose tf.Variables are
  // created trainable even when their layer is not).
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  const samplesTotal = o.epochs * source.trainSize;
  let stoppedBy: TrainLoopResult['stoppedBy'] = state?.finished ?? 'max-epochs';
  const runStart = performance.now();
  const yieldNow = periodicYield();
  let runSamples = 0;
  const rate = (): number => runSamples / Math.max(1e-3, (performance.now() - runStart) / 1000);

  while (!state?.finished && epoch < o.epochs) {
    const e = epoch + 1;
    const t0 = performance.now();
    let sum = 0, count = 0, b = 0;
    for (const batch of source.trainBatches(e)) {
      if (o.signal?.aborted) {
        tf.dispose([batch.xs, batch.ys] as Tensor[]);
        stoppedBy = 'interrupted';
        break;
      }
      if (cosine) {
        lr = cosineLearningRate(samples, samplesTotal, o.learningRate);
        setLearningRate(optimizer, lr);
      }
      const lossT = optimizer.minimize(() => o.loss(batch.ys, model.apply(batch.xs, { training: true }) as Tensor), true, vars) as Scalar;
      const v = (await lossT.data())[0];
      lossT.dispose();
      tf.dispose([batch.xs, batch.ys] as Tensor[]);
      if (!Number.isFinite(v)) {
        optimizer.dispose();
        const last = state ? `${checkpointDir(o.dir)}/${state.lastDir} (epoch ${state.epoch}, val loss ${state.bestValLoss.toPrecision(4)} best)` : null;
        throw new TrainingDivergedError(
          `training stopped: the loss became ${v} at epoch ${e}, batch ${b + 1}. ` +
            (last
              ? `The last good checkpoint is kept untouched: ${last}; continue from it with --resume after lowering --lr, or check the data for bad values.`
              : `No epoch had completed, so there is no checkpoint; lower --lr or check the data for bad values.`),
          e, b, state ? checkpointDir(o.dir) : null,
        );
      }
      await yieldNow();
      sum += v * batch.size;
      count += batch.size;
      samples += batch.size;
      runSamples += batch.size;
      b++;
      o.onProgress?.({ epoch: e, epochs: o.epochs, samplesDone: samples, samplesTotal, loss: sum / count, valLoss: history.at(-1)?.valLoss ?? null, bestValLoss: Number.isFinite(bestValLoss) ? bestValLoss : null, samplesPerSec: rate() });
    }
    if (stoppedBy === 'interrupted') break;
    const trainLoss = sum / Math.max(1, count);
    const { valLoss, metrics } = source.valSize > 0 ? await validate(o) : { valLoss: trainLoss, metrics: undefined };
    if (!Number.isFinite(valLoss)) {
      optimizer.dispose();
      throw new TrainingDivergedError(
        `training stopped: the validation loss became ${valLoss} after epoch ${e}. ` +
          (state ? `The last good checkpoint is kept untouched: ${checkpointDir(o.dir)}/${state.lastDir} (epoch ${state.epoch}).` : 'No earlier checkpoint exists.'),
        e, b, state ? checkpointDir(o.dir) : null,
      );
    }
    let score: number | null = null;
    let allMetrics = metrics;
    if (o.score) {
      const r = await o.score(model);
      score = r.score;
      allMetrics = { ...(metrics ?? {}), ...(r.metrics ?? {}), score: r.score };
    }
    const secs = (performance.now() - t0) / 1000;
    seconds += secs;
    const improved = score === null
      ? valLoss < bestValLoss * (1 - 1e-4)
      : score > bestScore || (score === bestScore && valLoss < bestValLoss);
    if (improved) {
      bestValLoss = valLoss;
      if (score !== null) bestScore = score;
      bestEpoch = e;
      stale = 0;
    } else {
      stale++;
      if (!cosine && o.patience > 0 && stale % plateau === 0) {
        lr *= factor;
        setLearningRate(optimizer, lr);
        log(`epoch ${e}: no improvement for ${stale} epochs, learning rate now ${lr.toPrecision(3)}`);
      }
    }
    const record: EpochRecord = { epoch: e, loss: trainLoss, valLoss, learningRate: lr, seconds: secs, ...(allMetrics ? { metrics: allMetrics } : {}) };
    history = [...history, record];
    epoch = e;
    let finished: CheckpointState['finished'] = null;
    if (o.patience > 0 && stale >= o.patience) finished = 'early-stopping';
    else if (epoch >= o.epochs) finished = 'max-epochs';
    state = await saveCheckpoint(tf, o.dir, model, optimizer, {
      version: 1, fingerprint: o.fingerprint, epoch, bestEpoch, bestValLoss, ...(o.score ? { bestScore } : {}), epochsWithoutImprovement: stale,
      learningRate: lr, finished, samples, seconds, history, improved, previous: state,
    });
    o.onEpoch?.(record);
    if (finished) stoppedBy = finished;
  }
  optimizer.dispose();
  if (!state) throw new PolicyInputError('training stopped before the first epoch completed; nothing was saved');
  await restoreWeights(tf, o.dir, state.bestDir, model);
  return { epochs: epoch, bestEpoch, bestValLoss, history, stoppedBy, seconds, samplesPerSec: seconds > 0 ? (state.samples / seconds) : 0 };
}

async function validate(o: TrainLoopOptions): Promise<{ valLoss: number; metrics?: Record<string, number> }> {
  const { tf, model } = o;
  let sum = 0, count = 0;
  const sums: Record<string, number> = {};
  for (const batch of o.source.valBatches()) {
    const pred = model.predict(batch.xs) as Tensor;
    const l = o.loss(batch.ys, pred);
    sum += (await l.data())[0] * batch.size;
    count += batch.size;
    if (o.valMetrics) {
      const m = o.valMetrics((await pred.data()) as Float32Array, (await batch.ys.data()) as Float32Array, batch.size);
      for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v * batch.size;
    }
    tf.dispose([l, pred, batch.ys, ...(Array.isArray(batch.xs) ? batch.xs : [batch.xs])]);
  }
  const metrics = o.valMetrics ? Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, count)])) : undefined;
  return { valLoss: sum / Math.max(1, count), metrics };
}
