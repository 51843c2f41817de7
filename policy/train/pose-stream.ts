/**
 * `simreal train pose <scenario.json>`: the pose estimator trained straight from the renderer.
 *
 * Render workers (policy/perception/stream.ts) draw freshly randomized frames of seeded expert
 * episodes (training look ranges, training physics, camera effects added), and this loop turns
 * each 16 of them into one Adam step on the heatmap network (policy/models/pose-heatmap.ts). No
 * frame is seen twice, so there is nothing to memorize: the only way down for the loss is to
 * learn what makes a block a block. The budget is a number of frames, not epochs.
 *
 * Every `evalEvery` frames the model is measured on a fixed set of frames drawn from the
 * held-out look ranges and held-out physics (seeds of the evaluation stream, rendered once at
 * the start): mean, median and p90 block error in cm, the learning curve the model card keeps.
 * The same moment is a checkpoint (model, optimizer, stream position), from which `--resume`
 * continues exactly. The learning rate warms up over the first 1,000 frames and then follows a
 * cosine to 5 % of its peak at the end of the budget. The saved model is the last one (data
 * never repeats, so there is no overfitting to pick an earlier epoch against, and choosing by
 * the held-out frames would leak them into training).
 */
import { resolve } from 'node:path';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { selectBackend } from '../backend.ts';
import type { BackendChoice, BackendName } from '../backend.ts';
import { PolicyInputError, TrainingDivergedError } from '../errors.ts';
import { DEFAULT_EVAL_SEED, evalSeeds } from '../eval/seeds.ts';
import { MODEL_CARD, gitCommit, writeModelCard } from '../model-card.ts';
import type { ModelCard, PerceptionCard } from '../model-card.ts';
import { saveLayersModel } from '../model-io.ts';
import { DEFAULT_HEATMAP_ARCH, DEFAULT_LOSS_WEIGHTS, buildHeatmapNet, heatmapLoss } from '../models/pose-heatmap.ts';
import type { HeatmapArch } from '../models/pose-heatmap.ts';
import { periodicYield } from '../event-loop.ts';
import { createFrameSource } from '../perception/frame-source.ts';
import type { FrameSourceSpec, PoseFrame } from '../perception/frame-source.ts';
import { PoseEstimator, toEstimate } from '../perception/estimator.ts';
import { TARGET_CHANNELS, gridSize, writeTargets } from '../perception/heatmap.ts';
import type { GridSpec } from '../perception/heatmap.ts';
import { blockErrors, summarizeErrors } from '../perception/measure.ts';
import type { ErrorSummary } from '../perception/measure.ts';
import { DatasetFrameProvider, DatasetPoseFrames } from '../perception/dataset-frames.ts';
import { FrameStream } from '../perception/stream.ts';
import type { FrameSet } from '../data/frames.ts';
import { splitByEpisode } from '../data/split.ts';
import type { StreamPosition } from '../perception/stream.ts';
import { defaultRegion } from '../perception/virtual-view.ts';
import { checkpointDir, readCheckpointState, restoreOptimizer, restoreWeights, saveCheckpoint } from './checkpoint.ts';
import type { CheckpointState } from './checkpoint.ts';
import { prepareOut } from './run.ts';
import type { CameraName } from '../../sim/render/cameras.ts';
import { Rng, deriveSeed } from '../../sim/rng.ts';
import type { Scenario } from '../../sim/scenario.ts';

/**
 * Defaults: the configuration measured on a 2-core CPU (wasm): renders at 128² rectified to a 96²
 * view, lr 2e-3 with a cosine schedule; 100,000 frames took ~40 min there (4.0 min per 10,000) and
 * reached a held-out median of 1.7 cm (a 128² view from 192² renders, followed to 20,000 frames,
 * learned no faster per frame and costs more per frame).
 */
export const POSE_STREAM_DEFAULTS = {
  frames: 100_000,
  batchSize: 16,
  learningRate: 2e-3,
  evalEvery: 4_000,
  evalFrames: 200,
  renderWorkers: 1,
  renderSize: 128,
  viewSize: 96,
  framesPerEpisode: 8,
  dartNoise: 0.2,
  warmupFrames: 1_000,
  /** Extra cubes (up to) drawn in each training frame (frame-source.ts). */
  extraBlocks: 3,
  finalLearningRate: 0.05,
};

