/**
 * Training worker thread (see in-worker.ts): runs one recipe with the options in workerData and
 * posts its log lines, progress, epochs and result back. The main thread aborts it through the
 * shared flag `job.abort`, read after every batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TrainingDivergedError } from '../errors.ts';
import { bcRecipe } from './bc.ts';
import type { TrainJob, TrainMessage } from './in-worker.ts';
import { poseRecipe } from './pose.ts';
import { runTraining } from './run.ts';
import type { Recipe } from './run.ts';
import { visuomotorRecipe } from './visuomotor.ts';

const RECIPES: Record<TrainJob['kind'], Recipe> = { bc: bcRecipe, pose: poseRecipe, visuomotor: visuomotorRecipe };

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
