/**
 * Projection and lifting with a camera file's model: table point → pixel (with OpenCV's lens
 * distortion), and pixel → ray, → point on a horizontal plane, → point at a known depth. Plain
 * math on numbers, no allocation beyond the returned values. Conventions: camera-file.ts (pixel
 * centres at integer + 0.5, OpenCV camera axes, table frame z up, metres).
 *
 * Lens model (OpenCV's five-coefficient model): a camera-frame point (X, Y, Z) has normalized
 * coordinates x = X/Z, y = Y/Z; with r² = x² + y²,
 *   x_d = x·(1 + k1 r² + k2 r⁴ + k3 r⁶) + 2 p1 x y + p2 (r² + 2x²)
 *   y_d = y·(1 + k1 r² + k2 r⁴ + k3 r⁶) + p1 (r² + 2y²) + 2 p2 x y
 * and u = fx·x_d + cx, v = fy·y_d + cy. Undistortion inverts this with Newton's method (exact to
 * 1e-12 in normalized units wherever the model is invertible, i.e. inside the lens's useful field).
 */
import type { Vec3 } from '../state.ts';
import type { CameraFile } from './camera-file.ts';

export interface Projection {
  /** Pixel coordinates (pixel centres at integer + 0.5). */
  u: number;
  v: number;
  /** z in the camera frame: distance along the optical axis (m); ≤ 0 for points behind the camera. */
  depth: number;
}

export interface Ray {
  /** The camera's centre in the table frame (m). */
  origin: Vec3;
  /** Unit direction in the table frame. */
  direction: Vec3;
}

/** Why a pixel could not be lifted. */
export type LiftFailure = 'parallel' | 'behind' | 'outside-lens';

export class LiftError extends Error {
  readonly reason: LiftFailure;
  constructor(reason: LiftFailure, message: string) {
    super(message);
    this.name = 'LiftError';
    this.reason = reason;
  }
}

/** |direction z| below this counts as parallel to a horizontal plane (a ray 0.06° from level). */
const PARALLEL_EPS = 1e-3;
const NEWTON_ITERATIONS = 30;
const NEWTON_TOLERANCE = 1e-12;

function isPinhole(d: readonly number[]): boolean {
  return d[0] === 0 && d[1] === 0 && d[2] === 0 && d[3] === 0 && d[4] === 0;
}

/** Applies the lens distortion to normalized coordinates (x, y). */
export function distortNormalized(distortion: readonly number[], x: number, y: number): [number, number] {
  const [k1, k2, p1, p2, k3] = distortion;
  const r2 = x * x + y * y;
  const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
  return [x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y];
}

/**
 * Inverts the lens distortion: the normalized coordinates (x, y) whose distorted image is (xd, yd).
 * Null where Newton's method does not converge (a point outside the range the model describes).
 */
export function undistortNormalized(distortion: readonly number[], xd: number, yd: number): [number, number] | null {
  if (isPinhole(distortion)) return [xd, yd];
  const [k1, k2, p1, p2, k3] = distortion;
  let x = xd, y = yd;
  for (let it = 0; it < NEWTON_ITERATIONS; it++) {
    const r2 = x * x + y * y;
    const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
    const fx = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) - xd;
    const fy = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y - yd;
    if (Math.abs(fx) < NEWTON_TOLERANCE && Math.abs(fy) < NEWTON_TOLERANCE) return onUnfoldedBranch(jacobianDet(distortion, x, y), x, y, xd, yd) ? [x, y] : null;
    // d(radial)/dx = 2x·g with g = k1 + 2 k2 r² + 3 k3 r⁴.
    const g = k1 + r2 * (2 * k2 + 3 * k3 * r2);
    const a = radial + 2 * x * x * g + 2 * p1 * y + 6 * p2 * x;
    // The Jacobian is symmetric: ∂fx/∂y = ∂fy/∂x = b.
    const b = 2 * x * y * g + 2 * p1 * x + 2 * p2 * y;
    const d = radial + 2 * y * y * g + 6 * p1 * y + 2 * p2 * x;
    const det = a * d - b * b;
    if (!Number.isFinite(det) || Math.abs(det) < 1e-12) return null;
    x -= (d * fx - b * fy) / det;
    y -= (a * fy - b * fx) / det;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
  }
  // Accept the last step if it is as good as the tolerance allows in floating point.
  const [ux, uy] = distortNormalized(distortion, x, y);
  const ok = Math.abs(ux - xd) < 1e-9 && Math.abs(uy - yd) < 1e-9 && onUnfoldedBranch(jacobianDet(distortion, x, y), x, y, xd, yd);
  return ok ? [x, y] : null;
}

