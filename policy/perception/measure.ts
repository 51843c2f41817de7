/**
 * How far the estimates are from the truth. One frame's error of block b is the distance (m)
 * between its true centre and the estimate named b. Naming follows the task's rules
 * (identity.ts) where a single frame can apply them — Grasp-v1's target is the block in the
 * middle of its ring — and otherwise, for blocks no single frame can tell apart (a stack's
 * blocks halfway through an episode), the assignment with the least squared error.
 *
 * Summaries give the mean, median and 90th percentile with 95 % bootstrap intervals (percentile
 * method over resampled frames, seeded: the same errors give the same intervals).
 */
import { Rng } from '../../sim/rng.ts';
import type { TaskConfig } from '../../sim/scenario.ts';
import type { Vec3 } from '../../sim/state.ts';
import { nameByRule, nameByTracking } from './identity.ts';

const dist = (a: Vec3, b: Vec3): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/**
 * Per true block, which estimate is named for it (an index into `estimates`; estimates missing
 * from a short list count as guesses at the table's centre, index ≥ estimates.length) and its
 * error (m).
 */
export function assignEstimates(task: TaskConfig, estimates: Vec3[], truth: Vec3[]): { assigned: number[]; errors: number[] } {
  const est = [...estimates];
  while (est.length < truth.length) est.push([0, 0, 0]);
  let assigned: number[];
  if (task.id === 'Grasp-v1' && truth.length > 1) {
    const order = nameByRule(task, est);
    const rest = order.slice(1);
    const match = nameByTracking(truth.slice(1), rest.map((i) => est[i]));
    assigned = [order[0], ...truth.slice(1).map((_, b) => rest[match[b]])];
  } else {
    assigned = nameByTracking(truth, est);
  }
  return { assigned, errors: truth.map((t, b) => dist(est[assigned[b]], t)) };
}

/** Per true block, the error (m) of the estimate named for it. */
export function blockErrors(task: TaskConfig, estimates: Vec3[], truth: Vec3[]): number[] {
  return assignEstimates(task, estimates, truth).errors;
}

export interface Stat {
  value: number;
  /** 95 % bootstrap interval. */
  low: number;
  high: number;
}

export interface ErrorSummary {
  frames: number;
  meanCm: Stat;
  medianCm: Stat;
  p90Cm: Stat;
}

/** The q-quantile of sorted values, interpolated linearly (NaN for none). */
export function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Mean, median and p90 (cm) of errors (m), with bootstrap intervals over `resamples` draws. */
export function summarizeErrors(errors: number[], resamples = 1000, seed = 1): ErrorSummary {
  const n = errors.length;
  const cm = errors.map((e) => e * 100);
  const stats = (xs: number[] | Float64Array): [number, number, number] => {
    const s = Float64Array.from(xs).sort();
    let sum = 0;
    for (const x of s) sum += x;
    return [sum / Math.max(1, s.length), quantile(s, 0.5), quantile(s, 0.9)];
  };
  const point = stats(cm);
  const draws: number[][] = [[], [], []];
  const rng = new Rng(seed);
  const sample = new Float64Array(n);
  for (let r = 0; r < (n > 0 ? resamples : 0); r++) {
    for (let i = 0; i < n; i++) sample[i] = cm[rng.int(0, n - 1)];
    stats(sample).forEach((v, k) => draws[k].push(v));
  }
  const stat = (k: number): Stat => {
    const d = draws[k].sort((a, b) => a - b);
    return { value: point[k], low: quantile(d, 0.025), high: quantile(d, 0.975) };
  };
  return { frames: n, meanCm: stat(0), medianCm: stat(1), p90Cm: stat(2) };
}
