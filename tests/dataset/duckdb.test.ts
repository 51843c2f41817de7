/**
 * An independent reader (DuckDB, C++) reads datasets simreal wrote and finds the schema and the
 * values that `simreal dataset info` reports.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticEpisode, syntheticFrames } from '../../sim/dataset/bench.ts';
import { LeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import { readStats } from '../../sim/dataset/meta.ts';
import type { DatasetSummary } from '../../sim/dataset/summary.ts';
import { summarize } from '../../sim/dataset/summary.ts';
import { Rng } from '../../sim/rng.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { REPO, makeDataset, tempDir } from './helpers.ts';
import { hasSystemPackage, needs } from '../system-packages.ts';


const tmp = tempDir();
const dir = join(tmp.dir, 'stack2');
const images = join(tmp.dir, 'images');
const videos = join(tmp.dir, 'videos');
let instance: DuckDBInstance;
let db: DuckDBConnection;
let summary: DatasetSummary;

beforeAll(async () => {
  await makeDataset(dir, { episodes: 6, writer: { commitIntervalMs: 0 } });
  summary = await summarize(dir);
  const scenario = loadScenario(join(REPO, 'scenarios/stack-2.json'));
  const sink = await LeRobotSink.open(images, {
    scenario, randomization: 'train', baseSeed: 0, dartNoise: 0, firstIndex: 0, episodes: 2,
    cameras: { names: ['front'], width: 128, height: 128 },
  }, false);
  const pngs = syntheticFrames(5);
  const rng = new Rng(5);
  for (let i = 0; i < 2; i++) await sink.write(syntheticEpisode(i, pngs, rng));
  await sink.close();
  if (hasSystemPackage('ffmpeg')) {
    const vsink = await LeRobotSink.open(videos, {
      scenario, randomization: 'train', baseSeed: 0, dartNoise: 0, firstIndex: 0, episodes: 3,
      cameras: { names: ['front'], width: 128, height: 128, format: 'video', codec: 'av1' },
    }, false);
    for (let i = 0; i < 3; i++) await vsink.write(syntheticEpisode(i, pngs, rng));
    await vsink.close();
  }
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});
afterAll(() => {
  db?.closeSync();
  instance?.closeSync();
  tmp.cleanup();
});

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}
const data = (root: string): string => `read_parquet('${root}/data/*/*.parquet')`;
const episodes = (root: string): string => `read_parquet('${root}/meta/episodes/*/*.parquet')`;

