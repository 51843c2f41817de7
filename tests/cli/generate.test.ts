import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'simreal-cli-'));

function episodes(dir: string): Array<{ episode_index: number; success: boolean; length: number; observation: number[][]; action: number[][] }> {
  return readFileSync(join(dir, 'episodes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('simreal generate', () => {
  it('writes 5 episodes of stack-2 with observations, actions and rewards', async () => {
    const out = join(tmp(), 'run');
    const r = await runCli(['generate', 'scenarios/stack-2.json', '--episodes', '5', '--out', out, '--workers', '2', '--format', 'jsonl', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/done: 5\/5 episodes/);
    const eps = episodes(out);
    expect(eps.map((e) => e.episode_index)).toEqual([0, 1, 2, 3, 4]);
    for (const e of eps) {
      expect(e.success).toBe(true);
      expect(e.observation.length).toBe(e.length);
      expect(e.action.length).toBe(e.length);
      expect(e.action[0].length).toBe(5);
    }
    expect(JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')).scenario.id).toBe('stack-2');
  });

  it('refuses a non-empty --out unless --resume or --overwrite, and resumes after the last episode', async () => {
    const out = join(tmp(), 'run');
    expect((await runCli(['generate', 'scenarios/reach.json', '-n', '3', '-o', out, '--format', 'jsonl', '--no-progress'])).code).toBe(0);
    const refused = await runCli(['generate', 'scenarios/reach.json', '-n', '6', '-o', out, '--format', 'jsonl', '--no-progress']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not empty.*--resume.*--overwrite/);
    const resumed = await runCli(['generate', 'scenarios/reach.json', '-n', '6', '-o', out, '--resume', '--format', 'jsonl', '--no-progress']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/6\/6 episodes.*\(3 new/);
    const resumedEps = episodes(out);
    expect(resumedEps.map((e) => e.episode_index)).toEqual([0, 1, 2, 3, 4, 5]);
    // The same six episodes as one uninterrupted run.
    const fresh = join(tmp(), 'fresh');
    await runCli(['generate', 'scenarios/reach.json', '-n', '6', '-o', fresh, '--format', 'jsonl', '--no-progress']);
    expect(resumedEps).toEqual(episodes(fresh));
    const both = await runCli(['generate', 'scenarios/reach.json', '-n', '6', '-o', out, '--resume', '--overwrite', '--format', 'jsonl']);
    expect(both.code).toBe(2);
  });

  it('rejects a malformed scenario with exit code 2, naming the path, and writes nothing', async () => {
    const dir = tmp();
    const bad = JSON.parse(readFileSync('scenarios/stack-2.json', 'utf8'));
    bad.randomization.friction = [1.2, 0.4];
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    const out = join(dir, 'out');
    const r = await runCli(['generate', join(dir, 'bad.json'), '-n', '2', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/randomization\.friction: expected \[min, max\] with min <= max, got \[1\.2,0\.4\]/);
    expect(existsSync(out)).toBe(false);
  });

  it('explains bad flags', async () => {
    const out = join(tmp(), 'x');
    const r = await runCli(['generate', 'scenarios/reach.json', '-n', 'ten', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--episodes expects an integer/);
    const s = await runCli(['generate', 'scenarios/reach.json', '-n', '4', '-o', out, '--shard', '4/4']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--shard/);
  });

  it('stops cleanly on Ctrl-C and keeps every complete episode', async () => {
    const out = join(tmp(), 'run');
    mkdirSync(out);
    let kill: ((s: NodeJS.Signals) => void) | null = null;
    const running = runCli(['generate', 'scenarios/stack-3.json', '-n', '400', '-o', out, '--resume', '--workers', '1', '--format', 'jsonl', '--no-progress'], { onSpawn: (k) => (kill = k) });
    // Wait until some episodes are on disk, then interrupt.
    const file = join(out, 'episodes.jsonl');
    for (let i = 0; i < 200 && !(existsSync(file) && readFileSync(file, 'utf8').split('\n').length > 3); i++) await new Promise((r) => setTimeout(r, 100));
    (kill as unknown as (s: NodeJS.Signals) => void)('SIGINT');
    const r = await running;
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(/stopped: \d+\/400/);
    const eps = episodes(out);
    expect(eps.length).toBeGreaterThan(1);
    expect(eps.length).toBeLessThan(400);
    expect(eps.map((e) => e.episode_index)).toEqual(eps.map((_, i) => i));
    expect(readdirSync(out).sort()).toEqual(['episodes.jsonl', 'meta.json']);
  });
});

describe('simreal --help', () => {
  it('lists the commands and explains every flag of generate', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/generate/);
    expect(top.stdout).toMatch(/bench/);
    const gen = await runCli(['generate', '--help']);
    for (const flag of ['--episodes', '--out', '--seed', '--workers', '--resume', '--overwrite', '--randomization', '--dart-noise', '--shard', '--render', '--cameras']) {
      expect(gen.stdout).toContain(flag);
    }
  });
});
