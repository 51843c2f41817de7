import { cpSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../cli/errors.ts';
import { verifyDataset } from '../../sim/dataset/verify.ts';
import { makeDataset, tempDir } from './helpers.ts';
import { runDatasetCli } from './run-cli.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const good = join(tmp.dir, 'good');
beforeAll(async () => {
  // One data file and one episodes table per episode.
  await makeDataset(good, { episodes: 4, writer: { commitIntervalMs: 0 } });
});

let n = 0;
function copy(): string {
  const dir = join(tmp.dir, `case-${n++}`);
  cpSync(good, dir, { recursive: true });
  return dir;
}

async function cliError(dir: string): Promise<UserError> {
  const out = process.stdout.write;
  process.stdout.write = () => true;
  try {
    await runDatasetCli(['dataset', 'info', dir, '--verify']);
  } catch (err) {
    return err as UserError;
  } finally {
    process.stdout.write = out;
  }
  throw new Error('verification passed');
}

describe('dataset info --verify', () => {
  it('passes a good dataset', async () => {
    const r = await verifyDataset(good);
    expect(r).toMatchObject({ ok: true, problems: [], checked: { episodes: 4, dataFiles: 4, rowGroups: 4 } });
  });

  it('names a truncated data file', async () => {
    const dir = copy();
    const f = join(dir, 'data/chunk-000/file-002.parquet');
    truncateSync(f, statSync(f).size - 50);
    const err = await cliError(dir);
    expect(err).toBeInstanceOf(UserError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/data\/chunk-000\/file-002\.parquet: truncated or corrupted parquet file/);
  });

  it('names a data file with corrupted pages', async () => {
    const dir = copy();
    const f = join(dir, 'data/chunk-000/file-001.parquet');
    const bytes = readFileSync(f);
    for (let i = 40; i < 400; i++) bytes[i] = (bytes[i] * 7 + 13) & 255;
    writeFileSync(f, bytes);
    const { problems } = await verifyDataset(dir);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^data\/chunk-000\/file-001\.parquet: corrupted: its SHA-256 is \w+…, the episodes table recorded \w+… when it was written$/);
    expect(problems[1]).toMatch(/^data\/chunk-000\/file-001\.parquet: corrupted data: rows 0\.\.\d+ cannot be decoded/);
  });

  it('finds a changed byte that still decodes, by the checksum recorded at commit', async () => {
    const dir = copy();
    const f = join(dir, 'data/chunk-000/file-000.parquet');
    const bytes = readFileSync(f);
    bytes[Math.floor(bytes.length / 3)] ^= 1;
    writeFileSync(f, bytes);
    const { problems } = await verifyDataset(dir);
    expect(problems[0]).toMatch(/^data\/chunk-000\/file-000\.parquet: corrupted: its SHA-256/);
  });

  it('names a missing, malformed or invalid info.json', async () => {
    const dir = copy();
    rmSync(join(dir, 'meta/info.json'));
    expect((await cliError(dir)).message).toMatch(/meta\/info\.json: missing/);
    writeFileSync(join(dir, 'meta/info.json'), '{"codebase_version": "v3.0",');
    expect((await cliError(dir)).message).toMatch(/meta\/info\.json: malformed JSON/);
    const info = JSON.parse(readFileSync(join(good, 'meta/info.json'), 'utf8'));
    writeFileSync(join(dir, 'meta/info.json'), JSON.stringify({ ...info, fps: 'fast' }));
    expect((await cliError(dir)).message).toMatch(/meta\/info\.json: invalid: fps/);
  });

  it('names an episode index gap', async () => {
    const dir = copy();
    rmSync(join(dir, 'meta/episodes/chunk-000/file-001.parquet'));
    const { problems } = await verifyDataset(dir);
    expect(problems).toContain('meta/episodes/chunk-000/file-002.parquet: episode index gap: episode 2 follows 0 (episode 1 is missing)');
    expect(problems.some((p) => /data\/chunk-000\/file-001\.parquet: no episode refers to this data file/.test(p))).toBe(true);
    expect(problems.some((p) => /total_episodes is 4 but meta\/episodes holds 3/.test(p))).toBe(true);
  });

  it('names row counts that disagree with the metadata', async () => {
    const dir = copy();
    cpSync(join(good, 'data/chunk-000/file-003.parquet'), join(dir, 'data/chunk-000/file-001.parquet'));
    const { problems } = await verifyDataset(dir);
    expect(problems).toContainEqual(expect.stringMatching(/^data\/chunk-000\/file-001\.parquet: holds \d+ rows but its episodes \(1\.\.1\) add up to \d+$/));
  });

  it('prints the summary and notes leftovers of an interrupted write', async () => {
    const dir = copy();
    writeFileSync(join(dir, 'data/chunk-000/file-004.parquet.tmp'), 'PAR1');
    const lines: string[] = [];
    const out = process.stdout.write;
    process.stdout.write = ((s: string) => { lines.push(s); return true; }) as typeof process.stdout.write;
    try {
      await runDatasetCli(['dataset', 'info', dir, '--verify']);
    } finally {
      process.stdout.write = out;
    }
    const text = lines.join('');
    expect(text).toMatch(/episodes 4, frames \d+, fps 20/);
    expect(text).toMatch(/note: data\/chunk-000\/file-004\.parquet\.tmp: left by an interrupted write/);
    expect(text).toMatch(/verified: 4 episodes/);
  });
});