describe('DuckDB reads what simreal wrote', () => {
  it('finds the features of info.json as parquet columns', async () => {
    const cols = await rows(`DESCRIBE SELECT * FROM ${data(dir)}`);
    const types = Object.fromEntries(cols.map((c) => [c.column_name, c.column_type]));
    const expected = (f: DatasetSummary['features'][number]): string => {
      const base = { float32: 'FLOAT', float64: 'DOUBLE', int64: 'BIGINT', bool: 'BOOLEAN' }[f.dtype as 'float32'];
      return f.shape.length === 1 && f.shape[0] === 1 ? base : `${base}[]`;
    };
    expect(Object.keys(types)).toEqual(summary.features.map((f) => f.name));
    for (const f of summary.features) expect(types[f.name], f.name).toBe(expected(f));
    // Vector lengths are the shapes info.json declares.
    for (const f of summary.features.filter((x) => x.shape[0] > 1)) {
      const [r] = await rows(`SELECT min(len("${f.name}")) AS lo, max(len("${f.name}")) AS hi FROM ${data(dir)}`);
      expect([Number(r.lo), Number(r.hi)], f.name).toEqual([f.shape[0], f.shape[0]]);
    }
  });

  it('counts the episodes and frames, and finds the tasks', async () => {
    const [r] = await rows(`SELECT count(*) AS frames, count(DISTINCT episode_index) AS episodes, max("index") AS last FROM ${data(dir)}`);
    expect(Number(r.frames)).toBe(summary.frames);
    expect(Number(r.episodes)).toBe(summary.episodes);
    expect(Number(r.last)).toBe(summary.frames - 1);
    const [e] = await rows(`SELECT count(*) AS n, sum(length) AS frames FROM ${episodes(dir)}`);
    expect([Number(e.n), Number(e.frames)]).toEqual([summary.episodes, summary.frames]);
    const tasks = await rows(`SELECT task, task_index FROM read_parquet('${dir}/meta/tasks.parquet') ORDER BY task_index`);
    expect(tasks.map((t) => ({ index: Number(t.task_index), task: t.task }))).toEqual(summary.tasks.map(({ index, task }) => ({ index, task })));
    // Frame timing follows fps.
    const [t] = await rows(`SELECT max(abs(timestamp - frame_index / ${summary.fps})) AS err FROM ${data(dir)}`);
    expect(Number(t.err)).toBeLessThan(1e-5);
  });

  it('finds the success rate and the randomization summary', async () => {
    const [s] = await rows(`SELECT avg("simreal/success"::INTEGER) AS rate FROM ${episodes(dir)}`);
    expect(Number(s.rate)).toBeCloseTo(summary.success!.rate, 12);
    for (const key of ['tableFriction', 'gripForce', 'actionLatency']) {
      const [r] = await rows(`SELECT min("simreal/physics/${key}") AS lo, avg("simreal/physics/${key}") AS mean, max("simreal/physics/${key}") AS hi FROM ${episodes(dir)}`);
      expect(Number(r.lo)).toBe(summary.randomization[key].min);
      expect(Number(r.mean)).toBeCloseTo(summary.randomization[key].mean, 12);
      expect(Number(r.hi)).toBe(summary.randomization[key].max);
    }
    const [g] = await rows(`SELECT max("simreal/physics/gravity"[2]) AS hi FROM ${episodes(dir)}`);
    expect(Number(g.hi)).toBe(summary.randomization['gravity[1]'].max);
  });

  it('agrees with meta/stats.json', async () => {
    const stats = readStats(dir)!;
    const [r] = await rows(`SELECT avg("observation.state"[1]) AS m, stddev_pop("observation.state"[1]) AS s, min(action[5]) AS lo, avg("next.reward") AS rew FROM ${data(dir)}`);
    expect(Number(r.m)).toBeCloseTo(stats['observation.state'].mean[0], 6);
    expect(Number(r.s)).toBeCloseTo(stats['observation.state'].std[0], 5);
    expect(Number(r.lo)).toBeCloseTo(stats.action.min[4], 6);
    expect(Number(r.rew)).toBeCloseTo(stats['next.reward'].mean[0], 5);
  });

  it('reads images as LeRobot structs of PNG bytes', async () => {
    const cols = await rows(`DESCRIBE SELECT "observation.images.front" FROM ${data(images)}`);
    expect(cols[0].column_type).toBe('STRUCT(bytes BLOB, path VARCHAR)');
    const [r] = await rows(`SELECT count(*) AS n, min(octet_length("observation.images.front".bytes)) AS lo,
      bool_and(starts_with(hex("observation.images.front".bytes), '89504E470D0A1A0A')) AS png,
      any_value("observation.images.front".path) FILTER (WHERE frame_index = 3) AS path FROM ${data(images)}`);
    expect(Number(r.n)).toBe(200);
    expect(Number(r.lo)).toBeGreaterThan(20_000);
    expect(r.png).toBe(true);
    expect(r.path).toBe('frame-000003.png');
  });

  it('reads a video dataset: no image column in the data, LeRobot\'s videos/… columns in the episodes', needs('ffmpeg'), async () => {
    const cols = (await rows(`DESCRIBE SELECT * FROM ${data(videos)}`)).map((c) => c.column_name);
    expect(cols).not.toContain('observation.images.front');
    expect(cols).toContain('observation.state');
    const ep = await rows(`SELECT episode_index, length, "videos/observation.images.front/chunk_index" AS c, "videos/observation.images.front/file_index" AS f,
      "videos/observation.images.front/from_timestamp" AS t0, "videos/observation.images.front/to_timestamp" AS t1 FROM ${episodes(videos)} ORDER BY episode_index`);
    expect(ep).toHaveLength(3);
    let t = 0;
    for (const e of ep) {
      expect([Number(e.c), Number(e.f)]).toEqual([0, 0]);
      expect(Number(e.t0)).toBeCloseTo(t, 9);
      expect(Number(e.t1) - Number(e.t0)).toBeCloseTo(Number(e.length) / 20, 9);
      t = Number(e.t1);
    }
    const types = Object.fromEntries((await rows(`DESCRIBE SELECT * FROM ${episodes(videos)}`)).map((c) => [c.column_name, c.column_type]));
    expect(types['videos/observation.images.front/from_timestamp']).toBe('DOUBLE');
    expect(types['videos/observation.images.front/chunk_index']).toBe('BIGINT');
  });
});
