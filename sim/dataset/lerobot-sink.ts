/**
 * The generation sink that writes a LeRobotDataset v3.0 (`simreal generate --format lerobot`):
 * EpisodeRecords become rows of the data files, their reset record (physics sample, layout),
 * seed and outcome become `simreal/…` columns of the episodes table, and how the run was made
 * goes to meta/simreal.json. Crash safety and resume are DatasetWriter's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EpisodeRecord } from '../episode.ts';
import type { EpisodeSink, GenerationMeta } from '../generate/sink.ts';
import type { Feature } from './format.ts';
import { DatasetError, IMAGE_PREFIX, INFO_PATH, SIMREAL_META_PATH, featuresMismatch, simrealFeatures } from './format.ts';
import { removeTempFiles, writeFileAtomic } from './files.ts';
import { formatJson } from '../format-json.ts';
import type { ExtraValue } from './meta.ts';
import type { EpisodeFrames, WriterOptions } from './writer.ts';
import { DatasetWriter } from './writer.ts';
import { LEROBOT_SO101_TYPE } from '../robot/so101/lerobot.ts';

/**
 * meta/simreal.json: how the dataset was generated (the generation metadata, tagged). `firstIndex`
 * is the global episode index of this dataset's episode 0 (shards start past 0).
 */
export interface SimrealMeta extends GenerationMeta {
  format: 'simreal-lerobot';
  version: 1;
}

export function readSimrealMeta(root: string): SimrealMeta | null {
  const path = join(root, SIMREAL_META_PATH);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SimrealMeta;
  } catch (err) {
    throw new DatasetError(`malformed JSON (${(err as Error).message})`, SIMREAL_META_PATH);
  }
}

function toSimrealMeta(meta: GenerationMeta): SimrealMeta {
  return {
    format: 'simreal-lerobot',
    version: 1,
    scenario: meta.scenario,
    scenarioPath: meta.scenarioPath,
    randomization: meta.randomization,
    baseSeed: meta.baseSeed,
    dartNoise: meta.dartNoise,
    firstIndex: meta.firstIndex,
    episodes: meta.episodes,
    shard: meta.shard,
    cameras: meta.cameras,
  };
}

/** Why a resumed run may not append to this dataset (null when it may). */
function resumeMismatch(old: SimrealMeta, now: SimrealMeta): string | null {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  if (old.scenario.id !== now.scenario.id) return `it holds scenario ${old.scenario.id}, this run is ${now.scenario.id}`;
  if (!same(old.scenario, now.scenario)) return `scenario ${now.scenario.id} changed since the dataset was started`;
  if (old.baseSeed !== now.baseSeed) return `it was generated with --seed ${old.baseSeed}, this run uses --seed ${now.baseSeed}`;
  if (old.randomization !== now.randomization) return `it was generated with --randomization ${old.randomization}, this run uses ${now.randomization}`;
  if (old.dartNoise !== now.dartNoise) return `it was generated with --dart-noise ${old.dartNoise}, this run uses ${now.dartNoise}`;
  if (old.firstIndex !== now.firstIndex || !same(old.shard, now.shard)) return `it holds episodes from ${old.firstIndex}${old.shard ? ` (shard ${old.shard.index}/${old.shard.count})` : ''}, this run starts at ${now.firstIndex}${now.shard ? ` (shard ${now.shard.index}/${now.shard.count})` : ''}`;
  // Datasets from before video was the default hold PNG frames and say no format.
  const cams = (c: SimrealMeta['cameras']) => (c ? { ...c, format: c.format ?? 'png', codec: (c.format ?? 'png') === 'video' ? c.codec ?? 'av1' : undefined } : null);
  const [a, b] = [cams(old.cameras), cams(now.cameras)];
  if (a && b && a.format !== b.format) return `its camera frames are stored as ${a.format}, this run asks for ${b.format} (--image-format ${a.format} continues it)`;
  if (a && b && a.codec !== b.codec) return `its videos are ${a.codec}, this run asks for ${b.codec} (--video-codec ${a.codec} continues it)`;
  if (!same(a, b)) return 'its cameras (--render/--cameras) differ from this run\'s';
  return null;
}

/** The episode's frames in the layout of simrealFeatures. */
export function episodeFrames(ep: EpisodeRecord, features: Record<string, Feature>): EpisodeFrames {
  const images: Record<string, Uint8Array[]> = {};
  const rendered = (ep.extras?.images ?? {}) as Record<string, Uint8Array[]>;
  for (const name of Object.keys(features)) {
    if (!name.startsWith(IMAGE_PREFIX)) continue;
    const cam = name.slice(IMAGE_PREFIX.length);
    if (!rendered[cam]) throw new Error(`episode ${ep.index} has no rendered frames for camera ${cam}`);
    images[name] = rendered[cam];
  }
  const so101 = features['sim.state'] !== undefined;
  if (so101 && (!ep.joints || !ep.jointAction)) throw new Error(`episode ${ep.index} has no SO-101 joints for the dataset's LeRobot SO-101 features`);
  return {
    length: ep.length,
    columns: {
      ...(so101 ? { 'observation.state': ep.joints!, action: ep.jointAction!, 'sim.state': ep.observation, 'sim.action': ep.action } : { 'observation.state': ep.observation, action: ep.action }),
      'next.reward': ep.reward,
      'next.done': ep.done,
      'next.success': ep.successAfter,
      'sim.executed_action': ep.executedAction,
      'sim.block_poses': ep.blockPoses,
    },
    images,
  };
}

