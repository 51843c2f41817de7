/**
 * Reading and writing a dataset's metadata: meta/info.json, meta/stats.json, meta/tasks.parquet
 * and the per-episode tables meta/episodes/chunk-CCC/file-FFF.parquet, with the column names and
 * types LeRobot writes (dataset_metadata.py: episode_index, tasks, length, data/chunk_index,
 * data/file_index, dataset_from_index, dataset_to_index, stats/<feature>/<stat>,
 * meta/episodes/chunk_index, meta/episodes/file_index). simreal's own per-episode columns follow,
 * prefixed `simreal/` (see README.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetInfo, Feature } from './format.ts';
import { DatasetError, INFO_PATH, InfoSchema, STATS_PATH, TASKS_PATH } from './format.ts';
import { writeJsonAtomic } from './files.ts';
import type { ColumnSpec, Row } from './parquet.ts';
import { columnNames, openParquet, readRows, readTable, writeParquetTable } from './parquet.ts';
import type { StatsMap } from './stats.ts';
import { STAT_KEYS, flattenStat, nestStat, statsFromJson, statsToJson } from './stats.ts';

export function readInfo(root: string): DatasetInfo {
  const path = join(root, INFO_PATH);
  if (!existsSync(path)) throw new DatasetError('missing: not a LeRobot dataset, or its generation never committed an episode', INFO_PATH);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DatasetError(`malformed JSON (${(err as Error).message})`, INFO_PATH);
  }
  const parsed = InfoSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DatasetError(`invalid: ${issue.path.join('.') || '(root)'}: ${issue.message}`, INFO_PATH);
  }
  return parsed.data;
}

export function writeInfo(root: string, info: DatasetInfo): void {
  writeJsonAtomic(join(root, INFO_PATH), info);
}

export function readStats(root: string): StatsMap | null {
  const path = join(root, STATS_PATH);
  if (!existsSync(path)) return null;
  try {
    return statsFromJson(JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>);
  } catch (err) {
    throw new DatasetError(`malformed JSON (${(err as Error).message})`, STATS_PATH);
  }
}

export function writeStats(root: string, stats: StatsMap, features: Record<string, Feature>): void {
  writeJsonAtomic(join(root, STATS_PATH), statsToJson(stats, features));
}

/** tasks.parquet as pandas writes `DataFrame({task_index}, index=Index(tasks, name="task"))`. */
export function writeTasks(path: string, tasks: string[]): void {
  const pandas = {
    index_columns: ['task'],
    column_indexes: [{ name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'object', metadata: { encoding: 'UTF-8' } }],
    columns: [
      { name: 'task_index', field_name: 'task_index', pandas_type: 'int64', numpy_type: 'int64', metadata: null },
      { name: 'task', field_name: 'task', pandas_type: 'unicode', numpy_type: 'object', metadata: null },
    ],
    attributes: {},
    creator: { library: 'simreal', version: '0.1.0' },
    pandas_version: '2.3.3',
  };
  writeParquetTable(
    path,
    [{ name: 'task_index', kind: 'scalar', type: 'INT64' }, { name: 'task', kind: 'scalar', type: 'STRING' }],
    { task_index: BigInt64Array.from(tasks, (_, i) => BigInt(i)), task: tasks },
    { pandas: JSON.stringify(pandas) },
  );
}

/** Task strings by task_index. */
export async function readTasks(root: string): Promise<string[]> {
  const { rows } = await readTable(join(root, TASKS_PATH), TASKS_PATH);
  const tasks: string[] = [];
  for (const r of rows) {
    const task = r.task ?? r.__index_level_0__;
    if (typeof task !== 'string' || r.task_index === undefined) throw new DatasetError('expected columns task and task_index', TASKS_PATH);
    tasks[Number(r.task_index)] = task;
  }
  for (let i = 0; i < tasks.length; i++) if (tasks[i] === undefined) throw new DatasetError(`task_index ${i} is missing`, TASKS_PATH);
  return tasks;
}

export type ExtraValue = number | bigint | boolean | string | number[];

/** Where an episode's frames of one video feature are: file (chunk, file) and time range in it (s). */
export interface VideoSegment {
  chunk: number;
  file: number;
  from: number;
  to: number;
}

