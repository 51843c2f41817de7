/**
 * The training loop: a poisoned batch stops training with a clear message and leaves the last
 * good checkpoint as it was; --resume continues to exactly the weights of an uninterrupted run;
 * the saved model loads back and predicts what the trained one did; output folder rules.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { framesFromRecords } from '../../policy/data/load.ts';
import type { FrameSet } from '../../policy/data/frames.ts';
import { PolicyInputError, TrainingDivergedError } from '../../policy/errors.ts';
import { readModelCard } from '../../policy/model-card.ts';
import { loadLayersModel } from '../../policy/model-io.ts';
import { readCheckpointState } from '../../policy/train/checkpoint.ts';
import { trainBc } from '../../policy/train/bc.ts';
import { cosineLearningRate } from '../../policy/train/trainer.ts';
import type { BatchSource } from '../../policy/train/trainer.ts';
import type { BackendChoice } from '../../policy/backend.ts';
import { expertEpisodes, scenario, tempDir, wasmBackend } from './helpers.ts';

let frames: FrameSet;
let choice: BackendChoice;

beforeAll(async () => {
  const s = scenario('stack-2');
  frames = framesFromRecords(expertEpisodes(s, 12, { dartNoise: 0.1 }), { scenario: s, randomization: 'train' });
  choice = await wasmBackend();
});

const small = { hidden: [32, 32], batchSize: 128, seed: 3, selectEpisodes: 0 };

/** Wraps a source so that batch `batch` (0-based) of epoch `epoch` carries a NaN input. */
function poison(epoch: number, batch: number): (s: BatchSource) => BatchSource {
  return (s) => ({
    trainSize: s.trainSize,
    valSize: s.valSize,
    *trainBatches(e) {
      let b = 0;
      for (const x of s.trainBatches(e)) {
        if (e === epoch && b === batch) {
          const bad = (x.xs as Tensor).arraySync() as number[][];
          bad[0][0] = NaN;
          (x.xs as Tensor).dispose();
          yield { ...x, xs: choice.tf.tensor2d(bad) };
        } else yield x;
        b++;
      }
    },
    valBatches: () => s.valBatches(),
  });
}

