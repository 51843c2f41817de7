/**
 * Loaders that turn a dataset into a FrameSet: a LeRobotDataset v3 folder (meta/info.json, read
 * with sim/dataset's DatasetReader), a JSON-lines folder (`simreal generate --format jsonl`:
 * meta.json + episodes.jsonl), or EpisodeRecords generated in-process. Each checks that the
 * features a model needs are there and says which are missing and how to get them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TabletopEnv } from '../../sim/env.ts';
import type { EpisodeRecord } from '../../sim/episode.ts';
import { DatasetReader } from '../../sim/dataset/reader.ts';
import { DatasetError, policyKeys } from '../../sim/dataset/format.ts';
import { readSimrealMeta } from '../../sim/dataset/lerobot-sink.ts';
import { decodePngRgb } from '../../sim/dataset/png.ts';
import { Rng } from '../../sim/rng.ts';
import { parseScenario } from '../../sim/scenario.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { PolicyInputError, listNames } from '../errors.ts';
import type { FrameEpisode, FrameImages, FrameSet } from './frames.ts';
import { checkFinite } from './frames.ts';

export const IMAGE_KEY_PREFIX = 'observation.images.';
const ACTION_NAMES = ['dx', 'dy', 'dz', 'dyaw', 'grip'];
/** Above this many decoded image bytes the loader refuses (and suggests subsampling). */
const MAX_IMAGE_BYTES = 3 * 2 ** 30;

export interface LoadOptions {
  /** What will learn from the frames, for messages ("the pose estimator"). */
  purpose: string;
  /** Camera whose RGB frames to load; none when omitted. */
  camera?: string;
  /** Whether the true block poses are needed. */
  poses?: boolean;
  /** Only episodes whose expert succeeded. Default false. */
  successOnly?: boolean;
  /** At most this many episodes (the first ones). */
  maxEpisodes?: number;
  /** Keep at most this many frames per episode: frame 0 plus a seeded choice of the others. */
  framesPerEpisode?: number;
  /** Seed of the frame choice. Default 0. */
  seed?: number;
}

/** Which frames of an episode of `length` to keep (sorted). */
export function chooseFrames(length: number, keep: number | undefined, rng: Rng): number[] {
  const all = Array.from({ length }, (_, i) => i);
  if (keep === undefined || keep >= length) return all;
  const rest = rng.shuffle(all.slice(1)).slice(0, Math.max(0, keep - 1));
  return [0, ...rest].sort((a, b) => a - b);
}

function fixHint(key: string): string {
  if (key.startsWith(IMAGE_KEY_PREFIX)) {
    return `generate the dataset with camera frames: \`simreal generate <scenario> --render 64 --cameras ${key.slice(IMAGE_KEY_PREFIX.length)} --out …\``;
  }
  if (key === 'sim.block_poses') return 'generate it with `simreal generate` in the LeRobot format (the JSON-lines format does not record block poses)';
  return 'generate it with `simreal generate`';
}

function missing(path: string, key: string, purpose: string, have: string[]): PolicyInputError {
  return new PolicyInputError(`dataset ${path} has no ${key}, which ${purpose} needs (it holds ${listNames(have, 10)}); ${fixHint(key)}`);
}

/** Loads a dataset folder (LeRobot v3 or JSON lines) into memory. */
export async function loadFrames(path: string, options: LoadOptions): Promise<FrameSet> {
  if (!existsSync(path)) throw new PolicyInputError(`dataset ${path} does not exist; make one with \`simreal generate <scenario> --out ${path}\``);
  if (existsSync(join(path, 'meta', 'info.json'))) return loadLeRobot(path, options);
  if (existsSync(join(path, 'episodes.jsonl'))) return loadJsonl(path, options);
  throw new PolicyInputError(`${path} is not a dataset: it has neither meta/info.json (LeRobot format) nor episodes.jsonl (JSON lines); make one with \`simreal generate\``);
}

async function loadLeRobot(path: string, options: LoadOptions): Promise<FrameSet> {
  try {
    return await readLeRobot(path, options);
  } catch (err) {
    // A damaged file is named relative to its dataset: say which dataset too.
    if (err instanceof DatasetError) throw new PolicyInputError(`dataset ${path}: ${err.message}; check it with \`simreal dataset info ${path} --verify\``);
    throw err;
  }
}

