/**
 * Merging datasets (shards of one generation run, or any datasets with the same features and
 * fps) into one: episodes are re-indexed in order (shards by their first global episode index),
 * frames get new `index`/`episode_index`/`task_index`, tasks are united, per-episode stats are
 * recomputed (image stats copied) and recombined into meta/stats.json. Streams one episode at a
 * time through DatasetWriter, so memory does not grow with the inputs.
 *
 * Extra per-episode columns (simreal/…) are kept where all inputs have them. Refused, with the
 * reason: different fps, features (names, dtypes, shapes), robot type or
 * codebase version; video features; shards of the same run that overlap; a non-empty output.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetInfo } from './format.ts';
import { DEFAULT_FEATURE_KEYS, DatasetError, EPISODES_DIR, SIMREAL_META_PATH, featureWidth, featuresMismatch } from './format.ts';
import { listChunkFiles, writeFileAtomic } from './files.ts';
import { formatJson } from '../format-json.ts';
import type { SimrealMeta } from './lerobot-sink.ts';
import { readSimrealMeta } from './lerobot-sink.ts';
import type { ExtraValue } from './meta.ts';
import { readEpisodesTable, readInfo } from './meta.ts';
import { DatasetReader } from './reader.ts';
import type { StatsMap } from './stats.ts';
import type { EpisodeFrames } from './writer.ts';
import { DatasetWriter } from './writer.ts';

export interface MergeOptions {
  /** Data file size of the output (MB). Default: the first input's. */
  dataFileSizeMB?: number;
  onEpisode?: (done: number, total: number) => void;
}

export interface MergeResult {
  out: string;
  episodes: number;
  frames: number;
  /** Inputs in the order merged, with the output episode index each starts at. */
  inputs: Array<{ dir: string; episodes: number; firstEpisode: number }>;
}

interface Input {
  dir: string;
  info: DatasetInfo;
  sim: SimrealMeta | null;
}

function family(s: SimrealMeta): string {
  return JSON.stringify([s.scenario, s.baseSeed, s.randomization, s.dartNoise, s.cameras ?? null]);
}

/** Reads and checks the inputs; returns them in merge order. Throws DatasetError on any mismatch. */
export function planMerge(dirs: string[]): Input[] {
  if (dirs.length === 0) throw new DatasetError('nothing to merge: give at least one dataset folder');
  const inputs: Input[] = dirs.map((dir) => {
    try {
      return { dir, info: readInfo(dir), sim: readSimrealMeta(dir) };
    } catch (err) {
      if (err instanceof DatasetError) throw new DatasetError(`${dir}/${err.message}`);
      throw err;
    }
  });
  const first = inputs[0];
  for (const x of inputs) {
    const video = Object.entries(x.info.features).find(([, f]) => f.dtype === 'video');
    if (video) throw new DatasetError(`cannot merge ${x.dir}: its feature ${video[0]} is a video, which merge does not support`);
    if (x === first) continue;
    if (x.info.codebase_version !== first.info.codebase_version) throw new DatasetError(`cannot merge: ${x.dir} is codebase ${x.info.codebase_version}, ${first.dir} is ${first.info.codebase_version}`);
    if (x.info.fps !== first.info.fps) throw new DatasetError(`cannot merge: ${x.dir} runs at ${x.info.fps} fps but ${first.dir} at ${first.info.fps} fps`);
    if ((x.info.robot_type ?? null) !== (first.info.robot_type ?? null)) throw new DatasetError(`cannot merge: ${x.dir} has robot_type ${x.info.robot_type} but ${first.dir} has ${first.info.robot_type}`);
    const why = featuresMismatch(first.info.features, x.info.features);
    if (why) throw new DatasetError(`cannot merge: the features of ${x.dir} differ from those of ${first.dir}: ${why}`);
  }
  if (inputs.every((x) => x.sim)) {
    inputs.sort((a, b) => a.sim!.firstIndex - b.sim!.firstIndex);
    // Shards of one run must not overlap (that would duplicate episodes).
    for (let i = 0; i < inputs.length; i++) {
      for (let j = i + 1; j < inputs.length; j++) {
        const a = inputs[i], b = inputs[j];
        if (family(a.sim!) !== family(b.sim!)) continue;
        const aEnd = a.sim!.firstIndex + a.info.total_episodes;
        if (b.sim!.firstIndex < aEnd) {
          throw new DatasetError(`cannot merge: ${a.dir} and ${b.dir} are parts of the same generation run and both hold episode ${b.sim!.firstIndex} (duplicate shards?)`);
        }
      }
    }
  }
  return inputs;
}