/** One row of an episodes table. */
export interface EpisodeMetaRow {
  episode_index: number;
  tasks: string[];
  length: number;
  dataChunk: number;
  dataFile: number;
  from: number;
  to: number;
  metaChunk: number;
  metaFile: number;
  /** Per video feature: LeRobot's `videos/<key>/chunk_index`, `file_index`, `from_timestamp`, `to_timestamp`. */
  videos?: Record<string, VideoSegment>;
  /** Empty when read without stats. */
  stats: StatsMap;
  /** Per-episode columns beyond LeRobot's (simreal/…). */
  extras: Record<string, ExtraValue>;
}

const CORE_COLUMNS = new Set([
  'episode_index', 'tasks', 'length', 'data/chunk_index', 'data/file_index', 'dataset_from_index', 'dataset_to_index',
  'meta/episodes/chunk_index', 'meta/episodes/file_index',
]);

function extraSpec(name: string, v: ExtraValue): ColumnSpec {
  if (typeof v === 'bigint') return { name, kind: 'scalar', type: 'INT64' };
  if (typeof v === 'number') return { name, kind: 'scalar', type: 'DOUBLE' };
  if (typeof v === 'boolean') return { name, kind: 'scalar', type: 'BOOLEAN' };
  if (typeof v === 'string') return { name, kind: 'scalar', type: 'STRING' };
  return { name, kind: 'list', type: 'DOUBLE' };
}

/** Writes the episodes table `path` for these rows (all with the same extras columns). */
export function writeEpisodesTable(path: string, rows: EpisodeMetaRow[], features: Record<string, Feature>): void {
  const specs: ColumnSpec[] = [
    { name: 'episode_index', kind: 'scalar', type: 'INT64' },
    { name: 'tasks', kind: 'list', type: 'STRING' },
    { name: 'length', kind: 'scalar', type: 'INT64' },
    { name: 'data/chunk_index', kind: 'scalar', type: 'INT64' },
    { name: 'data/file_index', kind: 'scalar', type: 'INT64' },
    { name: 'dataset_from_index', kind: 'scalar', type: 'INT64' },
    { name: 'dataset_to_index', kind: 'scalar', type: 'INT64' },
  ];
  const int = (f: (r: EpisodeMetaRow) => number): BigInt64Array => BigInt64Array.from(rows, (r) => BigInt(f(r)));
  const data: Record<string, ArrayLike<unknown>> = {
    episode_index: int((r) => r.episode_index),
    tasks: rows.map((r) => r.tasks),
    length: int((r) => r.length),
    'data/chunk_index': int((r) => r.dataChunk),
    'data/file_index': int((r) => r.dataFile),
    dataset_from_index: int((r) => r.from),
    dataset_to_index: int((r) => r.to),
  };
  for (const key of Object.keys(rows[0]?.videos ?? {})) {
    const seg = (r: EpisodeMetaRow): VideoSegment => {
      const v = r.videos?.[key];
      if (!v) throw new Error(`episode ${r.episode_index} lacks its segment of video ${key}`);
      return v;
    };
    specs.push(
      { name: `videos/${key}/chunk_index`, kind: 'scalar', type: 'INT64' },
      { name: `videos/${key}/file_index`, kind: 'scalar', type: 'INT64' },
      { name: `videos/${key}/from_timestamp`, kind: 'scalar', type: 'DOUBLE' },
      { name: `videos/${key}/to_timestamp`, kind: 'scalar', type: 'DOUBLE' },
    );
    data[`videos/${key}/chunk_index`] = int((r) => seg(r).chunk);
    data[`videos/${key}/file_index`] = int((r) => seg(r).file);
    data[`videos/${key}/from_timestamp`] = Float64Array.from(rows, (r) => seg(r).from);
    data[`videos/${key}/to_timestamp`] = Float64Array.from(rows, (r) => seg(r).to);
  }
  for (const [name, f] of Object.entries(features)) {
    if (!rows.every((r) => name in r.stats)) continue;
    for (const k of STAT_KEYS) {
      const col = `stats/${name}/${k}`;
      if (k === 'count') {
        specs.push({ name: col, kind: 'list', type: 'INT64' });
        data[col] = rows.map((r) => r.stats[name].count.map((c) => BigInt(c)));
      } else {
        if (!rows.every((r) => k in r.stats[name])) continue;
        specs.push({ name: col, kind: 'list', type: 'DOUBLE', depth: f.dtype === 'image' ? 3 : 1 });
        data[col] = rows.map((r) => nestStat(f, k, r.stats[name][k]));
      }
    }
  }
  specs.push({ name: 'meta/episodes/chunk_index', kind: 'scalar', type: 'INT64' }, { name: 'meta/episodes/file_index', kind: 'scalar', type: 'INT64' });
  data['meta/episodes/chunk_index'] = int((r) => r.metaChunk);
  data['meta/episodes/file_index'] = int((r) => r.metaFile);
  const first = rows[0]?.extras ?? {};
  for (const [name, v] of Object.entries(first)) {
    if (CORE_COLUMNS.has(name) || name.startsWith('stats/')) throw new Error(`extra episode column ${name} clashes with a LeRobot column`);
    const spec = extraSpec(name, v);
    specs.push(spec);
    data[name] = rows.map((r) => {
      if (!(name in r.extras)) throw new Error(`episode ${r.episode_index} lacks extra column ${name}`);
      return r.extras[name];
    });
  }
  writeParquetTable(path, specs, data);
}

