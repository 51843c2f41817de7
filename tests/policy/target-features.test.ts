/**
 * Target features (policy/models/target-features.ts): from a real stack observation, the graph
 * picks the block the stacked flags say moves next, the block below it and where it goes, at
 * every stage of stack-5 and for stack-2, and keeps a block still between the fingers as the one
 * being placed until they open; a non-stack observation is refused with the fix named;
 * a BC model trained with them takes the plain observation, records what it appended, and exports
 * to ONNX with the same answers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { TF } from '../../policy/backend.ts';
import { PolicyInputError } from '../../policy/errors.ts';
import { exportOnnx } from '../../policy/export/onnx.ts';
import { checkOnnxExport } from '../../policy/export/onnx-check.ts';
import { framesFromRecords } from '../../policy/data/load.ts';
import { loadLayersModel } from '../../policy/model-io.ts';
import { readModelCard } from '../../policy/model-card.ts';
import { targetFeatureSpec, withTargetFeatures } from '../../policy/models/target-features.ts';
import { trainBc } from '../../policy/train/bc.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { expertEpisodes, scenario, tempDir, wasmBackend } from './helpers.ts';

let tf: TF;
beforeAll(async () => {
  tf = (await wasmBackend()).tf;
});

/** A stack-N observation from a seeded reset, with its names. */
function observation(id: string, seed: number): { names: string[]; obs: Float32Array } {
  const env = new TabletopEnv(scenario(id), { randomization: 'train' });
  env.reset({ seed });
  return { names: env.observationSpace.names as string[], obs: env.observeClean() };
}

