import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticEpisode, syntheticFrames } from '../../sim/dataset/bench.ts';
import { LeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import { readEpisodesTable, readInfo, readStats, readTasks } from '../../sim/dataset/meta.ts';
import { openParquet, columnNames } from '../../sim/dataset/parquet.ts';
import { decodePngRgb } from '../../sim/dataset/png.ts';
import { DatasetReader } from '../../sim/dataset/reader.ts';
import { verifyDataset } from '../../sim/dataset/verify.ts';
import { DatasetWriter } from '../../sim/dataset/writer.ts';
import type { EpisodeRecord } from '../../sim/episode.ts';
import { Rng } from '../../sim/rng.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { REPO, makeDataset, tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('LeRobot v3.0 writer', () => {
  const dir = join(tmp.dir, 'stack2');
  let records: EpisodeRecord[];
  beforeAll(async () => {
    records = await makeDataset(dir, { episodes: 5 });
  });

  it('writes the v3.0 layout and info.json', () => {
    expect(readdirSync(join(dir, 'meta')).sort()).toEqual(['episodes', 'info.json', 'simreal.json', 'stats.json', 'tasks.parquet']);
    expect(existsSync(join(dir, 'data/chunk-000/file-000.parquet'))).toBe(true);
    expect(existsSync(join(dir, 'meta/episodes/chunk-000/file-000.parquet'))).toBe(true);
    const info = readInfo(dir);
    const frames = records.reduce((a, r) => a + r.length, 0);
    expect(info).toMatchObject({
      codebase_version: 'v3.0',
      robot_type: 'simreal_gripper4dof',
      fps: 20,
      total_episodes: 5,
      total_frames: frames,
      total_tasks: 1,
      chunks_size: 1000,
      data_files_size_in_mb: 100,
      splits: { train: '0:5' },
      data_path: 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet',
      video_path: null,
    });
    expect(Object.keys(info.features)).toEqual([
      'observation.state', 'action', 'next.reward', 'next.done', 'next.success', 'sim.executed_action', 'sim.block_poses',
      'timestamp', 'frame_index', 'episode_index', 'index', 'task_index',
    ]);
    expect(info.features['observation.state']).toEqual({ dtype: 'float32', shape: [records[0].observationNames.length], names: records[0].observationNames });
    expect(info.features.action.names).toEqual(['dx', 'dy', 'dz', 'dyaw', 'grip']);
    expect(info.features['sim.block_poses'].shape).toEqual([14]);
    expect(info.features.index).toEqual({ dtype: 'int64', shape: [1], names: null });
  });

  it('writes tasks, the episodes table and stats as LeRobot names them', async () => {
    expect(await readTasks(dir)).toEqual([records[0].instruction]);
    const src = await openParquet(join(dir, 'meta/episodes/chunk-000/file-000.parquet'));
    const cols = columnNames(src.metadata);
    await src.close();
    expect(cols.slice(0, 7)).toEqual(['episode_index', 'tasks', 'length', 'data/chunk_index', 'data/file_index', 'dataset_from_index', 'dataset_to_index']);
    expect(cols).toContain('stats/observation.state/mean');
    expect(cols).toContain('stats/action/q99');
    expect(cols).toContain('meta/episodes/chunk_index');
    expect(cols).toContain('simreal/physics/tableFriction');
    const rows = await readEpisodesTable(dir, 'meta/episodes/chunk-000/file-000.parquet', true);
    let from = 0;
    rows.forEach((r, i) => {
      const rec = records[i];
      expect(r).toMatchObject({ episode_index: i, length: rec.length, from, to: from + rec.length, dataChunk: 0, dataFile: 0, tasks: [rec.instruction] });
      expect(r.extras['simreal/seed']).toBe(BigInt(rec.seed));
      expect(r.extras['simreal/success']).toBe(rec.success);
      expect(r.extras['simreal/physics/tableFriction']).toBe(rec.reset.physics.tableFriction);
      expect(r.extras['simreal/physics/gravity']).toEqual(rec.reset.physics.gravity);
      expect(JSON.parse(r.extras['simreal/layout'] as string)).toEqual(JSON.parse(JSON.stringify(rec.reset.layout)));
      expect(r.stats['observation.state'].count).toEqual([rec.length]);
      from += rec.length;
    });
    const stats = readStats(dir)!;
    const all = records.flatMap((r) => Array.from(r.action.filter((_, k) => k % 5 === 0)));
    expect(stats.action.count).toEqual([from]);
    expect(stats.action.mean[0]).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 6);
    expect(stats.action.min[0]).toBeCloseTo(Math.min(...all), 6);
    expect(stats['episode_index'].max).toEqual([4]);
  });

  it('stores every frame as the episode recorded it', async () => {
    const ds = await DatasetReader.open(dir);
    let index = 0;
    for (const [i, rec] of records.entries()) {
      const rows = await ds.readEpisode(ds.episodes[i]);
      expect(rows.length).toBe(rec.length);
      const obs = rec.observationNames.length;
      rows.forEach((r, t) => {
        expect(r['observation.state']).toEqual(Array.from(rec.observation.subarray(t * obs, (t + 1) * obs)));
        expect(r.action).toEqual(Array.from(rec.action.subarray(t * 5, t * 5 + 5)));
        expect(r['sim.executed_action']).toEqual(Array.from(rec.executedAction.subarray(t * 5, t * 5 + 5)));
        expect(r['sim.block_poses']).toEqual(Array.from(rec.blockPoses.subarray(t * 14, t * 14 + 14)));
        expect(r['next.reward']).toBe(rec.reward[t]);
        expect(r['next.done']).toBe(rec.done[t] === 1);
        expect(r['next.success']).toBe(rec.successAfter[t] === 1);
        expect(r.timestamp).toBe(Math.fround(t / 20));
        expect(r.frame_index).toBe(BigInt(t));
        expect(r.episode_index).toBe(BigInt(i));
        expect(r.index).toBe(BigInt(index++));
        expect(r.task_index).toBe(0n);
      });
    }
    await ds.close();
  });
});

