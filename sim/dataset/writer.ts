/**
 * DatasetWriter: appends episodes to a LeRobotDataset v3.0 directory by streaming, with bounded
 * memory and crash safety.
 *
 * Streaming: each episode becomes one parquet row group (as LeRobot writes them) appended to the
 * open data file `data/chunk-CCC/file-FFF.parquet.tmp`; only one episode is held in memory.
 * Video features (`dtype: video`) are not in the data files: their frames go through a pipe into
 * one ffmpeg process per camera, which encodes `videos/<key>/chunk-CCC/file-FFF.mp4.tmp`, episode
 * after episode; each episode records its file and time range (sim/dataset/video.ts).
 *
 * Commits: the open file is closed and committed when it reaches `data_files_size_in_mb` (or a
 * video file `video_files_size_in_mb`), when `commitIntervalMs` has passed since the last commit,
 * and on close(). A commit is:
 *   0. finish the open video files (ffmpeg writes their index) and rename them into place;
 *   1. finish the data file (footer) and fsync it; write its episodes table (.tmp) and tasks.parquet;
 *   2. rename the data file into place;
 *   3. rename the episodes table into place  ← the commit point;
 *   4. rewrite meta/stats.json and meta/info.json (atomically).
 * A kill at any moment leaves the committed episodes readable; `DatasetWriter.resume` then deletes
 * temporary files and any data or video file no episodes table refers to, recomputes info and stats if
 * step 4 was cut short, and continues with the next episode index: no partial episode, no
 * duplicate index. Episodes not yet committed are lost and generated again.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatasetInfo, Feature } from './format.ts';
import {
  CHECKSUM_COLUMN, DatasetError, DEFAULT_FEATURE_KEYS, EPISODES_DIR, STATS_PATH, TASKS_PATH, TEMP_SUFFIX, dataFilePath, emptyInfo,
  episodesFilePath, featureWidth, isVideoFeature, nextChunkFile, videoCodecOf, videoFilePath,
} from './format.ts';
import { commitFile, fsyncFile, listChunkFiles, removeTempFiles } from './files.ts';
import type { EpisodeMetaRow, ExtraValue, VideoSegment } from './meta.ts';
import { readEpisodesTable, readInfo, readStats, readTasks, writeEpisodesTable, writeInfo, writeStats, writeTasks } from './meta.ts';
import type { ColumnSpec, ColumnValues } from './parquet.ts';
import { ParquetStreamWriter } from './parquet.ts';
import type { StatsMap } from './stats.ts';
import { StatsAccumulator, imageStats, rgbFrameStats, vectorStats } from './stats.ts';
import { decodePngRgb } from './png.ts';
import { VideoEncoder, requireVideoEncoder, videoSizeProblem } from './video.ts';
import type { VideoCodec } from './video.ts';

/** One episode's frames in a dataset's feature layout. */
export interface EpisodeFrames {
  length: number;
  /**
   * Row-major values (featureWidth per frame) of every non-image feature except LeRobot's
   * default ones (timestamp, frame_index, episode_index, index, task_index: the writer fills them).
   */
  columns: Record<string, ArrayLike<number>>;
  /**
   * Every frame, per camera feature: PNG bytes for `image` features; for `video` features raw
   * RGB (height × width × 3 bytes, as rendered) or PNG bytes (decoded before encoding).
   */
  images: Record<string, ArrayLike<Uint8Array>>;
}

export interface EpisodeInput {
  frames: EpisodeFrames;
  /** The natural-language task (LeRobot's `task`). */
  task: string;
  /** Per-episode columns of the episodes table beyond LeRobot's (e.g. simreal/seed). */
  extras?: Record<string, ExtraValue>;
  /** Image stats already known (merge copies them rather than decoding frames again). */
  imageStats?: StatsMap;
  /**
   * Video features already encoded (merge): the episode is the time range [from, to) of `path`.
   * The file is copied into the dataset as it is (no second encoding), once for all the episodes
   * that follow each other in it; `frames.images` need not hold these features.
   */
  encodedVideos?: Record<string, { path: string; from: number; to: number }>;
}

