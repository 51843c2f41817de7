// Renders on whatever adapter Dawn finds: lavapipe on CPU machines and in CI. Small images keep it fast.
import { createHash } from 'node:crypto';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TabletopEnv } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { BodyState, SimState } from '../../sim/state.ts';
import { projectPoint, transformPoint } from '../../sim/render/cameras.ts';
import type { CameraFrame } from '../../sim/render/cameras.ts';
import { createEpisodeFrameRenderer } from '../../sim/render/frame-renderer.ts';
import type { EpisodeRenderer } from '../../sim/render/frame-renderer.ts';
import { HeadlessRenderer } from '../../sim/render/headless.ts';
import { DISTRACTOR_ID_BASE, sampleLook } from '../../sim/render/look.ts';
import { DEFAULT_VISUAL } from '../../sim/render/visual-schema.ts';
import { needs } from '../system-packages.ts';

const SIZE = 64;
let scenario: Scenario;
let fr: EpisodeRenderer;

function resetState(seed: number): SimState {
  const env = new TabletopEnv(scenario);
  env.reset({ seed });
  return env.scene.snapshot();
}

function checksum(a: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

/** Distance along the optical axis at which the ray through pixel (px, py) enters a box body (Infinity: misses). */
function rayBoxDepth(f: CameraFrame, px: number, py: number, b: BodyState): number {
  if (b.shape.type !== 'box') throw new Error('box bodies only');
  const K = f.K, M = f.cameraToWorld;
  const dc = [(px + 0.5 - K[2]) / K[0], (py + 0.5 - K[5]) / K[4], 1];
  const o = [M[3], M[7], M[11]];
  const dw = [0, 1, 2].map((i) => M[i * 4] * dc[0] + M[i * 4 + 1] * dc[1] + M[i * 4 + 2] * dc[2]);
  // Into the box frame: rotate by the inverse quaternion.
  const [qx, qy, qz, qw] = b.quaternion;
  const rot = (v: number[]): number[] => {
    const [x, y, z] = v;
    const ix = -qw * x - qy * z + qz * y, iy = -qw * y - qz * x + qx * z, iz = -qw * z - qx * y + qy * x, iw = qx * x + qy * y + qz * z;
    return [ix * -qw + iw * qx + iy * qz - iz * qy, iy * -qw + iw * qy + iz * qx - ix * qz, iz * -qw + iw * qz + ix * qy - iy * qx].map((c) => -c);
  };
  const ol = rot([o[0] - b.position[0], o[1] - b.position[1], o[2] - b.position[2]]);
  const dl = rot(dw);
  let t0 = -Infinity, t1 = Infinity;
  for (let i = 0; i < 3; i++) {
    const h = b.shape.halfExtents[i];
    const a = (-h - ol[i]) / dl[i], c = (h - ol[i]) / dl[i];
    t0 = Math.max(t0, Math.min(a, c));
    t1 = Math.min(t1, Math.max(a, c));
  }
  return t0 <= t1 && t1 > 0 ? t0 : Infinity;
}

beforeAll(async () => {
  scenario = loadScenario('scenarios/stack-3.json');
  fr = await createEpisodeFrameRenderer({ cameras: ['front', 'wrist'], width: SIZE, height: SIZE, depth: true, segmentation: true });
});

afterAll(async () => {
  await fr?.dispose();
});

describe('headless rendering (WebGPU on Dawn)', needs('webgpu'), () => {
  it('gives identical pixels for the same seed and different images for different seeds', async () => {
    const sums = async (seed: number): Promise<string[]> => {
      fr.beginEpisode(scenario, seed, 'train');
      const f = await fr.renderViews(resetState(seed));
      return f.views.flatMap((v) => [checksum(v.rgb!), checksum(v.depth!), checksum(v.segmentation!)]);
    };
    const a = await sums(7);
    const b = await sums(8);
    const a2 = await sums(7);
    expect(a2).toEqual(a);
    expect(b[0]).not.toBe(a[0]);
    expect(b[3]).not.toBe(a[3]);
  });

  it('is exact in geometry: block centres project into their masks, depth matches the camera-frame distance', async () => {
    let checked = 0;
    for (const seed of [1, 2, 3, 4]) {
      for (const mode of ['train', 'none'] as const) {
        const state = resetState(seed);
        fr.beginEpisode(scenario, seed, mode);
        const frame = await fr.renderViews(state);
        expect(frame.blocks.map((b) => b.name)).toEqual(['block0', 'block1', 'block2']);
        for (const v of frame.views) {
          const f = v.frame;
          // K and the two extrinsics agree with each other.
          const c = transformPoint(f.worldToCamera, [f.cameraToWorld[3], f.cameraToWorld[7], f.cameraToWorld[11]]);
          for (const x of c) expect(Math.abs(x)).toBeLessThan(1e-9);
          for (const b of state.bodies.filter((x) => x.kind === 'block')) {
            const { u, v: vv, z } = projectPoint(f.K, f.worldToCamera, b.position);
            const px = Math.floor(u), py = Math.floor(vv);
            if (z <= 0 || px < 1 || py < 1 || px >= SIZE - 1 || py >= SIZE - 1) continue;
            const i = py * SIZE + px;
            const expected = rayBoxDepth(f, px, py, b);
            // Something nearer (the gripper) may hide the block: then the mask says so too.
            const nearer = state.bodies.some((o) => o.id !== b.id && o.shape.type === 'box' && rayBoxDepth(f, px, py, o) < expected);
            if (nearer) continue;
            expect(v.segmentation![i]).toBe(b.id);
            expect(Math.abs(v.depth![i] - expected)).toBeLessThan(0.01);
            expect(Math.abs(v.depth![i] - z)).toBeLessThan(b.shape.type === 'box' ? Math.hypot(...b.shape.halfExtents) : 0.05);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('labels SimState bodies by id and distractors from DISTRACTOR_ID_BASE', async () => {
    const state = resetState(11);
    let seed = 0;
    while (sampleLook(DEFAULT_VISUAL, 'train', seed, state.bodies.map((b) => b.name)).distractors.length < 8) seed++;
    fr.beginEpisode(scenario, seed, 'train');
    const frame = await fr.renderViews(state);
    const ids = new Set(frame.views[0].segmentation);
    const known = new Set([0, ...state.bodies.map((b) => b.id), ...frame.look.distractors.map((d) => d.id)]);
    for (const id of ids) expect(known.has(id)).toBe(true);
    expect(ids.has(1)).toBe(true);
    expect([...ids].some((id) => id >= DISTRACTOR_ID_BASE)).toBe(true);
  });

  it('encodes PNGs per camera for dataset generation', async () => {
    const state = resetState(5);
    fr.beginEpisode(scenario, 5, 'heldout');
    const out = await fr.renderFrame(state);
    expect(Object.keys(out).sort()).toEqual(['front', 'front_depth', 'front_segmentation', 'wrist', 'wrist_depth', 'wrist_segmentation']);
    const rgb = decode(out.front);
    expect([rgb.width, rgb.height, rgb.channels, rgb.depth]).toEqual([SIZE, SIZE, 3, 8]);
    const depth = decode(out.front_depth);
    expect([depth.channels, depth.depth]).toEqual([1, 16]);
    const mm = depth.data as Uint16Array;
    expect(Math.max(...mm)).toBeGreaterThan(500);
    const seg = decode(out.front_segmentation);
    expect(new Set(seg.data as Uint16Array).has(1)).toBe(true);
  });

  it('tiles several views into one target with the same pixels as one view at a time', async () => {
    const r = await HeadlessRenderer.create({ width: 32, height: 32, tiles: 4, labels: false });
    try {
      const b = r.createBuilder();
      const state = resetState(3);
      b.setLook(sampleLook(DEFAULT_VISUAL, 'train', 3, state.bodies.map((x) => x.name)));
      b.update(state);
      const one = await r.render([{ builder: b, camera: 'wrist', noiseSeed: 9 }]);
      const many = await r.render([
        { builder: b, camera: 'front', noiseSeed: 1 },
        { builder: b, camera: 'front', noiseSeed: 2 },
        { builder: b, camera: 'front', noiseSeed: 3 },
        { builder: b, camera: 'wrist', noiseSeed: 9 },
      ]);
      expect(many).toHaveLength(4);
      expect(checksum(many[3].rgb!)).toBe(checksum(one[0].rgb!));
      expect(checksum(many[0].rgb!)).not.toBe(checksum(many[1].rgb!));
      b.dispose();
    } finally {
      r.dispose();
    }
  });

  it('rejects unknown cameras with the names there are', async () => {
    await expect(createEpisodeFrameRenderer({ cameras: ['side'], width: 16, height: 16 })).rejects.toThrow(/front, wrist/);
  });
});