describe('images and file rotation', () => {
  it('stores PNG frames as LeRobot image structs, with per-channel stats', async () => {
    const dir = join(tmp.dir, 'images');
    const scenario = loadScenario(join(REPO, 'scenarios/stack-2.json'));
    const pngs = syntheticFrames(8);
    const sink = await LeRobotSink.open(dir, {
      scenario, randomization: 'train', baseSeed: 0, dartNoise: 0, firstIndex: 0, episodes: 3,
      cameras: { names: ['front'], width: 128, height: 128 },
    }, false, { dataFileSizeMB: 1 });
    const rng = new Rng(3);
    for (let i = 0; i < 3; i++) await sink.write(syntheticEpisode(i, pngs, rng));
    await sink.close();

    const info = readInfo(dir);
    expect(info.features['observation.images.front']).toEqual({ dtype: 'image', shape: [128, 128, 3], names: ['height', 'width', 'channels'] });
    // Each 100-frame episode is ~4 MB of PNG, past the 1 MB limit: one data file per episode.
    expect(readdirSync(join(dir, 'data/chunk-000')).sort()).toEqual(['file-000.parquet', 'file-001.parquet', 'file-002.parquet']);
    const stats = JSON.parse(readFileSync(join(dir, 'meta/stats.json'), 'utf8'));
    expect(stats['observation.images.front'].mean).toHaveLength(3);
    expect(stats['observation.images.front'].mean[0]).toHaveLength(1);
    expect(stats['observation.images.front'].mean[0][0]).toHaveLength(1);
    expect(stats['observation.images.front'].count).toEqual([3 * 16]);
    for (const k of ['min', 'max', 'mean', 'q50']) for (const c of stats['observation.images.front'][k]) expect(c[0][0]).toBeGreaterThanOrEqual(0);

    const ds = await DatasetReader.open(dir);
    expect(ds.episodes.map((e) => [e.dataFile, e.fileRow])).toEqual([
      ['data/chunk-000/file-000.parquet', 0], ['data/chunk-000/file-001.parquet', 0], ['data/chunk-000/file-002.parquet', 0],
    ]);
    const rows = await ds.readEpisode(ds.episodes[1], ['observation.images.front', 'frame_index']);
    const img = rows[7]['observation.images.front'] as { bytes: Uint8Array; path: string };
    expect(img.path).toBe('frame-000007.png');
    expect(Buffer.from(img.bytes).equals(Buffer.from(pngs[(100 + 7) % 8]))).toBe(true);
    const batch = (await ds.batches({ batchSize: 4, seed: 1, images: 'rgb', filter: { episodes: [2] } }).next()).value!;
    const pixels = batch.images!['observation.images.front'] as Uint8Array;
    expect(pixels.length).toBe(4 * 128 * 128 * 3);
    const frame = Number(batch.index[0]) - 200;
    expect(Buffer.from(pixels.subarray(0, 128 * 128 * 3)).equals(Buffer.from(decodePngRgb(pngs[(200 + frame) % 8]).data))).toBe(true);
    await ds.close();
    expect((await verifyDataset(dir)).problems).toEqual([]);
  });

  it('commits on the time limit: every commit is a complete, valid dataset', async () => {
    const dir = join(tmp.dir, 'commits');
    let clock = 0;
    await makeDataset(dir, { episodes: 4, writer: { commitIntervalMs: 10, now: () => (clock += 6) } });
    // Each append advances the clock past the interval at most every other episode.
    const files = readdirSync(join(dir, 'data/chunk-000'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(join(dir, 'meta/episodes/chunk-000')).sort()).toEqual(files.sort());
    const report = await verifyDataset(dir);
    expect(report.problems).toEqual([]);
    expect(report.checked.episodes).toBe(4);
  });
});

describe('resume after an interrupted commit', () => {
  it('drops temporary and orphaned files, restores info and stats, and continues without duplicates', async () => {
    const dir = join(tmp.dir, 'resume');
    const clean = join(tmp.dir, 'resume-clean');
    const full = await makeDataset(clean, { episodes: 6 });
    await makeDataset(dir, { episodes: 4, writer: { commitIntervalMs: 0 } });
    const statsBefore = readFileSync(join(dir, 'meta/stats.json'), 'utf8');
    // A kill between renaming a data file and its episodes table leaves an orphan data file;
    // one during writing leaves .tmp files; one before info.json leaves it stale.
    copyFileSync(join(dir, 'data/chunk-000/file-003.parquet'), join(dir, 'data/chunk-000/file-004.parquet'));
    writeFileSync(join(dir, 'data/chunk-000/file-005.parquet.tmp'), 'PAR1 half a file');
    writeFileSync(join(dir, 'meta/episodes/chunk-000/file-004.parquet.tmp'), 'PAR1');
    const info = JSON.parse(readFileSync(join(dir, 'meta/info.json'), 'utf8'));
    writeFileSync(join(dir, 'meta/info.json'), JSON.stringify({ ...info, total_episodes: 2, total_frames: 10 }));
    rmSync(join(dir, 'meta/stats.json'));
    expect((await verifyDataset(dir)).ok).toBe(false);

    const { writer, recovery } = await DatasetWriter.resume(dir);
    await writer.close();
    expect(recovery.removedOrphans).toEqual(['data/chunk-000/file-004.parquet']);
    expect(recovery.removedTemp.sort()).toEqual(['data/chunk-000/file-005.parquet.tmp', 'meta/episodes/chunk-000/file-004.parquet.tmp']);
    expect(recovery.restoredMeta).toBe(true);
    expect(readInfo(dir).total_episodes).toBe(4);
    expect(JSON.parse(readFileSync(join(dir, 'meta/stats.json'), 'utf8'))).toEqual(JSON.parse(statsBefore));

    const more = await makeDataset(dir, { episodes: 6, resume: true });
    expect(more.map((r) => r.index)).toEqual([4, 5]);
    const report = await verifyDataset(dir);
    expect(report.problems).toEqual([]);
    const a = await DatasetReader.open(dir), b = await DatasetReader.open(clean);
    expect(a.episodes.map((e) => e.extras['simreal/source_index'])).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    for (let i = 0; i < 6; i++) {
      const ra = await a.readEpisode(a.episodes[i]), rb = await b.readEpisode(b.episodes[i]);
      expect(ra).toEqual(rb);
      expect(ra.length).toBe(full[i].length);
    }
    await a.close();
    await b.close();
  });

  it('refuses to resume with different generation settings', async () => {
    const dir = join(tmp.dir, 'mismatch');
    await makeDataset(dir, { episodes: 1 });
    await expect(makeDataset(dir, { episodes: 2, seed: 5, resume: true })).rejects.toThrow(/--seed 0, this run uses --seed 5/);
    await expect(makeDataset(dir, { episodes: 2, scenario: 'stack-3', resume: true })).rejects.toThrow(/scenario stack-2, this run is stack-3/);
  });
});
