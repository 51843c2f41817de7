/**
 * Training worker thread (see in-worker.ts): runs one recipe with the options in workerData and
 * posts its log lines, progress, epochs and result back. The main thread aborts it through the
 * shared flag `job.abort`, read after every batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TrainingDivergedError } from '../errors.ts';
import { bcRecipe } from './bc.ts';
import { runTraining } from './run.ts';
import type { Recipe, TrainOptions, TrainResult } from './run.ts';
import type { EpochRecord } from './checkpoint.ts';
import type { TrainProgress } from './trainer.ts';
import { visuomotorRecipe } from './visuomotor.ts';

/** The epoch-based recipes (the pose estimator trains by streaming, in pose-stream.ts). */
export type TrainKind = 'bc' | 'visuomotor';

/** What the main thread sends (workerData): the options that can be cloned, and which callbacks exist. */
export interface TrainJob {
  kind: TrainKind;
  options: Omit<TrainOptions, 'choice' | 'wrapSource' | 'log' | 'onProgress' | 'onEpoch' | 'signal'>;
  report: { log: boolean; progress: boolean; epoch: boolean };
  /** One Int32 over shared memory: 1 once the main thread aborts. */
  abort: Int32Array;
}

/** Messages from the worker. */
export type TrainMessage =
  | { log: string }
  | { progress: TrainProgress }
  | { epoch: EpochRecord }
  | { done: TrainResult }
  | { error: { name: string; message: string; stack?: string; epoch?: number; batch?: number; checkpoint?: string | null } };

const RECIPES: Record<TrainKind, Recipe> = { bc: bcRecipe, visuomotor: visuomotorRecipe };

const port = parentPort!;
const job = workerData as TrainJob;
const post = (m: TrainMessage): void => port.postMessage(m);
const stop = new AbortController();
const checkAbort = (): void => {
  if (Atomics.load(job.abort, 0) === 1 && !stop.signal.aborted) stop.abort();
};
checkAbort();

try {
  const result = await runTraining(RECIPES[job.kind], {
    ...job.options,
    signal: stop.signal,
    ...(job.report.log ? { log: (line: string) => post({ log: line }) } : {}),
    // Called after every batch: the training loop reads the signal before the next one.
    onProgress: (p) => {
      checkAbort();
      if (job.report.progress) post({ progress: p });
    },
    ...(job.report.epoch ? { onEpoch: (r) => post({ epoch: r }) } : {}),
  });
  post({ done: result });
} catch (err) {
  const e = err as Error;
  post({
    error: {
      name: e.name, message: e.message, stack: e.stack,
      ...(e instanceof TrainingDivergedError ? { epoch: e.epoch, batch: e.batch, checkpoint: e.checkpoint } : {}),
    },
  });
}
