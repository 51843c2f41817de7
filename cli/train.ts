/**
 * `simreal train bc|pose|visuomotor <datasets...> --out <dir>`: train a policy or the pose
 * estimator (policy/train/ does the work). The backend and device are printed first, then a
 * progress bar with loss, validation loss, samples/s and ETA. Ctrl-C stops after the current
 * batch, keeping the last epoch's checkpoint (continue with --resume).
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { backendNames } from '../policy/backend.ts';
import { trainBc } from '../policy/train/bc.ts';
import { DEFAULT_EXECUTION_NOISE } from '../policy/execution-noise.ts';
import { trainVisuomotor } from '../policy/train/visuomotor.ts';
import type { TrainOptions, TrainResult } from '../policy/train/run.ts';
import type { TrainProgress } from '../policy/train/trainer.ts';
import type { CommandModule } from './command-module.ts';
import { UserError, asUserError } from './errors.ts';
import { streamOptions, trainPoseFromDatasets, trainPoseFromScenario } from './train-pose.ts';
import { daggerOptions, trainDaggerFromDatasets, trainDaggerFromScenario } from './train-dagger.ts';
import type { DaggerFlags } from './train-dagger.ts';
import type { StreamFlags } from './train-pose.ts';
import { createProgress } from './progress.ts';
import type { Progress } from './progress.ts';
import { twoStageInterrupt } from './signals.ts';
import { loadScenarioOrExit, parseBackend, parseIntOption, parseNumberOption, parseHiddenOption } from './options.ts';

interface TrainFlags {
  out: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  lrSchedule?: 'plateau' | 'cosine';
  patience?: string;
  valFraction?: string;
  seed: string;
  backend?: string;
  resume?: boolean;
  overwrite?: boolean;
  successOnly?: boolean;
  maxEpisodes?: string;
  framesPerEpisode?: string;
  camera?: string;
  hidden?: string;
  targetFeatures?: boolean;
  selectEpisodes?: string;
  executionNoise?: string;
  scenario?: string;
  progress: boolean;
  json?: boolean;
}

function options(datasets: string[], f: TrainFlags): TrainOptions {
  return {
    datasets,
    out: f.out,
    epochs: f.epochs === undefined ? undefined : parseIntOption('--epochs', f.epochs, 1),
    batchSize: f.batchSize === undefined ? undefined : parseIntOption('--batch-size', f.batchSize, 1, 65536),
    learningRate: f.lr === undefined ? undefined : parseNumberOption('--lr', f.lr, 1e-7, 1),
    lrSchedule: f.lrSchedule,
    patience: f.patience === undefined ? undefined : parseIntOption('--patience', f.patience, 0),
    valFraction: f.valFraction === undefined ? undefined : parseNumberOption('--val-fraction', f.valFraction, 0, 0.9),
    seed: parseIntOption('--seed', f.seed, 0, 0xffffffff),
    backend: parseBackend(f.backend),
    resume: !!f.resume,
    overwrite: !!f.overwrite,
    successOnly: !!f.successOnly,
    maxEpisodes: f.maxEpisodes === undefined ? undefined : parseIntOption('--max-episodes', f.maxEpisodes, 1),
    framesPerEpisode: f.framesPerEpisode === undefined ? undefined : parseIntOption('--frames-per-episode', f.framesPerEpisode, 1),
    camera: f.camera,
    hidden: f.hidden === undefined ? undefined : parseHiddenOption(f.hidden),
    targetFeatures: !!f.targetFeatures,
    selectEpisodes: f.selectEpisodes === undefined ? undefined : parseIntOption('--select-episodes', f.selectEpisodes, 0, 10000),
    executionNoise: f.executionNoise === undefined ? undefined : parseNumberOption('--execution-noise', f.executionNoise, 0, 1),
    scenario: f.scenario === undefined ? undefined : loadScenarioOrExit(f.scenario),
  };
}

async function run(train: (o: TrainOptions) => Promise<TrainResult>, datasets: string[], flags: TrainFlags): Promise<void> {
  const o = options(datasets, flags);
  const interrupt = twoStageInterrupt({ stopsWhen: 'after this batch', kept: 'the last epoch\'s checkpoint is kept' });
  let bar: Progress | null = null;
  const fmt = (x: number | null) => (x === null ? '-' : x.toPrecision(4));
  try {
    const result = await train({
      ...o,
      signal: interrupt.signal,
      log: (line) => {
        if (bar) return;
        process.stderr.write(`${line}\n`);
      },
      onProgress: (p: TrainProgress) => {
        bar ??= createProgress({ total: p.samplesTotal, start: p.samplesDone, enabled: flags.progress, unit: 'samples', fields: { epoch: '-', loss: '-', val_loss: '-' } });
        bar.update(p.samplesDone, { epoch: `${p.epoch}/${p.epochs}`, loss: fmt(p.loss), val_loss: fmt(p.valLoss) });
      },
      onEpoch: (r) => {
        if (!flags.progress || !bar) process.stderr.write(`epoch ${r.epoch}: loss ${fmt(r.loss)}, val loss ${fmt(r.valLoss)}${r.metrics ? `, ${Object.entries(r.metrics).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(', ')}` : ''} (${r.seconds.toFixed(1)} s)\n`);
      },
    });
    (bar as Progress | null)?.stop();
    const c = result.card;
    process.stdout.write(
      `${result.stoppedBy === 'interrupted' ? 'stopped' : 'done'}: ${result.out} (${c.kind}, ${c.training.epochs} epochs, best ${c.training.bestEpoch}, ` +
        `val loss ${c.metrics.valLoss.toPrecision(4)}${c.metrics.meanErrorCm !== undefined ? `, val error ${c.metrics.meanErrorCm.toFixed(2)} cm` : ''}, ` +
        `${c.training.samplesPerSec.toFixed(0)} samples/s on ${c.training.backend})\n`,
    );
    if (result.stoppedBy === 'interrupted') {
      process.stdout.write('the model holds the best epoch so far; continue training with the same command plus --resume\n');
      process.exitCode = 130;
    }
    if (flags.json) process.stdout.write(`${JSON.stringify(c)}\n`);
  } catch (err) {
    (bar as Progress | null)?.stop();
    throw asUserError(err);
  } finally {
    interrupt.release();
  }
}

const TARGET_FEATURES_HELP = 'stack scenarios: append to the observation, inside the model, the block to move next, the block it goes onto and where it goes (chosen by the stacked flags), so every stage looks alike to the network; the saved model still takes the plain observation';
const EXECUTION_NOISE_HELP = `σ of the seeded Gaussian noise added to every action before it is executed, in the closed-loop selection and (through the model card) wherever the policy acts; 0 executes exactly, which lets a cloned policy settle into states it never leaves (default ${DEFAULT_EXECUTION_NOISE})`;

/** The learning-rate schedule, for the trainings that run by epochs (the streamed pose training has its own warm-up and cosine). */
function schedule(cmd: Command): Command {
  return cmd.addOption(new Option('--lr-schedule <name>', 'plateau: hold the rate, cut it when validation stalls; cosine: lower it every step to a hundredth of --lr by the last epoch (default plateau)').choices(['plateau', 'cosine']));
}

