/**
 * `simreal recording recover` (a recording cut short by a crash → a complete MCAP file) and
 * `simreal bench recording` (kill -9 of a recording bridge at random moments, then recovery).
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { parseIntOption, parseNumberOption } from './options.ts';
import { recoverRecording, RecoverError } from '../bridge/mcap/recover.ts';
import { runRecordingCrashBench } from '../bridge/bench/recording-crash.ts';

/** The command running now: the crash bench starts bridges with it. */
const BIN = process.argv[1];

function defaultOut(file: string): string {
  const ext = path.extname(file);
  return path.join(path.dirname(file), `${path.basename(file, ext)}.recovered${ext || '.mcap'}`);
}

const n = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

function iso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

async function recover(file: string, flags: { out?: string; overwrite?: boolean }): Promise<void> {
  if (!fs.existsSync(file)) throw new UserError(`${file} does not exist`);
  if (!fs.statSync(file).isFile()) throw new UserError(`${file} is not a file`);
  const out = flags.out ?? defaultOut(file);
  if (path.resolve(out) === path.resolve(file)) throw new UserError('--out must name a new file, not the recording being recovered');
  let r;
  try {
    r = await recoverRecording(file, out, { overwrite: flags.overwrite });
  } catch (e) {
    if (e instanceof RecoverError) throw new UserError(e.message);
    throw e;
  }
  const span = r.messages ? ` from ${iso(r.startNs)} to ${iso(r.endNs)} (${(Number(r.endNs - r.startNs) / 1e9).toFixed(1)} s)` : '';
  if (r.status === 'complete') {
    process.stdout.write(`${file} is complete (${n(r.messages, 'message')} on ${n(r.channels, 'channel')}${span}); nothing to recover, nothing written\n`);
    return;
  }
  process.stdout.write(`recovered ${n(r.messages, 'message')} on ${n(r.channels, 'channel')} in ${n(r.chunks, 'chunk')}${span}\n  from ${file}: ${r.stoppedBecause}\n  to   ${out}\n`);
}

export const recordingCommand: CommandModule = {
  register(program: Command, bench: Command) {
    const group = program.command('recording').description('Work with bridge recordings (MCAP).');
    group
      .command('recover')
      .description('Rewrite a recording cut short by a crash (kill -9, power loss) into a complete, indexed MCAP file: every complete chunk is kept.')
      .argument('<file.mcap>', 'the truncated recording')
      .option('--out <file.mcap>', 'where to write the recovered file (default: <name>.recovered.mcap beside it)')
      .option('--overwrite', 'replace --out if it exists')
      .action((file: string, flags: { out?: string; overwrite?: boolean }) => recover(file, flags));

    bench
      .command('recording')
      .description('kill -9 a recording bridge at random moments, recover each file and check it with both MCAP readers; reports what each crash lost.')
      .option('--json', 'print only the JSON line on stdout')
      .option('--trials <n>', 'number of kills', '20')
      .option('--min-seconds <s>', 'earliest kill, seconds after the bridge listens', '1.5')
      .option('--max-seconds <s>', 'latest kill', '6')
      .option('--flush <ms>', 'the recorder flush interval (bridge --record-flush)', '1000')
      .option('--seed <n>', 'seed of the kill moments', '1')
      .action(async (flags: { json?: boolean; trials: string; minSeconds: string; maxSeconds: string; flush: string; seed: string }) => {
        const minSeconds = parseNumberOption('--min-seconds', flags.minSeconds, 0.1, 600);
        const r = await runRecordingCrashBench({
          trials: parseIntOption('--trials', flags.trials, 1, 10_000),
          minSeconds,
          maxSeconds: parseNumberOption('--max-seconds', flags.maxSeconds, minSeconds, 600),
          flushMs: parseIntOption('--flush', flags.flush, 10, 3_600_000),
          seed: parseIntOption('--seed', flags.seed),
          bridgeArgv: ({ file, tokenFile, flushMs }) => ({
            command: process.execPath,
            args: [BIN, 'bridge', '--port', '0', '--quiet', '--token-file', tokenFile, '--record', file, '--record-flush', String(flushMs)],
          }),
          log: flags.json ? undefined : (l) => process.stderr.write(`${l}\n`),
        });
        if (!flags.json) {
          process.stdout.write(`${r.trials} kills: ${r.recovered_valid} recovered files valid in both readers; acknowledged commands lost: ${r.commands_lost_total}, the oldest ${r.max_lost_window_ms} ms before its kill (flush interval ${r.flush_interval_ms} ms; ${r.within_one_interval}/${r.trials} within it)\n`);
        }
        process.stdout.write(`${JSON.stringify(r)}\n`);
      });
  },
};