describe('target features', () => {
  it('pick the next block, the block under it and its goal at every stage of stack-5', () => {
    const { names, obs } = observation('stack-5', 3);
    const spec = targetFeatureSpec(names);
    expect(spec.blocks).toBe(5);
    const S = names.length;
    const col = (prefix: string, block: number | string, f: string): number => names.indexOf(`${prefix}${block}.${f}`);
    // Flags → the stage: blocks 1…j−1 stacked and j not (the flags after the first unset one do not count).
    const cases: Array<{ flags: number[]; stage: number }> = [
      { flags: [0, 0, 0, 0], stage: 1 },
      { flags: [0, 1, 1, 1], stage: 1 },
      { flags: [1, 0, 0, 0], stage: 2 },
      { flags: [1, 1, 0, 1], stage: 3 },
      { flags: [1, 1, 1, 0], stage: 4 },
      { flags: [1, 1, 1, 1], stage: 4 },
    ];
    const rows = new Float32Array(cases.length * S);
    cases.forEach((c, r) => {
      rows.set(obs, r * S);
      c.flags.forEach((f, k) => { rows[r * S + names.indexOf(`stacked.block${k + 1}`)] = f; });
    });
    const out = withTargetFeatures(tf, spec, rows, S, cases.map((_, r) => r));
    const E = S + spec.names.length;
    cases.forEach((c, r) => {
      const row = out.subarray(r * E, (r + 1) * E);
      const get = (name: string): number => row[S + spec.names.indexOf(name)];
      // The observation passes through unchanged.
      for (let i = 0; i < S; i++) expect(row[i]).toBe(rows[r * S + i]);
      const j = c.stage;
      for (const f of ['x', 'y', 'z', 'dx', 'dz', 'sin4yaw', 'size', 'cos4dyaw']) {
        expect(get(`target.active.${f}`)).toBeCloseTo(obs[col('block', j, f)], 6);
        expect(get(`target.base.${f}`)).toBeCloseTo(obs[col('block', j - 1, f)], 6);
      }
      const lift = (obs[col('block', j, 'size')] + obs[col('block', j - 1, 'size')]) / 2;
      expect(get('target.goal_dx')).toBeCloseTo(obs[col('block', j - 1, 'x')] - obs[col('block', j, 'x')], 6);
      expect(get('target.goal_dy')).toBeCloseTo(obs[col('block', j - 1, 'y')] - obs[col('block', j, 'y')], 6);
      expect(get('target.goal_dz')).toBeCloseTo(obs[col('block', j - 1, 'z')] + lift - obs[col('block', j, 'z')], 6);
      expect(get('target.goal_tcp_dx')).toBeCloseTo(obs[col('block', j - 1, 'x')] - obs[names.indexOf('tcp.x')], 6);
      expect(get('target.goal_tcp_dz')).toBeCloseTo(obs[col('block', j - 1, 'z')] + lift - obs[names.indexOf('tcp.z')], 6);
      for (let k = 1; k <= 4; k++) expect(get(`target.stage${k}`)).toBe(k === j ? 1 : 0);
    });
  });

  it('keep a block between the fingers as the one being placed, whatever its flag says, until the fingers open', () => {
    const { names, obs } = observation('stack-5', 3);
    const spec = targetFeatureSpec(names);
    const S = names.length;
    const at = (n: string): number => names.indexOf(n);
    const size = obs[at('block2.size')];
    // Blocks 1 and 2 flagged as stacked; block 2 sits in the closed fingers (as the expert holds one).
    const held = (width: number, dz = -0.01, dx = 0.002): Float32Array => {
      const o = Float32Array.from(obs);
      o[at('stacked.block1')] = 1; o[at('stacked.block2')] = 1;
      o[at('block2.dx')] = dx; o[at('block2.dy')] = -0.003; o[at('block2.dz')] = dz;
      o[at('gripper.width')] = width;
      return o;
    };
    const cases = [
      { o: held(size + 0.0005), stage2: 1, stage3: 0 }, // held: still placing block 2
      { o: held(size + 0.0005, -0.03), stage2: 1, stage3: 0 }, // held lower in the fingers
      { o: held(size + 0.006), stage2: 0.5, stage3: 0.5 }, // opening: halfway
      { o: held(size + 0.03), stage2: 0, stage3: 1 }, // let go: on to block 3
      { o: held(size + 0.0005, -0.01, 0.025), stage2: 0, stage3: 1 }, // closed fingers beside it, not on it
      { o: held(size + 0.0005, 0.02), stage2: 0, stage3: 1 }, // fingers above it
    ];
    const rows = new Float32Array(cases.length * S);
    cases.forEach((c, r) => rows.set(c.o, r * S));
    const out = withTargetFeatures(tf, spec, rows, S, cases.map((_, r) => r));
    const E = S + spec.names.length;
    cases.forEach((c, r) => {
      const get = (name: string): number => out[r * E + S + spec.names.indexOf(name)];
      expect(get('target.stage2'), `case ${r}`).toBeCloseTo(c.stage2, 5);
      expect(get('target.stage3'), `case ${r}`).toBeCloseTo(c.stage3, 5);
      expect(get('target.stage1') + get('target.stage4'), `case ${r}`).toBeCloseTo(0, 6);
    });
    // Held: the moving block is block 2 and its goal is block 1's top.
    expect(out[S + spec.names.indexOf('target.active.size')]).toBeCloseTo(size, 6);
  });

  it('stack-2 has one stage: block 1 onto block 0', () => {
    const { names, obs } = observation('stack-2', 1);
    const spec = targetFeatureSpec(names);
    const S = names.length;
    const out = withTargetFeatures(tf, spec, obs, S, [0]);
    expect(out[S + spec.names.indexOf('target.active.x')]).toBeCloseTo(obs[names.indexOf('block1.x')], 6);
    expect(out[S + spec.names.indexOf('target.base.y')]).toBeCloseTo(obs[names.indexOf('block0.y')], 6);
    expect(out[S + spec.names.indexOf('target.stage1')]).toBe(1);
  });

  it('refuse an observation that is not a stack, naming the fix', () => {
    const { names } = observation('grasp-clutter', 1);
    expect(() => targetFeatureSpec(names)).toThrow(PolicyInputError);
    expect(() => targetFeatureSpec(names)).toThrow(/stack observation.*without --target-features/);
  });

  it('a BC model trained with them takes the plain observation, records them and exports to ONNX', async () => {
    const s = scenario('stack-3');
    const frames = framesFromRecords(expertEpisodes(s, 3, { dartNoise: 0.1 }), { scenario: s, randomization: 'train' });
    const out = tempDir();
    const choice = await wasmBackend();
    const r = await trainBc({ datasets: [], frames, scenario: s, out, choice, hidden: [32, 32], epochs: 1, selectEpisodes: 0, seed: 1, targetFeatures: true });
    const card = readModelCard(out);
    const S = card.inputs.state!.size;
    const arch = card.training.architecture as { targetFeatures?: boolean; targetFeatureNames?: string[] };
    expect(arch.targetFeatures).toBe(true);
    expect(arch.targetFeatureNames).toEqual(targetFeatureSpec(card.inputs.state!.names).names);
    // The normalizing layer covers the observation and the appended features.
    expect(card.normalization!.mean.length).toBe(S + arch.targetFeatureNames!.length);
    expect(r.card.training.architecture).toMatchObject({ targetFeatures: true });
    const model = await loadLayersModel(tf, out);
    expect(model.inputs[0].shape[1]).toBe(S);
    const exported = exportOnnx(model);
    const c = await checkOnnxExport(tf, model, exported, { samples: 200, batch: 50, seed: 5, normalization: { observation_state: card.normalization! } });
    expect(c.maxAbsDiff).toBeLessThan(1e-5);
    model.dispose();
  }, 60_000);
});
