import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../sim/rng.ts';
import { sampleIntRange } from '../../sim/randomization.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { DISTRACTOR_ID_BASE, lookAtStep, nominalLook, sampleLook } from '../../sim/render/look.ts';
import { generateTexture, TEXTURE_KINDS, textureSpec } from '../../sim/render/textures.ts';
import { DEFAULT_VISUAL, VisualSchema } from '../../sim/render/visual-schema.ts';

const BODIES = ['table', 'block0', 'block1', 'block2', 'palm', 'finger_l', 'finger_r'];

function pixelHash(seed: number): string {
  return createHash('sha1').update(generateTexture(textureSpec(seed), 32)).digest('hex');
}

function inRange(v: number, r: [number, number] | Array<[number, number]>): boolean {
  const parts = typeof r[0] === 'number' ? [r as [number, number]] : (r as Array<[number, number]>);
  return parts.some(([a, b]) => v >= a && v <= b);
}

describe('procedural textures', () => {
  it('1,000 textures sampled from the training seeds are pairwise distinct and cover every family', () => {
    const rng = new Rng(1);
    const hashes = new Set<string>();
    const kinds = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const seed = sampleIntRange(rng, DEFAULT_VISUAL.randomization.textureSeeds);
      hashes.add(pixelHash(seed));
      kinds.add(textureSpec(seed).kind);
    }
    expect(hashes.size).toBe(1000);
    expect([...kinds].sort()).toEqual([...TEXTURE_KINDS].sort());
  });

  it('held-out and training texture sets are disjoint (seeds and pixels)', () => {
    const train = new Set<number>(), heldout = new Set<number>();
    for (let seed = 0; seed < 150; seed++) {
      for (const s of Object.values(sampleLook(DEFAULT_VISUAL, 'train', seed, BODIES).surfaces)) train.add(s.texture.seed);
      for (const s of Object.values(sampleLook(DEFAULT_VISUAL, 'heldout', seed, BODIES).surfaces)) heldout.add(s.texture.seed);
    }
    expect(train.size).toBeGreaterThan(1000);
    for (const s of heldout) expect(train.has(s)).toBe(false);
    for (const s of train) expect(inRange(s, [DEFAULT_VISUAL.randomization.textureSeeds])).toBe(true);
    for (const s of heldout) expect(inRange(s, [DEFAULT_VISUAL.heldout.textureSeeds])).toBe(true);
    const trainPixels = new Set([...train].slice(0, 300).map(pixelHash));
    for (const s of [...heldout].slice(0, 300)) expect(trainPixels.has(pixelHash(s))).toBe(false);
  });

  it('is a pure function of its spec', () => {
    expect(generateTexture(textureSpec(42))).toEqual(generateTexture(textureSpec(42)));
  });
});

describe('visual schema', () => {
  it('accepts the defaults and every scenario file', () => {
    expect(VisualSchema.parse(DEFAULT_VISUAL)).toEqual(DEFAULT_VISUAL);
    for (const f of readdirSync('scenarios').filter((n) => n.endsWith('.json'))) {
      expect(() => loadScenario(`scenarios/${f}`)).not.toThrow();
    }
  });

  it('rejects held-out texture seeds that overlap the training seeds', () => {
    const bad = structuredClone(DEFAULT_VISUAL);
    bad.heldout.textureSeeds = [1000, 3000];
    const r = VisualSchema.safeParse(bad);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/disjoint/);
  });
});

describe('looks', () => {
  it('are fixed by the seed and differ between seeds', () => {
    expect(sampleLook(DEFAULT_VISUAL, 'train', 7, BODIES)).toEqual(sampleLook(DEFAULT_VISUAL, 'train', 7, BODIES));
    expect(sampleLook(DEFAULT_VISUAL, 'train', 7, BODIES)).not.toEqual(sampleLook(DEFAULT_VISUAL, 'train', 8, BODIES));
  });

  it('give a body the same surface whatever other bodies there are', () => {
    const a = sampleLook(DEFAULT_VISUAL, 'train', 3, BODIES);
    const b = sampleLook(DEFAULT_VISUAL, 'train', 3, [...BODIES, 'block3', 'block4']);
    expect(b.surfaces.block1).toEqual(a.surfaces.block1);
  });

  it('sample 1–4 lights, camera jitter and distractors within the scenario ranges, off the workspace', () => {
    const r = DEFAULT_VISUAL.randomization;
    let maxDistractors = 0;
    for (let seed = 0; seed < 300; seed++) {
      const look = sampleLook(DEFAULT_VISUAL, 'train', seed, BODIES);
      expect(look.lights.length).toBeGreaterThanOrEqual(1);
      expect(look.lights.length).toBeLessThanOrEqual(4);
      for (const l of look.lights) {
        const d = Math.hypot(...l.position);
        const e = l.kind === 'directional' ? l.intensity : l.intensity / (d * d);
        expect(inRange(e, r.lights.illuminance)).toBe(true);
      }
      const front = look.cameras.front;
      for (const o of front.positionOffset) expect(Math.abs(o)).toBeLessThanOrEqual(0.05);
      for (const o of front.rotationDeg) expect(Math.abs(o)).toBeLessThanOrEqual(5);
      expect(inRange(front.fovDeg, r.cameras.front.fovDeg)).toBe(true);
      expect(look.distractors.length).toBeLessThanOrEqual(10);
      maxDistractors = Math.max(maxDistractors, look.distractors.length);
      look.distractors.forEach((d, k) => {
        expect(d.id).toBe(DISTRACTOR_ID_BASE + k);
        // Outside the ±0.3 m workspace, and never on the front rim that faces the front camera.
        expect(Math.max(Math.abs(d.position[0]), Math.abs(d.position[1]))).toBeGreaterThan(0.3);
        if (d.position[2] > 0) expect(d.position[1]).toBeGreaterThanOrEqual(-0.3);
      });
    }
    expect(maxDistractors).toBe(10);
  });

  it('held-out lighting lies outside the training ranges', () => {
    const train = DEFAULT_VISUAL.randomization.lights;
    for (let seed = 0; seed < 200; seed++) {
      const look = sampleLook(DEFAULT_VISUAL, 'heldout', seed, BODIES);
      for (const l of look.lights) {
        const d = Math.hypot(...l.position);
        const e = l.kind === 'directional' ? l.intensity : l.intensity / (d * d);
        expect(inRange(e, train.illuminance)).toBe(false);
        const el = (Math.asin(l.position[2] / d) * 180) / Math.PI;
        expect(inRange(el, train.elevationDeg)).toBe(false);
      }
      expect(inRange(look.ambient.intensity, train.ambient)).toBe(false);
    }
  });

  it('re-samples lights and cameras per step only when asked', () => {
    const look = sampleLook(DEFAULT_VISUAL, 'train', 5, BODIES);
    expect(lookAtStep(look, DEFAULT_VISUAL, 3)).toBe(look);
    const per = { ...DEFAULT_VISUAL, perStep: { lights: true, camera: true } };
    const s3 = lookAtStep(look, per, 3);
    expect(s3.surfaces).toBe(look.surfaces);
    expect(s3.lights).not.toEqual(look.lights);
    expect(s3.cameras).not.toEqual(look.cameras);
    expect(lookAtStep(look, per, 3)).toEqual(s3);
  });

  it("mode 'none' is the nominal look", () => {
    expect(sampleLook(DEFAULT_VISUAL, 'none', 9, BODIES)).toEqual(nominalLook(9, BODIES));
    expect(nominalLook(9, BODIES).distractors).toEqual([]);
  });
});