export async function mergeDatasets(dirs: string[], out: string, options: MergeOptions = {}): Promise<MergeResult> {
  const inputs = planMerge(dirs);
  if (existsSync(out) && readdirSync(out).length > 0) throw new DatasetError(`${out} is not empty: merge writes a new dataset; choose an empty or new folder`);
  const first = inputs[0].info;
  const writer = DatasetWriter.create(out, first.fps, first.features, {
    dataFileSizeMB: options.dataFileSizeMB ?? first.data_files_size_in_mb,
    commitIntervalMs: Infinity,
    robotType: first.robot_type ?? null,
  });
  const total = inputs.reduce((a, x) => a + x.info.total_episodes, 0);
  const result: MergeResult = { out, episodes: 0, frames: 0, inputs: [] };
  const features = Object.entries(first.features).filter(([k]) => !(DEFAULT_FEATURE_KEYS as readonly string[]).includes(k));
  // Every episodes table of the output needs the same columns: keep the extra columns all inputs have.
  let common: Set<string> | null = null;
  for (const x of inputs) {
    const firstTable = listChunkFiles(x.dir, EPISODES_DIR)[0];
    const keys = firstTable ? Object.keys((await readEpisodesTable(x.dir, firstTable.rel))[0]?.extras ?? {}) : [];
    common = common ? new Set(keys.filter((k) => common!.has(k))) : new Set(keys);
  }
  const pick = (extras: Record<string, ExtraValue>): Record<string, ExtraValue> =>
    Object.fromEntries(Object.entries(extras).filter(([k]) => common!.has(k)));
  try {
    for (const x of inputs) {
      result.inputs.push({ dir: x.dir, episodes: x.info.total_episodes, firstEpisode: writer.totalEpisodes });
      let reader: DatasetReader | null = null;
      try {
        reader = await DatasetReader.open(x.dir);
        for (const mf of listChunkFiles(x.dir, EPISODES_DIR)) {
          for (const row of await readEpisodesTable(x.dir, mf.rel, true)) {
            const entry = reader.episodes[row.episode_index];
            if (!entry || entry.index !== row.episode_index) throw new DatasetError(`episode ${row.episode_index} is out of order`, mf.rel);
            if (row.tasks.length !== 1) throw new DatasetError(`episode ${row.episode_index} has ${row.tasks.length} tasks; merge supports one task per episode`, mf.rel);
            const rows = await reader.readEpisode(entry);
            const frames: EpisodeFrames = { length: rows.length, columns: {}, images: {} };
            const imageStats: StatsMap = {};
            for (const [name, f] of features) {
              if (f.dtype === 'image') {
                frames.images[name] = rows.map((r) => (r[name] as { bytes: Uint8Array }).bytes);
                if (row.stats[name]) imageStats[name] = row.stats[name];
                continue;
              }
              const w = featureWidth(f);
              const values = new Float64Array(rows.length * w);
              rows.forEach((r, t) => {
                const v = r[name];
                if (Array.isArray(v)) for (let d = 0; d < w; d++) values[t * w + d] = Number(v[d]);
                else values[t * w] = typeof v === 'boolean' ? Number(v) : Number(v);
              });
              frames.columns[name] = values;
            }
            await writer.append({ frames, task: row.tasks[0], extras: pick(row.extras), imageStats });
            result.episodes++;
            result.frames += rows.length;
            options.onEpisode?.(result.episodes, total);
          }
        }
      } catch (err) {
        // Name the input the problem is in.
        if (err instanceof DatasetError && err.file) throw new DatasetError(`${x.dir}/${err.message}`);
        throw err;
      } finally {
        await reader?.close();
      }
    }
    await writer.close();
  } catch (err) {
    writer.abort();
    throw err;
  }
  // A merge of one run's shards is that run, unsharded.
  const sims = inputs.map((x) => x.sim);
  if (sims.every((s) => s) && new Set(sims.map((s) => family(s!))).size === 1) {
    const s0 = sims[0]!;
    const merged: SimrealMeta = { ...s0, firstIndex: s0.firstIndex, episodes: result.episodes };
    delete merged.shard;
    writeFileAtomic(join(out, SIMREAL_META_PATH), `${formatJson(merged, 4)}\n`);
  }
  return result;
}
