/**
 * Training in a worker thread: `trainInWorker('bc', options)` runs the same recipe with the same
 * options as `trainBc(options)`, on the worker's own TensorFlow.js (its own backend, memory and
 * wasm module), so independent trainings — a policy and its ablation — each use a core. The
 * result is bit-identical to training in the main thread: the worker runs the same code on the
 * same backend from the same seed, and nothing is shared between trainings.
 *
 * Progress (`onProgress`, `onEpoch`, `log`) comes back as messages. Aborting `signal` sets a flag
 * in shared memory that the worker reads after every batch (its event loop turns only every
 * 200 ms while it trains), so it stops after the batch it is on, as in-process training does, and
 * returns its best epoch so far (`stoppedBy: 'interrupted'`). Errors come back as the same classes
 * (PolicyInputError, TrainingDivergedError) with the same messages.
 */
import { Worker } from 'node:worker_threads';
import { PolicyInputError, TrainingDivergedError } from '../errors.ts';
import type { TrainOptions, TrainResult } from './run.ts';
// Types only: the worker module itself runs in the worker thread.
import type { TrainJob, TrainKind, TrainMessage } from './worker.ts';

export type { TrainKind };

/** Everything of TrainOptions except what cannot cross a thread (a selected backend, a batch-source hook). */
export type WorkerTrainOptions = Omit<TrainOptions, 'choice' | 'wrapSource'>;

export function trainInWorker(kind: TrainKind, o: WorkerTrainOptions): Promise<TrainResult> {
  const { log, onProgress, onEpoch, signal, ...options } = o;
  for (const key of ['choice', 'wrapSource'] as const) {
    if (key in o) throw new TypeError(`trainInWorker: option '${key}' cannot cross into a worker thread; the worker selects its backend from 'backend'`);
  }
  const abort = new Int32Array(new SharedArrayBuffer(4));
  if (signal?.aborted) abort[0] = 1;
  const job: TrainJob = { kind, options, report: { log: !!log, progress: !!onProgress, epoch: !!onEpoch }, abort };
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: job });
    let settled = false;
    const onAbort = (): void => void Atomics.store(abort, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    worker.on('message', (m: TrainMessage) => {
      if ('log' in m) log?.(m.log);
      else if ('progress' in m) onProgress?.(m.progress);
      else if ('epoch' in m) onEpoch?.(m.epoch);
      else if ('done' in m) settle(() => resolve(m.done));
      else if ('error' in m) settle(() => reject(reviveError(m.error)));
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the ${kind} training worker exited with code ${code} before finishing`))));
  });
}

function reviveError(e: Extract<TrainMessage, { error: unknown }>['error']): Error {
  if (e.name === 'PolicyInputError') return new PolicyInputError(e.message);
  if (e.name === 'TrainingDivergedError') return new TrainingDivergedError(e.message, e.epoch ?? 0, e.batch ?? 0, e.checkpoint ?? null);
  const err = new Error(`training in a worker thread failed: ${e.message}`);
  if (e.stack) err.stack = `${err.message}\n(in the worker) ${e.stack}`;
  return err;
}
