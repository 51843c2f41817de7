/**
 * The LeRobotDataset v3.0 layout, as Hugging Face LeRobot defines it (lerobot/datasets/utils.py,
 * dataset_metadata.py, io_utils.py), and the features simreal writes into it.
 *
 * ```
 * meta/info.json                                  schema (features with dtype/shape/names), fps, totals, path templates
 * meta/stats.json                                 per-feature min/max/mean/std/count/q01…q99 over the whole dataset
 * meta/tasks.parquet                              task (natural-language instruction, pandas index) → task_index
 * meta/episodes/chunk-CCC/file-FFF.parquet        one row per episode: length, tasks, row range, data file, stats/…
 * data/chunk-CCC/file-FFF.parquet                 one row per frame, one row group per episode
 * meta/simreal.json                               how simreal generated it (scenario, seeds, shard); not read by LeRobot
 * ```
 *
 * Extra features (documented in sim/dataset/README.md) avoid the `observation.` and `action`
 * prefixes on purpose: LeRobot routes every `observation.*` key to a policy's inputs and every
 * `action*` key to its outputs, and ground-truth block poses or the noisy executed action must not
 * silently become inputs or targets of a policy that will later run on a real robot.
 */
import { z } from 'zod';
import { LEROBOT_SO101_NAMES } from '../robot/so101/lerobot.ts';
import { VIDEO_CODECS, VIDEO_PIX_FMT } from './video.ts';
import type { VideoCodec } from './video.ts';

export const CODEBASE_VERSION = 'v3.0';
export const ROBOT_TYPE = 'simreal_gripper4dof';
export const DEFAULT_CHUNK_SIZE = 1000;
export const DEFAULT_DATA_FILE_SIZE_IN_MB = 100;
export const DEFAULT_VIDEO_FILE_SIZE_IN_MB = 200;

export const INFO_PATH = 'meta/info.json';
export const STATS_PATH = 'meta/stats.json';
export const TASKS_PATH = 'meta/tasks.parquet';
export const EPISODES_DIR = 'meta/episodes';
export const DATA_DIR = 'data';
export const SIMREAL_META_PATH = 'meta/simreal.json';
export const DATA_PATH_TEMPLATE = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
export const EPISODES_PATH_TEMPLATE = 'meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
export const VIDEO_PATH_TEMPLATE = 'videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4';
/** Suffix of files being written; never part of a dataset (removed on resume). */
export const TEMP_SUFFIX = '.tmp';

/**
 * Episodes-table column holding the SHA-256 of the episode's data file, written at commit;
 * `--verify` recomputes it, so a changed byte anywhere in a data file is found (parquet pages
 * here carry no CRC, and a flipped bit in a float page would otherwise decode silently).
 */
export const CHECKSUM_COLUMN = 'simreal/data_file_sha256';

/** Action component names, in order (sim/env.ts ACTION_SIZE = 5). */
export const ACTION_NAMES = ['dx', 'dy', 'dz', 'dyaw', 'grip'];
export const POSE_NAMES = ['x', 'y', 'z', 'qx', 'qy', 'qz', 'qw'];
export const IMAGE_PREFIX = 'observation.images.';

/** LeRobot's DEFAULT_FEATURES (lerobot/utils/constants.py), appended after the user features. */
export const DEFAULT_FEATURE_KEYS = ['timestamp', 'frame_index', 'episode_index', 'index', 'task_index'] as const;

export const QUANTILES = [0.01, 0.1, 0.5, 0.9, 0.99];
export const QUANTILE_KEYS = ['q01', 'q10', 'q50', 'q90', 'q99'];

const FeatureSchema = z.object({
  dtype: z.string(),
  shape: z.array(z.int().nonnegative()),
  names: z.union([z.array(z.string()), z.record(z.string(), z.unknown()), z.null()]).optional(),
  info: z.record(z.string(), z.unknown()).nullable().optional(),
}).loose();
export type Feature = z.infer<typeof FeatureSchema>;

/** meta/info.json, validated when read. Unknown keys are kept (LeRobot ignores them too). */
export const InfoSchema = z.object({
  codebase_version: z.string(),
  robot_type: z.string().nullable().optional(),
  total_episodes: z.int().nonnegative(),
  total_frames: z.int().nonnegative(),
  total_tasks: z.int().nonnegative(),
  chunks_size: z.int().positive(),
  data_files_size_in_mb: z.number().positive(),
  video_files_size_in_mb: z.number().positive().optional(),
  fps: z.number().positive(),
  splits: z.record(z.string(), z.string()),
  data_path: z.string(),
  video_path: z.string().nullable().optional(),
  features: z.record(z.string(), FeatureSchema),
}).loose();
export type DatasetInfo = z.infer<typeof InfoSchema>;