describe('training', () => {
  it('stops on a NaN loss with a message and keeps the last good checkpoint intact', async () => {
    const out = tempDir();
    let caught: unknown;
    try {
      await trainBc({ datasets: [], frames, out, choice, epochs: 4, ...small, wrapSource: poison(2, 3) });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TrainingDivergedError);
    const msg = (caught as Error).message;
    expect(msg).toMatch(/loss became NaN at epoch 2, batch 4/);
    expect(msg).toContain('last good checkpoint');
    expect(msg).toContain('epoch-0001');
    const state = readCheckpointState(out)!;
    expect(state.epoch).toBe(1);
    expect(state.lastDir).toBe('epoch-0001');
    const saved = await loadLayersModel(choice.tf, path.join(out, 'checkpoint', 'epoch-0001'));
    for (const w of saved.getWeights()) expect(Array.from(w.dataSync()).every(Number.isFinite)).toBe(true);
    saved.dispose();
    // No final model was written from the diverged weights.
    expect(fs.existsSync(path.join(out, 'model.json'))).toBe(false);
    // Continuing from the checkpoint works (the poison is gone).
    const r = await trainBc({ datasets: [], frames, out, choice, epochs: 2, ...small, resume: true });
    expect(r.card.training.epochs).toBe(2);
  });

  it('resumes to exactly the weights of an uninterrupted run', async () => {
    const a = tempDir(), b = tempDir();
    await trainBc({ datasets: [], frames, out: a, choice, epochs: 3, patience: 0, ...small });
    await trainBc({ datasets: [], frames, out: b, choice, epochs: 1, patience: 0, ...small });
    expect(readCheckpointState(b)!.epoch).toBe(1);
    await trainBc({ datasets: [], frames, out: b, choice, epochs: 3, patience: 0, ...small, resume: true });
    const ma = await loadLayersModel(choice.tf, a), mb = await loadLayersModel(choice.tf, b);
    const wa = ma.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = mb.getWeights().map((w) => Array.from(w.dataSync()));
    expect(wb).toEqual(wa);
    ma.dispose();
    mb.dispose();
    const card = readModelCard(b);
    expect(card.training.epochs).toBe(3);
    expect(card.dataset.seeds).toHaveLength(12);
    expect(card.inputs.state?.names).toEqual(frames.stateNames);
    expect(card.outputs.names).toEqual(['dx', 'dy', 'dz', 'dyaw', 'grip']);
  });

  it('selects the best epoch by closed-loop success when asked', async () => {
    const out = tempDir();
    const r = await trainBc({ datasets: [], frames, out, choice, epochs: 2, patience: 0, ...small, selectEpisodes: 3 });
    const state = readCheckpointState(out)!;
    expect(state.bestScore).toBeGreaterThanOrEqual(0);
    expect(state.history.every((h) => h.metrics?.selectSuccess !== undefined)).toBe(true);
    expect(r.card.metrics.selectSuccess).toBe(state.bestScore);
  });

  it('lowers the learning rate along a cosine when asked, resumes on the same curve, and records the schedule', async () => {
    const a = tempDir(), b = tempDir();
    const full = await trainBc({ datasets: [], frames, out: a, choice, epochs: 3, patience: 1, ...small, lrSchedule: 'cosine' });
    const rates = readCheckpointState(a)!.history.map((h) => h.learningRate);
    // The rate of each epoch's last step: falling every epoch, to about a hundredth of the peak
    // at the last step (patience 1 would have cut it on a plateau, and stopped; the cosine does neither).
    expect(rates[0]).toBeLessThan(1e-3);
    expect(rates[1]).toBeLessThan(rates[0]);
    expect(rates[2]).toBeLessThan(rates[1]);
    expect(rates[2]).toBeCloseTo(1e-5, 5);
    expect(full.card.training.lrSchedule).toBe('cosine');
    expect(cosineLearningRate(0, 100, 1e-3)).toBe(1e-3);
    expect(cosineLearningRate(50, 100, 1e-3)).toBeCloseTo(0.505e-3, 9);
    // Interrupted after one epoch (as Ctrl-C does) and resumed: the same curve, so the same weights.
    const stop = new AbortController();
    await trainBc({ datasets: [], frames, out: b, choice, epochs: 3, patience: 1, ...small, lrSchedule: 'cosine', signal: stop.signal, onEpoch: () => stop.abort() });
    expect(readCheckpointState(b)!.epoch).toBe(1);
    await expect(trainBc({ datasets: [], frames, out: b, choice, epochs: 3, patience: 1, ...small, resume: true })).rejects.toThrow(/lrSchedule was "cosine", now null/);
    await trainBc({ datasets: [], frames, out: b, choice, epochs: 3, patience: 1, ...small, lrSchedule: 'cosine', resume: true });
    expect(fs.readFileSync(path.join(b, 'weights.bin')).equals(fs.readFileSync(path.join(a, 'weights.bin')))).toBe(true);
    // The default is the plateau schedule: the rate stays at its peak while validation improves.
    const p = tempDir();
    const plain = await trainBc({ datasets: [], frames, out: p, choice, epochs: 1, patience: 0, ...small });
    expect(readCheckpointState(p)!.history[0].learningRate).toBe(1e-3);
    expect(plain.card.training.lrSchedule).toBe('plateau');
  });

  it('refuses a non-empty output folder, a resume without checkpoint, and a resume of another run', async () => {
    const out = tempDir();
    fs.writeFileSync(path.join(out, 'x'), '1');
    await expect(trainBc({ datasets: [], frames, out, choice, epochs: 1, ...small })).rejects.toThrow(/is not empty.*--resume.*--overwrite/);
    const empty = tempDir();
    await expect(trainBc({ datasets: [], frames, out: empty, choice, epochs: 1, ...small, resume: true })).rejects.toThrow(PolicyInputError);
    const done = tempDir();
    await trainBc({ datasets: [], frames, out: done, choice, epochs: 1, ...small });
    await expect(trainBc({ datasets: [], frames, out: done, choice, epochs: 2, ...small, seed: 4, resume: true })).rejects.toThrow(/belongs to another run \(seed was 3, now 4\)/);
  });
});