function jacobianDet(distortion: readonly number[], x: number, y: number): number {
  const [k1, k2, p1, p2, k3] = distortion;
  const r2 = x * x + y * y;
  const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
  const g = k1 + r2 * (2 * k2 + 3 * k3 * r2);
  const a = radial + 2 * x * x * g + 2 * p1 * y + 6 * p2 * x;
  const b = 2 * x * y * g + 2 * p1 * x + 2 * p2 * y;
  const d = radial + 2 * y * y * g + 6 * p1 * y + 2 * p2 * x;
  return a * d - b * b;
}

/**
 * A polynomial lens model folds over past some radius (strong barrel distortion bends back), so a
 * distorted point can have a second, false preimage out there. The true one keeps the image's
 * orientation (Jacobian determinant > 0) and lies on the same side of the centre.
 */
function onUnfoldedBranch(det: number, x: number, y: number, xd: number, yd: number): boolean {
  return det > 0 && x * xd + y * yd >= 0;
}

/** Pixel, depth of a table-frame point. A point behind the camera gets depth ≤ 0 (u, v then mean nothing). */
export function project(cam: CameraFile, p: ArrayLike<number>): Projection {
  const m = cam.cameraToTable;
  const dx = p[0] - m[3], dy = p[1] - m[7], dz = p[2] - m[11];
  // Table → camera is the transpose of the rotation.
  const X = m[0] * dx + m[4] * dy + m[8] * dz;
  const Y = m[1] * dx + m[5] * dy + m[9] * dz;
  const Z = m[2] * dx + m[6] * dy + m[10] * dz;
  const [xd, yd] = distortNormalized(cam.distortion, X / Z, Y / Z);
  const k = cam.intrinsics;
  return { u: k.fx * xd + k.cx, v: k.fy * yd + k.cy, depth: Z };
}

/** Normalized undistorted coordinates of a pixel (null: outside what the lens model inverts). */
function normalizedOf(cam: CameraFile, u: number, v: number): [number, number] | null {
  const k = cam.intrinsics;
  return undistortNormalized(cam.distortion, (u - k.cx) / k.fx, (v - k.cy) / k.fy);
}

function outsideLens(cam: CameraFile, u: number, v: number): LiftError {
  return new LiftError('outside-lens', `pixel (${u.toFixed(2)}, ${v.toFixed(2)}) lies outside the range this camera's distortion model can be inverted on (distortion ${JSON.stringify(cam.distortion)}): only lift pixels inside the calibrated image`);
}

/** Where a pixel would be seen by an ideal pinhole camera with the same intrinsics (no distortion). */
export function undistortPixel(cam: CameraFile, u: number, v: number): { u: number; v: number } {
  const n = normalizedOf(cam, u, v);
  if (!n) throw outsideLens(cam, u, v);
  const k = cam.intrinsics;
  return { u: k.fx * n[0] + k.cx, v: k.fy * n[1] + k.cy };
}

/** The inverse of undistortPixel: where the real (distorted) camera sees what a pinhole sees at (u, v). */
export function distortPixel(cam: CameraFile, u: number, v: number): { u: number; v: number } {
  const k = cam.intrinsics;
  const [xd, yd] = distortNormalized(cam.distortion, (u - k.cx) / k.fx, (v - k.cy) / k.fy);
  return { u: k.fx * xd + k.cx, v: k.fy * yd + k.cy };
}

