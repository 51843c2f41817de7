/**
 * Training in worker threads: two trainings run concurrently, each in its own worker, and give
 * bit-identical models, histories and cards to the same two trainings run one after the other in
 * the main thread; progress comes back; an abort and an input error behave as in-process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { framesFromRecords } from '../../policy/data/load.ts';
import type { FrameSet } from '../../policy/data/frames.ts';
import { PolicyInputError } from '../../policy/errors.ts';
import { trainBc } from '../../policy/train/bc.ts';
import { readCheckpointState } from '../../policy/train/checkpoint.ts';
import type { EpochRecord } from '../../policy/train/checkpoint.ts';
import { trainInWorker } from '../../policy/train/in-worker.ts';
import type { TrainProgress } from '../../policy/train/trainer.ts';
import { expertEpisodes, scenario, tempDir } from './helpers.ts';

let policyData: FrameSet;
let ablationData: FrameSet;

beforeAll(() => {
  const s = scenario('stack-2');
  policyData = framesFromRecords(expertEpisodes(s, 10, { dartNoise: 0.1, baseSeed: 11 }), { scenario: s, randomization: 'train' });
  ablationData = framesFromRecords(expertEpisodes(s, 10, { dartNoise: 0.1, baseSeed: 12, randomization: 'none' }), { scenario: s, randomization: 'none' });
});

// Closed-loop selection on 2 rollouts per epoch, so the rollouts run in the worker too.
const small = { hidden: [32, 32], batchSize: 128, seed: 5, epochs: 3, patience: 0, selectEpisodes: 2, backend: 'wasm' as const };

/** What must be identical: the saved weights, the per-epoch losses and metrics, the card's choices. */
function outcome(dir: string): { weights: Buffer; history: Array<Omit<EpochRecord, 'seconds'>>; card: Record<string, unknown> } {
  const card = JSON.parse(fs.readFileSync(path.join(dir, 'model-card.json'), 'utf8'));
  const history = (readCheckpointState(dir)?.history ?? []).map(({ seconds: _s, ...rest }) => rest);
  return {
    weights: fs.readFileSync(path.join(dir, 'weights.bin')),
    history,
    card: { metrics: card.metrics, bestEpoch: card.training.bestEpoch, epochs: card.training.epochs, stoppedBy: card.training.stoppedBy, dataset: card.dataset, normalization: card.normalization },
  };
}

describe('training in worker threads', () => {
  it('trains a policy and its ablation concurrently, bit-identical to training them serially in the main thread', async () => {
    const serial = { policy: tempDir(), ablation: tempDir() };
    await trainBc({ datasets: [], frames: policyData, out: serial.policy, ...small });
    await trainBc({ datasets: [], frames: ablationData, out: serial.ablation, ...small });

    const workers = { policy: tempDir(), ablation: tempDir() };
    const progress: TrainProgress[] = [];
    const epochs: EpochRecord[] = [];
    const lines: string[] = [];
    const [p, a] = await Promise.all([
      trainInWorker('bc', { datasets: [], frames: policyData, out: workers.policy, ...small, onProgress: (x) => progress.push(x), onEpoch: (r) => epochs.push(r), log: (l) => lines.push(l) }),
      trainInWorker('bc', { datasets: [], frames: ablationData, out: workers.ablation, ...small }),
    ]);
    expect(p.stoppedBy).toBe('max-epochs');
    expect(a.stoppedBy).toBe('max-epochs');

    const sp = outcome(serial.policy), wp = outcome(workers.policy);
    const sa = outcome(serial.ablation), wa = outcome(workers.ablation);
    expect(wp.weights.equals(sp.weights)).toBe(true);
    expect(wa.weights.equals(sa.weights)).toBe(true);
    expect(wp.history).toEqual(sp.history);
    expect(wa.history).toEqual(sa.history);
    expect(wp.card).toEqual(sp.card);
    expect(wa.card).toEqual(sa.card);
    // The two trainings differ (different data), so identity above is not a coincidence of inputs.
    expect(wp.weights.equals(wa.weights)).toBe(false);

    // Progress came back from the worker: every batch, in order, to the last sample.
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.every((x, i) => i === 0 || x.samplesDone > progress[i - 1].samplesDone)).toBe(true);
    expect(progress.at(-1)!.samplesDone).toBe(progress.at(-1)!.samplesTotal);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(lines[0]).toMatch(/^backend: wasm on CPU/);
    expect(lines.some((l) => l.startsWith('saved '))).toBe(true);
  }, 180_000);

  it('stops soon after an abort, keeping its best epoch, as in-process training does', async () => {
    const stop = new AbortController();
    const epochs = 30;
    const r = await trainInWorker('bc', {
      datasets: [], frames: policyData, out: tempDir(), ...small, selectEpisodes: 0, epochs, signal: stop.signal,
      onProgress: (x) => {
        if (x.epoch === 2) stop.abort();
      },
    });
    expect(r.stoppedBy).toBe('interrupted');
    // The abort reaches the worker while it trains (this thread sees its progress a little late).
    expect(r.card.training.epochs).toBeGreaterThanOrEqual(1);
    expect(r.card.training.epochs).toBeLessThan(epochs);
    expect(r.card.training.stoppedBy).toBe('interrupted');
  }, 120_000);

  it('does not start when aborted before it begins', async () => {
    const stop = new AbortController();
    stop.abort();
    await expect(trainInWorker('bc', { datasets: [], frames: policyData, out: tempDir(), ...small, signal: stop.signal })).rejects.toThrow(/stopped before the first epoch completed/);
  }, 60_000);

  it('rejects with the same error class and message as in-process training', async () => {
    const out = tempDir();
    fs.writeFileSync(path.join(out, 'something'), 'x');
    const inProcess = await trainBc({ datasets: [], frames: policyData, out, ...small }).catch((e: unknown) => e);
    const inWorker = await trainInWorker('bc', { datasets: [], frames: policyData, out, ...small }).catch((e: unknown) => e);
    expect(inWorker).toBeInstanceOf(PolicyInputError);
    expect((inWorker as Error).message).toBe((inProcess as Error).message);
    expect((inWorker as Error).message).toMatch(/is not empty/);
  }, 60_000);
});