export interface PoseStreamOptions {
  scenario: Scenario;
  /**
   * Train on these dataset frames (simreal generate --render) instead of rendering: epochs over
   * them in seeded orders, a tenth of their episodes kept apart for the held-out measurement.
   */
  dataset?: FrameSet;
  /** Where the scenario came from (recorded in the model card). */
  scenarioPath: string;
  out: string;
  /** Frames to train on (default 60,000). */
  frames?: number;
  batchSize?: number;
  learningRate?: number;
  /** Frames between held-out measurements and checkpoints. */
  evalEvery?: number;
  /** Held-out frames measured each time. */
  evalFrames?: number;
  renderWorkers?: number;
  seed?: number;
  backend?: BackendName;
  /** A backend already selected (tests); otherwise one is selected here and disposed after. */
  choice?: BackendChoice;
  arch?: HeatmapArch;
  /** Looks of the training frames: randomized (default) or the nominal look (the ablation). */
  looks?: 'train' | 'heldout' | 'none';
  /** Camera effects and view jitter on training frames (default: on with randomized looks). */
  augment?: boolean;
  camera?: CameraName;
  renderSize?: number;
  viewSize?: number;
  resume?: boolean;
  overwrite?: boolean;
  log?: (line: string) => void;
  onProgress?: (p: PoseStreamProgress) => void;
  onEval?: (p: CurvePoint) => void;
  signal?: AbortSignal;
}

export interface PoseStreamProgress {
  frames: number;
  framesTotal: number;
  /** Frames trained per second of training, and rendered per second of rendering (per worker). */
  trainPerSec: number;
  renderPerSec: number;
  loss: number;
  last: CurvePoint | null;
}

export type CurvePoint = PerceptionCard['learningCurve'][number];

export interface PoseStreamResult {
  out: string;
  card: ModelCard;
  stoppedBy: 'max-epochs' | 'interrupted';
}

