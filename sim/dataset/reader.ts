/**
 * DatasetReader: reads a LeRobotDataset v3.0 (simreal's, or any LeRobot dataset whose features
 * are scalars, vectors and PNG images) for training and inspection, with bounded memory.
 *
 * API (what the policy trainer uses):
 *
 * ```ts
 * const ds = await DatasetReader.open('data/stack3');      // reads meta/info.json, tasks, episode index
 * ds.info; ds.fps; ds.features; ds.tasks;                   // info.json, task strings by task_index
 * ds.episodes;                                              // EpisodeEntry[]: index, length, tasks, row range,
 *                                                           //   success, taskId, seed, extras (simreal/… columns)
 * ds.selectEpisodes({ successOnly: true, tasks: ['StackBlocks-v1'] });   // EpisodeEntry[]
 *
 * for await (const ep of ds.iterEpisodes({ columns: ['observation.state', 'action'] })) {
 *   ep.entry; ep.rows;                                      // one episode at a time, rows in frame order
 * }
 * for await (const frame of ds.iterFrames({ filter: { successOnly: true } })) { … }
 *
 * for await (const b of ds.batches({ batchSize: 256, seed: 7, shuffleBuffer: 20_000, images: 'rgb' })) {
 *   b.size;                 // frames in this batch (the last may be smaller unless dropLast)
 *   b.state;                // Float32Array [size × stateDim]   (observation.state)
 *   b.action;               // Float32Array [size × actionDim]  (action: the expert's label)
 *   b.images?.['observation.images.front'];   // 'rgb': Uint8Array [size × H × W × 3]; 'png': Uint8Array[] (PNG bytes; image features only)
 *   b.index;                // Float64Array [size] global frame index of each sample
 * }
 * const rgb = await ds.readFrames(ds.episodes[0], 'observation.images.front');   // RGB of every frame (PNG or MP4)
 * await ds.close();
 * ```
 *
 * Camera features are `image` (PNG inside the data files) or `video` (MP4 files beside them, in
 * LeRobot v3's layout): episode e's frames are the `length` frames from its `from_timestamp` in
 * its video file, decoded through ffmpeg (sim/dataset/video.ts).
 *
 * Shuffling: episodes are visited in an order drawn from `seed`, their frames pass through a
 * shuffle buffer of `shuffleBuffer` frames from which each sample is drawn at random (the
 * buffer of tf.data / webdataset). The same seed gives the same batches; memory is the buffer
 * plus one episode, whatever the dataset size. A buffer as large as the selection is a uniform
 * shuffle.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../rng.ts';
import type { DatasetInfo, Feature } from './format.ts';
import { DatasetError, EPISODES_DIR, TASKS_PATH, dataFilePath, featureWidth, isCameraFeature, videoFilePath } from './format.ts';
import { listChunkFiles } from './files.ts';
import type { ExtraValue } from './meta.ts';
import { readEpisodesTable, readInfo, readTasks } from './meta.ts';
import type { ParquetSource, Row } from './parquet.ts';
import { openParquet, readRows } from './parquet.ts';
import { decodePngRgb } from './png.ts';
import { decodeVideoFrames } from './video.ts';

export interface EpisodeEntry {
  /** Episode index in this dataset (0-based, contiguous). */
  index: number;
  length: number;
  tasks: string[];
  /** Global frame index range [from, to). */
  from: number;
  to: number;
  /** Data file holding the episode's rows, relative to the dataset root. */
  dataFile: string;
  /** Row of the episode's first frame within dataFile. */
  fileRow: number;
  /** Per video feature: the MP4 file (relative to the root) and the episode's time range in it (s). */
  videos: Record<string, { file: string; from: number; to: number }>;
  /** simreal/success (undefined for datasets without it). */
  success?: boolean;
  /** simreal/task_id, e.g. StackBlocks-v1. */
  taskId?: string;
  seed?: number;
  /** Every extra (non-LeRobot) episode column, e.g. simreal/physics/tableFriction. */
  extras: Record<string, ExtraValue>;
}

