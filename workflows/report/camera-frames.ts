/**
 * The report's camera frames: what the emulated robot's camera sent while the policy acted
 * through it, with the blocks the pose estimator placed drawn on the image as orange wireframe
 * cubes and, where the robot reports them (the emulated one does), the true blocks in green.
 * Cubes are projected through the camera's calibration, as the estimator itself lifts its peaks,
 * so a calibration error shows as an offset between the two.
 */
import { project } from '../../sim/camera/projection.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { encodeRgbPng } from '../../sim/render/png.ts';
import type { Vec3 } from '../../sim/state.ts';

export interface DrawnBlock {
  position: Vec3;
  yaw: number;
  /** Edge length (m). */
  size: number;
}

export interface CameraFrameView {
  rgb: Uint8Array;
  calibration: CameraFile;
  estimates: DrawnBlock[];
  truth: DrawnBlock[];
  /** Episode and step it was seen at. */
  label: string;
}

export const ESTIMATE_COLOUR: readonly [number, number, number] = [255, 140, 0];
export const TRUTH_COLOUR: readonly [number, number, number] = [40, 220, 70];

/** Pixels per camera pixel in the drawing (frames are small). */
const SCALE = 3;
const GAP = 4;

/** The 12 edges of a block as pairs of its 8 corners (table frame). */
function cubeEdges(b: DrawnBlock): Array<[Vec3, Vec3]> {
  const h = b.size / 2, c = Math.cos(b.yaw), s = Math.sin(b.yaw);
  const corner = (i: number): Vec3 => {
    const x = i & 1 ? h : -h, y = i & 2 ? h : -h, z = i & 4 ? h : -h;
    return [b.position[0] + c * x - s * y, b.position[1] + s * x + c * y, b.position[2] + z];
  };
  const edges: Array<[Vec3, Vec3]> = [];
  for (let i = 0; i < 8; i++) {
    for (const bit of [1, 2, 4]) if (!(i & bit)) edges.push([corner(i), corner(i | bit)]);
  }
  return edges;
}

function line(img: Uint8Array, w: number, h: number, x0: number, y0: number, x1: number, y1: number, rgb: readonly number[]): void {
  const n = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))) + 1;
  for (let k = 0; k <= n; k++) {
    const x = Math.round(x0 + ((x1 - x0) * k) / n), y = Math.round(y0 + ((y1 - y0) * k) / n);
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1]]) {
      const px = x + dx, py = y + dy;
      if (px < 0 || py < 0 || px >= w || py >= h) continue;
      img.set(rgb, (py * w + px) * 3);
    }
  }
}

/** One frame, enlarged SCALE times, with the cubes drawn on it (RGB, rows top-down). */
export function drawFrame(f: CameraFrameView): { rgb: Uint8Array; width: number; height: number } {
  const { width: w0, height: h0 } = f.calibration;
  if (f.rgb.length !== w0 * h0 * 3) throw new RangeError(`a frame of ${f.rgb.length} bytes does not match its calibration (${w0}x${h0} RGB)`);
  const w = w0 * SCALE, h = h0 * SCALE;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / SCALE) * w0 + Math.floor(x / SCALE)) * 3, d = (y * w + x) * 3;
      out[d] = f.rgb[s];
      out[d + 1] = f.rgb[s + 1];
      out[d + 2] = f.rgb[s + 2];
    }
  }
  const draw = (blocks: DrawnBlock[], colour: readonly number[]): void => {
    for (const b of blocks) {
      if (!b.position.every(Number.isFinite) || !(b.size > 0)) continue;
      for (const [p, q] of cubeEdges(b)) {
        const a = project(f.calibration, p), c = project(f.calibration, q);
        if (a.depth <= 0 || c.depth <= 0) continue;
        // Pixel centres: pixel (u, v) covers [u, u + 1) in the enlarged image's SCALE·u.
        line(out, w, h, a.u * SCALE, a.v * SCALE, c.u * SCALE, c.v * SCALE, colour);
      }
    }
  };
  draw(f.truth, TRUTH_COLOUR);
  draw(f.estimates, ESTIMATE_COLOUR);
  return { rgb: out, width: w, height: h };
}

/** Frames side by side (`columns` per row) as one PNG, white between them. */
export function cameraFramesPng(frames: CameraFrameView[], columns = 2): Uint8Array {
  if (frames.length === 0) throw new RangeError('no camera frames to draw');
  const drawn = frames.map(drawFrame);
  const fw = drawn[0].width, fh = drawn[0].height;
  const cols = Math.min(columns, drawn.length), rows = Math.ceil(drawn.length / cols);
  const W = cols * fw + (cols - 1) * GAP, H = rows * fh + (rows - 1) * GAP;
  const img = new Uint8Array(W * H * 3).fill(255);
  drawn.forEach((d, k) => {
    if (d.width !== fw || d.height !== fh) throw new RangeError('camera frames of different sizes');
    const ox = (k % cols) * (fw + GAP), oy = Math.floor(k / cols) * (fh + GAP);
    for (let y = 0; y < fh; y++) img.set(d.rgb.subarray(y * fw * 3, (y + 1) * fw * 3), ((oy + y) * W + ox) * 3);
  });
  return encodeRgbPng(img, W, H);
}
