/**
 * `simreal eval <model> <scenario>`: closed-loop evaluation of a saved model on seeded episodes
 * it never saw (policy/eval/ does the work): success with a 95 % Wilson interval, per-stage
 * rates, failure causes; pose error and grasp success for the pose estimator. `--json` prints the
 * whole result as one JSON object on the last line.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Option } from 'commander';
import type { Command } from 'commander';
import { backendNames } from '../policy/backend.ts';
import { againstExpert, formatAgainstExpert } from '../policy/eval/against-expert.ts';
import { evaluate, formatEvalResult } from '../policy/eval/evaluate.ts';
import { formatSweep, parseSweepParameters, sweep } from '../policy/eval/sweep.ts';
import { SWEEP_PARAMETERS } from '../sim/robustness.ts';
import { sweepFigure } from '../workflows/report/sweep-charts.ts';
import { evaluatePoseFrames, formatPoseFrames } from '../policy/eval/pose-frames.ts';
import type { FixedCamera } from '../policy/eval/pose-frames.ts';
import { calibrationPath, fixedPose, publishedCalibration } from '../bridge/robots/emulated/camera.ts';
import { loadReality } from '../bridge/robots/emulated/reality.ts';
import { ScenarioError } from '../sim/scenario.ts';
import type { Scenario } from '../sim/scenario.ts';
import { readModelCard } from '../policy/model-card.ts';
import type { RandomizationMode } from '../sim/randomization.ts';
import type { CommandModule } from './command-module.ts';
import { createProgress } from './progress.ts';
import type { Progress } from './progress.ts';
import { asUserError, UserError } from './errors.ts';
import { loadScenarioOrExit, parseBackend, parseIntOption, parseNumberOption } from './options.ts';

interface EvalFlags {
  episodes?: string;
  sweep?: string;
  againstExpert?: boolean;
  points: string;
  chart?: string;
  randomization: RandomizationMode;
  looks?: RandomizationMode;
  frames?: string;
  reality?: string;
  perception?: string;
  executionNoise?: string;
  seed?: string;
  workers: string;
  backend?: string;
  group?: string;
  json?: boolean;
  progress: boolean;
}

/**
 * Runs `work` with a progress bar made on its first report (with a success column where the
 * report counts successes), then prints `format(result)`, what `after` adds, and with --json the
 * result as one JSON object on the last line.
 */
async function reported<R>(
  flags: EvalFlags, unit: string,
  work: (tick: (done: number, total: number, ok?: number) => void) => Promise<R>,
  format: (r: R) => string, after?: (r: R) => void,
): Promise<void> {
  let progress: Progress | null = null;
  try {
    const result = await work((done, total, ok) => {
      progress ??= createProgress({ total, enabled: flags.progress, unit, fields: ok === undefined ? {} : { success: '-' } });
      progress.update(done, ok === undefined ? {} : { success: `${((100 * ok) / done).toFixed(1)}%` });
    });
    (progress as Progress | null)?.stop();
    process.stdout.write(`${format(result)}\n`);
    after?.(result);
    if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (err) {
    (progress as Progress | null)?.stop();
    throw asUserError(err);
  }
}

const seedOf = (flags: EvalFlags): number | undefined => (flags.seed === undefined ? undefined : parseIntOption('--seed', flags.seed, 0, 0xffffffff));
const executionNoiseFlag = (flags: EvalFlags): number | undefined => (flags.executionNoise === undefined ? undefined : parseNumberOption('--execution-noise', flags.executionNoise, 0, 1));
const groupOf = (flags: EvalFlags): number | undefined => (flags.group === undefined ? undefined : parseIntOption('--group', flags.group, 1, 1024));
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * `--reality <file>`: the frames the reality's own camera sends (its fixed place, its looks, the
 * calibration file it publishes) under its physics, as the emulated robot draws them.
 */
async function realityFrames(path: string, scenario: Scenario, scenarioPath: string): Promise<{ scenario: Scenario; looks: RandomizationMode; physics: RandomizationMode; fixedCamera: FixedCamera }> {
  let reality;
  try {
    reality = loadReality(path);
  } catch (err) {
    if (err instanceof ScenarioError) throw new UserError(err.message);
    throw err;
  }
  const c = reality.config.camera;
  if (!c) throw new UserError(`${path} has no camera block: --reality measures the estimator on the frames of the reality's own camera`);
  if (reality.scenario.id !== scenario.id) {
    throw new UserError(`${path} sets up scenario ${reality.scenario.id} (${reality.config.scenario}); ${scenarioPath} is ${scenario.id}: give the scenario the reality names`);
  }
  const calibration = calibrationPath(reality);
  let file;
  try {
    file = publishedCalibration(reality);
  } catch (err) {
    if (err instanceof RangeError) throw new UserError(err.message);
    throw new UserError(`cannot read ${calibration}, the calibration of ${path}'s camera: ${(err as Error).message} (write it with: npx simreal robot emulate --reality ${path} --write-calibration)`);
  }
  return {
    scenario: reality.scenario,
    looks: c.looks,
    // The reality's physics are its scenario's training ranges (reality.ts), as the emulated robot runs them.
    physics: 'train',
    fixedCamera: { label: `reality ${reality.config.id}'s ${c.name} camera at its fixed place`, pose: fixedPose(c), calibration: file, calibrationPath: calibration },
  };
}