export interface EpisodeFilter {
  /** Only episodes whose expert succeeded (simreal/success). */
  successOnly?: boolean;
  /** Only episodes with one of these tasks: a task string (instruction) or a task id. */
  tasks?: string[];
  /** Only these episode indices. */
  episodes?: number[];
}

export interface BatchOptions {
  batchSize: number;
  seed: number;
  /** Frames held for shuffling. Default 10,000. */
  shuffleBuffer?: number;
  /** Camera frames: 'png' keeps the bytes, 'rgb' decodes to H×W×3 uint8, false (default) skips them. */
  images?: false | 'png' | 'rgb';
  filter?: EpisodeFilter;
  /** Drop a last, smaller batch. Default false. */
  dropLast?: boolean;
  /** Feature read as the state. Default observation.state. */
  stateKey?: string;
  /** Feature read as the action. Default action. */
  actionKey?: string;
}

export interface Batch {
  size: number;
  state: Float32Array;
  action: Float32Array;
  index: Float64Array;
  images?: Record<string, Uint8Array | Uint8Array[]>;
}

interface Sample {
  state: ArrayLike<number>;
  action: ArrayLike<number>;
  index: number;
  images: Uint8Array[];
}

function asVector(v: unknown): ArrayLike<number> {
  if (typeof v === 'number') return [v];
  if (typeof v === 'boolean') return [v ? 1 : 0];
  return v as ArrayLike<number>;
}

export class DatasetReader {
  readonly root: string;
  readonly info: DatasetInfo;
  readonly tasks: string[];
  readonly episodes: EpisodeEntry[];
  private sources = new Map<string, ParquetSource>();

  private constructor(root: string, info: DatasetInfo, tasks: string[], episodes: EpisodeEntry[]) {
    this.root = root;
    this.info = info;
    this.tasks = tasks;
    this.episodes = episodes;
  }

  static async open(root: string): Promise<DatasetReader> {
    const info = readInfo(root);
    const tasks = existsSync(join(root, TASKS_PATH)) ? await readTasks(root) : [];
    const episodes: EpisodeEntry[] = [];
    const fileStart = new Map<string, number>();
    for (const mf of listChunkFiles(root, EPISODES_DIR)) {
      for (const r of await readEpisodesTable(root, mf.rel)) {
        const dataFile = dataFilePath(info, r.dataChunk, r.dataFile);
        if (!fileStart.has(dataFile)) fileStart.set(dataFile, r.from);
        const success = r.extras['simreal/success'];
        const taskId = r.extras['simreal/task_id'];
        const seed = r.extras['simreal/seed'];
        episodes.push({
          index: r.episode_index,
          length: r.length,
          tasks: r.tasks,
          from: r.from,
          to: r.to,
          dataFile,
          fileRow: r.from - (fileStart.get(dataFile) as number),
          videos: Object.fromEntries(Object.entries(r.videos ?? {}).map(([k, v]) => [k, { file: videoFilePath(info, k, v.chunk, v.file), from: v.from, to: v.to }])),
          success: typeof success === 'boolean' ? success : undefined,
          taskId: typeof taskId === 'string' ? taskId : undefined,
          seed: seed === undefined ? undefined : Number(seed),
          extras: r.extras,
        });
      }
    }
    episodes.sort((a, b) => a.index - b.index);
    return new DatasetReader(root, info, tasks, episodes);
  }

  get fps(): number {
    return this.info.fps;
  }

  get features(): Record<string, Feature> {
    return this.info.features;
  }

  /** Camera features: PNG (`image`) or MP4 (`video`). */
  get imageKeys(): string[] {
    return Object.entries(this.info.features).filter(([, f]) => isCameraFeature(f)).map(([k]) => k);
  }

