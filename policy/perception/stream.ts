/**
 * An unending, ordered stream of freshly rendered frames for the pose estimator: render workers
 * (worker threads, each with its own WebGPU device) take episodes in turn and the stream hands
 * their frames out in episode order, so what a consumer sees depends only on the seeds, never on
 * how many workers rendered them or how fast. Rendering runs ahead of the consumer by at most
 * `ahead` episodes.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FrameSourceSpec, PoseFrame } from './frame-source.ts';

export interface FrameStreamOptions {
  /** Render worker threads (default 1). */
  workers?: number;
  /** The seed of episode i of the stream. */
  seed: (i: number) => number;
  /** Where to start (default episode 0, frame 0; a resumed stream starts where it stopped). */
  start?: StreamPosition;
  /** Episodes rendered ahead of the consumer (default 4 per worker). */
  ahead?: number;
}

/**
 * The render worker's module: the source file, or, inside a single-file bundle (a GPU machine's,
 * made by shared/gpu/pack with frame-worker.ts as a second entry), the bundled one beside it.
 */
function workerModule(): URL {
  const source = new URL('./frame-worker.ts', import.meta.url);
  return existsSync(fileURLToPath(source)) ? source : new URL(source.href.replace(/\.ts$/, '.mjs'));
}

/** A place in the stream: episode index and frames of it already taken. */
export interface StreamPosition {
  episode: number;
  frame: number;
}

interface Pending {
  resolve(frames: PoseFrame[]): void;
  reject(err: Error): void;
  promise: Promise<PoseFrame[]>;
}

export class FrameStream {
  private readonly workers: Worker[];
  private readonly results = new Map<number, Pending>();
  private readonly seedOf: (i: number) => number;
  private nextRequest: number;
  private nextEpisode: number;
  private buffer: PoseFrame[] = [];
  /** Frames of the next episode to drop (resuming mid-episode). */
  private skip: number;
  /** Frames taken from the episode now in the buffer. */
  private taken = 0;
  private readonly ahead: number;
  private closed = false;
  /** Episodes and frames rendered so far, and the render workers' busy time (ms). */
  readonly stats = { episodes: 0, frames: 0, renderMs: 0 };

  private constructor(workers: Worker[], o: FrameStreamOptions) {
    this.workers = workers;
    this.seedOf = o.seed;
    this.nextRequest = o.start?.episode ?? 0;
    this.nextEpisode = o.start?.episode ?? 0;
    this.skip = o.start?.frame ?? 0;
    this.ahead = o.ahead ?? 4 * workers.length;
  }

  static async open(spec: FrameSourceSpec, o: FrameStreamOptions): Promise<FrameStream> {
    const n = Math.max(1, o.workers ?? 1);
    const workers: Worker[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const w = new Worker(workerModule(), { workerData: spec });
        workers.push(w);
        await new Promise<void>((resolve, reject) => {
          w.once('message', (m: { ready?: boolean; ok?: boolean; error?: string; name?: string }) => {
            if (m.ready) resolve();
            else reject(Object.assign(new Error(m.error ?? 'render worker failed to start'), { name: m.name ?? 'Error' }));
          });
          w.once('error', reject);
        });
      }
    } catch (err) {
      for (const w of workers) await w.terminate();
      throw err;
    }
    const stream = new FrameStream(workers, o);
    for (const w of workers) {
      w.on('message', (m: { ok: boolean; index: number; seed: number; frames?: PoseFrame[]; ms?: number; error?: string }) => stream.receive(m));
      w.on('error', (err) => stream.fail(err));
    }
    stream.fill();
    return stream;
  }

  /** Where the next frame comes from (save it to resume there). */
  get position(): StreamPosition {
    return this.buffer.length > 0 ? { episode: this.nextEpisode - 1, frame: this.taken } : { episode: this.nextEpisode, frame: 0 };
  }

  private pending(index: number): Pending {
    let p = this.results.get(index);
    if (!p) {
      let resolve!: (f: PoseFrame[]) => void, reject!: (e: Error) => void;
      const promise = new Promise<PoseFrame[]>((a, b) => ((resolve = a), (reject = b)));
      promise.catch(() => {});
      p = { resolve, reject, promise };
      this.results.set(index, p);
    }
    return p;
  }

  private receive(m: { ok: boolean; index: number; seed: number; frames?: PoseFrame[]; ms?: number; error?: string }): void {
    const p = this.pending(m.index);
    if (!m.ok) return p.reject(new Error(`rendering episode ${m.seed} failed: ${m.error}`));
    this.stats.episodes++;
    this.stats.frames += m.frames!.length;
    this.stats.renderMs += m.ms ?? 0;
    p.resolve(m.frames!);
  }

  private fail(err: Error): void {
    for (const p of this.results.values()) p.reject(err);
  }

  private fill(): void {
    while (!this.closed && this.nextRequest < this.nextEpisode + this.ahead) {
      const index = this.nextRequest++;
      this.pending(index);
      this.workers[index % this.workers.length].postMessage({ index, seed: this.seedOf(index) });
    }
  }

  /** The next frame in seed order. */
  async next(): Promise<PoseFrame> {
    while (this.buffer.length === 0) {
      const index = this.nextEpisode;
      const frames = await this.pending(index).promise;
      this.results.delete(index);
      this.nextEpisode++;
      this.fill();
      this.buffer = frames.slice(this.skip);
      this.taken = this.skip;
      this.skip = 0;
    }
    this.taken++;
    return this.buffer.shift() as PoseFrame;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Each worker finishes the episode it is rendering and exits by itself (see frame-worker.ts).
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.postMessage({ close: true });
    })));
  }
}
