/**
 * `simreal run [scenario]`: the main job (`npm start`). Generates demonstrations, trains the
 * state policy and its no-randomization ablation, evaluates them, drives an emulated-reality robot
 * through the bridge, and writes runs/<time>/report.html and summary.json. Stages are cached.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { BackendUnavailableError, NoBackendError, backendNames } from '../policy/backend.ts';
import { PolicyInputError } from '../policy/errors.ts';
import { formatRate } from '../policy/eval/stats.ts';
import { formatMachineSpeed } from '../policy/machine-speed.ts';
import { RUN_DEFAULTS, STAGES } from '../workflows/run/options.ts';
import type { StageName } from '../workflows/run/options.ts';
import { runPipeline } from '../workflows/run/pipeline.ts';
import { loadScenario, ScenarioError } from '../sim/scenario.ts';
import type { CommandModule } from './command-module.ts';
import { UserError } from './errors.ts';
import { parseBackend, parseHiddenOption, parseIntOption, parseNumberOption } from './options.ts';
import { createProgressGroup } from './progress.ts';

interface RunFlags {
  out?: string;
  cache: string;
  reality?: string;
  episodes: string;
  epochs: string;
  hidden: string;
  evalEpisodes: string;
  sweepPoints: string;
  sweepEpisodes: string;
  realityEpisodes: string;
  cameraEpisodes: string;
  pose: 'auto' | 'on' | 'off';
  perception: 'auto' | 'short' | 'full';
  poseFrames?: string;
  dartNoise?: string;
  seed: string;
  workers: string;
  backend?: string;
  skip?: string[];
  progress: boolean;
}

function timestamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Whether the scenario runs the SO-101 (a scenario that does not load: no; the pipeline reports its problem). */
function isSo101Scenario(scenarioPath: string): boolean {
  try {
    return loadScenario(scenarioPath).robot === 'so101';
  } catch {
    return false;
  }
}