  /** Every frame of an episode's camera feature as RGB (height × width × 3 bytes each). */
  async readFrames(entry: EpisodeEntry, key: string): Promise<Uint8Array[]> {
    const f = this.info.features[key];
    if (!f || !isCameraFeature(f)) throw new DatasetError(`has no camera feature ${key}`, 'meta/info.json');
    const [height, width] = f.shape;
    if (f.dtype === 'image') {
      const rows = await this.readEpisode(entry, [key]);
      return rows.map((r, t) => {
        const px = decodePngRgb((r[key] as { bytes: Uint8Array }).bytes);
        if (px.width !== width || px.height !== height) throw new DatasetError(`${key} frame ${t} of episode ${entry.index} is ${px.width}x${px.height}, meta/info.json says ${width}x${height}`, entry.dataFile);
        return px.data;
      });
    }
    const seg = entry.videos[key];
    if (!seg) throw new DatasetError(`episode ${entry.index} has no videos/${key}/… columns`, EPISODES_DIR);
    const expected = Math.round((seg.to - seg.from) * this.fps);
    if (expected !== entry.length) throw new DatasetError(`episode ${entry.index} spans ${seg.from}..${seg.to} s of ${seg.file} (${expected} frames at ${this.fps} fps) but has ${entry.length} frames`, EPISODES_DIR);
    const path = join(this.root, seg.file);
    if (!existsSync(path)) throw new DatasetError(`missing, but episode ${entry.index} is stored in it`, seg.file);
    let frames: Uint8Array[];
    try {
      frames = await decodeVideoFrames(path, { fromTimestamp: seg.from, count: entry.length, width, height, fps: this.fps });
    } catch (err) {
      throw new DatasetError((err as Error).message, seg.file);
    }
    if (frames.length !== entry.length) throw new DatasetError(`holds ${frames.length} frames from ${seg.from} s, episode ${entry.index} needs ${entry.length} (truncated?)`, seg.file);
    return frames;
  }

  selectEpisodes(filter: EpisodeFilter = {}): EpisodeEntry[] {
    let out = this.episodes;
    if (filter.episodes) {
      const want = new Set(filter.episodes);
      out = out.filter((e) => want.has(e.index));
    }
    if (filter.successOnly) {
      const unknown = out.find((e) => e.success === undefined);
      if (unknown) throw new DatasetError(`episode ${unknown.index} has no simreal/success column, so successful episodes cannot be selected`, EPISODES_DIR);
      out = out.filter((e) => e.success);
    }
    if (filter.tasks) {
      const want = new Set(filter.tasks);
      out = out.filter((e) => e.tasks.some((t) => want.has(t)) || (e.taskId !== undefined && want.has(e.taskId)));
    }
    return out;
  }

  private async source(rel: string): Promise<ParquetSource> {
    let src = this.sources.get(rel);
    if (src) {
      this.sources.delete(rel);
      this.sources.set(rel, src);
      return src;
    }
    src = await openParquet(join(this.root, rel), rel);
    this.sources.set(rel, src);
    while (this.sources.size > 4) {
      const [oldest, old] = this.sources.entries().next().value as [string, ParquetSource];
      this.sources.delete(oldest);
      await old.close();
    }
    return src;
  }

  /** The rows of one episode (all columns, or the named ones), in frame order. */
  async readEpisode(entry: EpisodeEntry, columns?: string[]): Promise<Row[]> {
    const src = await this.source(entry.dataFile);
    if (entry.fileRow + entry.length > src.rows) {
      throw new DatasetError(`holds ${src.rows} rows but episode ${entry.index} needs rows ${entry.fileRow}..${entry.fileRow + entry.length}`, entry.dataFile);
    }
    return readRows(src, columns, entry.fileRow, entry.fileRow + entry.length, entry.dataFile);
  }

  async *iterEpisodes(options: { columns?: string[]; filter?: EpisodeFilter } = {}): AsyncGenerator<{ entry: EpisodeEntry; rows: Row[] }> {
    for (const entry of this.selectEpisodes(options.filter)) yield { entry, rows: await this.readEpisode(entry, options.columns) };
  }

  async *iterFrames(options: { columns?: string[]; filter?: EpisodeFilter } = {}): AsyncGenerator<Row> {
    for await (const { rows } of this.iterEpisodes(options)) yield* rows;
  }

