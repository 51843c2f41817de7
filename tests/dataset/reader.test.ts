import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticEpisode } from '../../sim/dataset/bench.ts';
import { LeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import type { Batch } from '../../sim/dataset/reader.ts';
import { DatasetReader } from '../../sim/dataset/reader.ts';
import { Rng } from '../../sim/rng.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { REPO, makeDataset, tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const real = join(tmp.dir, 'real');
const synthetic = join(tmp.dir, 'synthetic');

beforeAll(async () => {
  await makeDataset(real, { episodes: 6, writer: { commitIntervalMs: 0 } });
  // Episodes whose success varies (the scripted experts almost always succeed).
  const scenario = loadScenario(join(REPO, 'scenarios/stack-2.json'));
  const sink = await LeRobotSink.open(synthetic, { scenario, randomization: 'train', baseSeed: 0, dartNoise: 0, firstIndex: 0, episodes: 12 }, false);
  const rng = new Rng(11);
  for (let i = 0; i < 12; i++) await sink.write(syntheticEpisode(i, null, rng));
  await sink.close();
});

async function collect(ds: DatasetReader, seed: number, batchSize = 32, shuffleBuffer = 50): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of ds.batches({ batchSize, seed, shuffleBuffer })) out.push(b);
  return out;
}

describe('DatasetReader', () => {
  it('gives the same batches for the same seed, and every frame once per pass', async () => {
    const ds = await DatasetReader.open(real);
    const a = await collect(ds, 1), b = await collect(ds, 1), c = await collect(ds, 2);
    expect(a.map((x) => Array.from(x.index))).toEqual(b.map((x) => Array.from(x.index)));
    expect(a.map((x) => Array.from(x.state))).toEqual(b.map((x) => Array.from(x.state)));
    expect(a.map((x) => Array.from(x.index))).not.toEqual(c.map((x) => Array.from(x.index)));
    const seen = a.flatMap((x) => Array.from(x.index)).sort((p, q) => p - q);
    expect(seen).toEqual(Array.from({ length: ds.info.total_frames }, (_, i) => i));
    expect(a.slice(0, -1).every((x) => x.size === 32)).toBe(true);
    expect(a[0].state.length).toBe(32 * 33);
    expect(a[0].action.length).toBe(32 * 5);
    // Each sample's state and action are those of its frame.
    const frames = new Map<number, { s: number[]; a: number[] }>();
    for await (const f of ds.iterFrames({ columns: ['observation.state', 'action', 'index'] })) {
      frames.set(Number(f.index), { s: f['observation.state'] as number[], a: f.action as number[] });
    }
    const i0 = a[1].index[5];
    expect(Array.from(a[1].state.subarray(5 * 33, 6 * 33))).toEqual(frames.get(i0)!.s.map(Math.fround));
    expect(Array.from(a[1].action.subarray(25, 30))).toEqual(frames.get(i0)!.a.map(Math.fround));
    const dropped = [];
    for await (const x of ds.batches({ batchSize: 32, seed: 1, dropLast: true })) dropped.push(x.size);
    expect(dropped.every((n) => n === 32)).toBe(true);
    await ds.close();
  });

  it('filters by success and by task', async () => {
    const ds = await DatasetReader.open(synthetic);
    const ok = ds.selectEpisodes({ successOnly: true });
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThan(12);
    expect(ok.every((e) => e.success)).toBe(true);
    let frames = 0;
    for await (const b of ds.batches({ batchSize: 64, seed: 3, filter: { successOnly: true } })) frames += b.size;
    expect(frames).toBe(ok.reduce((a, e) => a + e.length, 0));
    expect(ds.selectEpisodes({ tasks: ['StackBlocks-v1'] })).toHaveLength(12);
    expect(ds.selectEpisodes({ tasks: ['Stack the 2 blocks into one tower, each on the previous one.'] })).toHaveLength(12);
    expect(ds.selectEpisodes({ tasks: ['Grasp-v1'] })).toHaveLength(0);
    expect(ds.selectEpisodes({ episodes: [3, 5], successOnly: false }).map((e) => e.index)).toEqual([3, 5]);
    await ds.close();
  });

  it('iterates episodes in order with their metadata', async () => {
    const ds = await DatasetReader.open(real);
    let n = 0;
    for await (const { entry, rows } of ds.iterEpisodes({ columns: ['episode_index', 'frame_index'] })) {
      expect(entry.index).toBe(n++);
      expect(rows.map((r) => Number(r.frame_index))).toEqual(Array.from({ length: entry.length }, (_, t) => t));
      expect(entry.taskId).toBe('StackBlocks-v1');
      expect(typeof entry.extras['simreal/physics/tableFriction']).toBe('number');
    }
    expect(n).toBe(6);
    await ds.close();
  });
});
