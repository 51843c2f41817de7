/**
 * `simreal policy run`: drive a robot on a bridge with a trained state policy, seeing the blocks
 * as the robot reports them or, with `--perception <pose model>`, through the robot's camera.
 */
import type { Command } from 'commander';
import { spread } from '../workflows/bridge-run.ts';
import { runPolicyOnBridge } from '../workflows/policy-on-bridge.ts';
import { PolicyInputError } from '../policy/errors.ts';
import { formatRate } from '../policy/eval/stats.ts';
import { DEFAULT_TOKEN_FILE, readToken } from './bridge-access.ts';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { parseBackend, parseIntOption, parseNumberOption } from './options.ts';
import { createProgress } from './progress.ts';

interface RunFlags {
  bridge: string;
  robot: string;
  episodes: string;
  tokenFile: string;
  backend?: string;
  json?: boolean;
  perception?: string;
  frameWait?: string;
  executionNoise?: string;
  progress: boolean;
}

const PERCEPTION_HELP = `
With --perception the policy sees the blocks only through the robot's camera: each frame of the
robot's calibrated camera feature (camera.front) goes through the pose estimator, and the policy's
block features come from the estimate, its robot features from the robot's robot.state; the
robot's policy.state (true block poses, which only a simulator has) is never read. The robot
must offer both, or the run stops before the lease saying what is missing. It prints, besides
the success rate, the camera-to-action latency (frame capture → command sent) p50/p99, the stale
steps (acted on a frame older than the step before), and any hold it asked for because the
camera went quiet.

Example:
  npx simreal robot emulate --bridge ws://localhost:8765          # the lab reality, with its camera
  npx simreal policy run models/s2-bc --perception models/s2-pose --bridge ws://localhost:8765 --robot emu-1 --episodes 40`;

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
      .option('--no-progress', 'no progress bar')
      .option('--perception <model>', "a pose estimator (simreal train pose): see the blocks through the robot's camera")
      .option('--frame-wait <ms>', "with --perception: longest wait after a step's observation for its frame's estimate (default: half a control period)")
      .option('--execution-noise <std>', "σ of the seeded Gaussian noise added to each action before it is sent (default: the model card's; 0 sends the policy's actions exactly)")
      .addHelpText('after', PERCEPTION_HELP)
      .action(async (modelDir: string, flags: RunFlags) => {
        const backend = parseBackend(flags.backend);
        const episodes = parseIntOption('--episodes', flags.episodes, 1);
        const frameWaitMs = flags.frameWait !== undefined ? parseNumberOption('--frame-wait', flags.frameWait, 0, 1000) : undefined;
        if (frameWaitMs !== undefined && !flags.perception) throw new UserError('--frame-wait applies to --perception runs only');
        const progress = createProgress({ total: episodes, unit: 'episodes', enabled: !flags.json && flags.progress });
        let ok = 0;
        let r;
        try {
          r = await runPolicyOnBridge({
            modelDir, url: flags.bridge, token: readToken(flags.tokenFile), robot: flags.robot, episodes,
            backend, perceptionDir: flags.perception, frameWaitMs,
            executionNoise: flags.executionNoise !== undefined ? parseNumberOption('--execution-noise', flags.executionNoise, 0, 1) : undefined,
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
        const rt = spread(r.roundTripMs);
        const p = r.perception;
        const perception = p ? {
          model: p.model, camera: p.camera, calibration: p.calibration, inputs: p.inputs,
          camera_to_action_ms: spread(p.cameraToActionMs), estimate_ms: spread(p.estimateMs),
          steps: p.steps, stale_steps: p.staleSteps, waited_out: p.waitedOut,
          frames: { received: p.framesReceived, estimated: p.framesEstimated, superseded: p.framesSuperseded },
          estimates_published: p.estimatesPublished, camera_holds: p.cameraHolds,
        } : undefined;
        const summary = {
          robot: r.robot, model: modelDir, backend: r.backend,
          success: r.success, episodes: r.episodes,
          commands: r.commands, clamped: r.clamped, clamp_reasons: r.clampReasons,
          round_trip_ms: { p50: rt.p50, p99: rt.p99, max: rt.max },
          ...(perception ? { perception } : {}),
        };
        if (!flags.json) {
          process.stdout.write(`success on ${r.robot}${p ? ` through ${p.camera}` : ''}: ${formatRate(r.success)}\ncommand round trip p50 ${summary.round_trip_ms.p50.toFixed(2)} ms, p99 ${summary.round_trip_ms.p99.toFixed(2)} ms; ${r.clamped}/${r.commands} commands clamped by the bridge\n`);
          if (perception && p) {
            const c = perception.camera_to_action_ms, e = perception.estimate_ms;
            process.stdout.write(
              `camera to action (frame capture → command sent) p50 ${c.p50.toFixed(1)} ms, p99 ${c.p99.toFixed(1)} ms over ${c.n} commands; estimator p50 ${e.p50.toFixed(1)} ms, p99 ${e.p99.toFixed(1)} ms\n` +
                `${p.staleSteps} of ${p.steps} steps stale (their frame older than the step before), ${p.waitedOut} acted at the frame wait's end; frames: ${p.framesReceived} received, ${p.framesEstimated} estimated, ${p.framesSuperseded} replaced by a newer one first; ${p.estimatesPublished} estimates published` +
                `${p.cameraHolds.length ? `; held the robot ${p.cameraHolds.length} time(s) for the camera (${p.cameraHolds[0]})` : ''}\n`,
            );
          }
        }
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      });
  },
};