export interface WriterOptions {
  /** Data file size that starts a new file (MB). Default 100, LeRobot's. */
  dataFileSizeMB?: number;
  /** Longest time between commits (ms); a crash loses at most this much work. Default 60,000. */
  commitIntervalMs?: number;
  /** Frames per episode decoded for image stats. Default 16. */
  imageStatsSamples?: number;
  /** Files per chunk folder. Default 1000, LeRobot's. */
  chunksSize?: number;
  /** Clock for commit intervals (ms); tests may replace it. */
  now?: () => number;
  /** info.json robot_type of a new dataset. Default simreal_gripper4dof. */
  robotType?: string | null;
}

/** What resume found and repaired. */
export interface Recovery {
  removedTemp: string[];
  removedOrphans: string[];
  restoredMeta: boolean;
}

function featureSpec(name: string, f: Feature): ColumnSpec | null {
  if (f.dtype === 'video') return null; // stored in videos/, not in the data files
  if (f.dtype === 'image') return { name, kind: 'image' };
  const type = f.dtype === 'float32' ? 'FLOAT' : f.dtype === 'float64' ? 'DOUBLE' : f.dtype === 'int64' ? 'INT64' : f.dtype === 'bool' ? 'BOOLEAN' : f.dtype === 'string' ? 'STRING' : null;
  if (!type) throw new Error(`feature ${name}: dtype ${f.dtype} is not supported`);
  if (f.shape.length === 1 && f.shape[0] === 1) return { name, kind: 'scalar', type };
  if (f.shape.length !== 1) throw new Error(`feature ${name}: only 1-D shapes are supported, got [${f.shape}]`);
  return { name, kind: 'list', type };
}

/** The `huggingface` parquet metadata `datasets` writes, so it restores List(length) and Image. */
export function huggingfaceMetadata(features: Record<string, Feature>): string {
  const hf: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(features)) {
    if (f.dtype === 'video') continue; // LeRobot leaves videos out of the parquet features too
    if (f.dtype === 'image') hf[name] = { _type: 'Image' };
    else if (f.shape.length === 1 && f.shape[0] === 1) hf[name] = { dtype: f.dtype, _type: 'Value' };
    else hf[name] = { feature: { dtype: f.dtype, _type: 'Value' }, length: f.shape[0], _type: 'List' };
  }
  return JSON.stringify({ info: { features: hf } });
}

function columnOf(spec: ColumnSpec, f: Feature, values: ArrayLike<number | bigint>, rows: number): ColumnValues {
  if (spec.kind === 'scalar') {
    switch (f.dtype) {
      case 'float32': return Float32Array.from(values as ArrayLike<number>, Number);
      case 'float64': return Float64Array.from(values as ArrayLike<number>, Number);
      case 'int64': return BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(v));
      case 'bool': return Array.from(values, (v) => Number(v) !== 0);
      default: throw new Error(`dtype ${f.dtype}`);
    }
  }
  const w = featureWidth(f);
  const out = new Array<unknown[]>(rows);
  const conv = f.dtype === 'int64' ? (v: number | bigint) => BigInt(v) : f.dtype === 'bool' ? (v: number | bigint) => Number(v) !== 0 : Number;
  for (let t = 0; t < rows; t++) {
    const row = new Array<unknown>(w);
    for (let d = 0; d < w; d++) row[d] = conv(values[t * w + d]);
    out[t] = row;
  }
  return out;
}

/** The caller's extras less the data file checksum, which the writer computes itself. */
function withoutChecksum(extras: Record<string, ExtraValue> | undefined): Record<string, ExtraValue> {
  const out = { ...(extras ?? {}) };
  delete out[CHECKSUM_COLUMN];
  return out;
}

interface OpenFile {
  chunk: number;
  file: number;
  rel: string;
  writer: ParquetStreamWriter;
  episodes: EpisodeMetaRow[];
}

