/**
 * Feature statistics as LeRobot keeps them (lerobot/datasets/compute_stats.py): per episode, for
 * every numeric feature, per dimension: min, max, mean, std (population), count, and the
 * quantiles q01 q10 q50 q90 q99; images per channel, scaled to [0, 1], shape (3, 1, 1).
 * Dataset stats are the per-episode stats combined by LeRobot's aggregate_stats (count-weighted
 * mean and pooled variance; lower quantiles take the minimum, upper ones the maximum).
 *
 * Differences from LeRobot, by design: per-episode quantiles are exact order statistics (LeRobot
 * approximates them with 5,000-bin histograms), and image stats use `imageSamples` evenly spaced
 * frames per episode (LeRobot samples at least 100): decoding every frame would halve write speed.
 */
import type { Feature } from './format.ts';
import { QUANTILES, QUANTILE_KEYS } from './format.ts';
import { decodePngRgb } from './png.ts';

/** One feature's stats, each a flat array (per dimension, or per channel for images); count is [n]. */
export type FeatureStats = Record<string, number[]>;
export type StatsMap = Record<string, FeatureStats>;

export const STAT_KEYS = ['min', 'max', 'mean', 'std', 'count', ...QUANTILE_KEYS];

/** numpy's default (linear) quantile of sorted values. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Stats of `rows` frames of a `width`-wide feature stored row-major in `values`. */
export function vectorStats(values: ArrayLike<number | bigint>, rows: number, width: number): FeatureStats {
  const s: FeatureStats = { min: [], max: [], mean: [], std: [], count: [rows] };
  for (const k of QUANTILE_KEYS) s[k] = [];
  const col = new Float64Array(rows);
  for (let d = 0; d < width; d++) {
    let sum = 0, sumSq = 0;
    for (let t = 0; t < rows; t++) {
      const v = Number(values[t * width + d]);
      col[t] = v;
      sum += v;
      sumSq += v * v;
    }
    col.sort();
    const mean = rows > 0 ? sum / rows : 0;
    s.min.push(rows ? col[0] : 0);
    s.max.push(rows ? col[rows - 1] : 0);
    s.mean.push(mean);
    s.std.push(Math.sqrt(Math.max(0, rows ? sumSq / rows - mean * mean : 0)));
    QUANTILES.forEach((q, i) => s[QUANTILE_KEYS[i]].push(rows >= 2 ? quantileSorted(col, q) : mean));
  }
  return s;
}

/** Evenly spaced frame indices (numpy.linspace rounded), at most `samples` of `length`. */
export function sampleIndices(length: number, samples: number): number[] {
  const n = Math.min(length, samples);
  if (n <= 1) return n === 1 ? [0] : [];
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - 1)) / (n - 1)));
}

/** Per-channel stats of sampled PNG frames, in [0, 1]; exact, from 256-bin histograms. */
export function imageStats(pngs: ArrayLike<Uint8Array>, samples: number): FeatureStats {
  return rgbFrameStats(pngs.length, samples, (i) => decodePngRgb(pngs[i]).data);
}

/** The same from frames given as RGB pixels (height × width × 3 bytes each) by `pixels(i)`. */
export function rgbFrameStats(length: number, samples: number, pixels: (i: number) => Uint8Array): FeatureStats {
  const idx = sampleIndices(length, samples);
  const hist = [new Float64Array(256), new Float64Array(256), new Float64Array(256)];
  for (const i of idx) {
    const img = pixels(i);
    for (let p = 0; p < img.length; p += 3) {
      hist[0][img[p]]++;
      hist[1][img[p + 1]]++;
      hist[2][img[p + 2]]++;
    }
  }
  const s: FeatureStats = { min: [], max: [], mean: [], std: [], count: [idx.length] };
  for (const k of QUANTILE_KEYS) s[k] = [];
  for (const h of hist) {
    let n = 0, sum = 0, sumSq = 0, min = -1, max = 0;
    for (let v = 0; v < 256; v++) {
      if (h[v] === 0) continue;
      if (min < 0) min = v;
      max = v;
      n += h[v];
      sum += v * h[v];
      sumSq += v * v * h[v];
    }
    const mean = n ? sum / n : 0;
    // The k-th order statistic from the cumulative histogram.
    const orderStat = (k: number): number => {
      let cum = 0;
      for (let v = 0; v < 256; v++) {
        cum += h[v];
        if (cum > k) return v;
      }
      return max;
    };
    s.min.push(Math.max(0, min) / 255);
    s.max.push(max / 255);
    s.mean.push(mean / 255);
    s.std.push(Math.sqrt(Math.max(0, n ? sumSq / n - mean * mean : 0)) / 255);
    QUANTILES.forEach((q, i) => {
      if (n < 2) { s[QUANTILE_KEYS[i]].push(mean / 255); return; }
      const hpos = (n - 1) * q;
      const lo = Math.floor(hpos);
      const a = orderStat(lo), b = orderStat(Math.min(lo + 1, n - 1));
      s[QUANTILE_KEYS[i]].push((a + (hpos - lo) * (b - a)) / 255);
    });
  }
  return s;
}

