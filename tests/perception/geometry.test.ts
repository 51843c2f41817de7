// The pose estimator's virtual view and its heatmap encoding: pure functions, checked against
// known geometry (the camera math itself is tested in tests/camera).
import { describe, expect, it } from 'vitest';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { project } from '../../sim/camera/projection.ts';
import type { Vec3 } from '../../sim/state.ts';
import { CHANNELS, TARGET_CHANNELS, HEAT, MASK, decode, gridSize, writeTargets } from '../../policy/perception/heatmap.ts';
import { cameraCentre, defaultRegion, jitterCamera, rectify, rectifyMap, virtualCamera } from '../../policy/perception/virtual-view.ts';
import { Rng } from '../../sim/rng.ts';
import { lookAt } from '../camera/helpers.ts';

/** A camera at the front mount's place looking at the workspace, with optional lens distortion. */
function frontCamera(width: number, height: number, distortion: [number, number, number, number, number] = [0, 0, 0, 0, 0]): CameraFile {
  const f = height / 2 / Math.tan((45 * Math.PI) / 360);
  return { schemaVersion: 1, width, height, intrinsics: { fx: f, fy: f, cx: width / 2 + 1.3, cy: height / 2 - 0.7 }, distortion, cameraToTable: lookAt([0, -0.78, 0.58], [0, -0.03, 0.02]) };
}

describe('virtual view', () => {
  it('frames the whole workspace region, from the real camera\'s optical centre', () => {
    const real = frontCamera(192, 192);
    const region = defaultRegion({ id: 'StackBlocks-v1' });
    const virt = virtualCamera(real, { size: 128, region });
    expect(cameraCentre(virt)).toEqual(cameraCentre(real));
    for (let k = 0; k < 8; k++) {
      const p: Vec3 = [k & 1 ? region.max[0] : region.min[0], k & 2 ? region.max[1] : region.min[1], k & 4 ? region.max[2] : region.min[2]];
      const { u, v } = project(virt, p);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThanOrEqual(128);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(128);
    }
    // Image rows stay parallel to the table: a horizontal table line projects to a horizontal line (no roll).
    const a = project(virt, [-0.1, 0, 0]), b = project(virt, [0.1, 0, 0]);
    expect(Math.abs(a.v - b.v)).toBeLessThan(1e-9);
  });

  it('moves image content to where the virtual camera sees it (rectification is exact up to resampling)', () => {
    const real = frontCamera(320, 240, [-0.2, 0.05, 0.001, -0.001, 0]);
    const virt = jitterCamera(virtualCamera(real, { size: 96, region: defaultRegion({ id: 'StackBlocks-v1' }) }), new Rng(3), { zoom: 0.1, shift: 0.05, rollDeg: 4 });
    const map = rectifyMap(real, virt, 2);
    for (const p of [[0, 0, 0.025], [0.12, -0.08, 0.1], [-0.15, 0.15, 0]] as Vec3[]) {
      // A bright 3x3 spot in the real image at the point's projection…
      const src = new Uint8Array(320 * 240 * 3);
      const r = project(real, p);
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) src.fill(255, ((Math.floor(r.v) + dy) * 320 + Math.floor(r.u) + dx) * 3, ((Math.floor(r.v) + dy) * 320 + Math.floor(r.u) + dx) * 3 + 3);
      const out = new Uint8Array(96 * 96 * 3);
      rectify(src, 320, 240, map, out);
      // …lands at the point's projection in the virtual view (intensity-weighted centroid).
      let sw = 0, su = 0, sv = 0;
      for (let i = 0; i < 96 * 96; i++) {
        const w = out[3 * i];
        sw += w; su += w * ((i % 96) + 0.5); sv += w * (Math.floor(i / 96) + 0.5);
      }
      const q = project(virt, p);
      expect(sw).toBeGreaterThan(0);
      expect(Math.hypot(su / sw - q.u, sv / sw - q.v)).toBeLessThan(0.6);
    }
  });
});

describe('centre heatmap encoding', () => {
  it('decodes the targets it wrote back to the same sub-pixel points, heights, yaws, sizes and table positions', () => {
    const real = frontCamera(192, 192);
    const virt = virtualCamera(real, { size: 128, region: defaultRegion({ id: 'StackBlocks-v1' }) });
    const g = { size: 128, stride: 4, sigma: 1 };
    const G = gridSize(g);
    const blocks: Vec3[] = [[0.05, -0.03, 0.026], [-0.1, 0.08, 0.075], [0.0, 0.1, 0.14]];
    const yaws = [0.1, -0.5, 0.7], sizes = [0.052, 0.047, 0.05];
    const pixels = blocks.map((b) => { const q = project(virt, b); return [q.u, q.v] as [number, number]; });
    const target = new Float32Array(2 * G * G * TARGET_CHANNELS);
    writeTargets(g, { pixels, heights: blocks.map((b) => b[2]), yaws, sizes }, target, 1);
    expect(target.subarray(0, G * G * TARGET_CHANNELS).every((v) => v === 0)).toBe(true);
    // A prediction equal to the targets: heat as a logit, regressions as they are.
    const pred = new Float32Array(2 * G * G * CHANNELS);
    for (let c = 0; c < G * G; c++) {
      const t = (G * G + c) * TARGET_CHANNELS, o = (G * G + c) * CHANNELS;
      for (let k = 0; k < CHANNELS; k++) pred[o + k] = target[t + k];
      const h = Math.min(0.999, Math.max(1e-6, target[t + HEAT]));
      pred[o + HEAT] = Math.log(h / (1 - h)) + (target[t + MASK] ? 1 : 0);
    }
    const det = decode(g, pred, G * G * CHANNELS, 3, virt);
    expect(det).toHaveLength(3);
    for (const [b, p] of blocks.entries()) {
      const d = det.find((x) => Math.hypot(x.u - pixels[b][0], x.v - pixels[b][1]) < 1e-3);
      expect(d, `block ${b} found`).toBeDefined();
      expect(d!.height).toBeCloseTo(p[2], 6);
      expect(d!.size).toBeCloseTo(sizes[b], 6);
      // Yaw comes back modulo a quarter turn.
      expect(Math.abs(Math.sin(4 * (d!.yaw - yaws[b])))).toBeLessThan(1e-5);
      const q = d!.position as Vec3;
      expect(Math.hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2])).toBeLessThan(0.001);
    }
  });
});
