/**
 * The estimator's view of the workspace: a virtual pinhole camera at the real camera's optical
 * centre, looking at the workspace, with its own focal length and image size. Every frame is
 * resampled into it (`rectify`) before the network sees it, using the real camera's calibration.
 *
 * Why: a rotation of a camera about its optical centre, and a change of its focal length or
 * lens distortion, change the image by a warp that the calibration fully determines. Undoing
 * that warp removes the camera's orientation, field of view and distortion from what the network
 * has to learn (held-out camera ranges then cost nothing), and the virtual camera can frame the
 * workspace tightly, so the blocks cover more pixels of the network's input than in the full
 * frame. Only the camera's position still changes what the network sees (parallax), and that
 * stays randomized in training.
 *
 * Conventions (as sim/render/cameras.ts): OpenCV camera axes (x right, y down, z forward),
 * pixel centres at integer + 0.5, 4×4 row-major rigid transforms, table frame = world frame
 * (origin at the table top's centre, z up, metres).
 */
import type { Vec3 } from '../../sim/state.ts';
import { CAMERA_FILE_VERSION } from '../../sim/camera/camera-file.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { pixelRay, project, undistortNormalized } from '../../sim/camera/projection.ts';

export interface VirtualViewOptions {
  /** Edge of the square virtual image (pixels). */
  size: number;
  /** Table-frame box the view must contain (m): corners `min`, `max`. */
  region: { min: Vec3; max: Vec3 };
  /** Point the virtual optical axis goes through (default: the region's centre). */
  lookAt?: Vec3;
  /** Fraction of the image left free around the region's projection (default 0.04). */
  margin?: number;
}

const sub = (a: ArrayLike<number>, b: ArrayLike<number>): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const unit = (a: Vec3): Vec3 => {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
};

/** The optical centre of a camera in the table frame. */
export function cameraCentre(cam: CameraFile): Vec3 {
  const m = cam.cameraToTable;
  return [m[3], m[7], m[11]];
}

/**
 * The virtual camera for `real`: same optical centre, optical axis through `lookAt`, image rows
 * parallel to the table (up in the image is up in the world), and the largest focal length at
 * which every corner of `region` falls inside the image (less the margin).
 */
export function virtualCamera(real: CameraFile, o: VirtualViewOptions): CameraFile {
  const c = cameraCentre(real);
  const { min, max } = o.region;
  const look: Vec3 = o.lookAt ?? [(min[0] + max[0]) / 2, (min[1] + max[1]) / 2, (min[2] + max[2]) / 2];
  const z = unit(sub(look, c));
  let x = cross(z, [0, 0, 1]);
  if (Math.hypot(...x) < 1e-6) x = cross(z, [0, 1, 0]);
  x = unit(x);
  const y = cross(z, x);
  const c2w = [x[0], y[0], z[0], c[0], x[1], y[1], z[1], c[1], x[2], y[2], z[2], c[2], 0, 0, 0, 1];
  let reach = 0;
  for (let k = 0; k < 8; k++) {
    const p: Vec3 = [k & 1 ? max[0] : min[0], k & 2 ? max[1] : min[1], k & 4 ? max[2] : min[2]];
    const d = sub(p, c);
    const cz = d[0] * z[0] + d[1] * z[1] + d[2] * z[2];
    if (cz <= 0) throw new RangeError('the workspace region lies partly behind the camera: no virtual view can frame it');
    const cx = d[0] * x[0] + d[1] * x[1] + d[2] * x[2], cy = d[0] * y[0] + d[1] * y[1] + d[2] * y[2];
    reach = Math.max(reach, Math.abs(cx / cz), Math.abs(cy / cz));
  }
  const half = (o.size / 2) * (1 - 2 * (o.margin ?? 0.04));
  const f = half / reach;
  return {
    schemaVersion: CAMERA_FILE_VERSION,
    name: `${real.name ?? 'camera'} (virtual view)`,
    width: o.size,
    height: o.size,
    intrinsics: { fx: f, fy: f, cx: o.size / 2, cy: o.size / 2 },
    distortion: [0, 0, 0, 0, 0],
    cameraToTable: c2w,
  };
}

/**
 * Where each pixel of `virt` lies in `real`: for each virtual pixel, `ss`×`ss` sample points
 * spread over it (pixel coordinates in `real`, u then v). Both cameras must share their optical
 * centre (as virtualCamera makes them). Use `ss` = 2 where the source is denser than the
 * virtual view, so that fine textures do not alias.
 */
export interface RectifyMap {
  width: number;
  height: number;
  ss: number;
  /** 2 floats per sample; samples of a pixel are consecutive. */
  points: Float32Array;
}

