import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../cli/errors.ts';
import { readSimrealMeta } from '../../sim/dataset/lerobot-sink.ts';
import { mergeDatasets } from '../../sim/dataset/merge.ts';
import { readInfo, readStats } from '../../sim/dataset/meta.ts';
import { DatasetReader } from '../../sim/dataset/reader.ts';
import { verifyDataset } from '../../sim/dataset/verify.ts';
import { makeDataset, tempDir } from './helpers.ts';
import { runDatasetCli } from './run-cli.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const d = (name: string): string => join(tmp.dir, name);
const TOTAL = 7;

beforeAll(async () => {
  await makeDataset(d('whole'), { episodes: TOTAL });
  await makeDataset(d('shard-0'), { episodes: TOTAL, shard: { index: 0, count: 3 } });
  await makeDataset(d('shard-1'), { episodes: TOTAL, shard: { index: 1, count: 3 } });
  await makeDataset(d('shard-2'), { episodes: TOTAL, shard: { index: 2, count: 3 } });
});

describe('dataset merge', () => {
  it('merges shards into the dataset an unsharded run makes', async () => {
    const out = d('merged');
    // Given out of order, as a shell glob might: merge orders shards by their first episode.
    const result = await mergeDatasets([d('shard-2'), d('shard-0'), d('shard-1')], out);
    expect(result.inputs.map((i) => [i.dir.slice(-7), i.episodes, i.firstEpisode])).toEqual([['shard-0', 3, 0], ['shard-1', 2, 3], ['shard-2', 2, 5]]);
    expect((await verifyDataset(out)).problems).toEqual([]);

    const whole = readInfo(d('whole')), merged = readInfo(out);
    expect(merged).toEqual(whole);
    const a = await DatasetReader.open(out), b = await DatasetReader.open(d('whole'));
    expect(a.episodes.map((e) => Number(e.extras['simreal/source_index']))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < TOTAL; i++) {
      expect(await a.readEpisode(a.episodes[i])).toEqual(await b.readEpisode(b.episodes[i]));
      const { 'simreal/data_file_sha256': _a, ...ea } = a.episodes[i].extras;
      const { 'simreal/data_file_sha256': _b, ...eb } = b.episodes[i].extras;
      expect(ea).toEqual(eb);
    }
    await a.close();
    await b.close();
    const sa = readStats(out)!, sb = readStats(d('whole'))!;
    expect(Object.keys(sa).sort()).toEqual(Object.keys(sb).sort());
    for (const f of Object.keys(sb)) for (const k of Object.keys(sb[f])) sb[f][k].forEach((v, i) => expect(sa[f][k][i]).toBeCloseTo(v, 9));
    const meta = readSimrealMeta(out)!;
    expect(meta.shard).toBeUndefined();
    expect([meta.firstIndex, meta.episodes]).toEqual([0, TOTAL]);
  });

  it('refuses datasets with different fps, with the reason', async () => {
    const other = d('fps10');
    cpSync(d('shard-1'), other, { recursive: true });
    const info = JSON.parse(readFileSync(join(other, 'meta/info.json'), 'utf8'));
    writeFileSync(join(other, 'meta/info.json'), JSON.stringify({ ...info, fps: 10 }));
    await expect(mergeDatasets([d('shard-0'), other], d('never-1'))).rejects.toThrow(/fps10 runs at 10 fps but .*shard-0 at 20 fps/);
  });

  it('refuses datasets with different features, with the reason (exit code 2 from the CLI)', async () => {
    await makeDataset(d('stack3'), { scenario: 'stack-3', episodes: 1 });
    let err: unknown;
    try {
      await runDatasetCli(['dataset', 'merge', d('shard-0'), d('stack3'), '--out', d('never-2')]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    expect((err as UserError).message).toMatch(/the features of .*stack3 differ from those of .*shard-0: observation\.state has shape \[\d+\] instead of \[33\]/);
  });

  it('refuses overlapping shards of one run and a non-empty output', async () => {
    cpSync(d('shard-1'), d('shard-1-copy'), { recursive: true });
    await expect(mergeDatasets([d('shard-0'), d('shard-1'), d('shard-1-copy')], d('never-3'))).rejects.toThrow(/both hold episode 3 \(duplicate shards\?\)/);
    mkdirSync(d('full'));
    writeFileSync(join(d('full'), 'x'), '');
    await expect(mergeDatasets([d('shard-0')], d('full'))).rejects.toThrow(/is not empty/);
  });
});
