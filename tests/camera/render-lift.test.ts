// Lifting against the renderer's own pixels (lavapipe on CPU machines and in CI).
import { afterAll, describe, expect, it } from 'vitest';
import { cameraFromFrame, liftToPlane, liftWithDepth, project } from '../../sim/camera/index.ts';
import type { CameraFile } from '../../sim/camera/index.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { createEpisodeFrameRenderer } from '../../sim/render/frame-renderer.ts';
import { loadScenario } from '../../sim/scenario.ts';
import type { BodyState, SimState } from '../../sim/state.ts';
import { openIfRendering } from './gpu.ts';
import { needs } from '../system-packages.ts';

const SIZE = 128;
const scenario = loadScenario('scenarios/stack-3.json');
const fr = await openIfRendering(() =>
  createEpisodeFrameRenderer({ cameras: ['front', 'wrist'], width: SIZE, height: SIZE, depth: true, segmentation: true }));
afterAll(async () => {
  await fr?.dispose();
});

function resetState(seed: number): SimState {
  const env = new TabletopEnv(scenario);
  env.reset({ seed });
  return env.scene.snapshot();
}

/** A table-frame point in a body's frame (inverse rotation by its quaternion). */
function toBody(b: BodyState, p: number[]): number[] {
  const [qx, qy, qz, qw] = b.quaternion;
  const v = [p[0] - b.position[0], p[1] - b.position[1], p[2] - b.position[2]];
  // Rotate by the conjugate: v' = v + 2w(−q×v) + 2(−q)×(−q×v).
  const c = [-qx, -qy, -qz];
  const t = [2 * (c[1] * v[2] - c[2] * v[1]), 2 * (c[2] * v[0] - c[0] * v[2]), 2 * (c[0] * v[1] - c[1] * v[0])];
  return [
    v[0] + qw * t[0] + (c[1] * t[2] - c[2] * t[1]),
    v[1] + qw * t[1] + (c[2] * t[0] - c[0] * t[2]),
    v[2] + qw * t[2] + (c[0] * t[1] - c[1] * t[0]),
  ];
}

/** Area of a polygon given by its vertices' first two coordinates. */
function polygonArea(points: ArrayLike<number>[]): number {
  let a = 0;
  for (let k = 0; k < points.length; k++) {
    const p = points[k], q = points[(k + 1) % points.length];
    a += p[0] * q[1] - q[0] * p[1];
  }
  return Math.abs(a) / 2;
}

async function frames(): Promise<Array<{ state: SimState; views: Array<{ cam: CameraFile; depth: Float32Array; seg: Uint16Array }> }>> {
  const out = [];
  for (const seed of [3, 4, 5]) {
    for (const mode of ['train', 'none'] as const) {
      const state = resetState(seed);
      fr!.beginEpisode(scenario, seed, mode);
      const f = await fr!.renderViews(state);
      out.push({ state, views: f.views.map((v) => ({ cam: cameraFromFrame(v.frame), depth: v.depth!, seg: v.segmentation! })) });
    }
  }
  return out;
}

