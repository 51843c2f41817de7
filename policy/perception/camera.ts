/**
 * Pinhole camera math for perception: projection with lens distortion, pixel rays, and lifting an
 * image point to a horizontal plane of the table frame.
 */
import type { CameraFrame } from '../../sim/render/cameras.ts';
import type { Vec3 } from '../../sim/state.ts';

export interface Pinhole {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** OpenCV [k1, k2, p1, p2, k3]. */
  distortion: number[];
  /** 4×4 row-major, camera (OpenCV axes) → table. */
  cameraToWorld: number[];
}

export function pinholeFromFrame(f: CameraFrame): Pinhole {
  return { width: f.width, height: f.height, fx: f.K[0], fy: f.K[4], cx: f.K[2], cy: f.K[5], distortion: [0, 0, 0, 0, 0], cameraToWorld: [...f.cameraToWorld] };
}

/** Pixel (u, v) and depth along the optical axis of a table-frame point. */
export function project(cam: Pinhole, p: ArrayLike<number>): { u: number; v: number; z: number } {
  const m = cam.cameraToWorld;
  const d0 = p[0] - m[3], d1 = p[1] - m[7], d2 = p[2] - m[11];
  // world → camera is the transpose of the rotation.
  const x = m[0] * d0 + m[4] * d1 + m[8] * d2;
  const y = m[1] * d0 + m[5] * d1 + m[9] * d2;
  const z = m[2] * d0 + m[6] * d1 + m[10] * d2;
  let a = x / z, b = y / z;
  const [k1, k2, p1, p2, k3] = cam.distortion;
  if (k1 || k2 || p1 || p2 || k3) {
    const r2 = a * a + b * b;
    const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
    const a2 = a * radial + 2 * p1 * a * b + p2 * (r2 + 2 * a * a);
    const b2 = b * radial + p1 * (r2 + 2 * b * b) + 2 * p2 * a * b;
    a = a2;
    b = b2;
  }
  return { u: cam.fx * a + cam.cx, v: cam.fy * b + cam.cy, z };
}

/** Undistorted normalized coordinates of a pixel (iterative inverse of the distortion model). */
function normalized(cam: Pinhole, u: number, v: number): [number, number] {
  const xd = (u - cam.cx) / cam.fx, yd = (v - cam.cy) / cam.fy;
  const [k1, k2, p1, p2, k3] = cam.distortion;
  if (!(k1 || k2 || p1 || p2 || k3)) return [xd, yd];
  let x = xd, y = yd;
  for (let i = 0; i < 20; i++) {
    const r2 = x * x + y * y;
    const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
    const dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
    const dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
    x = (xd - dx) / radial;
    y = (yd - dy) / radial;
  }
  return [x, y];
}

/** Direction (table frame, unit length) of the ray through pixel (u, v). */
export function pixelRay(cam: Pinhole, u: number, v: number): Vec3 {
  const [a, b] = normalized(cam, u, v);
  const m = cam.cameraToWorld;
  const d: Vec3 = [m[0] * a + m[1] * b + m[2], m[4] * a + m[5] * b + m[6], m[8] * a + m[9] * b + m[10]];
  const n = Math.hypot(d[0], d[1], d[2]);
  return [d[0] / n, d[1] / n, d[2] / n];
}

/**
 * The point where the ray through pixel (u, v) meets the horizontal plane at height `z`, or
 * null where the ray runs parallel to it or away from it.
 */
export function liftToPlane(cam: Pinhole, u: number, v: number, z: number): Vec3 | null {
  const d = pixelRay(cam, u, v);
  const m = cam.cameraToWorld;
  if (Math.abs(d[2]) < 1e-9) return null;
  const t = (z - m[11]) / d[2];
  if (t <= 0) return null;
  return [m[3] + t * d[0], m[7] + t * d[1], z];
}
