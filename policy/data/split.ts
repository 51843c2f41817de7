/**
 * Training/validation split by episode (frames of one episode are strongly correlated, so they
 * must all fall on the same side), and seeded mini-batch order.
 */
import { Rng } from '../../sim/rng.ts';
import type { FrameSet } from './frames.ts';

export interface Split {
  /** Positions in FrameSet.episodes. */
  trainEpisodes: number[];
  valEpisodes: number[];
  trainFrames: Int32Array;
  valFrames: Int32Array;
}

/**
 * Puts round(valFraction × episodes) episodes (at least one when there are two or more and
 * valFraction > 0) in validation, chosen by a generator seeded with `seed`.
 */
export function splitByEpisode(set: FrameSet, valFraction: number, seed: number): Split {
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${valFraction}`);
  const n = set.episodes.length;
  const order = new Rng(seed).fork('split').shuffle(Array.from({ length: n }, (_, i) => i));
  let nVal = Math.round(valFraction * n);
  if (valFraction > 0 && n >= 2) nVal = Math.min(n - 1, Math.max(1, nVal));
  const valEpisodes = order.slice(0, nVal).sort((a, b) => a - b);
  const trainEpisodes = order.slice(nVal).sort((a, b) => a - b);
  const frames = (eps: number[]): Int32Array => {
    const out = new Int32Array(eps.reduce((k, e) => k + set.episodes[e].length, 0));
    let o = 0;
    for (const e of eps) {
      const { start, length } = set.episodes[e];
      for (let t = 0; t < length; t++) out[o++] = start + t;
    }
    return out;
  };
  return { trainEpisodes, valEpisodes, trainFrames: frames(trainEpisodes), valFrames: frames(valEpisodes) };
}

/** The frames of one epoch, shuffled by a generator fixed by (seed, epoch), cut into batches. */
export function epochBatches(frames: Int32Array, batchSize: number, seed: number, epoch: number): Int32Array[] {
  const idx = Array.from(frames);
  new Rng(seed).fork(`epoch-${epoch}`).shuffle(idx);
  const out: Int32Array[] = [];
  for (let i = 0; i < idx.length; i += batchSize) out.push(Int32Array.from(idx.slice(i, i + batchSize)));
  return out;
}

/** Frames in order, cut into batches (validation). */
export function orderedBatches(frames: Int32Array, batchSize: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let i = 0; i < frames.length; i += batchSize) out.push(frames.subarray(i, i + batchSize));
  return out;
}

/**
 * Per-column mean and standard deviation of `data` (an n × width matrix) over the given rows. The
 * std is floored at `minStd` so that a feature constant in training (a block size without
 * randomization) does not turn small changes into huge normalized inputs.
 */
export function columnStats(data: Float32Array, width: number, rows: ArrayLike<number>, minStd = 1e-2): { mean: number[]; std: number[] } {
  const mean = new Float64Array(width), sq = new Float64Array(width);
  const n = Math.max(1, rows.length);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * width;
    for (let j = 0; j < width; j++) mean[j] += data[o + j];
  }
  for (let j = 0; j < width; j++) mean[j] /= n;
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * width;
    for (let j = 0; j < width; j++) {
      const d = data[o + j] - mean[j];
      sq[j] += d * d;
    }
  }
  const std = Array.from(sq, (s) => Math.max(minStd, Math.sqrt(s / n)));
  return { mean: Array.from(mean), std };
}