interface OpenVideo {
  chunk: number;
  file: number;
  rel: string;
  /** Frames are being encoded into the file... */
  encoder: VideoEncoder | null;
  /** ...or it is a copy of this already encoded file. */
  copyOf: string | null;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const isPng = (b: Uint8Array): boolean => PNG_SIGNATURE.every((x, i) => b[i] === x);

export class DatasetWriter {
  readonly root: string;
  private info: DatasetInfo;
  private specs: ColumnSpec[];
  /** Video features: key → codec and frame size. */
  private readonly videoKeys: Map<string, { codec: VideoCodec; width: number; height: number }>;
  private readonly videos = new Map<string, OpenVideo>();
  private nextVideo: Map<string, [number, number]>;
  private tasks: string[];
  private tasksDirty = false;
  private stats = new StatsAccumulator();
  private committedStats: StatsMap | null = null;
  private nextData: [number, number];
  private nextMeta: [number, number];
  private open: OpenFile | null = null;
  private lastCommit: number;
  private failed: Error | null = null;
  private closed = false;
  private readonly options: Required<Omit<WriterOptions, 'chunksSize' | 'robotType'>>;
  private committed = { episodes: 0, frames: 0 };
  private pending = { episodes: 0, frames: 0 };

  private constructor(root: string, info: DatasetInfo, tasks: string[], stats: StatsMap | null, next: { data: [number, number]; meta: [number, number]; videos?: Map<string, [number, number]> }, options: WriterOptions) {
    this.root = root;
    this.info = info;
    this.tasks = tasks;
    if (stats) this.stats.add(stats);
    this.committedStats = stats;
    this.specs = Object.entries(info.features).map(([n, f]) => featureSpec(n, f)).filter((x): x is ColumnSpec => x !== null);
    this.videoKeys = DatasetWriter.videoFeatures(info.features);
    this.nextVideo = next.videos ?? new Map();
    this.nextData = next.data;
    this.nextMeta = next.meta;
    this.committed = { episodes: info.total_episodes, frames: info.total_frames };
    this.options = {
      dataFileSizeMB: options.dataFileSizeMB ?? info.data_files_size_in_mb,
      commitIntervalMs: options.commitIntervalMs ?? 60_000,
      imageStatsSamples: options.imageStatsSamples ?? 16,
      now: options.now ?? (() => performance.now()),
    };
    this.lastCommit = this.options.now();
  }

  /** The video features and how to encode them; throws when ffmpeg or its encoder is missing or a size cannot be encoded. */
  private static videoFeatures(features: Record<string, Feature>): Map<string, { codec: VideoCodec; width: number; height: number }> {
    const out = new Map<string, { codec: VideoCodec; width: number; height: number }>();
    for (const [key, f] of Object.entries(features)) {
      if (!isVideoFeature(f)) continue;
      const codec = videoCodecOf(f);
      if (!codec) throw new DatasetError(`feature ${key} is a video in ${String((f.info as Record<string, unknown> | null | undefined)?.['video.codec'])}, which simreal does not write (av1 or h264)`, 'meta/info.json');
      const [height, width] = f.shape;
      const why = videoSizeProblem(width, height, codec);
      if (why) throw new DatasetError(`feature ${key}: ${why}`, 'meta/info.json');
      out.set(key, { codec, width, height });
    }
    return out;
  }

  /** Starts a new dataset in `root` (which must hold none) and writes its info.json. */
  static create(root: string, fps: number, features: Record<string, Feature>, options: WriterOptions = {}): DatasetWriter {
    for (const k of DEFAULT_FEATURE_KEYS) if (!(k in features)) throw new Error(`features lack LeRobot's default feature ${k}`);
    if (existsSync(join(root, 'meta/info.json'))) throw new DatasetError(`${root} already holds a dataset; resume it or choose another folder`, 'meta/info.json');
    // Nothing is written before the inputs are known to be writable.
    for (const { codec } of DatasetWriter.videoFeatures(features).values()) requireVideoEncoder(codec);
    mkdirSync(root, { recursive: true });
    const info = emptyInfo(fps, features, options.dataFileSizeMB);
    if (options.chunksSize) info.chunks_size = options.chunksSize;
    if (options.robotType !== undefined) info.robot_type = options.robotType;
    writeInfo(root, info);
    return new DatasetWriter(root, info, [], null, { data: [0, 0], meta: [0, 0] }, options);
  }

