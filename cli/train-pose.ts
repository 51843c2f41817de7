/**
 * `simreal train pose <scenario.json> --out <dir>`: the pose estimator trained straight from the
 * renderer (policy/train/pose-stream.ts). The backend is printed first, then a progress bar with
 * frames seen, frames/s trained and rendered, the loss, and the held-out error measured every
 * `--eval-every` frames. Ctrl-C stops after the current batch and keeps the last checkpoint
 * (continue with --resume).
 */
import type { Command } from 'commander';
import { concatFrameSets } from '../policy/data/frames.ts';
import { loadFrames } from '../policy/data/load.ts';
import { POSE_STREAM_DEFAULTS, trainPoseStream } from '../policy/train/pose-stream.ts';
import type { PoseStreamOptions } from '../policy/train/pose-stream.ts';
import type { Scenario } from '../sim/scenario.ts';
import type { PoseStreamProgress } from '../policy/train/pose-stream.ts';
import { UserError, asUserError } from './errors.ts';
import { loadScenarioOrExit, parseBackend, parseIntOption, parseNumberOption } from './options.ts';
import { twoStageInterrupt } from './signals.ts';
import { createProgress } from './progress.ts';
import type { Progress } from './progress.ts';

export interface StreamFlags {
  out: string;
  epochs?: string;
  camera?: string;
  scenario?: string;
  maxEpisodes?: string;
  frames?: string;
  batchSize?: string;
  lr?: string;
  evalEvery?: string;
  evalFrames?: string;
  renderWorkers?: string;
  renderSize?: string;
  viewSize?: string;
  looks?: string;
  augment: boolean;
  seed: string;
  backend?: string;
  resume?: boolean;
  overwrite?: boolean;
  progress: boolean;
  json?: boolean;
}

/** Registers the streaming options on `train pose`. */
export function streamOptions(cmd: Command): Command {
  const d = POSE_STREAM_DEFAULTS;
  return cmd
    .option('--frames <n>', `from a scenario: frames to train on, each rendered fresh (default ${d.frames})`)
    .option('--eval-every <n>', `from a scenario: frames between held-out measurements and checkpoints (default ${d.evalEvery})`)
    .option('--eval-frames <n>', `from a scenario: held-out frames measured each time (default ${d.evalFrames})`)
    .option('--render-workers <n>', `from a scenario: render worker threads (default ${d.renderWorkers})`)
    .option('--render-size <px>', `from a scenario: the camera's rendered image size, square (default ${d.renderSize})`)
    .option('--view-size <px>', `from a scenario: the rectified virtual view the network sees, square, a multiple of 4 (default ${d.viewSize})`)
    .option('--looks <mode>', 'from a scenario: randomized training looks (train, default) or the nominal look (none: the ablation)')
    .option('--no-augment', 'from a scenario: no camera effects (exposure, blur, noise, JPEG) or view jitter on training frames');
}

export async function trainPoseFromScenario(scenarioPath: string, f: StreamFlags): Promise<void> {
  const scenario = loadScenarioOrExit(scenarioPath);
  if (f.looks !== undefined && f.looks !== 'train' && f.looks !== 'none') throw new UserError(`--looks ${f.looks}: train from randomized looks (train) or the nominal look (none)`);
  await train(f, { scenario, scenarioPath, frames: f.frames === undefined ? undefined : parseIntOption('--frames', f.frames, 1) });
}

/** `simreal train pose data/…`: the same estimator on the frames of generated datasets (front camera). */
export async function trainPoseFromDatasets(paths: string[], f: StreamFlags): Promise<void> {
  if (f.camera !== undefined && f.camera !== 'front') throw new UserError(`--camera ${f.camera}: the pose estimator learns from the front camera (the wrist camera moves with the robot)`);
  let dataset;
  try {
    dataset = concatFrameSets(await Promise.all(paths.map((p) => loadFrames(p, {
      purpose: 'the pose estimator', camera: 'front', poses: true,
      maxEpisodes: f.maxEpisodes === undefined ? undefined : parseIntOption('--max-episodes', f.maxEpisodes, 1),
    }))));
  } catch (err) {
    throw asUserError(err);
  }
  const scenario: Scenario | null = f.scenario !== undefined ? loadScenarioOrExit(f.scenario) : dataset.source.scenario;
  if (!scenario) throw new UserError(`dataset ${dataset.source.path} does not record its scenario (no meta/simreal.json); pass --scenario <file>`);
  const epochs = f.epochs === undefined ? 20 : parseIntOption('--epochs', f.epochs, 1);
  const frames = f.frames === undefined ? epochs * Math.ceil(dataset.frames * 0.9) : parseIntOption('--frames', f.frames, 1);
  await train(f, { scenario, scenarioPath: f.scenario ?? dataset.source.path, frames, dataset });
}

