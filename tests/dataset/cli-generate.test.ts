/**
 * `simreal generate … --format lerobot` end to end (worker threads, shards, --resume), with the
 * sink registered the way cli/generate.ts lists output formats, then `dataset merge` and
 * `dataset info --verify` through the CLI module.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_FORMATS, generateCommand } from '../../cli/generate.ts';
import { openLeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import { readInfo } from '../../sim/dataset/meta.ts';
import { DatasetReader } from '../../sim/dataset/reader.ts';
import { REPO, tempDir } from './helpers.ts';
import { runDatasetCli } from './run-cli.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

if (!OUTPUT_FORMATS.some((f) => f.name === 'lerobot')) OUTPUT_FORMATS.unshift({ name: 'lerobot', open: openLeRobotSink });

async function simreal(argv: string[]): Promise<string> {
  const program = new Command('simreal').exitOverride();
  generateCommand.register(program, new Command('bench'));
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => { out.push(s); return true; }) as typeof process.stdout.write;
  try {
    if (argv[0] === 'dataset') await runDatasetCli(argv);
    else await program.parseAsync(argv, { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  return out.join('');
}

describe('simreal generate --format lerobot', () => {
  it('runs shards on worker threads, resumes, merges and verifies', async () => {
    const scenario = join(REPO, 'scenarios/stack-2.json');
    const shard = (k: number): string => join(tmp.dir, `shard-${k}`);
    for (const k of [1, 0]) {
      await simreal(['generate', scenario, '--episodes', '6', '--seed', '3', '--shard', `${k}/2`, '--workers', '2', '--resume', '--no-progress', '--format', 'lerobot', '--out', shard(k)]);
    }
    expect(readInfo(shard(0)).total_episodes).toBe(3);
    // A second --resume finds the shard complete.
    expect(await simreal(['generate', scenario, '--episodes', '6', '--seed', '3', '--shard', '0/2', '--resume', '--no-progress', '--format', 'lerobot', '--out', shard(0)]))
      .toMatch(/already holds all 3 episodes/);
    const all = join(tmp.dir, 'all');
    expect(await simreal(['dataset', 'merge', shard(1), shard(0), '--out', all])).toMatch(/merged 2 datasets .*: 6 episodes/);
    expect(await simreal(['dataset', 'info', all, '--verify'])).toMatch(/verified: 6 episodes/);
    const whole = join(tmp.dir, 'whole');
    await simreal(['generate', scenario, '--episodes', '6', '--seed', '3', '--workers', '0', '--no-progress', '--format', 'lerobot', '--out', whole]);
    const a = await DatasetReader.open(all), b = await DatasetReader.open(whole);
    for (let i = 0; i < 6; i++) expect(await a.readEpisode(a.episodes[i], ['observation.state', 'action', 'index'])).toEqual(await b.readEpisode(b.episodes[i], ['observation.state', 'action', 'index']));
    await a.close();
    await b.close();
  });
});