  /**
   * Reopens a dataset for appending after a clean close or a crash: removes temporary files and
   * data files of an interrupted commit, checks the committed episodes are contiguous, and
   * brings info.json and stats.json in line with them.
   */
  static async resume(root: string, options: WriterOptions = {}): Promise<{ writer: DatasetWriter; recovery: Recovery }> {
    const info = readInfo(root);
    const removedTemp = removeTempFiles(root, ['data', 'meta', 'videos']);
    for (const { codec } of DatasetWriter.videoFeatures(info.features).values()) requireVideoEncoder(codec);
    const metaFiles = listChunkFiles(root, EPISODES_DIR);
    let stats = readStats(root);
    const hasStats = stats !== null;
    // First pass without stats; stats are recomputed below only if info.json is stale.
    let episodes = 0, frames = 0;
    const referenced = new Set<string>();
    let lastData: [number, number] = [-1, -1];
    const lastVideo = new Map<string, [number, number]>();
    const referencedVideos = new Set<string>();
    for (const mf of metaFiles) {
      for (const r of await readEpisodesTable(root, mf.rel)) {
        for (const [key, seg] of Object.entries(r.videos ?? {})) {
          referencedVideos.add(videoFilePath(info, key, seg.chunk, seg.file));
          const last = lastVideo.get(key);
          if (!last || seg.chunk > last[0] || (seg.chunk === last[0] && seg.file > last[1])) lastVideo.set(key, [seg.chunk, seg.file]);
        }
        if (r.episode_index !== episodes) throw new DatasetError(`cannot resume: episode_index ${r.episode_index} where ${episodes} was expected (an index gap or duplicate)`, mf.rel);
        if (r.from !== frames || r.to - r.from !== r.length) throw new DatasetError(`cannot resume: episode ${r.episode_index} covers rows ${r.from}..${r.to} but ${frames}..${frames + r.length} were expected`, mf.rel);
        episodes++;
        frames += r.length;
        referenced.add(dataFilePath(info, r.dataChunk, r.dataFile));
        if (r.dataChunk > lastData[0] || (r.dataChunk === lastData[0] && r.dataFile > lastData[1])) lastData = [r.dataChunk, r.dataFile];
      }
    }
    const removedOrphans: string[] = [];
    for (const df of listChunkFiles(root, 'data')) {
      if (!referenced.has(df.rel)) {
        rmSync(join(root, df.rel), { force: true });
        removedOrphans.push(df.rel);
      }
    }
    for (const key of DatasetWriter.videoFeatures(info.features).keys()) {
      for (const vf of listChunkFiles(root, `videos/${key}`, '.mp4')) {
        if (!referencedVideos.has(vf.rel)) {
          rmSync(join(root, vf.rel), { force: true });
          removedOrphans.push(vf.rel);
        }
      }
    }
    for (const rel of referenced) if (!existsSync(join(root, rel))) throw new DatasetError(`cannot resume: the data file is missing but meta/episodes refers to it`, rel);
    for (const rel of referencedVideos) if (!existsSync(join(root, rel))) throw new DatasetError(`cannot resume: the video file is missing but meta/episodes refers to it`, rel);
    const stale = info.total_episodes !== episodes || info.total_frames !== frames || !hasStats;
    if (stale) {
      const acc = new StatsAccumulator();
      for (const mf of metaFiles) for (const r of await readEpisodesTable(root, mf.rel, true)) acc.add(r.stats);
      stats = acc.value;
    }
    const tasks = existsSync(join(root, TASKS_PATH)) ? await readTasks(root) : [];
    info.total_episodes = episodes;
    info.total_frames = frames;
    info.total_tasks = tasks.length;
    info.splits = episodes ? { train: `0:${episodes}` } : {};
    if (stale) {
      if (stats) writeStats(root, stats, info.features);
      else rmSync(join(root, STATS_PATH), { force: true });
      writeInfo(root, info);
    }
    const lastMeta = metaFiles.at(-1);
    const next = {
      data: lastData[0] < 0 ? [0, 0] as [number, number] : nextChunkFile(lastData[0], lastData[1], info.chunks_size),
      meta: lastMeta ? nextChunkFile(lastMeta.chunk, lastMeta.file, info.chunks_size) : [0, 0] as [number, number],
      videos: new Map([...lastVideo].map(([k, [c, f]]) => [k, nextChunkFile(c, f, info.chunks_size)])),
    };
    const writer = new DatasetWriter(root, info, tasks, stats, next, options);
    return { writer, recovery: { removedTemp, removedOrphans, restoredMeta: stale } };
  }