async function runFrames(modelDir: string, scenarioPath: string, flags: EvalFlags, command: Command): Promise<void> {
  const scenario = loadScenarioOrExit(scenarioPath);
  const frames = parseIntOption('--frames', flags.frames as string, 1, 1_000_000);
  if (flags.reality !== undefined) {
    const clash = ['randomization', 'looks'].filter((k) => command.getOptionValueSource(k) === 'cli');
    if (clash.length) throw new UserError(`--reality measures on the reality's own looks and physics, so --${clash[0]} does not apply; leave it out`);
  }
  const real = flags.reality === undefined ? null : await realityFrames(flags.reality, scenario, scenarioPath);
  return reported(flags, 'frames', (tick) => evaluatePoseFrames({
    modelDir, scenario: real ? real.scenario : scenario, scenarioLabel: scenarioPath, frames,
    looks: real ? real.looks : flags.looks ?? flags.randomization,
    physics: real ? real.physics : flags.randomization,
    fixedCamera: real?.fixedCamera,
    seed: seedOf(flags),
    backend: parseBackend(flags.backend),
    log,
    onFrame: (done, total) => tick(done, total),
  }), formatPoseFrames);
}

/** Default episodes: per evaluation, per value of a sweep, and against the expert. */
const EPISODES = 200, SWEEP_EPISODES = 50, AGAINST_EXPERT_EPISODES = 100;

function runSweep(modelDir: string, scenarioPath: string, flags: EvalFlags): Promise<void> {
  const scenario = loadScenarioOrExit(scenarioPath);
  return reported(flags, 'episodes', (tick) => sweep({
    modelDir,
    scenario,
    scenarioLabel: scenarioPath,
    parameters: parseSweepParameters(flags.sweep as string),
    points: parseIntOption('--points', flags.points, 2, 1000),
    executionNoise: executionNoiseFlag(flags),
    episodes: flags.episodes === undefined ? SWEEP_EPISODES : parseIntOption('--episodes', flags.episodes, 1),
    seed: seedOf(flags),
    workers: parseIntOption('--workers', flags.workers, 0, 256),
    backend: parseBackend(flags.backend),
    group: groupOf(flags),
    log,
    onEpisode: (done, total) => tick(done, total),
  }), formatSweep, (result) => {
    if (!flags.chart) return;
    writeFileSync(flags.chart, sweepFigure(result));
    process.stdout.write(`chart: ${flags.chart}\n`);
  });
}

function runAgainstExpert(modelDir: string, scenarioPath: string, flags: EvalFlags): Promise<void> {
  const scenario = loadScenarioOrExit(scenarioPath);
  return reported(flags, 'episodes', (tick) => againstExpert({
    modelDir, scenario, scenarioLabel: scenarioPath,
    episodes: flags.episodes === undefined ? AGAINST_EXPERT_EPISODES : parseIntOption('--episodes', flags.episodes, 1),
    randomization: flags.randomization,
    executionNoise: executionNoiseFlag(flags),
    seed: seedOf(flags),
    backend: parseBackend(flags.backend),
    log,
    onEpisode: tick,
  }), formatAgainstExpert);
}