async function readLeRobot(path: string, options: LoadOptions): Promise<FrameSet> {
  const reader = await DatasetReader.open(path);
  try {
    const features = reader.features;
    const have = Object.keys(features);
    // SO-101 datasets keep LeRobot's joint features in observation.state/action and simreal's in sim.*.
    const keys = policyKeys(features);
    const need = [keys.state, keys.action];
    if (options.poses) need.push('sim.block_poses');
    const imageKey = options.camera ? `${IMAGE_KEY_PREFIX}${options.camera}` : null;
    if (imageKey) need.push(imageKey);
    for (const k of need) if (!features[k]) throw missing(path, k, options.purpose, have);
    const stateNames = namesOf(features[keys.state].names, features[keys.state].shape[0], 'state');
    const actionNames = namesOf(features[keys.action].names, features[keys.action].shape[0], 'action');
    const poseWidth = features['sim.block_poses'] ? features['sim.block_poses'].shape[0] : 0;
    const blockCount = poseWidth / 7;
    const meta = readSimrealMeta(path);
    let entries = options.successOnly ? reader.selectEpisodes({ successOnly: true }) : reader.episodes;
    if (options.maxEpisodes !== undefined) entries = entries.slice(0, options.maxEpisodes);
    if (entries.length === 0) throw new PolicyInputError(`dataset ${path} has no ${options.successOnly ? 'successful ' : ''}episodes to learn from`);
    let img: { h: number; w: number } | null = null;
    if (imageKey) {
      const [h, w] = features[imageKey].shape;
      img = { h, w };
    }
    const rng = new Rng(options.seed ?? 0).fork('frames');
    const picks = entries.map((e) => chooseFrames(e.length, options.framesPerEpisode, rng.fork(e.index)));
    const frames = picks.reduce((n, p) => n + p.length, 0);
    if (img && frames * img.h * img.w * 3 > MAX_IMAGE_BYTES) {
      throw new PolicyInputError(`dataset ${path}: ${frames} frames of ${img.w}x${img.h} images need ${(frames * img.h * img.w * 3 / 2 ** 30).toFixed(1)} GiB decoded; keep fewer with --frames-per-episode or --max-episodes`);
    }
    const S = stateNames.length, A = actionNames.length;
    const state = new Float32Array(frames * S);
    const action = new Float32Array(frames * A);
    const blockPoses = options.poses ? new Float32Array(frames * poseWidth) : null;
    const images = img ? new Uint8Array(frames * img.h * img.w * 3) : null;
    const video = imageKey !== null && features[imageKey].dtype === 'video';
    const columns = [keys.state, keys.action, ...(options.poses ? ['sim.block_poses'] : []), ...(imageKey && !video ? [imageKey] : [])];
    const episodes: FrameEpisode[] = [];
    let f = 0;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k];
      const rows = await reader.readEpisode(e, columns);
      // MP4 frames are decoded a whole episode at a time (one ffmpeg call), then picked.
      const decoded = video && imageKey ? await reader.readFrames(e, imageKey) : null;
      const start = f;
      for (const t of picks[k]) {
        const r = rows[t];
        state.set(r[keys.state] as ArrayLike<number>, f * S);
        action.set(r[keys.action] as ArrayLike<number>, f * A);
        if (blockPoses) blockPoses.set(r['sim.block_poses'] as ArrayLike<number>, f * poseWidth);
        if (decoded && images && img) images.set(decoded[t], f * img.h * img.w * 3);
        else if (images && img && imageKey) {
          const png = decodePngRgb((r[imageKey] as { bytes: Uint8Array }).bytes);
          if (png.width !== img.w || png.height !== img.h) throw new PolicyInputError(`dataset ${path}: ${imageKey} frame ${t} of episode ${e.index} is ${png.width}x${png.height}, meta/info.json says ${img.w}x${img.h}`);
          images.set(png.data, f * img.h * img.w * 3);
        }
        f++;
      }
      const dart = e.extras['simreal/dart_noise'];
      episodes.push({ index: e.index, seed: e.seed ?? null, success: e.success ?? null, dartNoise: typeof dart === 'number' ? dart : meta?.dartNoise ?? null, start, length: f - start });
    }
    const set: FrameSet = {
      source: { path, format: 'lerobot', fps: reader.fps, scenario: meta?.scenario ?? null, randomization: meta?.randomization ?? null },
      stateNames,
      actionNames,
      blockCount,
      frames,
      state,
      action,
      blockPoses,
      images: images && img && imageKey ? { key: imageKey, camera: options.camera as string, width: img.w, height: img.h, data: images } : null,
      episodes,
    };
    checkFinite(set);
    return set;
  } finally {
    await reader.close();
  }
}

function namesOf(names: unknown, size: number, what: string): string[] {
  if (Array.isArray(names) && names.length === size) return names.map(String);
  return Array.from({ length: size }, (_, i) => `${what}.${i}`);
}

interface JsonlEpisode {
  episode_index: number;
  seed: number;
  success: boolean;
  dart_noise: number;
  length: number;
  observation: number[][];
  action: number[][];
}

