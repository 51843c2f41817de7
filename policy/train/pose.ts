/**
 * `simreal train pose`: the pose estimator CNN (Tobin et al.), from rendered frames to the
 * positions of the blocks in the table frame. Targets are the true block positions recorded with
 * each frame (`sim.block_poses`); they are normalized per axis (the same statistics for every
 * block, so that reordering blocks keeps the loss consistent) and de-normalized by the saved
 * model's last layer, which therefore answers in metres.
 */
import { DEFAULT_POSE_ARCH, buildPoseCnn, identityGroups, matchedErrors, permutationMse } from '../models/pose-cnn.ts';
import type { ConvArch } from '../models/layers.ts';
import { PolicyInputError } from '../errors.ts';
import type { FrameSet } from '../data/frames.ts';
import type { Recipe, TrainOptions, TrainResult } from './run.ts';
import { runTraining } from './run.ts';

/** Per-axis mean and std of the block positions over `frames`, repeated for each block. */
export function positionStats(set: FrameSet, frames: ArrayLike<number>): { mean: number[]; std: number[] } {
  const B = set.blockCount;
  const poses = set.blockPoses as Float32Array;
  const sum = [0, 0, 0], sq = [0, 0, 0];
  let n = 0;
  for (let k = 0; k < frames.length; k++) {
    for (let b = 0; b < B; b++) {
      const o = (frames[k] * B + b) * 7;
      for (let c = 0; c < 3; c++) {
        sum[c] += poses[o + c];
        sq[c] += poses[o + c] * poses[o + c];
      }
      n++;
    }
  }
  const mean = sum.map((s) => s / Math.max(1, n));
  const std = sq.map((s, c) => Math.max(0.01, Math.sqrt(Math.max(0, s / Math.max(1, n) - mean[c] * mean[c]))));
  return { mean: Array.from({ length: B * 3 }, (_, i) => mean[i % 3]), std: Array.from({ length: B * 3 }, (_, i) => std[i % 3]) };
}

/** Copies frame `f`'s images as float32 pixel values 0…255 into `out` at sample `k`. */
export function copyPixels(set: FrameSet, f: number, out: Float32Array, k: number): void {
  const img = set.images!;
  const n = img.width * img.height * 3;
  const src = img.data.subarray(f * n, (f + 1) * n);
  const o = k * n;
  for (let i = 0; i < n; i++) out[o + i] = src[i];
}

export function poseArch(o: TrainOptions): ConvArch {
  return o.conv ?? DEFAULT_POSE_ARCH;
}

export const poseRecipe: Recipe = {
  kind: 'pose',
  purpose: 'the pose estimator',
  model: 'conv',
  defaults: { epochs: 40, batchSize: 64, learningRate: 5e-4, patience: 6, valFraction: 0.1 },
  load: (o) => ({ camera: o.camera ?? 'front', poses: true }),
  architecture: (o) => ({ ...poseArch(o), camera: o.camera ?? 'front' }),
  prepare(tf, set, split, scenario, o, rng) {
    if (!set.images) throw new PolicyInputError(`dataset ${set.source.path} holds no images, which the pose estimator needs`);
    if (!set.blockPoses || set.blockCount === 0) throw new PolicyInputError(`dataset ${set.source.path} holds no block poses (sim.block_poses), which the pose estimator needs`);
    const B = set.blockCount, D = B * 3;
    const { width: W, height: H } = set.images;
    const groups = identityGroups(scenario.task, B);
    const { mean, std } = positionStats(set, split.trainFrames);
    const arch = poseArch(o);
    const { train, full } = buildPoseCnn(tf, { height: H, width: W, blockCount: B, arch, mean, std, rng });
    const loss = permutationMse(tf, groups, B);
    const names: string[] = [];
    for (let b = 0; b < B; b++) for (const c of ['x', 'y', 'z']) names.push(`block${b}.${c}`);
    return {
      train,
      save: full,
      loss,
      makeBatch(idx) {
        const x = new Float32Array(idx.length * H * W * 3), y = new Float32Array(idx.length * D);
        for (let k = 0; k < idx.length; k++) {
          copyPixels(set, idx[k], x, k);
          for (let b = 0; b < B; b++) {
            for (let c = 0; c < 3; c++) {
              const j = b * 3 + c;
              y[k * D + j] = ((set.blockPoses as Float32Array)[(idx[k] * B + b) * 7 + c] - mean[j]) / std[j];
            }
          }
        }
        return { xs: tf.tensor4d(x, [idx.length, H, W, 3]), ys: tf.tensor2d(y, [idx.length, D]), size: idx.length };
      },
      valMetrics(pred, truth, size) {
        let sum = 0, n = 0;
        const p = new Float32Array(D), t = new Float32Array(D);
        for (let k = 0; k < size; k++) {
          for (let j = 0; j < D; j++) {
            p[j] = pred[k * D + j] * std[j] + mean[j];
            t[j] = truth[k * D + j] * std[j] + mean[j];
          }
          for (const e of matchedErrors(p, t, groups, B)) {
            sum += e;
            n++;
          }
        }
        return { meanErrorCm: (100 * sum) / Math.max(1, n) };
      },
      card: {
        inputs: { image: { key: set.images.key, camera: set.images.camera, height: H, width: W, channels: 3 } },
        outputs: { key: 'block_positions', names, size: D },
        outputScaling: { mean, std },
        architecture: { type: 'cnn', identityGroups: groups, input: 'uint8 RGB values as float32 0…255', outputFrame: 'table (world): origin at the table top centre, z up, metres' },
      },
    };
  },
};

export function trainPose(o: TrainOptions): Promise<TrainResult> {
  return runTraining(poseRecipe, o);
}
