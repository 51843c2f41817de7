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
 * A block still between the fingers is still being placed, whatever its flag says: the flag
 * (resting on the block below within 1 cm) turns on while the held block is lowered its last
 * centimetre, and flickers there with the noise, which swapped the whole target between "lower
 * block j" and "fetch block j+1" from one step to the next and left the network dithering (the
 * failures of stack-5 with small blocks, policy/README.md). So each flag s_k is gated by how
 * surely block k is held, h_k ∈ [0, 1]: the product of ramps that are 1 where the block's centre
 * lies within 1 cm of the tool centre point sideways and from 3.25 cm below it to 2.5 mm above,
 * and the fingers are opened at most 4 mm wider than the block, each falling to 0 1 cm further
 * out (the width's at 8 mm). The scripted expert holds its blocks well inside that: within 7 mm
 * sideways, 0–3.1 cm below, the fingers within 1.2 mm of the block's size, measured over its
 * held-out episodes. s'_k = s_k·(1 − h_k), the way the expert counts the tower (a block between
 * the fingers is not built yet).
 *
 * With P_k = s'_1·…·s'_k the product of the first k gated flags (P_0 = 1), the stage weights are
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
import { fixedDense } from './layers.ts';

const F = BLOCK_FEATURE_SUFFIXES.length;
const at = (s: (typeof BLOCK_FEATURE_SUFFIXES)[number]): number => BLOCK_FEATURE_SUFFIXES.indexOf(s);
const apply = (layer: { apply(x: SymbolicTensor | SymbolicTensor[]): unknown }, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor => layer.apply(x) as SymbolicTensor;

/** Where a stack observation keeps what the target features read. */
export interface TargetFeatureSpec {
  /** Blocks in the stack (n ≥ 2). */
  blocks: number;
  /** Index of `stacked.block<k>` for k = 1…n−1. */
  flags: number[];
  /** block[i][f]: index of block i's feature f. */
  block: number[][];
  /** Index of `gripper.width`. */
  width: number;
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
  const width = index.get('gripper.width');
  if (width === undefined) throw new PolicyInputError('target features need gripper.width in the observation, which lacks it');
  const out = [
    ...BLOCK_FEATURE_SUFFIXES.map((s) => `target.active.${s}`),
    ...BLOCK_FEATURE_SUFFIXES.map((s) => `target.base.${s}`),
    'target.goal_dx', 'target.goal_dy', 'target.goal_dz',
    'target.goal_tcp_dx', 'target.goal_tcp_dy', 'target.goal_tcp_dz',
    ...Array.from({ length: blocks - 1 }, (_, j) => `target.stage${j + 1}`),
  ];
  return { blocks, flags: flags as number[], block, width, names: out };
}

/** Graph: the observation `input` (S features) → [observation, target features] (S + spec.names.length). */
export function applyTargetFeatures(tf: TF, input: SymbolicTensor, spec: TargetFeatureSpec): SymbolicTensor {
  const S = input.shape[1] as number;
  const n = spec.blocks, J = n - 1;

  // Stage weights w (J values).
  let w: SymbolicTensor;
  if (J === 1) {
    w = apply(fixedDense(tf, 'target_stage', S, 1, new Float32Array(S), Float32Array.of(1)), input);
  } else {
    const gated = gatedFlags(tf, input, spec);
    const flag = (k: number): SymbolicTensor => {
      const kernel = new Float32Array(J);
      kernel[k - 1] = 1;
      return apply(fixedDense(tf, `target_flag${k}`, J, 1, kernel), gated);
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

/** Where a held block lies (see above): centre within HELD_XY sideways, HELD_Z around HELD_DZ below the tool centre point, fingers within HELD_WIDTH of its size; each falls to 0 over HELD_FADE (width: ×1). */
const HELD_XY = 0.01, HELD_DZ = -0.015, HELD_Z = 0.0175, HELD_WIDTH = 0.004, HELD_FADE = 0.01;

/** s_k·(1 − h_k) for k = 1…n−1 (J values): each stacked flag, off while its block is held. */
function gatedFlags(tf: TF, input: SymbolicTensor, spec: TargetFeatureSpec): SymbolicTensor {
  const S = input.shape[1] as number, J = spec.blocks - 1;
  const f = (k: number, name: (typeof BLOCK_FEATURE_SUFFIXES)[number]): number => spec.block[k][at(name)];
  // |x| as relu(x) + relu(−x): per block, dx, −dx, dy, −dy, (dz − HELD_DZ), −(dz − HELD_DZ).
  const k1 = new Float32Array(S * 6 * J), b1 = new Float32Array(6 * J);
  for (let k = 1; k <= J; k++) {
    const c = (k - 1) * 6;
    const put = (src: number, col: number, v: number) => { k1[src * 6 * J + col] = v; };
    put(f(k, 'dx'), c, 1); put(f(k, 'dx'), c + 1, -1);
    put(f(k, 'dy'), c + 2, 1); put(f(k, 'dy'), c + 3, -1);
    put(f(k, 'dz'), c + 4, 1); put(f(k, 'dz'), c + 5, -1);
    b1[c + 4] = -HELD_DZ; b1[c + 5] = HELD_DZ;
  }
  const abs = apply(fixedDense(tf, 'target_held_parts', S, 6 * J, k1, b1, 'relu'), input);
  // Four ramps per block, clipped to [0, 1]: (edge + fade − |d|) / fade, and the width's.
  const both = apply(tf.layers.concatenate({ name: 'target_held_inputs' }), [abs, input]);
  const R = 6 * J + S;
  const k2 = new Float32Array(R * 4 * J), b2 = new Float32Array(4 * J);
  for (let k = 1; k <= J; k++) {
    const c = (k - 1) * 6;
    const put = (row: number, q: number, v: number) => { k2[row * 4 * J + (q * J + k - 1)] = v; };
    for (const [q, edge] of [[0, HELD_XY], [1, HELD_XY], [2, HELD_Z]] as const) {
      put(c + 2 * q, q, -1 / HELD_FADE); put(c + 2 * q + 1, q, -1 / HELD_FADE);
      b2[q * J + k - 1] = (edge + HELD_FADE) / HELD_FADE;
    }
    // width − size ≤ HELD_WIDTH → 1, ≥ 2·HELD_WIDTH → 0
    put(6 * J + spec.width, 3, -1 / HELD_WIDTH); put(6 * J + f(k, 'size'), 3, 1 / HELD_WIDTH);
    b2[3 * J + k - 1] = 2;
  }
  const ramps = apply(tf.layers.reLU({ maxValue: 1, name: 'target_held_ramps' }), apply(fixedDense(tf, 'target_held_linear', R, 4 * J, k2, b2), both));
  const slice = (q: number): SymbolicTensor => {
    const kernel = new Float32Array(4 * J * J);
    for (let k = 0; k < J; k++) kernel[(q * J + k) * J + k] = 1;
    return apply(fixedDense(tf, `target_held_ramp${q}`, 4 * J, J, kernel), ramps);
  };
  const held = apply(tf.layers.multiply({ name: 'target_held' }), [slice(0), slice(1), slice(2), slice(3)]);
  const free = new Float32Array(J * J);
  for (let k = 0; k < J; k++) free[k * J + k] = -1;
  const notHeld = apply(fixedDense(tf, 'target_not_held', J, J, free, new Float32Array(J).fill(1)), held);
  const select = new Float32Array(S * J);
  spec.flags.forEach((src, k) => { select[src * J + k] = 1; });
  const flags = apply(fixedDense(tf, 'target_flags', S, J, select), input);
  return apply(tf.layers.multiply({ name: 'target_gated_flags' }), [flags, notHeld]);
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
