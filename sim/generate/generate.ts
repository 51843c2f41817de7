/**
 * Parallel episode generation. Episodes are farmed out to a worker_threads pool (or run inline
 * with `workers: 0`) and handed to the sink strictly in index order, through a reorder buffer,
 * so the output is the same whatever the number of workers. Episode i's seed depends only on the
 * base seed and i, so shards of one run are disjoint and together equal the unsharded run.
 *
 * Stopping (`signal`): no new episodes start; those already running are awaited and written if
 * they continue the in-order prefix; the sink is closed so its output holds complete episodes
 * only and can be resumed.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EpisodeRecord } from '../episode.ts';
import { episodeSeed } from '../episode.ts';
import { importRendererFactory, prepareJob, runJobEpisode } from './job.ts';
import type { JobSpec } from './job.ts';
import type { EpisodeSink } from './sink.ts';

export interface GenerateOptions {
  job: JobSpec;
  sink: EpisodeSink;
  baseSeed: number;
  /** Global episode indices to produce: [first, first + count). */
  first: number;
  count: number;
  /** Worker threads; 0 runs inline in this thread. Default: available cores. */
  workers?: number;
  signal?: AbortSignal;
  onEpisode?: (ep: EpisodeRecord, done: number) => void;
}

export interface GenerateResult {
  written: number;
  successes: number;
  stopped: boolean;
  seconds: number;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const { sink, job, baseSeed, first, count, signal } = options;
  const start = performance.now();
  const resumeFrom = sink.completed;
  const todo: number[] = [];
  for (let i = first + resumeFrom; i < first + count; i++) todo.push(i);
  let written = 0, successes = 0;
  const nWorkers = Math.max(0, Math.min(options.workers ?? availableParallelism(), todo.length));

  const emit = async (ep: EpisodeRecord): Promise<void> => {
    await sink.write(ep);
    written++;
    if (ep.success) successes++;
    options.onEpisode?.(ep, resumeFrom + written);
  };

  if (nWorkers === 0) {
    const prepared = await prepareJob(job, await importRendererFactory(job));
    try {
      for (const i of todo) {
        if (signal?.aborted) break;
        const { record } = await runJobEpisode(prepared, i, episodeSeed(baseSeed, i));
        await emit(record);
      }
    } finally {
      await prepared.dispose();
    }
    return { written, successes, stopped: !!signal?.aborted, seconds: (performance.now() - start) / 1000 };
  }

  // Worker pool with an in-order reorder buffer.
  const pending = new Map<number, EpisodeRecord>();
  let nextToWrite = todo[0] ?? 0;
  let cursor = 0;
  let failure: Error | null = null;
  let writing = Promise.resolve();
  const slots: Slot[] = [];

  await new Promise<void>((resolve, reject) => {
    const finishIfIdle = (): void => {
      if (slots.every((s) => !s.busy)) {
        writing.then(() => resolve(), reject);
      }
    };
    const dispatch = (slot: Slot): void => {
      if (failure || signal?.aborted || cursor >= todo.length) {
        slot.busy = false;
        finishIfIdle();
        return;
      }
      const i = todo[cursor++];
      slot.busy = true;
      slot.worker.postMessage({ index: i, seed: episodeSeed(baseSeed, i) });
    };
    const flush = (): void => {
      writing = writing.then(async () => {
        while (pending.has(nextToWrite)) {
          const ep = pending.get(nextToWrite) as EpisodeRecord;
          pending.delete(nextToWrite);
          nextToWrite++;
          await emit(ep);
        }
      });
      writing.catch((err: Error) => { failure ??= err; });
    };
    for (let w = 0; w < nWorkers; w++) {
      const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: job });
      const slot: Slot = { worker, busy: true };
      slots.push(slot);
      worker.on('message', (msg: { ready?: boolean; ok?: boolean; record?: EpisodeRecord; error?: string; index?: number }) => {
        if (msg.ready) {
          dispatch(slot);
          return;
        }
        if (msg.ok && msg.record) {
          pending.set(msg.record.index, msg.record);
          flush();
        } else {
          failure ??= new Error(`episode ${msg.index} failed in a worker:\n${msg.error}`);
        }
        dispatch(slot);
      });
      worker.on('error', (err) => {
        failure ??= err;
        slot.busy = false;
        finishIfIdle();
      });
      worker.on('exit', () => {
        if (slot.busy) {
          slot.busy = false;
          failure ??= new Error('a generation worker exited unexpectedly');
          finishIfIdle();
        }
      });
    }
  }).finally(async () => {
    await Promise.all(slots.map((s) => s.worker.terminate()));
  });
  if (failure) throw failure;
  return { written, successes, stopped: !!signal?.aborted && written + resumeFrom < count, seconds: (performance.now() - start) / 1000 };
}