/** Python-style `{name:03d}` formatting of LeRobot's path templates. */
export function formatTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)(?::0?(\d+)d)?\}/g, (_, key: string, width?: string) => {
    if (!(key in values)) throw new Error(`template ${template} needs {${key}}`);
    const v = String(values[key]);
    return width ? v.padStart(Number(width), '0') : v;
  });
}

export function dataFilePath(info: Pick<DatasetInfo, 'data_path'>, chunk: number, file: number): string {
  return formatTemplate(info.data_path, { chunk_index: chunk, file_index: file });
}

export function episodesFilePath(chunk: number, file: number): string {
  return formatTemplate(EPISODES_PATH_TEMPLATE, { chunk_index: chunk, file_index: file });
}

/** LeRobot's update_chunk_file_indices: the next (chunk, file) after (chunk, file). */
export function nextChunkFile(chunk: number, file: number, chunksSize: number): [number, number] {
  return file === chunksSize - 1 ? [chunk + 1, 0] : [chunk, file + 1];
}

export function isImageFeature(f: Feature): boolean {
  return f.dtype === 'image';
}

export function isVideoFeature(f: Feature): boolean {
  return f.dtype === 'video';
}

/** Camera frames, stored as PNG in the data files (`image`) or as MP4 beside them (`video`). */
export function isCameraFeature(f: Feature): boolean {
  return f.dtype === 'image' || f.dtype === 'video';
}

export function videoFilePath(info: Pick<DatasetInfo, 'video_path'>, key: string, chunk: number, file: number): string {
  return formatTemplate(info.video_path ?? VIDEO_PATH_TEMPLATE, { video_key: key, chunk_index: chunk, file_index: file });
}

/** The codec a video feature's `info` names, as simreal's writer knows it (null if another). */
export function videoCodecOf(f: Feature): VideoCodec | null {
  const name = (f.info as Record<string, unknown> | null | undefined)?.['video.codec'];
  const hit = Object.entries(VIDEO_CODECS).find(([, c]) => c.codecName === name);
  return hit ? (hit[0] as VideoCodec) : null;
}

/** Number of values one frame of a (non-image) feature holds. */
export function featureWidth(f: Feature): number {
  return f.shape.reduce((a, b) => a * b, 1);
}

export interface FeatureLayout {
  observationNames: string[];
  blockCount: number;
  /**
   * `so101`: LeRobot's SO-101 features (`observation.state` and `action` the six `{motor}.pos`,
   * joints in degrees, gripper 0–100: sim/robot/so101/lerobot.ts), simreal's own observation and
   * normalized end-effector action moved to `sim.state` and `sim.action`.
   */
  robot?: 'mount' | 'so101';
  /** Cameras with rendered frames (`observation.images.<name>`), their size and storage: `video` (MP4, `codec` default av1) or `png` (the default here; `simreal generate` asks for video). */
  cameras?: { names: string[]; width: number; height: number; format?: 'video' | 'png'; codec?: VideoCodec };
}

/**
 * The features of a simreal dataset, in column order: LeRobot's user features first, then its
 * DEFAULT_FEATURES, as LeRobotDataset.create orders them. Where simreal's policies read their
 * state and action: `sim.state`/`sim.action` when present (SO-101 datasets), else
 * `observation.state`/`action` (policyKeys).
 */
