/**
 * `simreal dataset info <dir> [--verify] [--json]`, `simreal dataset merge <dirs…> --out <dir>` and
 * `simreal dataset import <LeRobot SO-101 dir> --out <dir>`;
 * `simreal bench dataset` measures write throughput and peak memory. The work is in sim/dataset.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DatasetError } from '../sim/dataset/format.ts';
import { mergeDatasets } from '../sim/dataset/merge.ts';
import { formatSummary, summarize } from '../sim/dataset/summary.ts';
import { verifyDataset } from '../sim/dataset/verify.ts';
import { loadCalibration } from '../sim/robot/so101/calibration-file.ts';
import type { So101Calibration } from '../sim/robot/so101/calibration.ts';
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

interface ImportFlags {
  out: string;
  units?: string;
  calibration?: string;
  base?: string;
}

async function importSo101(dir: string, flags: ImportFlags): Promise<void> {
  const src = resolve(dir), out = resolve(flags.out);
  if (flags.units !== undefined && flags.units !== 'degrees' && flags.units !== 'range') throw new UserError(`--units must be degrees or range, got "${flags.units}"`);
  let calibration: So101Calibration | undefined;
  if (flags.calibration) {
    try {
      calibration = loadCalibration(flags.calibration);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  }
  let base: { x: number; y: number; z: number; yaw: number } | undefined;
  if (flags.base) {
    const v = flags.base.split(',').map(Number);
    if (v.length !== 4 || v.some((x) => !Number.isFinite(x))) throw new UserError(`--base expects x,y,z,yaw (metres, radians), got "${flags.base}"`);
    base = { x: v[0], y: v[1], z: v[2], yaw: v[3] };
  }
  const { importLeRobotSo101 } = await import('../sim/dataset/import-so101.ts');
  await userErrors(src, async () => {
    const r = await importLeRobotSo101(src, out, { units: flags.units as 'degrees' | 'range' | undefined, calibration, base });
    process.stdout.write(`imported ${r.episodes} episodes, ${r.frames} frames (joints in ${r.units}${r.cameras.length ? `; cameras ${r.cameras.join(', ')}` : ''}) into ${out}\n`);
    process.stdout.write(`train on it: simreal train visuomotor ${out}${r.cameras.length ? ` --camera ${r.cameras[0]}` : ''} --out models/…\n`);
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
    dataset
      .command('import')
      .description('Import a LeRobot v3 dataset recorded on an SO-101 (observation.state/action: the six {motor}.pos; videos or images) into a dataset simreal trains from (adds sim.state and sim.action, end-effector form, from the SO-101 geometry).')
      .argument('<dir>', 'LeRobot dataset folder (holds meta/info.json)')
      .requiredOption('-o, --out <dir>', 'output folder (new or empty)')
      .option('--units <degrees|range>', 'how the dataset holds the arm joints: degrees (LeRobot use_degrees=True; simreal\'s own) or range (LeRobot\'s default -100…100, needs --calibration)')
      .option('--calibration <file.json>', 'the recording arm\'s LeRobot calibration file (for --units range)')
      .option('--base <x,y,z,yaw>', 'the arm base in the table frame (m, rad); default where the SO-101 scenarios put it')
      .action(importSo101);
    bench
      .command('dataset')
      .description('Dataset write throughput with 128x128 PNG frames, peak memory at two dataset sizes, and camera frames as PNG vs MP4 (bytes per frame, write and read frames/s, PSNR).')
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