  /** Seeded, shuffled mini-batches of (state, action[, images]); see the header. */
  async *batches(options: BatchOptions): AsyncGenerator<Batch> {
    const stateKey = options.stateKey ?? 'observation.state';
    const actionKey = options.actionKey ?? 'action';
    for (const k of [stateKey, actionKey]) if (!this.info.features[k]) throw new DatasetError(`has no feature ${k}`, 'meta/info.json');
    const stateDim = featureWidth(this.info.features[stateKey]);
    const actionDim = featureWidth(this.info.features[actionKey]);
    const imageKeys = options.images ? this.imageKeys : [];
    const videoKeys = new Set(imageKeys.filter((k) => this.info.features[k].dtype === 'video'));
    if (options.images === 'png' && videoKeys.size) throw new DatasetError(`stores ${[...videoKeys].join(', ')} as video, which has no PNG bytes: ask for images: 'rgb'`, 'meta/info.json');
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const capacity = Math.max(1, options.shuffleBuffer ?? 10_000);
    const rng = new Rng(options.seed);
    const order = rng.fork('episodes').shuffle([...this.selectEpisodes(options.filter)]);
    const draw = rng.fork('frames');
    const columns = [stateKey, actionKey, 'index', ...imageKeys.filter((k) => !videoKeys.has(k))];
    const buffer: Sample[] = [];
    let pending: Sample[] = [];

    const make = (samples: Sample[]): Batch => {
      const n = samples.length;
      const state = new Float32Array(n * stateDim);
      const action = new Float32Array(n * actionDim);
      const index = new Float64Array(n);
      samples.forEach((s, i) => {
        state.set(s.state, i * stateDim);
        action.set(s.action, i * actionDim);
        index[i] = s.index;
      });
      const batch: Batch = { size: n, state, action, index };
      if (imageKeys.length) {
        batch.images = {};
        imageKeys.forEach((k, ki) => {
          if (options.images === 'png') {
            batch.images![k] = samples.map((s) => s.images[ki]);
            return;
          }
          const [h, w] = this.info.features[k].shape;
          const out = new Uint8Array(n * h * w * 3);
          samples.forEach((s, i) => {
            if (videoKeys.has(k)) {
              out.set(s.images[ki], i * h * w * 3); // decoded from the video already
              return;
            }
            const img = decodePngRgb(s.images[ki]);
            if (img.width !== w || img.height !== h) throw new DatasetError(`${k} frame ${s.index} is ${img.width}x${img.height}, info.json says ${w}x${h}`);
            out.set(img.data, i * h * w * 3);
          });
          batch.images![k] = out;
        });
      }
      return batch;
    };
    const take = (): Sample => {
      const j = Math.floor(draw.next() * buffer.length);
      const s = buffer[j];
      buffer[j] = buffer[buffer.length - 1];
      buffer.pop();
      return s;
    };

    for (const entry of order) {
      const rows = await this.readEpisode(entry, columns);
      const decoded = new Map<string, Uint8Array[]>();
      for (const k of videoKeys) decoded.set(k, await this.readFrames(entry, k));
      for (let t = 0; t < rows.length; t++) {
        const r = rows[t];
        buffer.push({
          state: asVector(r[stateKey]),
          action: asVector(r[actionKey]),
          index: Number(r.index),
          images: imageKeys.map((k) => (videoKeys.has(k) ? decoded.get(k)![t] : (r[k] as { bytes: Uint8Array }).bytes)),
        });
        if (buffer.length >= capacity) {
          pending.push(take());
          if (pending.length === batchSize) {
            yield make(pending);
            pending = [];
          }
        }
      }
    }
    while (buffer.length) {
      pending.push(take());
      if (pending.length === batchSize) {
        yield make(pending);
        pending = [];
      }
    }
    if (pending.length && !options.dropLast) yield make(pending);
  }

  async close(): Promise<void> {
    for (const s of this.sources.values()) await s.close();
    this.sources.clear();
  }
}