export function rectifyMap(real: CameraFile, virt: CameraFile, ss = 1): RectifyMap {
  if (real.distortion.every((k) => k === 0)) return homographyMap(real, virt, ss);
  const { width: w, height: h } = virt;
  const points = new Float32Array(w * h * ss * ss * 2);
  const c = cameraCentre(virt);
  const seen = lensReach(real);
  const m = real.cameraToTable;
  let i = 0;
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      for (let a = 0; a < ss; a++) {
        for (let b = 0; b < ss; b++) {
          const d = pixelRay(virt, u + (b + 0.5) / ss, v + (a + 0.5) / ss).direction;
          // Directions the real lens does not cover stay black: beyond its image the distortion
          // polynomial may fold back and would paint them with content from elsewhere.
          const X = m[0] * d[0] + m[4] * d[1] + m[8] * d[2], Y = m[1] * d[0] + m[5] * d[1] + m[9] * d[2], Z = m[2] * d[0] + m[6] * d[1] + m[10] * d[2];
          const inside = Z > 0 && Math.abs(X / Z) <= seen.x && Math.abs(Y / Z) <= seen.y;
          const p = inside ? project(real, [c[0] + d[0], c[1] + d[1], c[2] + d[2]]) : null;
          points[i++] = p ? p.u : -1e9;
          points[i++] = p ? p.v : -1e9;
        }
      }
    }
  }
  return { width: w, height: h, ss, points };
}

/**
 * rectifyMap for a real camera without lens distortion: then virtual pixel → real pixel is one
 * homography, H = K_real · R_real←virtual · K_virtual⁻¹ (the cameras share their centre), which
 * a rendered view's map is built from in a fraction of the time.
 */
function homographyMap(real: CameraFile, virt: CameraFile, ss: number): RectifyMap {
  const { width: w, height: h } = virt;
  const a = real.cameraToTable, b = virt.cameraToTable;
  // R = R_real^T · R_virt (camera axes of virt → camera axes of real).
  const R = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) R[i * 3 + j] = a[i] * b[j] + a[4 + i] * b[4 + j] + a[8 + i] * b[8 + j];
  const kr = real.intrinsics, kv = virt.intrinsics;
  const points = new Float32Array(w * h * ss * ss * 2);
  let i = 0;
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      for (let p = 0; p < ss; p++) {
        for (let q = 0; q < ss; q++) {
          const x = (u + (q + 0.5) / ss - kv.cx) / kv.fx, y = (v + (p + 0.5) / ss - kv.cy) / kv.fy;
          const X = R[0] * x + R[1] * y + R[2], Y = R[3] * x + R[4] * y + R[5], Z = R[6] * x + R[7] * y + R[8];
          points[i++] = Z > 0 ? kr.fx * (X / Z) + kr.cx : -1e9;
          points[i++] = Z > 0 ? kr.fy * (Y / Z) + kr.cy : -1e9;
        }
      }
    }
  }
  return { width: w, height: h, ss, points };
}

/**
 * Resamples an RGB image (`sw`×`sh`, rows top-down) through `map` into `out` (w·h·3 bytes):
 * bilinear at each sample point, averaged over a pixel's samples; points outside the source are
 * black.
 */
export function rectify(src: Uint8Array, sw: number, sh: number, map: RectifyMap, out: Uint8Array): void {
  const per = map.ss * map.ss;
  const n = map.width * map.height;
  const acc = new Float32Array(3);
  const pts = map.points;
  for (let i = 0, q = 0; i < n; i++) {
    acc[0] = acc[1] = acc[2] = 0;
    for (let s = 0; s < per; s++, q += 2) sample(src, sw, sh, pts[q], pts[q + 1], acc);
    out[3 * i] = Math.round(acc[0] / per);
    out[3 * i + 1] = Math.round(acc[1] / per);
    out[3 * i + 2] = Math.round(acc[2] / per);
  }
}

/** Resamples a float image (one value a pixel) through `map`: nearest source pixel of each sample, averaged; 0 outside. */
export function rectifyValues(src: Float32Array, sw: number, sh: number, map: RectifyMap): Float32Array {
  const n = map.width * map.height, per = map.ss * map.ss;
  const out = new Float32Array(n);
  for (let i = 0, q = 0; i < n; i++) {
    let a = 0;
    for (let s = 0; s < per; s++, q += 2) {
      const x = Math.floor(map.points[q]), y = Math.floor(map.points[q + 1]);
      if (x >= 0 && y >= 0 && x < sw && y < sh) a += src[y * sw + x];
    }
    out[i] = a / per;
  }
  return out;
}