/** LeRobot's aggregate_feature_stats over several stats of one feature. */
export function aggregateFeatureStats(list: FeatureStats[]): FeatureStats {
  if (list.length === 1) return structuredClone(list[0]);
  const dims = list[0].mean.length;
  const counts = list.map((s) => s.count[0]);
  const total = counts.reduce((a, b) => a + b, 0);
  const out: FeatureStats = { min: [], max: [], mean: [], std: [], count: [total] };
  for (let d = 0; d < dims; d++) {
    let mean = 0;
    list.forEach((s, i) => { mean += s.mean[d] * counts[i]; });
    mean = total ? mean / total : 0;
    let variance = 0;
    list.forEach((s, i) => { variance += (s.std[d] ** 2 + (s.mean[d] - mean) ** 2) * counts[i]; });
    variance = total ? variance / total : 0;
    out.min.push(Math.min(...list.map((s) => s.min[d])));
    out.max.push(Math.max(...list.map((s) => s.max[d])));
    out.mean.push(mean);
    out.std.push(Math.sqrt(variance));
  }
  for (const k of QUANTILE_KEYS) {
    if (!list.every((s) => k in s)) continue;
    const low = Number(k.slice(1)) <= 50;
    out[k] = Array.from({ length: dims }, (_, d) => (low ? Math.min : Math.max)(...list.map((s) => s[k][d])));
  }
  return out;
}

/** Combines stats maps (the union of their features). */
export function aggregateStats(list: StatsMap[]): StatsMap {
  const keys = new Set(list.flatMap((s) => Object.keys(s)));
  const out: StatsMap = {};
  for (const k of keys) out[k] = aggregateFeatureStats(list.filter((s) => k in s).map((s) => s[k]));
  return out;
}

/**
 * A running aggregate: folds episodes in one at a time, so memory does not grow with the
 * dataset. Equal to aggregateStats over all of them.
 */
export class StatsAccumulator {
  private acc: StatsMap | null = null;
  add(stats: StatsMap): void {
    this.acc = this.acc ? aggregateStats([this.acc, stats]) : structuredClone(stats);
  }
  get value(): StatsMap | null {
    return this.acc;
  }
}

/** The JSON/parquet shape of one stat: images keep LeRobot's (3, 1, 1). */
export function nestStat(feature: Feature, stat: string, values: number[]): unknown[] {
  if (feature.dtype === 'image' && stat !== 'count') return values.map((v) => [[v]]);
  return values;
}

/** Flattens a stat read back from stats.json or an episodes table. */
export function flattenStat(value: unknown): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && v !== undefined) out.push(Number(v));
  };
  walk(value);
  return out;
}

/** stats.json content for these features. */
export function statsToJson(stats: StatsMap, features: Record<string, Feature>): Record<string, Record<string, unknown[]>> {
  const out: Record<string, Record<string, unknown[]>> = {};
  for (const [name, s] of Object.entries(stats)) {
    const f = features[name];
    if (!f) continue;
    out[name] = {};
    for (const [k, v] of Object.entries(s)) out[name][k] = nestStat(f, k, v);
  }
  return out;
}

export function statsFromJson(json: Record<string, Record<string, unknown>>): StatsMap {
  const out: StatsMap = {};
  for (const [name, s] of Object.entries(json)) {
    out[name] = {};
    for (const [k, v] of Object.entries(s)) out[name][k] = flattenStat(v);
  }
  return out;
}
