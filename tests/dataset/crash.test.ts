import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetReader } from '../../sim/dataset/reader.ts';
import { verifyDataset } from '../../sim/dataset/verify.ts';
import { REPO, makeDataset, tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const CHILD = join(REPO, 'tests/dataset/generate-child.ts');
const TOTAL = 24;

function committed(dir: string): number {
  try {
    return JSON.parse(readFileSync(join(dir, 'meta/info.json'), 'utf8')).total_episodes as number;
  } catch {
    return 0;
  }
}

describe('kill -9 during generation', () => {
  it('leaves only complete episodes with consistent metadata, and --resume finishes without duplicates', async () => {
    const dir = join(tmp.dir, 'killed');
    const child = spawn(process.execPath, [CHILD, dir, String(TOTAL)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Kill once a few episodes are committed and the run is still going.
    const start = Date.now();
    while (committed(dir) < 3 && Date.now() - start < 30_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    expect(child.exitCode, stderr).toBe(null);
    child.kill('SIGKILL');
    expect(await exited).toBe(null);

    const atKill = committed(dir);
    expect(atKill).toBeGreaterThanOrEqual(3);
    expect(atKill).toBeLessThan(TOTAL);
    // The interrupted dataset verifies: info, episodes and data files agree; a half-written
    // .tmp file, if the kill caught one, is not part of it.
    const report = await verifyDataset(dir);
    expect(report.problems).toEqual([]);
    expect(report.checked.episodes).toBe(atKill);
    const partial = await DatasetReader.open(dir);
    for (const e of partial.episodes) {
      const rows = await partial.readEpisode(e, ['next.done', 'frame_index']);
      expect(rows.length).toBe(e.length);
      expect(rows.at(-1)!['next.done']).toBe(true);
    }
    await partial.close();

    const resumed = spawnSync(process.execPath, [CHILD, dir, String(TOTAL), '--resume'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(readdirSync(join(dir, 'data/chunk-000')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const after = await verifyDataset(dir);
    expect(after.problems).toEqual([]);
    expect(after.notes).toEqual([]);
    expect(after.checked.episodes).toBe(TOTAL);

    // Same episodes, in order, each once, identical to an uninterrupted run.
    const clean = join(tmp.dir, 'clean');
    await makeDataset(clean, { episodes: TOTAL });
    const a = await DatasetReader.open(dir), b = await DatasetReader.open(clean);
    expect(a.episodes.map((e) => Number(e.extras['simreal/source_index']))).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    const indices = new Set<bigint>();
    for (let i = 0; i < TOTAL; i++) {
      const ra = await a.readEpisode(a.episodes[i]);
      expect(ra).toEqual(await b.readEpisode(b.episodes[i]));
      for (const r of ra) indices.add(r.index as bigint);
    }
    expect(indices.size).toBe(a.info.total_frames);
    await a.close();
    await b.close();
    expect(existsSync(join(dir, 'meta/stats.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'meta/stats.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(join(clean, 'meta/stats.json'), 'utf8')));
  });
});
