/** `simreal policy run`: drive a robot on a bridge with a trained state policy. */
import type { Command } from 'commander';
import { runPolicyOnBridge } from '../workflows/policy-on-bridge.ts';
import { PolicyInputError } from '../policy/errors.ts';
import { formatRate } from '../policy/eval/stats.ts';
import { DEFAULT_TOKEN_FILE, readToken } from './bridge-access.ts';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { parseBackend, parseIntOption } from './options.ts';
import { createProgress } from './progress.ts';

interface RunFlags {
  bridge: string;
  robot: string;
  episodes: string;
  tokenFile: string;
  backend?: string;
  json?: boolean;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export const policyRunCommand: CommandModule = {
  register(program: Command) {
    const policy = program.commands.find((c) => c.name() === 'policy') ?? program.command('policy').description('Run trained policies on robots.');
    policy
      .command('run')
      .description('Drive a robot on a bridge with a trained state policy and report its success over the robot\'s episodes.')
      .argument('<model>', 'model directory (simreal train bc)')
      .requiredOption('--bridge <url>', 'bridge URL, e.g. ws://localhost:8765')
      .option('--robot <id>', 'robot id on the bridge', 'emu-1')
      .option('-n, --episodes <count>', 'finished episodes to run', '20')
      .option('--token-file <file>', 'bridge token file', DEFAULT_TOKEN_FILE)
      .option('--backend <name>', 'TensorFlow.js backend (default: best available)')
      .option('--json', 'print one JSON object on the last line')
      .action(async (modelDir: string, flags: RunFlags) => {
        const backend = parseBackend(flags.backend);
        const episodes = parseIntOption('--episodes', flags.episodes, 1);
        const progress = createProgress({ total: episodes, unit: 'episodes', enabled: !flags.json });
        let ok = 0;
        let r;
        try {
          r = await runPolicyOnBridge({
            modelDir, url: flags.bridge, token: readToken(flags.tokenFile), robot: flags.robot, episodes,
            backend,
            log: (l) => process.stderr.write(`${l}\n`),
            onEpisode: (e, n) => {
              if (e.success) ok++;
              progress.update(n, { success: `${((100 * ok) / n).toFixed(0)}%` });
            },
          });
        } catch (err) {
          progress.stop();
          if (err instanceof PolicyInputError) throw new UserError(err.message);
          throw err;
        }
        progress.stop();
        const rt = [...r.roundTripMs].sort((a, b) => a - b);
        const summary = {
          robot: r.robot, model: modelDir, backend: r.backend,
          success: r.success, episodes: r.episodes,
          commands: r.commands, clamped: r.clamped, clamp_reasons: r.clampReasons,
          round_trip_ms: { p50: percentile(rt, 0.5), p99: percentile(rt, 0.99), max: rt[rt.length - 1] ?? NaN },
        };
        if (!flags.json) {
          process.stdout.write(`success on ${r.robot}: ${formatRate(r.success)}\ncommand round trip p50 ${summary.round_trip_ms.p50.toFixed(2)} ms, p99 ${summary.round_trip_ms.p99.toFixed(2)} ms; ${r.clamped}/${r.commands} commands clamped by the bridge\n`);
        }
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      });
  },
};