/** Resamples an id image (segmentation) through `map`: nearest source pixel of each pixel's first sample; 0 outside. */
export function rectifyIds(src: Uint16Array, sw: number, sh: number, map: RectifyMap): Uint16Array {
  const n = map.width * map.height, per = map.ss * map.ss;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const x = Math.floor(map.points[2 * i * per]), y = Math.floor(map.points[2 * i * per + 1]);
    out[i] = x >= 0 && y >= 0 && x < sw && y < sh ? src[y * sw + x] : 0;
  }
  return out;
}

function sample(src: Uint8Array, sw: number, sh: number, u: number, v: number, acc: Float32Array): void {
  const x = u - 0.5, y = v - 0.5;
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  for (let dy = 0; dy < 2; dy++) {
    const yy = y0 + dy;
    if (yy < 0 || yy >= sh) continue;
    const wy = dy ? fy : 1 - fy;
    for (let dx = 0; dx < 2; dx++) {
      const xx = x0 + dx;
      if (xx < 0 || xx >= sw) continue;
      const wgt = wy * (dx ? fx : 1 - fx);
      const o = (yy * sw + xx) * 3;
      acc[0] += wgt * src[o];
      acc[1] += wgt * src[o + 1];
      acc[2] += wgt * src[o + 2];
    }
  }
}

/** How many source pixels one virtual pixel spans at the image centre (> 1: the source is denser). */
export function sourceDensity(real: CameraFile, virt: CameraFile): number {
  return real.intrinsics.fy / virt.intrinsics.fy;
}

/**
 * How far from the optical axis (undistorted normalized coordinates, per axis) a camera's image
 * reaches, with a 10 % margin: the largest over its corners and edge midpoints.
 */
function lensReach(cam: CameraFile): { x: number; y: number } {
  const k = cam.intrinsics;
  let x = 0, y = 0;
  for (const [u, v] of [[0, 0], [cam.width, 0], [0, cam.height], [cam.width, cam.height], [cam.width / 2, 0], [0, cam.height / 2], [cam.width, cam.height / 2], [cam.width / 2, cam.height]]) {
    const n = undistortNormalized(cam.distortion, (u - k.cx) / k.fx, (v - k.cy) / k.fy);
    if (!n) return { x: Infinity, y: Infinity };
    x = Math.max(x, Math.abs(n[0]));
    y = Math.max(y, Math.abs(n[1]));
  }
  return { x: 1.1 * x, y: 1.1 * y };
}

export interface ViewJitter {
  /** Std of the log focal length (zoom). */
  zoom: number;
  /** Largest shift of the principal point, as a fraction of the image edge (a crop). */
  shift: number;
  /** Std of the roll about the optical axis (degrees). */
  rollDeg: number;
}

export const DEFAULT_VIEW_JITTER: ViewJitter = { zoom: 0.06, shift: 0.05, rollDeg: 2 };

/**
 * A virtual camera zoomed, shifted and rolled a little at random (the same optical centre), so
 * that training sees the workspace framed slightly differently each time: the augmentation of
 * "small crops", done exactly.
 */
export function jitterCamera(cam: CameraFile, rng: { normal(): number; uniform(a: number, b: number): number }, j: ViewJitter): CameraFile {
  const s = Math.exp(rng.normal() * j.zoom);
  const a = (rng.normal() * j.rollDeg * Math.PI) / 180;
  const ca = Math.cos(a), sa = Math.sin(a);
  const m = cam.cameraToTable;
  // Rotating the camera's x and y axes about its z axis.
  const x: Vec3 = [m[0], m[4], m[8]], y: Vec3 = [m[1], m[5], m[9]];
  const nx = x.map((v, i) => ca * v + sa * y[i]), ny = y.map((v, i) => -sa * x[i] + ca * v);
  const c2w = [nx[0], ny[0], m[2], m[3], nx[1], ny[1], m[6], m[7], nx[2], ny[2], m[10], m[11], 0, 0, 0, 1];
  const k = cam.intrinsics;
  return {
    ...cam,
    intrinsics: {
      fx: k.fx * s,
      fy: k.fy * s,
      cx: k.cx + rng.uniform(-j.shift, j.shift) * cam.width,
      cy: k.cy + rng.uniform(-j.shift, j.shift) * cam.height,
    },
    cameraToTable: c2w,
  };
}

/**
 * The table-frame box a task's blocks stay in (m), which the virtual view frames: the start area
 * with room for a carried block; Grasp-v1 adds the ring of distractors around its target.
 */
export function defaultRegion(task: { id: string }): { min: Vec3; max: Vec3 } {
  const half = task.id === 'Grasp-v1' ? 0.3 : 0.22;
  return { min: [-half, -half, 0], max: [half, half, 0.15] };
}
