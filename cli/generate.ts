/**
 * `simreal generate <scenario>`: run the scenario's scripted expert over seeded, randomized
 * episodes and write them to disk, in parallel, with a progress bar. Ctrl-C stops cleanly.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { generate } from '../sim/generate/generate.ts';
import { DatasetError } from '../sim/dataset/format.ts';
import { openLeRobotSink } from '../sim/dataset/lerobot-sink.ts';
import { JsonlSink } from '../sim/generate/jsonl-sink.ts';
import type { EpisodeSink, GenerationMeta } from '../sim/generate/sink.ts';
import type { RenderSpec } from '../sim/generate/job.ts';
import { FRAME_RENDERER_MODULE } from '../sim/render/frame-renderer-module.ts';
import type { RandomizationMode } from '../sim/randomization.ts';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { createProgress } from './progress.ts';
import { twoStageInterrupt } from './signals.ts';
import { loadScenarioOrExit, parseIntOption, parseNumberOption } from './options.ts';

export interface OutputFormat {
  name: string;
  open(dir: string, meta: GenerationMeta, resume: boolean): Promise<EpisodeSink>;
}

/** Output formats by name; the first is the default. */
export const OUTPUT_FORMATS: OutputFormat[] = [
  { name: 'lerobot', open: openLeRobotSink },
  { name: 'jsonl', open: async (dir, meta, resume) => new JsonlSink(dir, meta, resume) },
];

/** Parses `k/n` (0-based shard k of n). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UserError(`--shard expects K/N such as 3/16 (shard K of N, K from 0), got "${text}"`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index >= count) throw new UserError(`--shard ${text}: K must be in 0..N-1 and N >= 1`);
  return { index, count };
}

/** Episode index range [first, first + count) of shard k of n over `total` episodes. */
export function shardRange(total: number, shard: { index: number; count: number }): { first: number; count: number } {
  const per = Math.floor(total / shard.count), extra = total % shard.count;
  const first = shard.index * per + Math.min(shard.index, extra);
  return { first, count: per + (shard.index < extra ? 1 : 0) };
}

/** Refuses a non-empty output directory unless resuming or overwriting. */
export function prepareOutDir(out: string, resume: boolean, overwrite: boolean): void {
  if (resume && overwrite) throw new UserError('--resume and --overwrite contradict each other: choose one');
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0 && !resume && !overwrite) {
      throw new UserError(`${out} is not empty. Use --resume to continue the episodes already there, --overwrite to replace them, or choose another --out.`);
    }
    if (overwrite) rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
}

interface GenerateFlags {
  episodes: string;
  out: string;
  seed: string;
  workers: string;
  resume?: boolean;
  overwrite?: boolean;
  randomization: RandomizationMode;
  dartNoise: string;
  shard?: string;
  render?: string;
  cameras: string;
  format: string;
  progress: boolean;
}

