/**
 * Statistics of closed-loop evaluations: success rates with Wilson score intervals, per-stage
 * rates, failure causes.
 */

export interface Rate {
  successes: number;
  trials: number;
  rate: number;
  /** 95 % Wilson score interval. */
  low: number;
  high: number;
}

/**
 * Wilson score interval for k successes in n trials (z = 1.96 for 95 %): unlike the normal
 * approximation it stays inside [0, 1] and is sensible at 0 % and 100 %.
 */
export function wilson(k: number, n: number, z = 1.959963984540054): Rate {
  if (n === 0) return { successes: 0, trials: 0, rate: NaN, low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At k = 0 (k = n) the bound is exactly 0 (1); rounding would otherwise leave ±1e-17.
  const low = k === 0 ? 0 : Math.max(0, centre - half);
  const high = k === n ? 1 : Math.min(1, centre + half);
  return { successes: k, trials: n, rate: p, low, high };
}

export function formatRate(r: Rate): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return `${pct(r.rate)} (${r.successes}/${r.trials}, 95% CI ${pct(r.low)}–${pct(r.high)})`;
}

export interface EpisodeOutcome {
  seed: number;
  success: boolean;
  /** The task's fail flag (a block left the table). */
  fail: boolean;
  steps: number;
  /** Whether each stage was reached at some step, and whether it held at the end. */
  stagesReached: boolean[];
  stagesAtEnd: boolean[];
  /** Why it ended without success (see failureCause). */
  cause: string;
}

/**
 * Why an episode failed: `fell off the table` (the task's fail flag), `timeout before <stage>`
 * (the first stage never reached), `timeout: <stage> undone` (every stage was reached but one no
 * longer held at the end, e.g. a knocked tower or a dropped block), `timeout: not released or not
 * still` (every stage held at the end, but the success test needs more), or an error.
 */
export function failureCause(o: Omit<EpisodeOutcome, 'cause'>, stageNames: string[], error?: string): string {
  if (error) return error;
  if (o.success) return 'success';
  if (o.fail) return 'fell off the table';
  const never = o.stagesReached.findIndex((r) => !r);
  if (never >= 0) return `timeout before ${stageNames[never]}`;
  const lost = o.stagesAtEnd.findIndex((r) => !r);
  if (lost >= 0) return `timeout: ${stageNames[lost]} undone`;
  return 'timeout: not released or not still';
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
