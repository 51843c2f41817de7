import { describe, expect, it } from 'vitest';
import {
  distortPixel, LiftError, liftToPlane, liftWithDepth, pixelRay, project, scaleCamera, tryLiftToPlane, undistortNormalized, undistortPixel,
} from '../../sim/camera/index.ts';
import type { CameraFile } from '../../sim/camera/index.ts';
import { lookAt, syntheticCamera } from './helpers.ts';

const PINHOLE: [number, number, number, number, number] = [0, 0, 0, 0, 0];
// A typical webcam (barrel) and a pincushion lens, both with tangential terms.
const BARREL: [number, number, number, number, number] = [-0.28, 0.09, 0.0012, -0.0016, -0.012];
const PINCUSHION: [number, number, number, number, number] = [0.12, -0.03, -0.002, 0.001, 0.004];
const CAMERAS: Array<[string, CameraFile]> = [
  ['pinhole', syntheticCamera(PINHOLE)],
  ['barrel', syntheticCamera(BARREL)],
  ['pincushion', syntheticCamera(PINCUSHION, [-0.2, -0.6, 0.7])],
];

/** Table points on a 1 cm grid over the workspace at heights z. */
function grid(z: number): number[][] {
  const out: number[][] = [];
  for (let x = -0.3; x <= 0.3 + 1e-9; x += 0.01) for (let y = -0.3; y <= 0.3 + 1e-9; y += 0.01) out.push([x, y, z]);
  return out;
}

function inside(cam: CameraFile, u: number, v: number): boolean {
  return u >= 0 && v >= 0 && u <= cam.width && v <= cam.height;
}

describe('projection and lifting', () => {
  it.each(CAMERAS)('lifts projected workspace points back to the table plane to well under a millimetre (%s)', (_name, cam) => {
    let n = 0, worst = 0;
    for (const z of [0, 0.025, 0.05]) {
      for (const p of grid(z)) {
        const { u, v, depth } = project(cam, p);
        if (depth <= 0 || !inside(cam, u, v)) continue;
        const q = liftToPlane(cam, u, v, z);
        worst = Math.max(worst, Math.hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2]));
        n++;
      }
    }
    expect(n).toBeGreaterThan(3000);
    expect(worst).toBeLessThan(1e-3);
    // The model is exact: the error is floating-point round-off.
    expect(worst).toBeLessThan(1e-8);
  });

  it.each(CAMERAS)('round trips: undistort∘distort, project∘liftWithDepth, project∘pixelRay (%s)', (_name, cam) => {
    for (let v = 0.5; v < cam.height; v += 37) {
      for (let u = 0.5; u < cam.width; u += 41) {
        const p = undistortPixel(cam, u, v);
        const back = distortPixel(cam, p.u, p.v);
        expect(Math.abs(back.u - u) + Math.abs(back.v - v)).toBeLessThan(1e-7);
        for (const depth of [0.3, 1.1]) {
          const q = liftWithDepth(cam, u, v, depth);
          const r = project(cam, q);
          expect(Math.abs(r.u - u) + Math.abs(r.v - v)).toBeLessThan(1e-7);
          expect(r.depth).toBeCloseTo(depth, 10);
        }
        const ray = pixelRay(cam, u, v);
        expect(Math.hypot(...ray.direction)).toBeCloseTo(1, 12);
        const far = ray.origin.map((o, i) => o + 2 * ray.direction[i]);
        const r = project(cam, far);
        expect(Math.abs(r.u - u) + Math.abs(r.v - v)).toBeLessThan(1e-7);
      }
    }
  });

  it('distortion moves pixels as the model says: barrel pulls the corners in, the centre stays', () => {
    const cam = CAMERAS[1][1];
    const centre = distortPixel(cam, cam.intrinsics.cx, cam.intrinsics.cy);
    expect(centre.u).toBeCloseTo(cam.intrinsics.cx, 9);
    expect(centre.v).toBeCloseTo(cam.intrinsics.cy, 9);
    const corner = distortPixel(cam, 0.5, 0.5);
    const rIn = Math.hypot(cam.intrinsics.cx - 0.5, cam.intrinsics.cy - 0.5);
    const rOut = Math.hypot(cam.intrinsics.cx - corner.u, cam.intrinsics.cy - corner.v);
    expect(rOut).toBeLessThan(rIn - 20);
  });

  it('refuses the false preimage of a folded lens model', () => {
    // x (1 - 0.5 x²) = 5 has a root near x = -2.47, on the far side of the fold: not the lens's.
    expect(undistortNormalized([-0.5, 0, 0, 0, 0], 5, 0)).toBeNull();
    const cam = syntheticCamera([-0.5, 0, 0, 0, 0]);
    expect(() => undistortPixel(cam, cam.intrinsics.cx + 5 * cam.intrinsics.fx, cam.intrinsics.cy)).toThrow(/outside the range this camera's distortion model can be inverted/);
    expect(tryLiftToPlane(cam, cam.intrinsics.cx + 5 * cam.intrinsics.fx, cam.intrinsics.cy, 0)).toBeNull();
  });

  it('scaleCamera keeps every table point at the same place in the resized image', () => {
    for (const [, cam] of CAMERAS) {
      const small = scaleCamera(cam, 128, 96);
      expect(small.distortion).toEqual(cam.distortion);
      for (const p of grid(0.02).filter((_, i) => i % 97 === 0)) {
        const a = project(cam, p), b = project(small, p);
        expect(b.u).toBeCloseTo((a.u * 128) / 640, 9);
        expect(b.v).toBeCloseTo((a.v * 96) / 480, 9);
      }
      // Pixel centres at +0.5: the centre of the top-left pixel maps to the top-left pixel's centre region.
      const q = liftToPlane(cam, 2.5, 2.5, 0);
      const s = project(small, q);
      expect(s.u).toBeCloseTo(0.5, 9);
      expect(s.v).toBeCloseTo(0.5, 9);
    }
  });

  it('says why a pixel cannot be lifted: the ray runs parallel to the plane, or away from it', () => {
    // Level camera 0.3 m above the table looking along +y: the image's middle row is the horizon.
    const cam: CameraFile = { ...syntheticCamera(PINHOLE), cameraToTable: lookAt([0, -1, 0.3], [0, 0, 0.3]) };
    const { cx, cy } = cam.intrinsics;
    const below = liftToPlane(cam, cx, cy + 100, 0);
    expect(below[1]).toBeGreaterThan(-1);
    expect(below[2]).toBe(0);
    const parallel = (() => { try { liftToPlane(cam, cx, cy, 0); } catch (e) { return e; } })();
    expect(parallel).toBeInstanceOf(LiftError);
    expect((parallel as LiftError).reason).toBe('parallel');
    expect((parallel as LiftError).message).toMatch(/parallel to the plane z = 0/);
    const away = (() => { try { liftToPlane(cam, cx, cy - 100, 0); } catch (e) { return e; } })();
    expect((away as LiftError).reason).toBe('behind');
    expect((away as LiftError).message).toMatch(/points away from the plane z = 0 m \(the camera is at z = 0\.300 m\)/);
    // A plane above the camera is met by the pixels above the horizon.
    expect(liftToPlane(cam, cx, cy - 100, 1)[2]).toBe(1);
    expect(tryLiftToPlane(cam, cx, cy - 100, 0)).toBeNull();
    expect(tryLiftToPlane(cam, cx, cy + 100, 0)).toEqual(below);
    expect(() => liftWithDepth(cam, cx, cy, 0)).toThrow(/depth must be a finite number > 0/);
  });
});