function common(cmd: Command, defaults: { epochs: number; batch: number; lr: number; patience: number }): Command {
  return cmd
    .argument('<datasets...>', 'dataset folders (simreal generate output); several are trained on together')
    .requiredOption('-o, --out <dir>', 'output folder for model.json, weights.bin, model-card.json and checkpoints')
    .option('--epochs <n>', `maximum epochs (default ${defaults.epochs})`)
    .option('--batch-size <n>', `mini-batch size (default ${defaults.batch})`)
    .option('--lr <rate>', `Adam learning rate (default ${defaults.lr})`)
    .option('--patience <n>', `stop after this many epochs without validation improvement, 0 never (default ${defaults.patience})`)
    .option('--val-fraction <f>', 'fraction of episodes held out for validation (default 0.1)')
    .option('--seed <int>', 'seed of the split, batch order and initial weights', '0')
    .addOption(new Option('--backend <name>', 'tfjs backend (default: the first that works)').choices([...backendNames]))
    .option('--resume', 'continue the training checkpointed in --out')
    .option('--overwrite', 'delete --out first')
    .option('--success-only', 'train only on episodes the expert solved')
    .option('--max-episodes <n>', 'use at most this many episodes of each dataset')
    .option('--frames-per-episode <n>', 'use at most this many frames of each episode (frame 0 and a seeded choice)')
    .option('--scenario <file>', 'scenario file, for datasets that do not record theirs')
    .option('--no-progress', 'no progress bar (one line per epoch)')
    .option('--json', 'print the model card as JSON on the last line');
}

