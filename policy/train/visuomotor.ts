/**
 * `simreal train visuomotor`: camera frame + gripper state → action, cloned from the expert's
 * labels like the state policy, but without the block features: the image must stand in for them.
 */
import type { Scalar } from '@tensorflow/tfjs';
import { ROBOT_FEATURES } from '../../sim/tasks/features.ts';
import { PolicyInputError, listNames } from '../errors.ts';
import { columnStats } from '../data/split.ts';
import { buildVisuomotor, DEFAULT_VISUOMOTOR_ARCH } from '../models/visuomotor.ts';
import type { VisuomotorArch } from '../models/visuomotor.ts';
import type { FrameSet } from '../data/frames.ts';
import type { Recipe, TrainOptions, TrainResult } from './run.ts';
import { runTraining } from './run.ts';

function vmArch(o: TrainOptions): VisuomotorArch {
  return o.conv ? { ...DEFAULT_VISUOMOTOR_ARCH, ...o.conv } : DEFAULT_VISUOMOTOR_ARCH;
}

/** Copies frame `f`'s images as float32 pixel values 0…255 into `out` at sample `k`. */
function copyPixels(set: FrameSet, f: number, out: Float32Array, k: number): void {
  const img = set.images!;
  const n = img.width * img.height * 3;
  const src = img.data.subarray(f * n, (f + 1) * n);
  const o = k * n;
  for (let i = 0; i < n; i++) out[o + i] = src[i];
}

export const visuomotorRecipe: Recipe = {
  kind: 'visuomotor',
  purpose: 'the visuomotor policy',
  model: 'conv',
  defaults: { epochs: 40, batchSize: 64, learningRate: 5e-4, patience: 6, valFraction: 0.1 },
  load: (o) => ({ camera: o.camera ?? 'front' }),
  architecture: (o) => ({ ...vmArch(o), camera: o.camera ?? 'front' }),
  prepare(tf, set, split, _scenario, o, rng) {
    if (!set.images) throw new PolicyInputError(`dataset ${set.source.path} holds no images, which the visuomotor policy needs`);
    const cols = ROBOT_FEATURES.map((n) => set.stateNames.indexOf(n));
    const absent = ROBOT_FEATURES.filter((_, i) => cols[i] < 0);
    if (absent.length) throw new PolicyInputError(`dataset ${set.source.path} lacks the gripper state features ${listNames(absent)} in observation.state, which the visuomotor policy needs`);
    const S = set.stateNames.length, R = cols.length, A = set.actionNames.length;
    const { width: W, height: H } = set.images;
    // Stats of the robot columns only.
    const robot = new Float32Array(set.frames * R);
    for (let f = 0; f < set.frames; f++) for (let j = 0; j < R; j++) robot[f * R + j] = set.state[f * S + cols[j]];
    const { mean, std } = columnStats(robot, R, split.trainFrames);
    const model = buildVisuomotor(tf, { height: H, width: W, stateSize: R, outputSize: A, arch: vmArch(o), mean, std, rng });
    return {
      train: model,
      save: model,
      loss: (y, p) => tf.losses.meanSquaredError(y, p) as Scalar,
      makeBatch(idx) {
        const img = new Float32Array(idx.length * H * W * 3), s = new Float32Array(idx.length * R), y = new Float32Array(idx.length * A);
        for (let k = 0; k < idx.length; k++) {
          copyPixels(set, idx[k], img, k);
          s.set(robot.subarray(idx[k] * R, (idx[k] + 1) * R), k * R);
          y.set(set.action.subarray(idx[k] * A, (idx[k] + 1) * A), k * A);
        }
        return { xs: [tf.tensor4d(img, [idx.length, H, W, 3]), tf.tensor2d(s, [idx.length, R])], ys: tf.tensor2d(y, [idx.length, A]), size: idx.length };
      },
      card: {
        inputs: {
          image: { key: set.images.key, camera: set.images.camera, height: H, width: W, channels: 3 },
          state: { key: 'observation.state', names: [...ROBOT_FEATURES], size: R },
        },
        outputs: { key: 'action', names: set.actionNames, size: A },
        normalization: { mean, std },
        architecture: { type: 'cnn+mlp', inputs: ['image (uint8 RGB values as float32 0…255)', 'gripper state (the robot features of observation.state)'] },
      },
    };
  },
};

export function trainVisuomotor(o: TrainOptions): Promise<TrainResult> {
  return runTraining(visuomotorRecipe, o);
}