/** The ray through a pixel, in the table frame (unit direction, from the camera centre). */
export function pixelRay(cam: CameraFile, u: number, v: number): Ray {
  const n = normalizedOf(cam, u, v);
  if (!n) throw outsideLens(cam, u, v);
  const m = cam.cameraToTable;
  const [x, y] = n;
  const dx = m[0] * x + m[1] * y + m[2], dy = m[4] * x + m[5] * y + m[6], dz = m[8] * x + m[9] * y + m[10];
  const len = Math.hypot(dx, dy, dz);
  return { origin: [m[3], m[7], m[11]], direction: [dx / len, dy / len, dz / len] };
}

/**
 * The table-frame point where the ray through pixel (u, v) meets the horizontal plane at height z
 * (a block's resting plane: the table top is z = 0). Throws LiftError when the ray runs parallel to
 * the plane (`parallel`), meets it only behind the camera (`behind`: the pixel looks above the
 * horizon of a plane below the camera, or below it of one above), or the pixel is outside the lens
 * model (`outside-lens`). `tryLiftToPlane` returns null instead of throwing.
 */
export function liftToPlane(cam: CameraFile, u: number, v: number, z: number): Vec3 {
  const r = pixelRay(cam, u, v);
  const dz = r.direction[2];
  const h = z - r.origin[2];
  if (Math.abs(dz) < PARALLEL_EPS) {
    throw new LiftError('parallel', `the ray through pixel (${u.toFixed(2)}, ${v.toFixed(2)}) runs parallel to the plane z = ${z} m (direction z ${dz.toExponential(2)}): that plane cannot be seen at this pixel`);
  }
  const t = h / dz;
  if (t <= 0) {
    throw new LiftError('behind', `the ray through pixel (${u.toFixed(2)}, ${v.toFixed(2)}) points away from the plane z = ${z} m (the camera is at z = ${r.origin[2].toFixed(3)} m): the pixel does not look at that plane`);
  }
  return [r.origin[0] + t * r.direction[0], r.origin[1] + t * r.direction[1], z];
}

/** liftToPlane, or null where it would throw. */
export function tryLiftToPlane(cam: CameraFile, u: number, v: number, z: number): Vec3 | null {
  const n = normalizedOf(cam, u, v);
  if (!n) return null;
  const m = cam.cameraToTable;
  const [x, y] = n;
  const dx = m[0] * x + m[1] * y + m[2], dy = m[4] * x + m[5] * y + m[6], dz = m[8] * x + m[9] * y + m[10];
  const len = Math.hypot(dx, dy, dz);
  if (Math.abs(dz / len) < PARALLEL_EPS) return null;
  const t = (z - m[11]) / dz;
  if (t <= 0) return null;
  return [m[3] + t * dx, m[7] + t * dy, z];
}

/**
 * The table-frame point seen at pixel (u, v) at `depth` metres along the optical axis (z in the
 * camera frame, as depth images hold it; not the distance along the ray).
 */
export function liftWithDepth(cam: CameraFile, u: number, v: number, depth: number): Vec3 {
  if (!(depth > 0) || !Number.isFinite(depth)) throw new RangeError(`depth must be a finite number > 0 (metres along the optical axis), got ${depth}`);
  const n = normalizedOf(cam, u, v);
  if (!n) throw outsideLens(cam, u, v);
  const m = cam.cameraToTable;
  const X = n[0] * depth, Y = n[1] * depth, Z = depth;
  return [
    m[0] * X + m[1] * Y + m[2] * Z + m[3],
    m[4] * X + m[5] * Y + m[6] * Z + m[7],
    m[8] * X + m[9] * Y + m[10] * Z + m[11],
  ];
}