async function loadJsonl(path: string, options: LoadOptions): Promise<FrameSet> {
  let meta: { scenario?: unknown; randomization?: string; dartNoise?: number };
  try {
    meta = JSON.parse(readFileSync(join(path, 'meta.json'), 'utf8'));
  } catch (err) {
    throw new PolicyInputError(`dataset ${path}: cannot read meta.json (${(err as Error).message})`);
  }
  const have = ['observation.state', 'action', 'sim.executed_action', 'next.reward', 'next.done'];
  if (options.poses) throw missing(path, 'sim.block_poses', options.purpose, have);
  if (options.camera) throw missing(path, `${IMAGE_KEY_PREFIX}${options.camera}`, options.purpose, have);
  const scenario = parseScenario(meta.scenario, `${path}/meta.json scenario`);
  const stateNames = new TabletopEnv(scenario, { randomization: 'none' }).observationSpace.names;
  const lines = readFileSync(join(path, 'episodes.jsonl'), 'utf8').split('\n').filter(Boolean);
  let eps = lines.map((l) => JSON.parse(l) as JsonlEpisode);
  if (options.successOnly) eps = eps.filter((e) => e.success);
  if (options.maxEpisodes !== undefined) eps = eps.slice(0, options.maxEpisodes);
  if (eps.length === 0) throw new PolicyInputError(`dataset ${path} has no ${options.successOnly ? 'successful ' : ''}episodes to learn from`);
  const rng = new Rng(options.seed ?? 0).fork('frames');
  const picks = eps.map((e) => chooseFrames(e.length, options.framesPerEpisode, rng.fork(e.episode_index)));
  const frames = picks.reduce((n, p) => n + p.length, 0);
  const S = stateNames.length;
  const state = new Float32Array(frames * S);
  const action = new Float32Array(frames * 5);
  const episodes: FrameEpisode[] = [];
  let f = 0;
  eps.forEach((e, k) => {
    const start = f;
    for (const t of picks[k]) {
      if (e.observation[t].length !== S) throw new PolicyInputError(`dataset ${path}: episode ${e.episode_index} has ${e.observation[t].length} observation features, its scenario ${scenario.id} has ${S}`);
      state.set(e.observation[t], f * S);
      action.set(e.action[t], f * 5);
      f++;
    }
    episodes.push({ index: e.episode_index, seed: e.seed, success: e.success, dartNoise: e.dart_noise, start, length: f - start });
  });
  const set: FrameSet = {
    source: { path, format: 'jsonl', fps: scenario.control.rateHz, scenario, randomization: meta.randomization ?? null },
    stateNames,
    actionNames: ACTION_NAMES,
    blockCount: 0,
    frames,
    state,
    action,
    blockPoses: null,
    images: null,
    episodes,
  };
  checkFinite(set);
  return set;
}

export interface RecordsOptions {
  scenario: Scenario;
  randomization: string;
  /** Camera whose rendered frames (record.extras.images[camera], PNG) to decode. */
  camera?: string;
  framesPerEpisode?: number;
  seed?: number;
  successOnly?: boolean;
  path?: string;
}

/** A FrameSet from EpisodeRecords generated in this process (tests, quick experiments). */
export function framesFromRecords(records: EpisodeRecord[], options: RecordsOptions): FrameSet {
  const recs = options.successOnly ? records.filter((r) => r.success) : records;
  if (recs.length === 0) throw new PolicyInputError('no episodes to learn from');
  const rng = new Rng(options.seed ?? 0).fork('frames');
  const picks = recs.map((r) => chooseFrames(r.length, options.framesPerEpisode, rng.fork(r.index)));
  const frames = picks.reduce((n, p) => n + p.length, 0);
  const S = recs[0].observationNames.length;
  const B = recs[0].blockPoses.length / (recs[0].length * 7);
  const state = new Float32Array(frames * S);
  const action = new Float32Array(frames * 5);
  const blockPoses = new Float32Array(frames * B * 7);
  let images: FrameImages | null = null;
  const episodes: FrameEpisode[] = [];
  let f = 0;
  recs.forEach((r, k) => {
    const start = f;
    for (const t of picks[k]) {
      state.set(r.observation.subarray(t * S, (t + 1) * S), f * S);
      action.set(r.action.subarray(t * 5, (t + 1) * 5), f * 5);
      blockPoses.set(r.blockPoses.subarray(t * B * 7, (t + 1) * B * 7), f * B * 7);
      if (options.camera) {
        const pngs = (r.extras?.images as Record<string, Uint8Array[]> | undefined)?.[options.camera];
        if (!pngs) throw new PolicyInputError(`episode ${r.index} has no rendered frames for camera ${options.camera}`);
        const px = decodePngRgb(pngs[t]);
        images ??= { key: `${IMAGE_KEY_PREFIX}${options.camera}`, camera: options.camera, width: px.width, height: px.height, data: new Uint8Array(frames * px.width * px.height * 3) };
        images.data.set(px.data, f * px.width * px.height * 3);
      }
      f++;
    }
    episodes.push({ index: r.index, seed: r.seed, success: r.success, dartNoise: r.dartNoise, start, length: f - start });
  });
  const set: FrameSet = {
    source: { path: options.path ?? 'in-process episodes', format: 'memory', fps: options.scenario.control.rateHz, scenario: options.scenario, randomization: options.randomization },
    stateNames: [...recs[0].observationNames],
    actionNames: ACTION_NAMES,
    blockCount: B,
    frames,
    state,
    action,
    blockPoses,
    images,
    episodes,
  };
  checkFinite(set);
  return set;
}
