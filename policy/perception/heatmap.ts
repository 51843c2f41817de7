/**
 * What the pose estimator predicts, in the manner of CenterNet (Zhou et al. 2019, "Objects as
 * Points"): on a grid `stride` times coarser than its input, per cell
 *
 *   0  the logit that a block's centre projects into this cell (a Gaussian bump as target);
 *   1  the sub-cell offset of that projection along u, 2 along v (0…1 of a cell);
 *   3  the height of the block's centre above the table, (z − HEIGHT_MEAN) / HEIGHT_SCALE;
 *   4  sin 4ψ and 5 cos 4ψ of the block's yaw ψ (a cube looks the same every 90°, as the state
 *      observation has it, sim/tasks/features.ts);
 *   6  the block's edge length, (s − SIZE_MEAN) / SIZE_SCALE;
 *   7  the logit of the fraction of the cell a block covers (the renderer's segmentation);
 *   8  the mean height above the table of the surfaces the cell sees, / SURFACE_SCALE (depth).
 *
 * Channels 7 and 8 are for learning only: every pixel of a frame supervises them, where the
 * centres give two cells a frame, so "what a block looks like" is learned from far more labels
 * than the heat's positives alone provide (dense auxiliary tasks, as in multi-task detectors).
 * The surface height is what tells a cube from a flat texture that looks like one: relief.
 *
 * Decoding takes the strongest local maxima, refines each to a sub-pixel image point with its
 * offsets and lifts it to the table along the camera ray, to the plane at its predicted height.
 * Predicting the height is what keeps a lifted or stacked block from being placed as if it lay
 * on the table: for the front camera at ~37° elevation, 1 cm of height error moves the lifted
 * point ~1.3 cm along the table.
 */
import type { Vec3 } from '../../sim/state.ts';
import { tryLiftToPlane } from '../../sim/camera/projection.ts';
import { TABLE_HALF_EXTENT } from '../../sim/scene.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';

export const HEAT = 0;
export const OFFSET_U = 1;
export const OFFSET_V = 2;
export const HEIGHT = 3;
export const SIN4 = 4;
export const COS4 = 5;
export const SIZE = 6;
export const COVER = 7;
export const SURFACE = 8;
/** Output channels. */
export const CHANNELS = 9;
/** Target channels: the nine above plus a mask of the cells that hold a block centre. */
export const TARGET_CHANNELS = 10;
export const MASK = 9;
export const SURFACE_SCALE = 0.05;

/** Height normalization: a resting block of 5 cm has its centre at 2.5 cm. */
export const HEIGHT_MEAN = 0.025;
export const HEIGHT_SCALE = 0.05;
export const SIZE_MEAN = 0.05;
export const SIZE_SCALE = 0.01;

/** What is known of each block in a frame. */
export interface BlockTargets {
  /** Centre in the input image (pixels). */
  pixels: ArrayLike<readonly [number, number]>;
  /** Centre height (m), yaw (rad), edge length (m). */
  heights: ArrayLike<number>;
  yaws: ArrayLike<number>;
  sizes: ArrayLike<number>;
  /** Instance ids of the input image (size² ids), for the coverage channel, with the blocks' ids. */
  segmentation?: Uint16Array;
  blockIds?: readonly number[];
  /** Height above the table of what each pixel sees (m), for the surface channel. */
  surface?: Float32Array;
}

export interface GridSpec {
  /** Input edge (pixels). */
  size: number;
  /** Input pixels per grid cell. */
  stride: number;
  /** Std of the Gaussian bump (cells). */
  sigma: number;
}

export function gridSize(g: GridSpec): number {
  return g.size / g.stride;
}

/**
 * Writes the targets of one frame into `out` at sample `k` ([n, G, G, TARGET_CHANNELS]). Centres
 * outside the image add nothing (the block is out of view).
 */
export function writeTargets(g: GridSpec, t: BlockTargets, out: Float32Array, k: number): void {
  const { pixels, heights } = t;
  const G = gridSize(g);
  const base = k * G * G * TARGET_CHANNELS;
  out.fill(0, base, base + G * G * TARGET_CHANNELS);
  if (t.segmentation) writeCoverage(g, t.segmentation, new Set(t.blockIds ?? Array.from({ length: pixels.length }, (_, b) => 2 + b)), out, base);
  if (t.surface) writeSurface(g, t.surface, out, base);
  const r = Math.ceil(3 * g.sigma);
  for (let b = 0; b < pixels.length; b++) {
    const cu = pixels[b][0] / g.stride, cv = pixels[b][1] / g.stride;
    const iu = Math.floor(cu), iv = Math.floor(cv);
    if (iu < 0 || iv < 0 || iu >= G || iv >= G) continue;
    for (let y = Math.max(0, iv - r); y <= Math.min(G - 1, iv + r); y++) {
      for (let x = Math.max(0, iu - r); x <= Math.min(G - 1, iu + r); x++) {
        // The bump peaks at exactly 1 on the centre cell (CenterNet's convention), whatever the sub-cell position.
        const d2 = (x - iu) ** 2 + (y - iv) ** 2;
        const o = base + (y * G + x) * TARGET_CHANNELS;
        out[o + HEAT] = Math.max(out[o + HEAT], Math.exp(-d2 / (2 * g.sigma * g.sigma)));
      }
    }
    const o = base + (iv * G + iu) * TARGET_CHANNELS;
    out[o + OFFSET_U] = cu - iu;
    out[o + OFFSET_V] = cv - iv;
    out[o + HEIGHT] = (heights[b] - HEIGHT_MEAN) / HEIGHT_SCALE;
    out[o + SIN4] = Math.sin(4 * t.yaws[b]);
    out[o + COS4] = Math.cos(4 * t.yaws[b]);
    out[o + SIZE] = (t.sizes[b] - SIZE_MEAN) / SIZE_SCALE;
    out[o + MASK] = 1;
  }
}