async function run(scenarioPath: string, flags: GenerateFlags): Promise<void> {
  const scenario = loadScenarioOrExit(scenarioPath);
  const total = parseIntOption('--episodes', flags.episodes, 1);
  const baseSeed = parseIntOption('--seed', flags.seed, 0);
  const workers = parseIntOption('--workers', flags.workers, 0);
  const dartNoise = parseNumberOption('--dart-noise', flags.dartNoise, 0, 1);
  const shard = flags.shard ? parseShard(flags.shard) : undefined;
  const { first, count } = shard ? shardRange(total, shard) : { first: 0, count: total };
  const format = OUTPUT_FORMATS.find((f) => f.name === flags.format);
  if (!format) throw new UserError(`--format ${flags.format} is not known; choose one of ${OUTPUT_FORMATS.map((f) => f.name).join(', ')}`);
  let render: RenderSpec | undefined;
  if (flags.render !== undefined) {
    const size = parseIntOption('--render', flags.render, 16, 1024);
    const cameras = flags.cameras.split(',').map((c) => c.trim()).filter(Boolean);
    if (cameras.length === 0) throw new UserError('--cameras needs at least one camera name (front, wrist)');
    render = { cameras, width: size, height: size };
  }
  const out = resolve(flags.out);
  prepareOutDir(out, !!flags.resume, !!flags.overwrite);
  const meta: GenerationMeta = {
    scenario,
    scenarioPath: resolve(scenarioPath),
    randomization: flags.randomization,
    baseSeed,
    dartNoise,
    firstIndex: first,
    episodes: count,
    shard,
    cameras: render ? { names: render.cameras, width: render.width, height: render.height } : undefined,
  };
  let sink: EpisodeSink;
  try {
    sink = await format.open(out, meta, !!flags.resume);
  } catch (err) {
    if (err instanceof DatasetError) throw new UserError(err.message);
    throw err;
  }
  if (sink.completed >= count) {
    await sink.close();
    process.stdout.write(`${out} already holds all ${count} episodes; nothing to do.\n`);
    return;
  }

  const interrupt = twoStageInterrupt({ stopsWhen: 'after the episodes in progress', kept: 'episodes written so far are kept' });
  const progress = createProgress({ total: count, start: sink.completed, enabled: flags.progress, unit: 'episodes' });
  let ok = 0, done = 0;
  try {
    const result = await generate({
      job: { scenario, randomization: flags.randomization, dartNoise, render, renderer: FRAME_RENDERER_MODULE },
      sink,
      baseSeed,
      first,
      count,
      workers,
      signal: interrupt.signal,
      onEpisode: (ep, n) => {
        done++;
        if (ep.success) ok++;
        progress.update(n, { success: `${((100 * ok) / done).toFixed(1)}%` });
      },
    });
    progress.stop();
    await sink.close();
    const rate = result.written / Math.max(result.seconds, 1e-9);
    process.stdout.write(
      `${result.stopped ? 'stopped' : 'done'}: ${sink.completed}/${count} episodes in ${out} ` +
        `(${result.written} new, expert success ${result.written ? ((100 * result.successes) / result.written).toFixed(1) : '-'}%, ` +
        `${rate.toFixed(1)} episodes/s on ${workers} worker${workers === 1 ? '' : 's'})\n`,
    );
    if (result.stopped) {
      process.stdout.write(`resume with the same command plus --resume\n`);
      process.exitCode = 130;
    }
  } catch (err) {
    progress.stop();
    await sink.close();
    throw err;
  } finally {
    interrupt.release();
  }
}

export const generateCommand: CommandModule = {
  register(program: Command) {
    program
      .command('generate')
      .description('Run the scenario\'s scripted expert over seeded, randomized episodes and write a dataset.')
      .argument('<scenario>', 'scenario file, e.g. scenarios/stack-3.json')
      .requiredOption('-n, --episodes <count>', 'number of episodes (the whole dataset when sharding)')
      .requiredOption('-o, --out <dir>', 'output directory (must be empty unless --resume or --overwrite)')
      .option('--seed <int>', 'base seed: episode i uses a seed derived from it and i', '0')
      .option('-w, --workers <count>', 'worker threads (0: run in this thread)', String(availableParallelism()))
      .option('--resume', 'continue after the last complete episode in --out')
      .option('--overwrite', 'delete --out first')
      .addOption(new Option('--randomization <mode>', 'physics ranges: the scenario\'s training ranges, held-out ranges, or none').choices(['train', 'heldout', 'none']).default('train'))
      .option('--dart-noise <std>', 'DART noise: std of Gaussian noise added to executed actions (labels stay clean)', '0')
      .option('--shard <k/n>', 'make shard k (from 0) of n: a disjoint slice of the episode indices')
      .option('--render <size>', 'render camera images of <size>x<size> pixels with every frame')
      .option('--cameras <names>', 'cameras to render, comma-separated', 'front')
      .option('--format <name>', `output format: ${OUTPUT_FORMATS.map((f) => f.name).join(', ')}`, OUTPUT_FORMATS[0].name)
      .option('--no-progress', 'no progress bar')
      .action(run);
  },
};