export function simrealFeatures(layout: FeatureLayout): Record<string, Feature> {
  const so101 = layout.robot === 'so101';
  const features: Record<string, Feature> = {
    'observation.state': so101
      ? { dtype: 'float32', shape: [LEROBOT_SO101_NAMES.length], names: [...LEROBOT_SO101_NAMES] }
      : { dtype: 'float32', shape: [layout.observationNames.length], names: [...layout.observationNames] },
  };
  for (const cam of layout.cameras?.names ?? []) {
    const c = layout.cameras!;
    const video = c.format === 'video';
    features[`${IMAGE_PREFIX}${cam}`] = {
      dtype: video ? 'video' : 'image',
      shape: [c.height, c.width, 3],
      names: ['height', 'width', 'channels'],
      ...(video ? { info: videoInfo(c.width, c.height, 0, c.codec ?? 'av1') } : {}),
    };
  }
  features.action = so101
    ? { dtype: 'float32', shape: [LEROBOT_SO101_NAMES.length], names: [...LEROBOT_SO101_NAMES] }
    : { dtype: 'float32', shape: [ACTION_NAMES.length], names: [...ACTION_NAMES] };
  if (so101) {
    features['sim.state'] = { dtype: 'float32', shape: [layout.observationNames.length], names: [...layout.observationNames] };
    features['sim.action'] = { dtype: 'float32', shape: [ACTION_NAMES.length], names: [...ACTION_NAMES] };
  }
  features['next.reward'] = { dtype: 'float32', shape: [1], names: null };
  features['next.done'] = { dtype: 'bool', shape: [1], names: null };
  features['next.success'] = { dtype: 'bool', shape: [1], names: null };
  features['sim.executed_action'] = { dtype: 'float32', shape: [ACTION_NAMES.length], names: [...ACTION_NAMES] };
  const poseNames: string[] = [];
  for (let b = 0; b < layout.blockCount; b++) for (const n of POSE_NAMES) poseNames.push(`block${b}.${n}`);
  features['sim.block_poses'] = { dtype: 'float32', shape: [poseNames.length], names: poseNames };
  features.timestamp = { dtype: 'float32', shape: [1], names: null };
  features.frame_index = { dtype: 'int64', shape: [1], names: null };
  features.episode_index = { dtype: 'int64', shape: [1], names: null };
  features.index = { dtype: 'int64', shape: [1], names: null };
  features.task_index = { dtype: 'int64', shape: [1], names: null };
  return features;
}

/**
 * A video feature's `info` in meta/info.json, with the keys LeRobot's `get_video_info` writes
 * (lerobot/datasets/video_utils.py, release v0.4.4 of the v3.0 format).
 */
export function videoInfo(width: number, height: number, fps: number, codec: VideoCodec): Record<string, unknown> {
  return {
    'video.height': height,
    'video.width': width,
    'video.codec': VIDEO_CODECS[codec].codecName,
    'video.pix_fmt': VIDEO_PIX_FMT,
    'video.is_depth_map': false,
    'video.fps': fps,
    'video.channels': 3,
    has_audio: false,
  };
}

export function emptyInfo(fps: number, features: Record<string, Feature>, dataFileSizeMB = DEFAULT_DATA_FILE_SIZE_IN_MB): DatasetInfo {
  return {
    codebase_version: CODEBASE_VERSION,
    robot_type: ROBOT_TYPE,
    total_episodes: 0,
    total_frames: 0,
    total_tasks: 0,
    chunks_size: DEFAULT_CHUNK_SIZE,
    data_files_size_in_mb: dataFileSizeMB,
    video_files_size_in_mb: DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    fps,
    splits: {},
    data_path: DATA_PATH_TEMPLATE,
    video_path: Object.values(features).some(isVideoFeature) ? VIDEO_PATH_TEMPLATE : null,
    features: Object.fromEntries(Object.entries(features).map(([k, f]) => [k, isVideoFeature(f) ? { ...f, info: { ...(f.info ?? {}), 'video.fps': fps } } : f])),
  };
}

/** Why two feature sets cannot share a dataset (null when they can). */
export function featuresMismatch(a: Record<string, Feature>, b: Record<string, Feature>): string | null {
  const ka = Object.keys(a), kb = Object.keys(b);
  const missing = ka.filter((k) => !(k in b));
  const extra = kb.filter((k) => !(k in a));
  if (missing.length || extra.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.join(', ')}`);
    if (extra.length) parts.push(`extra ${extra.join(', ')}`);
    return parts.join('; ');
  }
  for (const k of ka) {
    const fa = a[k], fb = b[k];
    if (fa.dtype !== fb.dtype) return `${k} has dtype ${fb.dtype} instead of ${fa.dtype}`;
    if (JSON.stringify(fa.shape) !== JSON.stringify(fb.shape)) return `${k} has shape [${fb.shape}] instead of [${fa.shape}]`;
    if (JSON.stringify(fa.names ?? null) !== JSON.stringify(fb.names ?? null)) return `${k} has different names`;
  }
  return null;
}

/** An error about a dataset on disk, naming the file at fault. */
export class DatasetError extends Error {
  readonly file: string | undefined;
  constructor(message: string, file?: string) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'DatasetError';
    this.file = file;
  }
}

/** The features holding simreal's policy state and action in a dataset with these features. */
export function policyKeys(features: Record<string, Feature>): { state: string; action: string } {
  return features['sim.state'] && features['sim.action'] ? { state: 'sim.state', action: 'sim.action' } : { state: 'observation.state', action: 'action' };
}