/** Fraction of each cell's pixels that show a block, into the COVER channel of one sample. */
function writeCoverage(g: GridSpec, seg: Uint16Array, blocks: ReadonlySet<number>, out: Float32Array, base: number): void {
  const G = gridSize(g), s = g.stride, per = 1 / (s * s);
  for (let y = 0; y < g.size; y++) {
    const row = Math.floor(y / s) * G;
    for (let x = 0; x < g.size; x++) {
      const id = seg[y * g.size + x];
      if (blocks.has(id)) out[base + (row + Math.floor(x / s)) * TARGET_CHANNELS + COVER] += per;
    }
  }
}

/** Mean surface height of each cell's pixels, / SURFACE_SCALE, into the SURFACE channel of one sample. */
function writeSurface(g: GridSpec, surface: Float32Array, out: Float32Array, base: number): void {
  const G = gridSize(g), s = g.stride, per = 1 / (s * s * SURFACE_SCALE);
  for (let y = 0; y < g.size; y++) {
    const row = Math.floor(y / s) * G;
    for (let x = 0; x < g.size; x++) out[base + (row + Math.floor(x / s)) * TARGET_CHANNELS + SURFACE] += surface[y * g.size + x] * per;
  }
}

export interface Detection {
  /** Sigmoid score of the peak cell. */
  score: number;
  /** Sub-pixel image point (input pixels). */
  u: number;
  v: number;
  /** Predicted height of the block centre (m). */
  height: number;
  /** Predicted yaw (rad, in (−π/4, π/4]: cubes repeat every 90°) and edge length (m). */
  yaw: number;
  size: number;
  /** The image point lifted to the table at that height (null: the ray misses the plane). */
  position: Vec3 | null;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * The `count` strongest peaks of one sample's output (`pred` holds [G, G, CHANNELS] floats from
 * `offset`): local maxima of the heat over their 3×3 neighbourhood, strongest first, each
 * refined by its offsets and lifted through `camera` (the camera of the input image); peaks
 * that lift to a point off the table come only after every peak that lands on it.
 */
export function decode(g: GridSpec, pred: ArrayLike<number>, offset: number, count: number, camera: CameraFile, bounds: TableBounds = TABLE_BOUNDS): Detection[] {
  const G = gridSize(g);
  const peaks: Array<{ cell: number; logit: number }> = [];
  for (let y = 0; y < G; y++) {
    for (let x = 0; x < G; x++) {
      const cell = y * G + x;
      const h = pred[offset + cell * CHANNELS + HEAT];
      let isMax = true;
      for (let dy = -1; dy <= 1 && isMax; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if (!dx && !dy) continue;
          const yy = y + dy, xx = x + dx;
          if (yy < 0 || xx < 0 || yy >= G || xx >= G) continue;
          const n = pred[offset + (yy * G + xx) * CHANNELS + HEAT];
          // Ties go to the first cell in raster order.
          if (n > h || (n === h && yy * G + xx < cell)) {
            isMax = false;
            break;
          }
        }
      }
      if (isMax) peaks.push({ cell, logit: h });
    }
  }
  peaks.sort((a, b) => b.logit - a.logit || a.cell - b.cell);
  const out: Detection[] = [], elsewhere: Detection[] = [];
  for (const { cell, logit } of peaks) {
    if (out.length >= count) break;
    const o = offset + cell * CHANNELS;
    const x = cell % G, y = Math.floor(cell / G);
    const u = (x + clamp01(pred[o + OFFSET_U])) * g.stride;
    const v = (y + clamp01(pred[o + OFFSET_V])) * g.stride;
    const height = Math.max(0, pred[o + HEIGHT] * HEIGHT_SCALE + HEIGHT_MEAN);
    const yaw = Math.atan2(pred[o + SIN4], pred[o + COS4]) / 4;
    const size = pred[o + SIZE] * SIZE_SCALE + SIZE_MEAN;
    const d = { score: sigmoid(logit), u, v, height, yaw, size, position: tryLiftToPlane(camera, u, v, height) };
    // Blocks are on or above the table: a peak that lifts to a point off it (the floor, the
    // walls, a rod or edge far out) is passed over while peaks that land on the table remain.
    if (onTable(d.position, bounds)) out.push(d);
    else elsewhere.push(d);
  }
  return out.concat(elsewhere.slice(0, count - out.length));
}

/** Where a block can be: over the table top (half extent, m) and below a height (m). */
export interface TableBounds {
  half: number;
  top: number;
}

export const TABLE_BOUNDS: TableBounds = { half: TABLE_HALF_EXTENT, top: 0.4 };

function onTable(p: Vec3 | null, b: TableBounds): boolean {
  return p !== null && Math.abs(p[0]) <= b.half && Math.abs(p[1]) <= b.half && p[2] <= b.top;
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