function toExtra(v: unknown): ExtraValue | undefined {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  return undefined;
}

export function parseEpisodeRow(r: Row, rel: string, withStats: boolean): EpisodeMetaRow {
  const num = (k: string): number => {
    const v = r[k];
    if (typeof v !== 'bigint' && typeof v !== 'number') throw new DatasetError(`column ${k} is missing or not an integer`, rel);
    return Number(v);
  };
  const stats: StatsMap = {};
  const extras: Record<string, ExtraValue> = {};
  const videos: Record<string, VideoSegment> = {};
  for (const [k, v] of Object.entries(r)) {
    if (CORE_COLUMNS.has(k)) continue;
    const vm = /^videos\/(.+)\/(chunk_index|file_index|from_timestamp|to_timestamp)$/.exec(k);
    if (vm) {
      if (typeof v !== 'number' && typeof v !== 'bigint') throw new DatasetError(`column ${k} is not a number`, rel);
      const seg = (videos[vm[1]] ??= { chunk: NaN, file: NaN, from: NaN, to: NaN });
      const field = { chunk_index: 'chunk', file_index: 'file', from_timestamp: 'from', to_timestamp: 'to' }[vm[2]] as keyof VideoSegment;
      seg[field] = Number(v);
      continue;
    }
    if (k.startsWith('stats/')) {
      if (!withStats) continue;
      const slash = k.lastIndexOf('/');
      const feature = k.slice(6, slash);
      (stats[feature] ??= {})[k.slice(slash + 1)] = flattenStat(v);
      continue;
    }
    const e = toExtra(v);
    if (e !== undefined) extras[k] = e;
  }
  for (const [key, seg] of Object.entries(videos)) {
    for (const [field, v] of Object.entries(seg)) if (Number.isNaN(v)) throw new DatasetError(`episode ${String(r.episode_index)} has some videos/${key}/… columns but not its ${field}`, rel);
  }
  const tasks = r.tasks;
  return {
    episode_index: num('episode_index'),
    tasks: Array.isArray(tasks) ? tasks.map(String) : typeof tasks === 'string' ? [tasks] : [],
    length: num('length'),
    dataChunk: num('data/chunk_index'),
    dataFile: num('data/file_index'),
    from: num('dataset_from_index'),
    to: num('dataset_to_index'),
    metaChunk: r['meta/episodes/chunk_index'] === undefined ? 0 : num('meta/episodes/chunk_index'),
    metaFile: r['meta/episodes/file_index'] === undefined ? 0 : num('meta/episodes/file_index'),
    ...(Object.keys(videos).length ? { videos } : {}),
    stats,
    extras,
  };
}

/** Reads one episodes table. */
export async function readEpisodesTable(root: string, rel: string, withStats = false): Promise<EpisodeMetaRow[]> {
  const src = await openParquet(join(root, rel), rel);
  try {
    const columns = columnNames(src.metadata).filter((c) => withStats || !c.startsWith('stats/'));
    const rows = await readRows(src, columns, 0, src.rows, rel);
    return rows.map((r) => parseEpisodeRow(r, rel, withStats));
  } finally {
    await src.close();
  }
}