/** The per-episode `simreal/…` columns: identity, outcome and the whole randomization record. */
export function episodeExtras(ep: EpisodeRecord): Record<string, ExtraValue> {
  const extras: Record<string, ExtraValue> = {
    'simreal/source_index': BigInt(ep.index),
    'simreal/seed': BigInt(ep.seed),
    'simreal/scenario': ep.scenario,
    'simreal/task_id': ep.task,
    'simreal/success': ep.success,
    'simreal/fail': ep.fail,
    'simreal/stages': JSON.stringify(Object.fromEntries(ep.stageNames.map((n, i) => [n, ep.stagesReached[i]]))),
    'simreal/dart_noise': ep.dartNoise,
    'simreal/randomization': ep.reset.randomization,
  };
  for (const [k, v] of Object.entries(ep.reset.physics)) {
    if (typeof v === 'number') extras[`simreal/physics/${k}`] = v;
    else if (Array.isArray(v)) extras[`simreal/physics/${k}`] = v.map(Number);
  }
  extras['simreal/layout'] = JSON.stringify(ep.reset.layout);
  return extras;
}

/** The features an episode implies (its observation names, block count) and the run's cameras. */
export function featuresForEpisode(ep: EpisodeRecord, cameras: GenerationMeta['cameras']): Record<string, Feature> {
  const blockCount = ep.length > 0 ? ep.blockPoses.length / (ep.length * 7) : 0;
  return simrealFeatures({ observationNames: ep.observationNames, blockCount, cameras, robot: ep.joints ? 'so101' : 'mount' });
}

export class LeRobotSink implements EpisodeSink {
  readonly dir: string;
  private readonly meta: GenerationMeta;
  private readonly options: WriterOptions;
  private writer: DatasetWriter | null;

  private constructor(dir: string, meta: GenerationMeta, writer: DatasetWriter | null, options: WriterOptions) {
    this.dir = dir;
    this.meta = meta;
    this.writer = writer;
    this.options = options;
  }

  static async open(dir: string, meta: GenerationMeta, resume: boolean, options: WriterOptions = {}): Promise<LeRobotSink> {
    const now = toSimrealMeta(meta);
    const hasDataset = existsSync(join(dir, INFO_PATH));
    if (hasDataset && !resume) throw new DatasetError(`${dir} already holds a dataset; resume it or choose another folder`, INFO_PATH);
    const old = readSimrealMeta(dir);
    if (old && resume) {
      const why = resumeMismatch(old, now);
      if (why) throw new DatasetError(`cannot resume ${dir}: ${why}`, SIMREAL_META_PATH);
    }
    let writer: DatasetWriter | null = null;
    if (hasDataset) {
      writer = (await DatasetWriter.resume(dir, options)).writer;
      writeSimrealMeta(dir, now);
    } else removeTempFiles(dir, ['data', 'meta', 'videos']);
    // A new dataset gets meta/simreal.json with its first episode: a run refused before then
    // (no GPU adapter, no ffmpeg) leaves nothing that would block running it again.
    return new LeRobotSink(dir, meta, writer, options);
  }

  /** Episodes written (committed, or pending in the open file until the next commit). */
  get completed(): number {
    return this.writer?.totalEpisodes ?? 0;
  }

  async write(ep: EpisodeRecord): Promise<void> {
    const expected = this.meta.firstIndex + this.completed;
    if (ep.index !== expected) throw new Error(`episode ${ep.index} arrived where episode ${expected} was expected (sinks take episodes in index order)`);
    const features = featuresForEpisode(ep, this.meta.cameras);
    if (!this.writer) {
      this.writer = DatasetWriter.create(this.dir, ep.fps, features, { ...this.options, ...(ep.joints ? { robotType: LEROBOT_SO101_TYPE } : {}) });
      writeSimrealMeta(this.dir, toSimrealMeta(this.meta));
    } else {
      const why = featuresMismatch(this.writer.features, features);
      if (why) throw new DatasetError(`episode ${ep.index} does not fit the dataset's features: ${why}`, INFO_PATH);
      if (this.writer.fps !== ep.fps) throw new DatasetError(`episode ${ep.index} runs at ${ep.fps} fps, the dataset at ${this.writer.fps}`, INFO_PATH);
    }
    await this.writer.append({ frames: episodeFrames(ep, features), task: ep.instruction, extras: episodeExtras(ep) });
  }

  async close(): Promise<void> {
    if (this.writer) await this.writer.close();
  }
}

/** meta/simreal.json, written atomically with ranges on one line (formatJson). */
function writeSimrealMeta(dir: string, meta: unknown): void {
  writeFileAtomic(join(dir, SIMREAL_META_PATH), `${formatJson(meta, 4)}\n`);
}

/** Opens the LeRobot sink (the `lerobot` output format of `simreal generate`). */
export async function openLeRobotSink(dir: string, meta: GenerationMeta, resume: boolean, options: WriterOptions = {}): Promise<EpisodeSink> {
  return LeRobotSink.open(dir, meta, resume, options);
}
