/**
 * Target features for stacking (`train bc|dagger --target-features`): the block the task moves
 * next, the block it goes onto, and where it goes, computed inside the graph from the stack
 * observation's own features, so the saved model still takes the plain observation.
 *
 * Why: a stack observation lists every block and the `stacked.blockK` flags; the expert's action
 * depends on one block and one target chosen by those flags (block k+1 onto block k once blocks
 * 1…k are stacked). A plain MLP has to learn that selection, a product of flags and positions, for
 * every stage separately, and stack-5's later stages (a tall tower, seen once per episode) are
 * where it fails: its hover height does not follow the tower's top (policy/README.md, "Stack-5").
 * Here the selection is fixed arithmetic of standard layers (dense layers with fixed weights and
 * an elementwise product, which load in a browser and export to ONNX), and the network sees the
 * same relative geometry at every stage.
 *
 * With P_k = s_1·…·s_k the product of the first k stacked flags (P_0 = 1), the stage weights are
 *   w_j = P_{j−1} − P_j (j < n−1),  w_{n−1} = P_{n−2}
 * one-hot for 0/1 flags: stage j moves block j onto block j−1 (the last stage also while the
 * finished tower waits for the fingers to let go). Appended to the observation, in this order:
 *   target.active.<f>   the moving block's 11 features (f as in BLOCK_FEATURE_SUFFIXES)
 *   target.base.<f>     the 11 features of the block it goes onto
 *   target.goal_dx|dy|dz      where the moving block's centre goes, relative to that centre
 *   target.goal_tcp_dx|dy|dz  the same place relative to the tool centre point
 *   target.stage<j>     w_j, j = 1…n−1
 */