  get features(): Record<string, Feature> {
    return this.info.features;
  }

  get fps(): number {
    return this.info.fps;
  }

  /** Episodes in the dataset, including those written but not yet committed. */
  get totalEpisodes(): number {
    return this.committed.episodes + this.pending.episodes;
  }

  get committedEpisodes(): number {
    return this.committed.episodes;
  }

  get totalFrames(): number {
    return this.committed.frames + this.pending.frames;
  }

  private taskIndex(task: string): number {
    let i = this.tasks.indexOf(task);
    if (i < 0) {
      i = this.tasks.length;
      this.tasks.push(task);
      this.tasksDirty = true;
    }
    return i;
  }

  /** Appends one episode (one row group); commits first or after, as the size and time limits say. */
  async append(ep: EpisodeInput): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error('DatasetWriter is closed');
    const T = ep.frames.length;
    if (!Number.isInteger(T) || T < 1) throw new Error(`an episode needs at least one frame, got ${T}`);
    const features = this.info.features;
    const epIndex = this.totalEpisodes;
    const from = this.totalFrames;
    const taskIndex = this.taskIndex(ep.task);

    const defaults: Record<string, ArrayLike<number>> = {
      timestamp: Float32Array.from({ length: T }, (_, t) => t / this.info.fps),
      frame_index: Float64Array.from({ length: T }, (_, t) => t),
      episode_index: new Float64Array(T).fill(epIndex),
      index: Float64Array.from({ length: T }, (_, t) => from + t),
      task_index: new Float64Array(T).fill(taskIndex),
    };
    const data: Record<string, ColumnValues> = {};
    const stats: StatsMap = {};
    let estimate = 0;
    // Video frames: checked and converted to RGB before anything is written.
    const videoFrames = new Map<string, Uint8Array[]>();
    for (const [key, v] of this.videoKeys) {
      const given = ep.encodedVideos?.[key];
      if (given) {
        if (Math.round((given.to - given.from) * this.info.fps) !== T) throw new Error(`${key}: ${given.path} from ${given.from} to ${given.to} s holds ${Math.round((given.to - given.from) * this.info.fps)} frames, the episode ${T}`);
        if (!ep.imageStats?.[key]) throw new Error(`${key}: an already encoded video needs its image stats`);
        stats[key] = ep.imageStats[key];
        continue;
      }
      const frames = ep.frames.images[key];
      if (!frames || frames.length !== T) throw new Error(`episode lacks ${T} frames of ${key} (got ${frames?.length ?? 0})`);
      const rgb: Uint8Array[] = [];
      for (let t = 0; t < T; t++) {
        const fr = frames[t];
        const px = isPng(fr) ? decodePngRgb(fr) : null;
        if (px && (px.width !== v.width || px.height !== v.height)) throw new Error(`${key} frame ${t} is ${px.width}x${px.height}, the feature is ${v.width}x${v.height}`);
        const data = px ? px.data : fr;
        if (data.byteLength !== v.width * v.height * 3) throw new Error(`${key} frame ${t} has ${data.byteLength} bytes; a ${v.width}x${v.height} RGB frame has ${v.width * v.height * 3} (or give PNG bytes)`);
        rgb.push(data);
      }
      videoFrames.set(key, rgb);
      stats[key] = ep.imageStats?.[key] ?? rgbFrameStats(T, this.options.imageStatsSamples, (i) => rgb[i]);
    }
    for (const spec of this.specs) {
      const f = features[spec.name];
      if (spec.kind === 'image') {
        const pngs = ep.frames.images[spec.name];
        if (!pngs || pngs.length !== T) throw new Error(`episode lacks ${T} frames of ${spec.name} (got ${pngs?.length ?? 0})`);
        const col = new Array<{ bytes: Uint8Array; path: string }>(T);
        for (let t = 0; t < T; t++) {
          col[t] = { bytes: pngs[t], path: `frame-${String(t).padStart(6, '0')}.png` };
          estimate += pngs[t].length;
        }
        data[spec.name] = col;
        stats[spec.name] = ep.imageStats?.[spec.name] ?? imageStats(pngs, this.options.imageStatsSamples);
        continue;
      }
      const values = defaults[spec.name] ?? ep.frames.columns[spec.name];
      const w = featureWidth(f);
      if (!values || values.length !== T * w) throw new Error(`episode column ${spec.name} needs ${T}×${w} values, got ${values?.length ?? 0}`);
      data[spec.name] = columnOf(spec, f, values, T);
      stats[spec.name] = vectorStats(values, T, w);
      estimate += T * w * 4;
    }