async function run(modelDir: string, scenarioPath: string, flags: EvalFlags, command: Command): Promise<void> {
  if (flags.againstExpert) {
    const clash = ['sweep', 'chart', 'looks', 'frames', 'reality', 'perception'].filter((k) => command.getOptionValueSource(k) === 'cli');
    if (clash.length) throw new UserError(`--against-expert compares a state policy with the scripted expert in the states it visits; --${clash[0]} does not apply to it (leave one of the two out)`);
    if (modelDir === 'expert') throw new UserError('--against-expert compares a trained policy with the scripted expert; give a model folder, not `expert`');
    return runAgainstExpert(modelDir, scenarioPath, flags);
  }
  if (flags.sweep !== undefined) {
    const clash = ['randomization', 'looks', 'frames', 'reality', 'perception'].filter((k) => command.getOptionValueSource(k) === 'cli');
    if (clash.length) throw new UserError(`--sweep keeps every parameter but the swept one at its nominal value, so --${clash[0]} does not apply; leave it out (or evaluate without --sweep)`);
    return runSweep(modelDir, scenarioPath, flags);
  }
  if (flags.chart) throw new UserError('--chart draws a sweep; add --sweep <parameter>|all');
  if (flags.frames !== undefined) {
    const kind = (() => { try { return readModelCard(modelDir).kind; } catch { return null; } })();
    if (kind !== null && kind !== 'pose') throw new UserError(`--frames measures a pose estimator on rendered frames; ${modelDir} is a ${kind} model (use --episodes)`);
    return runFrames(modelDir, scenarioPath, flags, command);
  }
  if (flags.reality !== undefined) throw new UserError('--reality measures a pose estimator on the frames of the reality\'s camera: add --frames <count> (to drive the emulated robot, use simreal robot emulate and simreal policy run)');
  const scenario = loadScenarioOrExit(scenarioPath);
  const episodes = flags.episodes === undefined ? EPISODES : parseIntOption('--episodes', flags.episodes, 1);
  return reported(flags, 'episodes', (tick) => evaluate({
    modelDir,
    scenario,
    scenarioLabel: scenarioPath,
    episodes,
    randomization: flags.randomization,
    looks: flags.looks,
    perception: flags.perception,
    executionNoise: executionNoiseFlag(flags),
    seed: seedOf(flags),
    workers: parseIntOption('--workers', flags.workers, 0, 256),
    backend: parseBackend(flags.backend),
    group: groupOf(flags),
    log,
    onEpisode: tick,
  }), formatEvalResult);
}

export const evalCommand: CommandModule = {
  register(program: Command) {
    program
      .command('eval')
      .description('Evaluate a trained model in closed loop on seeded episodes it never saw: success with a 95% Wilson interval, per-stage success, failure causes; pose error for the pose estimator; --sweep: success along each physics parameter, with the training and held-out ranges marked.')
      .argument('<model>', 'model folder from simreal train (model.json, weights.bin, model-card.json), or `expert` for the scripted expert as a baseline')
      .argument('<scenario>', 'scenario file, e.g. scenarios/stack-3.json')
      .option('-n, --episodes <count>', `number of seeded episodes (default ${EPISODES}; with --sweep, per value: default ${SWEEP_EPISODES})`)
      .addOption(new Option('--randomization <mode>', 'physics and visual ranges: training, held-out, or none').choices(['train', 'heldout', 'none']).default('heldout'))
      .addOption(new Option('--looks <mode>', 'visual ranges of rendered frames, when they should differ from --randomization').choices(['train', 'heldout', 'none']))
      .option('--frames <count>', 'pose estimators: measure the error on this many rendered frames (per block: mean, median, p90 with bootstrap intervals) instead of running episodes')
      .option('--reality <file>', 'with --frames: measure on the frames of this reality\'s own camera (its fixed place, looks and calibration file) under its physics, as the emulated robot sends them (e.g. scenarios/reality/lab.json)')
      .option('--perception <model>', 'state policies: see the blocks through this pose estimator (simreal train pose) and the camera instead of reading them from the simulator')
      .option('--execution-noise <std>', 'σ of the seeded Gaussian noise added to every action of the model before it is executed (default: the model card\'s)')
      .option('--seed <int>', 'base of the evaluation seeds (default 20250501); seeds the model trained on are skipped')
      .option('-w, --workers <count>', 'worker threads (0: run in this thread)', String(availableParallelism()))
      .addOption(new Option('--backend <name>', 'tfjs backend for inference (default: the first that works)').choices([...backendNames]))
      .option('--group <n>', 'environments stepped together (one batched inference per step)')
      .option('--sweep <parameters>', `where it breaks: success at each of --points values of one physics parameter across and beyond its training range, the others nominal; a parameter (${SWEEP_PARAMETERS.join(', ')}), several separated by commas, or all`)
      .option('--points <count>', 'values per swept parameter (integer parameters may get fewer)', '12')
      .option('--chart <file.svg>', 'with --sweep: also draw every swept parameter as an SVG figure')
      .option('--against-expert', `state policies: where they part from their teacher: the policy drives (default ${AGAINST_EXPERT_EPISODES} episodes), the scripted expert is asked in every state it visits; per expert stage, the steps failed and successful episodes spent there and the mean |policy − expert| per action dimension (runs in this thread)`)
      .option('--json', 'print the result as one JSON object on the last line')
      .option('--no-progress', 'no progress bar')
      .action(run);
  },
};