describe('lifting on rendered frames', needs('webgpu'), async () => {
  const rendered = fr ? await frames() : [];

  it('cameraFromFrame of a real rendered view lifts projected table points back to a millimetre', () => {
    let n = 0;
    for (const { views } of rendered) {
      for (const { cam } of views) {
        expect(cam.provenance?.source).toBe('simulation');
        for (let x = -0.3; x <= 0.3; x += 0.02) {
          for (let y = -0.3; y <= 0.3; y += 0.02) {
            const p = [x, y, 0.025];
            const { u, v, depth } = project(cam, p);
            if (depth <= 0 || u < 0 || v < 0 || u > SIZE || v > SIZE) continue;
            const q = liftToPlane(cam, u, v, p[2]);
            expect(Math.hypot(q[0] - x, q[1] - y)).toBeLessThan(1e-3);
            n++;
          }
        }
      }
    }
    expect(n).toBeGreaterThan(2000);
  });

  it('every block pixel lifted with its rendered depth lies on that block\'s surface', () => {
    let n = 0;
    for (const { state, views } of rendered) {
      for (const { cam, depth, seg } of views) {
        for (const b of state.bodies.filter((x) => x.kind === 'block' && x.shape.type === 'box')) {
          const half = (b.shape as { halfExtents: number[] }).halfExtents;
          for (let i = 0; i < seg.length; i++) {
            if (seg[i] !== b.id) continue;
            const p = toBody(b, liftWithDepth(cam, (i % SIZE) + 0.5, Math.floor(i / SIZE) + 0.5, depth[i]));
            // On the surface: inside the box and on one of its faces.
            const out = Math.max(...p.map((c, k) => Math.abs(c) - half[k]));
            expect(Math.abs(out)).toBeLessThan(2e-3);
            n++;
          }
        }
      }
    }
    expect(n).toBeGreaterThan(500);
  });

  it('a block\'s centre found in the segmentation image, lifted to its top plane, lands on its true x, y within a pixel\'s footprint', () => {
    const checked = { front: 0, wrist: 0 };
    for (const { state, views } of rendered) {
      for (const { cam, depth, seg } of views) {
        for (const b of state.bodies.filter((x) => x.kind === 'block' && x.shape.type === 'box')) {
          // Blocks resting flat (yaw only): their top face is the plane z = centre + half height.
          if (Math.hypot(b.quaternion[0], b.quaternion[1]) > 1e-3) continue;
          const half = (b.shape as { halfExtents: number[] }).halfExtents;
          const top = b.position[2] + half[2];
          // The top face's pixels: the block's mask where the surface seen is at the top's height.
          const pixels: Array<[number, number]> = [];
          for (let i = 0; i < seg.length; i++) {
            if (seg[i] !== b.id) continue;
            const u = (i % SIZE) + 0.5, v = Math.floor(i / SIZE) + 0.5;
            if (Math.abs(liftWithDepth(cam, u, v, depth[i])[2] - top) < 1e-3) pixels.push([u, v]);
          }
          // The top face's area in the image, from its projected corners (shoelace): skip a face hidden in part.
          const yaw = 2 * Math.atan2(b.quaternion[2], b.quaternion[3]);
          const corners = [[-1, -1], [1, -1], [1, 1], [-1, 1]].map(([sx, sy]) => {
            const lx = sx * half[0], ly = sy * half[1];
            return project(cam, [b.position[0] + Math.cos(yaw) * lx - Math.sin(yaw) * ly, b.position[1] + Math.sin(yaw) * lx + Math.cos(yaw) * ly, top]);
          });
          if (corners.some((c) => c.depth <= 0 || c.u < 1 || c.v < 1 || c.u > SIZE - 1 || c.v > SIZE - 1)) continue;
          const area = polygonArea(corners.map((c) => [c.u, c.v]));
          if (area < 12 || pixels.length < 0.85 * area) continue;
          // Far away (the front camera) the mask's centroid is the centre pixel. Close up (the wrist
          // camera) perspective pulls the centroid toward the near edge, so there the centre is the
          // centroid on the plane: each pixel's lifted centre weighted by the area it covers there.
          let p: number[];
          if (cam.name === 'front') {
            const u = pixels.reduce((a, q) => a + q[0], 0) / pixels.length, v = pixels.reduce((a, q) => a + q[1], 0) / pixels.length;
            p = liftToPlane(cam, u, v, top);
          } else {
            let w = 0, x = 0, y = 0;
            for (const [u, v] of pixels) {
              const a = polygonArea([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]].map(([du, dv]) => liftToPlane(cam, u + du, v + dv, top)));
              const c = liftToPlane(cam, u, v, top);
              w += a;
              x += a * c[0];
              y += a * c[1];
            }
            p = [x / w, y / w, top];
          }
          const c = project(cam, p);
          const footprint = Math.max(
            Math.hypot(...liftToPlane(cam, c.u + 1, c.v, top).map((q, k) => q - p[k])),
            Math.hypot(...liftToPlane(cam, c.u, c.v + 1, top).map((q, k) => q - p[k])),
          );
          expect(Math.hypot(p[0] - b.position[0], p[1] - b.position[1])).toBeLessThan(footprint);
          checked[cam.name as 'front' | 'wrist']++;
        }
      }
    }
    expect(checked.front).toBeGreaterThanOrEqual(8);
    expect(checked.wrist).toBeGreaterThanOrEqual(3);
  });
});