export const trainCommand: CommandModule = {
  register(program: Command) {
    const train = program.command('train').description('Train a policy (bc, dagger, visuomotor) or the pose estimator (pose).');
    daggerOptions(schedule(common(train.command('bc').description('State behaviour cloning MLP: observation → action (mix clean and --dart-noise datasets); --dagger N adds N DAgger rounds'), { epochs: 60, batch: 256, lr: 1e-3, patience: 8 }))
      .option('--hidden <sizes>', 'hidden layer sizes (default 256,256,256)')
      .option('--target-features', TARGET_FEATURES_HELP)
      .option('--select-episodes <n>', 'after each epoch, roll out on this many seeded episodes (training randomization) and keep the epoch with the best success; 0: select by validation loss', '40')
      .option('--execution-noise <std>', EXECUTION_NOISE_HELP)
      .option('--dagger <rounds>', 'then this many DAgger rounds: roll the policy out (mixed with the scripted expert), label every visited state with the expert\'s action, retrain on everything (see train dagger)'))
      .action((datasets: string[], flags: TrainFlags & DaggerFlags) => {
        if (flags.dagger !== undefined) {
          return trainDaggerFromDatasets(datasets, flags);
        }
        const stray = ['episodesPerRound', 'beta', 'betaDecay', 'roundEpochs'].find((k) => (flags as unknown as Record<string, unknown>)[k] !== undefined);
        if (stray) throw new UserError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is a DAgger option; add --dagger <rounds>`);
        return run(trainBc, datasets, flags);
      });
    daggerOptions(schedule(
      train.command('dagger')
        .description('DAgger (Ross et al. 2011) with the scripted expert: BC on expert demonstrations, then rounds of rolling the policy out (β-mixed with the expert), labelling every visited state with the expert\'s action, and retraining on everything. --rounds 0 is plain BC on --labels expert labels: the same-budget baseline.')
        .argument('<scenario>', 'scenario file, e.g. scenarios/stack-3.json')
        .requiredOption('-o, --out <dir>', 'output folder: model.json, weights.bin, model-card.json (with every round), and rounds/round-<i>/')
        .option('--rounds <n>', 'DAgger rounds after round 0 (default 4; 0: plain BC)')
        .option('--demos <n>', 'round 0: expert demonstrations, a third clean and a third each with DART noise σ and 2σ (default 300)')
        .option('--labels <n>', 'round 0: instead of --demos, whole demonstrations (clean, σ, 2σ in turn) until this many expert labels — give a BC baseline a DAgger run\'s label count')
        .option('--dart-noise <std>', 'DART σ of the noisy demonstrations (default 0.1)')
        .option('--epochs <n>', 'most epochs of round 0 (default 60)')
        .option('--batch-size <n>', 'mini-batch size (default 256)')
        .option('--lr <rate>', 'Adam learning rate (default 0.001)')
        .option('--patience <n>', 'stop a round after this many epochs without improvement (default 8)')
        .option('--hidden <sizes>', 'hidden layer sizes (default 256,256,256)')
        .option('--target-features', TARGET_FEATURES_HELP)
        .option('--select-episodes <n>', 'closed-loop selection episodes after each epoch (training randomization); 0: select by validation loss', '40')
        .option('--execution-noise <std>', EXECUTION_NOISE_HELP)
        .option('--seed <int>', 'seed of the demonstrations, rollouts, split, batch order and initial weights', '0')
        .addOption(new Option('--backend <name>', 'tfjs backend (default: the first that works)').choices([...backendNames]))
        .option('-w, --workers <n>', 'worker threads generating the demonstrations (default: available cores)')
        .option('--overwrite', 'delete --out first')
        .option('--resume', 'continue the DAgger run in --out with the same options, or with more --rounds: rounds with a checkpoint resume from it, and their rollouts are rolled again on the same seeds')
        .option('--no-progress', 'no progress bar (one line per epoch)')
        .option('--json', 'print the model card as JSON on the last line'),
    )).action((scenarioPath: string, flags: DaggerFlags) => trainDaggerFromScenario(scenarioPath, flags));
    streamOptions(common(train.command('pose').description('Pose estimator: camera frame → block positions in the table frame. From a scenario file (e.g. scenarios/stack-2.json) it trains on frames rendered on the fly, each seen once; from --render datasets, on their frames'), { epochs: 40, batch: 64, lr: 5e-4, patience: 6 }))
      .option('--camera <name>', 'camera whose frames to learn from', 'front')
      .action((sources: string[], flags: TrainFlags & StreamFlags) => {
        if (sources.length === 1 && sources[0].endsWith('.json')) return trainPoseFromScenario(sources[0], flags);
        return trainPoseFromDatasets(sources, flags);
      });
    schedule(common(train.command('visuomotor').description('Visuomotor policy: camera frame + gripper state → action (needs --render datasets)'), { epochs: 40, batch: 64, lr: 5e-4, patience: 6 }))
      .option('--camera <name>', 'camera whose frames to learn from', 'front')
      .option('--execution-noise <std>', EXECUTION_NOISE_HELP)
      .action((datasets: string[], flags: TrainFlags) => run(trainVisuomotor, datasets, flags));
  },
};