async function train(f: StreamFlags, source: Pick<PoseStreamOptions, 'scenario' | 'scenarioPath' | 'frames' | 'dataset'>): Promise<void> {
  const interrupt = twoStageInterrupt({ stopsWhen: 'after this batch', kept: 'the last checkpoint is kept' });
  let bar: Progress | null = null;
  const heldout = (p: PoseStreamProgress): string => (p.last ? `${p.last.meanCm.toFixed(2)} cm @${p.last.frames}` : '-');
  try {
    const result = await trainPoseStream({
      ...source,
      out: f.out,
      batchSize: f.batchSize === undefined ? undefined : parseIntOption('--batch-size', f.batchSize, 1, 1024),
      learningRate: f.lr === undefined ? undefined : parseNumberOption('--lr', f.lr, 1e-7, 1),
      evalEvery: f.evalEvery === undefined ? undefined : parseIntOption('--eval-every', f.evalEvery, 1),
      evalFrames: f.evalFrames === undefined ? undefined : parseIntOption('--eval-frames', f.evalFrames, 1, 100_000),
      renderWorkers: f.renderWorkers === undefined ? undefined : parseIntOption('--render-workers', f.renderWorkers, 1, 64),
      renderSize: f.renderSize === undefined ? undefined : parseIntOption('--render-size', f.renderSize, 16, 1024),
      viewSize: f.viewSize === undefined ? undefined : parseIntOption('--view-size', f.viewSize, 16, 512),
      looks: f.looks as 'train' | 'none' | undefined,
      augment: f.augment ? undefined : false,
      seed: parseIntOption('--seed', f.seed, 0, 0xffffffff),
      backend: parseBackend(f.backend),
      resume: !!f.resume,
      overwrite: !!f.overwrite,
      signal: interrupt.signal,
      log: (line) => {
        if (!bar) process.stderr.write(`${line}\n`);
      },
      onEval: (p) => {
        if (!f.progress || !bar) process.stderr.write(`${p.frames} frames: held-out error mean ${p.meanCm.toFixed(2)} cm, median ${p.medianCm.toFixed(2)} cm, p90 ${p.p90Cm.toFixed(2)} cm (${(p.seconds / 60).toFixed(1)} min)\n`);
      },
      onProgress: (p) => {
        bar ??= createProgress({ total: p.framesTotal, start: p.frames, enabled: f.progress, unit: 'frames', fields: { trained: '-', rendered: '-', loss: '-', 'held-out': '-' } });
        bar.update(p.frames, { trained: `${p.trainPerSec.toFixed(1)}/s`, rendered: `${p.renderPerSec.toFixed(1)}/s`, loss: p.loss.toPrecision(3), 'held-out': heldout(p) });
      },
    });
    (bar as Progress | null)?.stop();
    const m = result.card.metrics;
    process.stdout.write(
      `${result.stoppedBy === 'interrupted' ? 'stopped' : 'done'}: ${result.out} (pose, ${result.card.dataset.frames} frames in ${(result.card.training.seconds / 60).toFixed(1)} min; ` +
        `held-out error mean ${m.meanErrorCm.toFixed(2)} cm, median ${m.medianErrorCm.toFixed(2)} cm, p90 ${m.p90ErrorCm.toFixed(2)} cm on ${m.heldoutFrames} frames)\n`,
    );
    if (result.stoppedBy === 'interrupted') {
      process.stdout.write('continue training with the same command plus --resume\n');
      process.exitCode = 130;
    }
    if (f.json) process.stdout.write(`${JSON.stringify(result.card)}\n`);
  } catch (err) {
    (bar as Progress | null)?.stop();
    throw asUserError(err);
  } finally {
    interrupt.release();
  }
}
