/**
 * `simreal dataset info <dir> [--verify] [--json]` and `simreal dataset merge <dirs…> --out <dir>`;
 * `simreal bench dataset` measures write throughput and peak memory. The work is in sim/dataset.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DatasetError } from '../sim/dataset/format.ts';
import { mergeDatasets } from '../sim/dataset/merge.ts';
import { formatSummary, summarize } from '../sim/dataset/summary.ts';
import { verifyDataset } from '../sim/dataset/verify.ts';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { parseIntOption } from './options.ts';

/** Dataset problems are the user's to fix: exit code 2, naming the folder and file. */
async function userErrors<T>(root: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DatasetError) throw new UserError(err.file ? `${root}/${err.message}` : err.message);
    throw err;
  }
}

async function info(dir: string, flags: { verify?: boolean; json?: boolean }): Promise<void> {
  const root = resolve(dir);
  await userErrors(root, async () => {
    const report = flags.verify ? await verifyDataset(root) : null;
    if (report && !report.ok) {
      const more = report.problems.length >= 50 ? '\n  … (stopped after 50 problems)' : '';
      throw new UserError(`${root} failed verification:\n  ${report.problems.join('\n  ')}${more}`);
    }
    const summary = await summarize(root);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(report ? { ...summary, verify: report } : summary)}\n`);
      return;
    }
    process.stdout.write(`${formatSummary(summary)}\n`);
    if (report) {
      for (const n of report.notes) process.stdout.write(`note: ${n}\n`);
      const c = report.checked;
      process.stdout.write(`verified: ${c.episodes} episodes, ${c.frames} frames, ${c.dataFiles} data files, ${c.rowGroups} row groups decoded, no problems\n`);
    }
  });
}

async function merge(dirs: string[], flags: { out: string; fileSize?: string }): Promise<void> {
  const out = resolve(flags.out);
  await userErrors(out, async () => {
    const dataFileSizeMB = flags.fileSize === undefined ? undefined : parseIntOption('--file-size', flags.fileSize, 1, 10_000);
    const result = await mergeDatasets(dirs.map((d) => resolve(d)), out, { dataFileSizeMB });
    for (const i of result.inputs) process.stdout.write(`  ${i.dir}: ${i.episodes} episodes → ${i.firstEpisode}..${i.firstEpisode + i.episodes - 1}\n`);
    process.stdout.write(`merged ${result.inputs.length} datasets into ${out}: ${result.episodes} episodes, ${result.frames} frames\n`);
  });
}

export const datasetCommand: CommandModule = {
  register(program: Command, bench: Command) {
    const dataset = program.command('dataset').description('Inspect, verify and merge LeRobotDataset v3.0 folders.');
    dataset
      .command('info')
      .description('Episodes, frames, fps, features, success rate and randomization summary of a dataset.')
      .argument('<dir>', 'dataset folder (holds meta/info.json)')
      .option('--verify', 'check every file of the dataset; exit 2 naming each problem')
      .option('--json', 'print one JSON object')
      .action(info);
    dataset
      .command('merge')
      .description('Merge datasets (e.g. the shards of one run) into one, episodes re-indexed in order.')
      .argument('<dirs...>', 'dataset folders, e.g. data/shard-*')
      .requiredOption('-o, --out <dir>', 'output folder (new or empty)')
      .option('--file-size <mb>', 'data file size of the output in MB (default: the inputs\')')
      .action(merge);
    bench
      .command('dataset')
      .description('Dataset write throughput with 128x128 PNG frames and peak memory at two dataset sizes.')
      .option('--json', 'print one JSON object on the last line')
      .option('--frames <n>', 'frames of the larger memory run', '50000')
      .action(async (flags: { json?: boolean; frames: string }) => {
        const { runDatasetBench } = await import('../sim/dataset/bench.ts');
        const frames = parseIntOption('--frames', flags.frames, 1000);
        const result = await runDatasetBench({ frames, log: flags.json ? () => {} : (l) => process.stdout.write(`${l}\n`) });
        process.stdout.write(`${JSON.stringify(result)}\n`);
      });
  },
};