    // Start a new file when this episode would take the open one past the size limit, or its
    // video is a copy of another file than the one open.
    const limit = this.options.dataFileSizeMB * 1024 * 1024;
    if (this.open && this.open.episodes.length > 0 && this.open.writer.bytesWritten + estimate >= limit) await this.commit();
    for (const [key, given] of Object.entries(ep.encodedVideos ?? {})) {
      const v = this.videos.get(key);
      if (v && v.copyOf !== given.path) await this.commit();
    }
    const file = this.open ?? this.openFile();
    const segments: Record<string, VideoSegment> = {};
    try {
      for (const [key, frames] of videoFrames) {
        const v = this.videos.get(key) ?? this.openVideo(key);
        const encoder = v.encoder!;
        const from = encoder.frames / this.info.fps;
        for (const f of frames) await encoder.write(f);
        segments[key] = { chunk: v.chunk, file: v.file, from, to: encoder.frames / this.info.fps };
      }
      for (const [key, given] of Object.entries(ep.encodedVideos ?? {})) {
        const v = this.videos.get(key) ?? this.openVideo(key, given.path);
        segments[key] = { chunk: v.chunk, file: v.file, from: given.from, to: given.to };
      }
      file.writer.writeRowGroup(data);
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
    file.episodes.push({
      episode_index: epIndex,
      tasks: [ep.task],
      length: T,
      dataChunk: file.chunk,
      dataFile: file.file,
      from,
      to: from + T,
      metaChunk: this.nextMeta[0],
      metaFile: this.nextMeta[1],
      ...(this.videoKeys.size ? { videos: segments } : {}),
      stats,
      extras: withoutChecksum(ep.extras),
    });
    this.stats.add(stats);
    this.pending.episodes++;
    this.pending.frames += T;
    if (file.writer.bytesWritten >= limit || this.videoFull() || this.options.now() - this.lastCommit >= this.options.commitIntervalMs) await this.commit();
  }

  /** Whether an open video file has reached video_files_size_in_mb (as far as ffmpeg has written it). */
  private videoFull(): boolean {
    const limit = (this.info.video_files_size_in_mb ?? 200) * 1024 * 1024;
    for (const v of this.videos.values()) {
      try {
        if (statSync(join(this.root, v.rel + TEMP_SUFFIX)).size >= limit) return true;
      } catch {
        // not created yet
      }
    }
    return false;
  }

  private openVideo(key: string, copyOf?: string): OpenVideo {
    const [chunk, file] = this.nextVideo.get(key) ?? [0, 0];
    const rel = videoFilePath(this.info, key, chunk, file);
    const tmp = join(this.root, rel + TEMP_SUFFIX);
    mkdirSync(dirname(tmp), { recursive: true });
    let v: OpenVideo;
    if (copyOf) {
      copyFileSync(copyOf, tmp);
      v = { chunk, file, rel, encoder: null, copyOf };
    } else {
      const { codec, width, height } = this.videoKeys.get(key)!;
      v = { chunk, file, rel, encoder: VideoEncoder.start(tmp, { codec, width, height, fps: this.info.fps }), copyOf: null };
    }
    this.videos.set(key, v);
    return v;
  }