import type { SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import { BLOCK_FEATURE_SUFFIXES } from '../../sim/tasks/features.ts';
import { PolicyInputError } from '../errors.ts';

const F = BLOCK_FEATURE_SUFFIXES.length;
const at = (s: (typeof BLOCK_FEATURE_SUFFIXES)[number]): number => BLOCK_FEATURE_SUFFIXES.indexOf(s);

/** Where a stack observation keeps what the target features read. */
export interface TargetFeatureSpec {
  /** Blocks in the stack (n ≥ 2). */
  blocks: number;
  /** Index of `stacked.block<k>` for k = 1…n−1. */
  flags: number[];
  /** block[i][f]: index of block i's feature f. */
  block: number[][];
  /** Names of the appended features, in order. */
  names: string[];
}

/** The spec for an observation with these feature names; refuses one that is not a stack's. */
export function targetFeatureSpec(names: readonly string[]): TargetFeatureSpec {
  const index = new Map(names.map((n, i) => [n, i]));
  let blocks = 0;
  while (index.has(`block${blocks}.x`)) blocks++;
  const flags = Array.from({ length: Math.max(0, blocks - 1) }, (_, k) => index.get(`stacked.block${k + 1}`));
  if (blocks < 2 || flags.some((f) => f === undefined)) {
    throw new PolicyInputError(`target features need a stack observation (block0.x, block1.x, … and stacked.block1, …); these features have ${blocks} blocks${blocks >= 2 ? ' and not every stacked flag' : ''}: train without --target-features, or on a StackBlocks-v1 scenario`);
  }
  const block = Array.from({ length: blocks }, (_, i) => BLOCK_FEATURE_SUFFIXES.map((s) => {
    const k = index.get(`block${i}.${s}`);
    if (k === undefined) throw new PolicyInputError(`target features need block${i}.${s} in the observation, which lacks it`);
    return k;
  }));
  const out = [
    ...BLOCK_FEATURE_SUFFIXES.map((s) => `target.active.${s}`),
    ...BLOCK_FEATURE_SUFFIXES.map((s) => `target.base.${s}`),
    'target.goal_dx', 'target.goal_dy', 'target.goal_dz',
    'target.goal_tcp_dx', 'target.goal_tcp_dy', 'target.goal_tcp_dz',
    ...Array.from({ length: blocks - 1 }, (_, j) => `target.stage${j + 1}`),
  ];
  return { blocks, flags: flags as number[], block, names: out };
}

/** A dense layer with fixed weights (kernel row-major [inputs, units]). */
function fixedDense(tf: TF, name: string, inputs: number, units: number, kernel: Float32Array, bias?: Float32Array) {
  return tf.layers.dense({
    units,
    name,
    trainable: false,
    useBias: !!bias,
    weights: bias ? [tf.tensor2d(kernel, [inputs, units]), tf.tensor1d(bias)] : [tf.tensor2d(kernel, [inputs, units])],
  });
}

/** Graph: the observation `input` (S features) → [observation, target features] (S + spec.names.length). */
export function applyTargetFeatures(tf: TF, input: SymbolicTensor, spec: TargetFeatureSpec): SymbolicTensor {
  const S = input.shape[1] as number;
  const n = spec.blocks, J = n - 1;
  const apply = (layer: { apply(x: SymbolicTensor | SymbolicTensor[]): unknown }, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;

  // Stage weights w (J values).
  let w: SymbolicTensor;
  if (J === 1) {
    w = apply(fixedDense(tf, 'target_stage', S, 1, new Float32Array(S), Float32Array.of(1)), input);
  } else {
    const flag = (k: number): SymbolicTensor => {
      const kernel = new Float32Array(S);
      kernel[spec.flags[k - 1]] = 1;
      return apply(fixedDense(tf, `target_flag${k}`, S, 1, kernel), input);
    };
    const P: SymbolicTensor[] = [flag(1)];
    for (let k = 2; k <= J - 1; k++) P.push(apply(tf.layers.multiply({ name: `target_prefix${k}` }), [P[k - 2], flag(k)]));
    const prefixes = P.length === 1 ? P[0] : apply(tf.layers.concatenate({ name: 'target_prefixes' }), P);
    // Input column k−1 holds P_k (k = 1…J−1).
    const kernel = new Float32Array((J - 1) * J), bias = new Float32Array(J);
    bias[0] = 1;
    for (let j = 1; j <= J; j++) {
      if (j - 1 >= 1) kernel[(j - 2) * J + (j - 1)] += 1; // + P_{j−1}
      if (j <= J - 1) kernel[(j - 1) * J + (j - 1)] -= 1; // − P_j
    }
    w = apply(fixedDense(tf, 'target_stage', J - 1, J, kernel, bias), prefixes);
  }

  // Per stage j: [block j's features, block j−1's features] weighted by w_j, then summed.
  const W = 2 * F;
  const repeat = new Float32Array(J * J * W), gather = new Float32Array(S * J * W);
  for (let j = 1; j <= J; j++) {
    for (let c = 0; c < W; c++) {
      const col = (j - 1) * W + c;
      repeat[(j - 1) * J * W + col] = 1;
      const src = c < F ? spec.block[j][c] : spec.block[j - 1][c - F];
      gather[src * J * W + col] = 1;
    }
  }
  const weights = apply(fixedDense(tf, 'target_stage_repeat', J, J * W, repeat), w);
  const blocks = apply(fixedDense(tf, 'target_gather', S, J * W, gather), input);
  const picked = apply(tf.layers.multiply({ name: 'target_pick' }), [weights, blocks]);

  // Sum over stages, then the goal: the base's centre raised by half of each size.
  const D = W + 6;
  const sum = new Float32Array(J * W * D);
  const add = (j: number, c: number, d: number, v: number) => { sum[((j - 1) * W + c) * D + d] += v; };
  const A = (f: number) => f, B = (f: number) => F + f;
  for (let j = 1; j <= J; j++) {
    for (let c = 0; c < W; c++) add(j, c, c, 1);
    // goal − active centre
    add(j, B(at('x')), W, 1); add(j, A(at('x')), W, -1);
    add(j, B(at('y')), W + 1, 1); add(j, A(at('y')), W + 1, -1);
    add(j, B(at('z')), W + 2, 1); add(j, A(at('z')), W + 2, -1);
    add(j, B(at('size')), W + 2, 0.5); add(j, A(at('size')), W + 2, 0.5);
    // goal − tool centre point (the base's dx…dz are the base relative to it)
    add(j, B(at('dx')), W + 3, 1);
    add(j, B(at('dy')), W + 4, 1);
    add(j, B(at('dz')), W + 5, 1);
    add(j, B(at('size')), W + 5, 0.5); add(j, A(at('size')), W + 5, 0.5);
  }
  const derived = apply(fixedDense(tf, 'target_features', J * W, D, sum), picked);
  return apply(tf.layers.concatenate({ name: 'target_observation' }), [input, derived, w]);
}

/**
 * The target features of `rows` observations (row-major, S each) as the graph computes them,
 * S + spec.names.length values per row: for the input statistics the normalizing layer after
 * them needs.
 */
export function withTargetFeatures(tf: TF, spec: TargetFeatureSpec, data: Float32Array, S: number, rows: ArrayLike<number>): Float32Array {
  const input = tf.input({ shape: [S] });
  const model = tf.model({ inputs: input, outputs: applyTargetFeatures(tf, input, spec) });
  const E = S + spec.names.length;
  const out = new Float32Array(rows.length * E);
  const chunk = 8192;
  try {
    for (let start = 0; start < rows.length; start += chunk) {
      const m = Math.min(chunk, rows.length - start);
      const x = new Float32Array(m * S);
      for (let k = 0; k < m; k++) x.set(data.subarray(rows[start + k] * S, (rows[start + k] + 1) * S), k * S);
      const y = tf.tidy(() => (model.predict(tf.tensor2d(x, [m, S])) as Tensor).dataSync() as Float32Array);
      out.set(y, start * E);
    }
  } finally {
    model.dispose();
  }
  return out;
}
