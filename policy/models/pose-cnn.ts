/**
 * The pose estimator (Tobin et al. 2017): one randomized RGB frame → the 3D positions of the
 * scene's blocks in the table frame (x, y, z in metres; origin at the table top's centre, z up).
 * Output layout: block0.x, block0.y, block0.z, block1.x, …
 *
 * Which block is which: under visual randomization every block gets a random texture, so the
 * blocks of a stack cannot be told apart in an image; in Grasp-v1 the target is the block in the
 * middle of the ring of distractors, so it can, but the distractors cannot. Blocks are therefore
 * grouped (`identityGroups`): blocks in one group are interchangeable and the loss and the error
 * metric match predictions to blocks within each group (the assignment with the least squared
 * error), the usual set-prediction loss.
 */
import type { LayersModel, Scalar, SymbolicTensor, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import type { Rng } from '../../sim/rng.ts';
import type { TaskConfig } from '../../sim/scenario.ts';
import { convTrunk, denormalizeLayer, initializer } from './layers.ts';
import type { ConvArch } from './layers.ts';

export const DEFAULT_POSE_ARCH: ConvArch = { conv: [-32, -64, 64], keypoints: 32, dense: [256, 256] };

/** Groups of interchangeable blocks (by block index) for a task. */
export function identityGroups(task: TaskConfig, blockCount: number): number[][] {
  const all = Array.from({ length: blockCount }, (_, i) => i);
  if (task.id === 'Grasp-v1' && blockCount > 1) return [[0], all.slice(1)];
  return [all];
}

/** Every ordering of 0…n−1 that permutes blocks only within their group. */
export function groupPermutations(groups: number[][], n: number): number[][] {
  const perms = (xs: number[]): number[][] =>
    xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  let out: number[][] = [Array.from({ length: n }, (_, i) => i)];
  for (const g of groups) {
    const next: number[][] = [];
    for (const base of out) {
      for (const p of perms(g)) {
        const q = [...base];
        g.forEach((b, k) => (q[b] = base[p[k]]));
        next.push(q);
      }
    }
    out = next;
  }
  return out;
}

export interface PoseCnnOptions {
  height: number;
  width: number;
  blockCount: number;
  arch: ConvArch;
  /** Per-output mean and std of the targets (positions), for the baked de-normalization. */
  mean: number[];
  std: number[];
  rng: Rng;
}

/** The trained model (normalized outputs) and the saved one (metres) sharing its layers. */
export function buildPoseCnn(tf: TF, o: PoseCnnOptions): { train: LayersModel; full: LayersModel } {
  const input = tf.input({ shape: [o.height, o.width, 3], name: 'image' });
  const x = convTrunk(tf, input, o.arch, o.rng, 'pose');
  const head = tf.layers.dense({ units: o.blockCount * 3, kernelInitializer: initializer(tf, o.rng), name: 'positions_normalized' }).apply(x) as SymbolicTensor;
  const out = denormalizeLayer(tf, 'positions', o.mean, o.std).apply(head) as SymbolicTensor;
  return {
    train: tf.model({ inputs: input, outputs: head, name: 'pose_cnn_train' }),
    full: tf.model({ inputs: input, outputs: out, name: 'pose_cnn' }),
  };
}

/**
 * Mean squared error under the best assignment within identity groups: predictions [B, n·3] are
 * reordered by every allowed permutation at once (one matmul with a constant 0/1 matrix), the
 * squared error of each ordering is summed per sample, and the least is kept.
 */
export function permutationMse(tf: TF, groups: number[][], n: number): (yTrue: Tensor, yPred: Tensor) => Scalar {
  const perms = groupPermutations(groups, n);
  const P = perms.length, D = n * 3;
  const m = new Float32Array(D * P * D);
  perms.forEach((perm, p) => {
    for (let b = 0; b < n; b++) for (let c = 0; c < 3; c++) m[(perm[b] * 3 + c) * (P * D) + p * D + b * 3 + c] = 1;
  });
  const matrix = tf.keep(tf.tensor2d(m, [D, P * D]));
  return (yTrue, yPred) =>
    tf.tidy(() => {
      const batch = yPred.shape[0] as number;
      const reordered = tf.matMul(yPred as Tensor2D, matrix).reshape([batch, P, D]);
      const err = tf.sum(tf.square(tf.sub(reordered, yTrue.reshape([batch, 1, D]))), 2);
      return tf.div(tf.mean(tf.min(err, 1)), D) as Scalar;
    });
}

/**
 * Per-block Euclidean errors (m) of one frame's prediction under the best assignment within the
 * groups; `pred` and `truth` hold n × 3 positions.
 */
export function matchedErrors(pred: ArrayLike<number>, truth: ArrayLike<number>, groups: number[][], n: number): number[] {
  const d = (i: number, j: number): number => Math.hypot(pred[i * 3] - truth[j * 3], pred[i * 3 + 1] - truth[j * 3 + 1], pred[i * 3 + 2] - truth[j * 3 + 2]);
  let best: number[] = [], bestCost = Infinity;
  for (const perm of groupPermutations(groups, n)) {
    // perm[b] = which prediction slot is matched to block b
    let cost = 0;
    const errs: number[] = [];
    for (let b = 0; b < n; b++) {
      const e = d(perm[b], b);
      errs.push(e);
      cost += e * e;
    }
    if (cost < bestCost) {
      bestCost = cost;
      best = errs;
    }
  }
  return best;
}