  private openFile(): OpenFile {
    const [chunk, file] = this.nextData;
    const rel = dataFilePath(this.info, chunk, file);
    mkdirSync(dirname(join(this.root, rel)), { recursive: true });
    const writer = new ParquetStreamWriter(join(this.root, rel + TEMP_SUFFIX), this.specs, { huggingface: huggingfaceMetadata(this.info.features) });
    this.open = { chunk, file, rel, writer, episodes: [] };
    return this.open;
  }

  private abortVideos(): void {
    for (const v of this.videos.values()) {
      if (v.encoder) v.encoder.abort();
      else rmSync(join(this.root, v.rel + TEMP_SUFFIX), { force: true });
    }
    this.videos.clear();
  }

  private fail(err: Error): void {
    this.failed = err;
    if (this.open) this.open.writer.abort();
    this.abortVideos();
    this.open = null;
    this.pending = { episodes: 0, frames: 0 };
  }

  /** Commits the open data file and its episodes (see the header for the steps). */
  async commit(): Promise<void> {
    this.lastCommit = this.options.now();
    const file = this.open;
    if (!file || file.episodes.length === 0) return;
    if (this.failed) throw this.failed;
    try {
      // Video files first: an episodes table may only name finished files.
      for (const [key, v] of this.videos) {
        if (v.encoder) await v.encoder.finish();
        fsyncFile(join(this.root, v.rel) + TEMP_SUFFIX);
        commitFile(join(this.root, v.rel) + TEMP_SUFFIX, join(this.root, v.rel));
        this.nextVideo.set(key, nextChunkFile(v.chunk, v.file, this.info.chunks_size));
      }
      this.videos.clear();
      file.writer.finish();
      for (const e of file.episodes) e.extras[CHECKSUM_COLUMN] = file.writer.sha256 as string;
      const metaRel = episodesFilePath(this.nextMeta[0], this.nextMeta[1]);
      const metaAbs = join(this.root, metaRel);
      mkdirSync(dirname(metaAbs), { recursive: true });
      writeEpisodesTable(metaAbs + TEMP_SUFFIX, file.episodes, this.info.features);
      if (this.tasksDirty) {
        writeTasks(join(this.root, TASKS_PATH) + TEMP_SUFFIX, this.tasks);
        commitFile(join(this.root, TASKS_PATH) + TEMP_SUFFIX, join(this.root, TASKS_PATH));
        this.tasksDirty = false;
      }
      commitFile(join(this.root, file.rel) + TEMP_SUFFIX, join(this.root, file.rel));
      commitFile(metaAbs + TEMP_SUFFIX, metaAbs);
      this.committed.episodes += this.pending.episodes;
      this.committed.frames += this.pending.frames;
      this.pending = { episodes: 0, frames: 0 };
      this.open = null;
      this.nextData = nextChunkFile(file.chunk, file.file, this.info.chunks_size);
      this.nextMeta = nextChunkFile(this.nextMeta[0], this.nextMeta[1], this.info.chunks_size);
      this.committedStats = this.stats.value;
      this.info.total_episodes = this.committed.episodes;
      this.info.total_frames = this.committed.frames;
      this.info.total_tasks = this.tasks.length;
      this.info.splits = { train: `0:${this.committed.episodes}` };
      if (this.committedStats) writeStats(this.root, this.committedStats, this.info.features);
      writeInfo(this.root, this.info);
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
  }

  /** Commits what is pending; the writer takes no more episodes. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.failed) await this.commit();
    this.closed = true;
  }

  /** Drops what is not committed (as a crash would) and closes. */
  abort(): void {
    if (this.open) this.open.writer.abort();
    this.abortVideos();
    this.open = null;
    this.pending = { episodes: 0, frames: 0 };
    this.closed = true;
  }

  /** A copy of the dataset's info as committed so far. */
  get currentInfo(): DatasetInfo {
    return structuredClone(this.info);
  }
}