/** Learning rate after `frames` frames: linear warm-up, then a cosine down to `final`·peak. */
export function learningRateAt(frames: number, total: number, peak: number, warmup: number, final: number): number {
  if (frames < warmup) return peak * Math.max(0.05, frames / warmup);
  const t = Math.min(1, (frames - warmup) / Math.max(1, total - warmup));
  return peak * (final + (1 - final) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/**
 * The held-out frames every measurement during training uses: held-out looks and physics, seeds
 * of the evaluation stream from a base one above `simreal eval`'s default, so the final
 * `simreal eval --frames` measures on other frames than those watched during training.
 */
export async function heldoutFrames(spec: FrameSourceSpec, count: number, base = DEFAULT_EVAL_SEED + 1): Promise<PoseFrame[]> {
  const source = await createFrameSource({ ...spec, looks: 'heldout', physics: 'heldout', augment: false, extraBlocks: 0, framesPerEpisode: Math.min(4, spec.framesPerEpisode) });
  const frames: PoseFrame[] = [];
  // Every episode gives at least one frame, so `count` seeds are always enough.
  const { seeds } = evalSeeds(count, base);
  try {
    for (let i = 0; frames.length < count; i++) frames.push(...(await source.episode(seeds[i])));
  } finally {
    source.dispose();
  }
  return frames.slice(0, count);
}

/** Errors (m) of every block of every frame, as the estimator names them (measure.ts). */
export function frameErrors(estimator: PoseEstimator, scenario: Scenario, frames: PoseFrame[], batch = 32): number[] {
  const errors: number[] = [];
  for (let i = 0; i < frames.length; i += batch) {
    const chunk = frames.slice(i, i + batch);
    const detections = estimator.detect(chunk.map((f) => ({ rgb: f.rgb, camera: f.camera })));
    chunk.forEach((f, k) => errors.push(...blockErrors(scenario.task, detections[k].map((d) => toEstimate(d, f.camera).position), f.blocks)));
  }
  return errors;
}

function curvePoint(frames: number, seconds: number, s: ErrorSummary): CurvePoint {
  return { frames, seconds, meanCm: s.meanCm.value, medianCm: s.medianCm.value, p90Cm: s.p90Cm.value };
}

export async function trainPoseStream(o: PoseStreamOptions): Promise<PoseStreamResult> {
  const d = POSE_STREAM_DEFAULTS;
  const log = o.log ?? (() => {});
  const total = o.frames ?? d.frames;
  const bs = o.batchSize ?? d.batchSize;
  const peak = o.learningRate ?? d.learningRate;
  const evalEvery = o.evalEvery ?? d.evalEvery;
  const seed = o.seed ?? 0;
  const rendered = o.dataset?.source.randomization;
  const looks = o.dataset ? (rendered === 'train' || rendered === 'heldout' || rendered === 'none' ? rendered : 'train') : o.looks ?? 'train';
  const augment = o.augment ?? looks === 'train';
  const arch = o.arch ?? DEFAULT_HEATMAP_ARCH;
  const out = resolve(o.out);
  if (!Number.isInteger(total) || total < bs) throw new PolicyInputError(`--frames ${total} is less than one batch (${bs})`);
  const viewSize = o.viewSize ?? d.viewSize;
  if (viewSize % arch.stride !== 0) throw new PolicyInputError(`the view size ${viewSize} is not a multiple of the output stride ${arch.stride}`);
  prepareOut(out, !!o.resume, !!o.overwrite);

  const choice = o.choice ?? (await selectBackend({ backend: o.backend, model: 'conv', log }));
  const { tf } = choice;
  const spec: FrameSourceSpec = {
    scenario: o.scenario,
    looks,
    physics: 'train',
    camera: o.camera ?? 'front',
    renderSize: o.renderSize ?? d.renderSize,
    view: { size: viewSize, region: defaultRegion(o.scenario.task) },
    framesPerEpisode: d.framesPerEpisode,
    dartNoise: d.dartNoise,
    augment,
    // Segmentation and depth supervise the coverage and surface channels (heatmap.ts).
    labels: true,
    extraBlocks: d.extraBlocks,
  };
  const grid: GridSpec = { size: viewSize, stride: arch.stride, sigma: 1 };
  // Dataset frames carry no segmentation or depth: their dense channels are left unsupervised.
  const weights = o.dataset ? { ...DEFAULT_LOSS_WEIGHTS, cover: 0, surface: 0 } : DEFAULT_LOSS_WEIGHTS;
  const G = gridSize(grid);
  const data = o.dataset ? new DatasetPoseFrames(o.dataset, o.scenario, spec.view) : null;
  const split = o.dataset ? splitByEpisode(o.dataset, 0.1, seed) : null;
  if (o.dataset) spec.renderSize = o.dataset.images!.width;
  const fingerprint = {
    kind: 'pose-stream', scenario: o.scenario, seed, batchSize: bs, learningRate: peak, frames: total, evalEvery, looks, augment, arch, view: spec.view, renderSize: spec.renderSize,
    dataset: o.dataset ? { path: o.dataset.source.path, frames: o.dataset.frames } : null,
  };
  const model = buildHeatmapNet(tf, { size: viewSize, arch, rng: new Rng(deriveSeed(seed, 'pose-init')) });
  const optimizer = tf.train.adam(peak);
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  let stream: FrameStream | DatasetFrameProvider | null = null;
  try {
    let heldout: PoseFrame[];
    if (data && split) {
      const val = split.valFrames.length > 0 ? split.valFrames : split.trainFrames;
      const n = Math.min(o.evalFrames ?? d.evalFrames, val.length);
      log(`held-out frames: ${n} frames of the ${split.valEpisodes.length} episodes kept apart${split.valFrames.length === 0 ? ' (none could be: measuring on training frames)' : ''}`);
      heldout = Array.from({ length: n }, (_, i) => data.frame(val[Math.floor((i * val.length) / n)], null));
    } else {
      log(`held-out frames: rendering ${o.evalFrames ?? d.evalFrames} (held-out looks and physics, evaluation seeds)`);
      heldout = await heldoutFrames(spec, o.evalFrames ?? d.evalFrames);
    }
    const estimator = new PoseEstimator(tf, model, { camera: spec.camera, view: spec.view, grid, blockCount: heldout[0].blocks.length });

    let frames = 0, seconds = 0, evals = 0;
    let curve: CurvePoint[] = [];
    let position: StreamPosition = { episode: 0, frame: 0 };
    let state: CheckpointState | null = null;
    if (o.resume) {
      state = readCheckpointState(out);
      if (!state) throw new PolicyInputError(`--resume: ${checkpointDir(out)} holds no checkpoint; start without --resume`);
      if (JSON.stringify(state.fingerprint) !== JSON.stringify(fingerprint)) {
        throw new PolicyInputError(`--resume: the checkpoint in ${checkpointDir(out)} belongs to another run (scenario, seed, budget or options differ); use the same command, or start over with --overwrite`);
      }
      await restoreWeights(tf, out, state.lastDir, model);
      await restoreOptimizer(tf, out, state.lastDir, optimizer);
      frames = state.samples;
      seconds = state.seconds;
      evals = state.epoch;
      curve = state.history.map((h) => h.metrics as unknown as CurvePoint);
      position = state.stream ?? position;
      log(`resuming after ${frames} frames`);
    } else {
      const s0 = summarizeErrors(frameErrors(estimator, o.scenario, heldout));
      curve.push(curvePoint(0, 0, s0));
      o.onEval?.(curve[0]);
    }

    stream = data && split
      ? new DatasetFrameProvider(data, split.trainFrames, { seed, augment, start: position })
      : await FrameStream.open(spec, { workers: o.renderWorkers ?? d.renderWorkers, seed: (i) => deriveSeed(seed, 'pose-stream', i), start: position });
    const xs = new Float32Array(bs * viewSize * viewSize * 3), ys = new Float32Array(bs * G * G * TARGET_CHANNELS);
    const yieldNow = periodicYield();
    let trainMs = 0, lossSum = 0, lossN = 0, runFrames = 0;
    let stoppedBy: PoseStreamResult['stoppedBy'] = 'max-epochs';
    let nextEval = (evals + 1) * evalEvery;
    const t0 = performance.now();
    while (frames < total) {
      if (o.signal?.aborted) {
        stoppedBy = 'interrupted';
        break;
      }
      for (let k = 0; k < bs; k++) {
        const f = await stream.next();
        xs.set(f.rgb, k * viewSize * viewSize * 3);
        writeTargets(grid, { pixels: f.pixels, heights: f.blocks.map((b) => b[2]), yaws: f.yaws, sizes: f.sizes, segmentation: f.segmentation, blockIds: f.blockIds, surface: f.surface }, ys, k);
      }
      const lr = learningRateAt(frames, total, peak, d.warmupFrames, d.finalLearningRate);
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const ts = performance.now();
      const loss = tf.tidy(() => {
        const x = tf.tensor4d(xs, [bs, viewSize, viewSize, 3]), y = tf.tensor4d(ys, [bs, G, G, TARGET_CHANNELS]);
        return optimizer.minimize(() => heatmapLoss(tf, model.apply(x, { training: true }) as Tensor, y, weights).total, true, vars) as Scalar;
      });
      const v = (await loss.data())[0];
      loss.dispose();
      trainMs += performance.now() - ts;
      if (!Number.isFinite(v)) {
        throw new TrainingDivergedError(
          `training stopped: the loss became ${v} after ${frames} frames. ` +
            (state ? `The last good checkpoint is kept untouched: ${checkpointDir(out)}/${state.lastDir} (${state.samples} frames); continue from it with --resume after lowering --lr.` : 'No checkpoint had been written; lower --lr.'),
          evals + 1, 0, state ? checkpointDir(out) : null,
        );
      }
      frames += bs;
      runFrames += bs;
      lossSum += v;
      lossN++;
      o.onProgress?.({
        frames, framesTotal: total,
        trainPerSec: runFrames / Math.max(1e-3, trainMs / 1000),
        renderPerSec: stream.stats.frames / Math.max(1e-3, stream.stats.renderMs / 1000),
        loss: lossSum / lossN, last: curve.at(-1) ?? null,
      });
      await yieldNow();
      if (frames >= nextEval || frames >= total) {
        const s = summarizeErrors(frameErrors(estimator, o.scenario, heldout));
        const point = curvePoint(frames, seconds + (performance.now() - t0) / 1000, s);
        curve.push(point);
        o.onEval?.(point);
        evals++;
        nextEval = (evals + 1) * evalEvery;
        const record = { epoch: evals, loss: lossSum / lossN, valLoss: s.meanCm.value, learningRate: lr, seconds: point.seconds - (curve.at(-2)?.seconds ?? 0), metrics: { ...point } };
        state = await saveCheckpoint(tf, out, model, optimizer, {
          version: 1, fingerprint, epoch: evals, bestEpoch: evals, bestValLoss: s.meanCm.value, epochsWithoutImprovement: 0,
          learningRate: lr, finished: frames >= total ? 'max-epochs' : null, samples: frames, seconds: point.seconds,
          history: [...(state?.history ?? []), record], stream: stream.position, improved: true, previous: state,
        });
        lossSum = lossN = 0;
      }
    }
    seconds += (performance.now() - t0) / 1000;
    if (!state) throw new PolicyInputError('training stopped before the first held-out measurement; nothing was saved');
    if (stoppedBy === 'interrupted') await restoreWeights(tf, out, state.lastDir, model);
    await saveLayersModel(tf, model, out);
    const final = summarizeErrors(frameErrors(estimator, o.scenario, heldout));
    const names: string[] = [];
    for (let b = 0; b < heldout[0].blocks.length; b++) for (const c of ['x', 'y', 'z']) names.push(`block${b}.${c}`);
    const card: ModelCard = {
      format: 'simreal-model-card',
      version: 1,
      kind: 'pose',
      created: new Date().toISOString(),
      gitCommit: gitCommit(),
      inputs: { image: { key: `observation.images.${spec.camera}`, camera: spec.camera, height: viewSize, width: viewSize, channels: 3 } },
      outputs: { key: 'block_positions', names, size: names.length },
      dataset: o.dataset && split ? {
        path: o.dataset.source.path,
        format: o.dataset.source.format,
        episodes: o.dataset.episodes.length,
        frames: o.dataset.frames,
        trainEpisodes: split.trainEpisodes.length,
        valEpisodes: split.valEpisodes.length,
        trainFrames: split.trainFrames.length,
        valFrames: split.valFrames.length,
        successOnly: false,
        randomization: o.dataset.source.randomization,
        dartNoise: [...new Set(o.dataset.episodes.map((e) => e.dartNoise).filter((x): x is number => x !== null))].sort((a, b) => a - b),
        fps: o.dataset.source.fps,
        seeds: o.dataset.episodes.map((e) => e.seed).filter((x): x is number => x !== null).sort((a, b) => a - b),
      } : {
        path: `rendered on the fly from ${o.scenarioPath}`,
        format: 'stream',
        episodes: stream.position.episode,
        frames: state.samples,
        trainEpisodes: stream.position.episode,
        valEpisodes: 0,
        trainFrames: state.samples,
        valFrames: heldout.length,
        successOnly: false,
        randomization: looks,
        dartNoise: [0, d.dartNoise],
        fps: o.scenario.control.rateHz,
        // Streamed episodes take their seeds from the 'pose-stream' stream, never the evaluation one.
        seeds: [],
      },
      scenario: { id: o.scenario.id, task: o.scenario.task as Record<string, unknown>, blockCount: heldout[0].blocks.length },
      training: {
        backend: choice.name,
        device: choice.device,
        seed,
        epochs: state.epoch,
        bestEpoch: state.epoch,
        batchSize: bs,
        learningRate: peak,
        stoppedBy,
        seconds,
        samplesPerSec: state.samples / Math.max(1e-3, seconds),
        architecture: { type: 'centre-heatmap', ...arch, lossWeights: weights },
      },
      metrics: { meanErrorCm: final.meanCm.value, medianErrorCm: final.medianCm.value, p90ErrorCm: final.p90Cm.value, heldoutFrames: heldout.length },
      perception: { method: 'centre-heatmap', camera: spec.camera, view: spec.view, grid, renderSize: spec.renderSize, looks, augment, learningCurve: curve },
    };
    writeModelCard(out, card);
    log(`saved ${out}/model.json, weights.bin and ${MODEL_CARD} (${state.samples} frames; held-out mean ${final.meanCm.value.toFixed(2)} cm, median ${final.medianCm.value.toFixed(2)}, p90 ${final.p90Cm.value.toFixed(2)})`);
    return { out, card, stoppedBy };
  } finally {
    await stream?.close();
    optimizer.dispose();
    model.dispose();
    if (!o.choice) choice.dispose();
  }
}