export const runCommand: CommandModule = {
  register(program: Command) {
    program
      .command('run')
      .description('Sim-to-real end to end: demonstrations, training, evaluation under training/held-out/no randomization, an emulated robot driven through the bridge, and an HTML report.')
      .argument('[scenario]', 'scenario file', RUN_DEFAULTS.scenario)
      .option('-o, --out <dir>', 'report folder (default runs/<date-time>)')
      .option('--cache <dir>', 'stage cache shared between runs', 'runs/cache')
      .option('--reality <file>', `reality file for the emulated robot (its physics, network and noise; the task is this run's) (default: "${RUN_DEFAULTS.reality}", "${RUN_DEFAULTS.realitySo101}" for an SO-101 scenario)`)
      .option('-n, --episodes <count>', 'demonstrations per dataset (a third clean, a third each with DART noise σ and 2σ)', String(RUN_DEFAULTS.episodes))
      .option('--epochs <count>', 'most training epochs (early stopping may end sooner)', String(RUN_DEFAULTS.epochs))
      .option('--hidden <sizes>', 'hidden layer sizes of the policy and its ablation', RUN_DEFAULTS.hidden.join(','))
      .option('--eval-episodes <count>', 'seeded episodes per evaluation condition', String(RUN_DEFAULTS.evalEpisodes))
      .option('--sweep-points <count>', 'where it breaks: values of each physics parameter the policy is tried at', String(RUN_DEFAULTS.sweepPoints))
      .option('--sweep-episodes <count>', 'where it breaks: seeded episodes per value', String(RUN_DEFAULTS.sweepEpisodes))
      .option('--reality-episodes <count>', 'episodes on the emulated robot', String(RUN_DEFAULTS.realityEpisodes))
      .option('--camera-episodes <count>', 'episodes on the emulated robot through its camera and the pose estimator', String(RUN_DEFAULTS.cameraEpisodes))
      .addOption(new Option('--pose <when>', 'train the pose estimator (rendered frames) and drive the emulated robot through its camera: auto = wherever a WebGPU adapter renders').choices(['auto', 'on', 'off']).default(RUN_DEFAULTS.pose))
      .addOption(new Option('--perception <budget>', `the pose estimator's budget: short = ${RUN_DEFAULTS.poseFramesShort} frames, no ablation (fits the default run on a CPU); full = --pose-frames frames and its ablation without randomization; auto = full on a GPU backend, short elsewhere`).choices(['auto', 'short', 'full']).default(RUN_DEFAULTS.perception))
      .option('--pose-frames <count>', `frames the pose estimator trains on, each rendered fresh (default: ${RUN_DEFAULTS.poseFrames} at --perception full, ${RUN_DEFAULTS.poseFramesShort} at short)`)
      .option('--dart-noise <std>', `DART noise σ (standard deviation, in normalized action units) of the noisy thirds: σ and 2σ (default: ${RUN_DEFAULTS.dartNoise}, ${RUN_DEFAULTS.dartNoiseSo101} for an SO-101 scenario)`)
      .option('--seed <int>', 'base seed', String(RUN_DEFAULTS.seed))
      .option('-w, --workers <count>', 'worker threads for generation and evaluation', String(availableParallelism()))
      .option('--backend <name>', `TensorFlow.js backend: ${backendNames.join(', ')} (default: best available)`)
      .addOption(new Option('--skip <stages...>', 'stages to skip').choices([...STAGES]))
      .option('--no-progress', 'no progress bars')
      .action(async (scenarioPath: string, flags: RunFlags) => {
        const backend = parseBackend(flags.backend);
        const out = resolve(flags.out ?? join('runs', timestamp()));
        const controller = new AbortController();
        const bars = createProgressGroup({ enabled: flags.progress });
        const onSigint = (): void => {
          process.stderr.write('\nsimreal: stopping; completed stages stay cached (run the same command to continue)\n');
          controller.abort();
        };
        process.once('SIGINT', onSigint);
        const so101 = isSo101Scenario(scenarioPath);
        try {
          const { summary, reportPath } = await runPipeline({
            scenarioPath, realityPath: flags.reality ?? (so101 ? RUN_DEFAULTS.realitySo101 : RUN_DEFAULTS.reality), out, cacheDir: resolve(flags.cache),
            episodes: parseIntOption('--episodes', flags.episodes, 2),
            epochs: parseIntOption('--epochs', flags.epochs, 1),
            hidden: parseHiddenOption(flags.hidden),
            evalEpisodes: parseIntOption('--eval-episodes', flags.evalEpisodes, 1),
            sweepPoints: parseIntOption('--sweep-points', flags.sweepPoints, 2, 1000),
            sweepEpisodes: parseIntOption('--sweep-episodes', flags.sweepEpisodes, 1),
            realityEpisodes: parseIntOption('--reality-episodes', flags.realityEpisodes, 1),
            cameraEpisodes: parseIntOption('--camera-episodes', flags.cameraEpisodes, 1),
            pose: flags.pose,
            perception: flags.perception,
            poseFrames: flags.poseFrames === undefined ? RUN_DEFAULTS.poseFrames : parseIntOption('--pose-frames', flags.poseFrames, 16),
            poseFramesShort: flags.poseFrames === undefined ? RUN_DEFAULTS.poseFramesShort : parseIntOption('--pose-frames', flags.poseFrames, 16),
            dartNoise: parseNumberOption('--dart-noise', flags.dartNoise ?? String(so101 ? RUN_DEFAULTS.dartNoiseSo101 : RUN_DEFAULTS.dartNoise), 0, 1),
            seed: parseIntOption('--seed', flags.seed, 0),
            workers: parseIntOption('--workers', flags.workers, 0),
            backend,
            skip: new Set((flags.skip ?? []) as StageName[]),
            // Stages run side by side: their bars are drawn together, and lines go above them.
            log: (l) => bars.log(l),
            progress: (total, unit, fields) => bars({ total, unit, fields }),
            signal: controller.signal,
          });
          const w = Math.max(...summary.success.map((r) => r.label.length), 10);
          const lines = [
            '',
            `simreal run: ${summary.scenario.id} in ${(summary.seconds / 60).toFixed(1)} min${summary.machine.mlpWasmSamplesPerSec ? ` on a machine that trains ${formatMachineSpeed(summary.machine.mlpWasmSamplesPerSec)}` : ''}, backend ${summary.backend.name} on ${summary.backend.device}`,
            ...summary.success.map((r) => `  ${r.label.padEnd(w)}  ${formatRate(r.rate)}`),
            ...(summary.bridge ? [`  ${'bridge round trip'.padEnd(w)}  p50 ${summary.bridge.roundTripMs.p50.toFixed(2)} ms, p99 ${summary.bridge.roundTripMs.p99.toFixed(2)} ms`] : []),
            ...(summary.perception ? [`  ${'camera to action'.padEnd(w)}  p50 ${summary.perception.cameraToActionMs.p50.toFixed(1)} ms, p99 ${summary.perception.cameraToActionMs.p99.toFixed(1)} ms; ${summary.perception.staleSteps} of ${summary.perception.steps} steps stale`] : []),
            '',
            `report:  ${relative(process.cwd(), reportPath) || reportPath}`,
            `summary: ${relative(process.cwd(), join(out, 'summary.json'))}`,
            '',
          ];
          process.stdout.write(lines.join('\n'));
        } catch (err) {
          if (err instanceof ScenarioError || err instanceof PolicyInputError || err instanceof BackendUnavailableError || err instanceof NoBackendError) {
            throw new UserError(err.message);
          }
          if (controller.signal.aborted) {
            process.exitCode = 130;
            return;
          }
          throw err;
        } finally {
          process.off('SIGINT', onSigint);
        }
      });
  },
};
