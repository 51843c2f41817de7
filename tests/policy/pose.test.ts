/**
 * Pose-estimator geometry on a tiny fixed dataset: synthetic 32×32 frames with two blocks drawn
 * where a fixed top-down camera would see them. The CNN overfits them and the saved model (its
 * baked de-normalization included) must give back the blocks' table-frame positions in metres,
 * matched to the interchangeable blocks. Plus the set loss and the matching on their own.
 */
import path from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TabletopEnv } from '../../sim/env.ts';
import { Rng } from '../../sim/rng.ts';
import type { FrameSet } from '../../policy/data/frames.ts';
import { groupPermutations, identityGroups, matchedErrors, permutationMse } from '../../policy/models/pose-cnn.ts';
import { loadLayersModel } from '../../policy/model-io.ts';
import { readModelCard } from '../../policy/model-card.ts';
import { trainPose } from '../../policy/train/pose.ts';
import type { BackendChoice } from '../../policy/backend.ts';
import { scenario, tempDir, wasmBackend } from './helpers.ts';

const S = 32;
const HALF = 0.16;

/** Pixel (u, v) where a top-down camera over the table centre sees world (x, y). */
function pixel(x: number, y: number): [number, number] {
  return [((x + HALF) / (2 * HALF)) * S, ((HALF - y) / (2 * HALF)) * S];
}

function syntheticFrames(n: number, seed: number): FrameSet {
  const s = scenario('stack-2');
  const names = new TabletopEnv(s, { randomization: 'none' }).observationSpace.names;
  const rng = new Rng(seed);
  const B = 2;
  const poses = new Float32Array(n * B * 7);
  const images = new Uint8Array(n * S * S * 3);
  for (let f = 0; f < n; f++) {
    const base = rng.int(40, 90);
    for (let i = 0; i < S * S; i++) images.fill(base + ((i % S) >> 2), (f * S * S + i) * 3, (f * S * S + i) * 3 + 3);
    for (let b = 0; b < B; b++) {
      let x = 0, y = 0;
      do {
        x = rng.uniform(-0.12, 0.12);
        y = rng.uniform(-0.12, 0.12);
      } while (b === 1 && Math.hypot(x - poses[f * B * 7], y - poses[f * B * 7 + 1]) < 0.06);
      poses.set([x, y, 0.025, 0, 0, 0, 1], (f * B + b) * 7);
      const [u, v] = pixel(x, y);
      const colour = [rng.int(150, 255), rng.int(0, 255), rng.int(0, 100)]; // random texture: identity not visible
      for (let dv = -2; dv < 2; dv++) {
        for (let du = -2; du < 2; du++) {
          const pu = Math.floor(u) + du, pv = Math.floor(v) + dv;
          if (pu >= 0 && pu < S && pv >= 0 && pv < S) images.set(colour, (f * S * S + pv * S + pu) * 3);
        }
      }
    }
  }
  return {
    source: { path: 'synthetic frames', format: 'memory', fps: 20, scenario: s, randomization: 'train' },
    stateNames: names,
    actionNames: ['dx', 'dy', 'dz', 'dyaw', 'grip'],
    blockCount: B,
    frames: n,
    state: new Float32Array(n * names.length),
    action: new Float32Array(n * 5),
    blockPoses: poses,
    images: { key: 'observation.images.front', camera: 'front', width: S, height: S, data: images },
    episodes: Array.from({ length: n }, (_, i) => ({ index: i, seed: 1000 + i, success: true, dartNoise: 0, start: i, length: 1 })),
  };
}

let choice: BackendChoice;
beforeAll(async () => {
  choice = await wasmBackend();
});

describe('pose estimator', () => {
  it('overfits a handful of frames and gives back table-frame positions in metres', async () => {
    const frames = syntheticFrames(24, 5);
    const out = tempDir();
    await trainPose({ datasets: [], frames, out, choice, epochs: 120, batchSize: 24, learningRate: 2e-3, valFraction: 0, patience: 0, conv: { conv: [-16, -32, 32], keypoints: 8, dense: [128] } });
    const card = readModelCard(out);
    expect(card.kind).toBe('pose');
    expect(card.outputs.names).toEqual(['block0.x', 'block0.y', 'block0.z', 'block1.x', 'block1.y', 'block1.z']);
    expect(card.training.architecture.identityGroups).toEqual([[0, 1]]);
    expect(card.outputScaling?.mean).toHaveLength(6);
    const { tf } = choice;
    const model = await loadLayersModel(tf, out);
    const pix = Float32Array.from(frames.images!.data);
    const pred = tf.tidy(() => (model.predict(tf.tensor4d(pix, [24, S, S, 3])) as Tensor).dataSync() as Float32Array);
    model.dispose();
    const groups = identityGroups({ id: 'StackBlocks-v1', blocks: 2 }, 2);
    const errs: number[] = [];
    for (let f = 0; f < 24; f++) {
      const truth = [0, 1].flatMap((b) => Array.from(frames.blockPoses!.subarray((f * 2 + b) * 7, (f * 2 + b) * 7 + 3)));
      errs.push(...matchedErrors(pred.subarray(f * 6, f * 6 + 6), truth, groups, 2));
    }
    const mean = errs.reduce((a, b) => a + b, 0) / errs.length;
    // One pixel is 1 cm here; the overfit model should be well inside it.
    expect(mean).toBeLessThan(0.01);
    expect(Math.max(...errs)).toBeLessThan(0.03);
  });

  it('the set loss is blind to the order of interchangeable blocks, and only to that', () => {
    const { tf } = choice;
    const loss = permutationMse(tf, [[0], [1, 2]], 3);
    const truth = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    const swapped = tf.tensor2d([[1, 2, 3, 7, 8, 9, 4, 5, 6]]);
    const wrong = tf.tensor2d([[4, 5, 6, 1, 2, 3, 7, 8, 9]]);
    expect(loss(truth, swapped).dataSync()[0]).toBeCloseTo(0, 6);
    expect(loss(truth, wrong).dataSync()[0]).toBeGreaterThan(1);
    tf.dispose([truth, swapped, wrong]);
    expect(groupPermutations([[0], [1, 2, 3]], 4)).toHaveLength(6);
    expect(groupPermutations([[0, 1, 2]], 3)).toHaveLength(6);
    expect(identityGroups({ id: 'Grasp-v1', distractors: 5 }, 6)).toEqual([[0], [1, 2, 3, 4, 5]]);
    const e = matchedErrors([0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0.02], [[0, 1]], 2);
    expect(e[0]).toBeCloseTo(0, 9);
    expect(e[1]).toBeCloseTo(0.02, 9);
  });
});
