/**
 * Evaluation: Wilson intervals, failure causes, seeds disjoint from training; and the tiny end to
 * end run: expert episodes → state BC on stack-2 → saved → loaded → closed loop on fixed seeds,
 * with a success threshold, the same in a worker thread as inline.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { framesFromRecords } from '../../policy/data/load.ts';
import { evaluate, formatEvalResult } from '../../policy/eval/evaluate.ts';
import { evalSeeds } from '../../policy/eval/seeds.ts';
import { failureCause, wilson } from '../../policy/eval/stats.ts';
import { readModelCard } from '../../policy/model-card.ts';
import { DEFAULT_EXECUTION_NOISE } from '../../policy/execution-noise.ts';
import { trainBc } from '../../policy/train/bc.ts';
import { deriveSeed } from '../../sim/rng.ts';
import type { BackendChoice } from '../../policy/backend.ts';
import { expertEpisodes, scenario, tempDir, wasmBackend } from './helpers.ts';

describe('statistics', () => {
  it('Wilson score intervals', () => {
    const a = wilson(0, 10);
    expect(a.low).toBe(0);
    expect(a.high).toBeCloseTo(0.2775, 4);
    const b = wilson(5, 10);
    expect(b.low).toBeCloseTo(0.2366, 4);
    expect(b.high).toBeCloseTo(0.7634, 4);
    const c = wilson(190, 200);
    expect(c.rate).toBe(0.95);
    expect(c.low).toBeCloseTo(0.9101, 3);
    expect(c.high).toBeCloseTo(0.9726, 3);
    expect(wilson(10, 10).high).toBeCloseTo(1, 12);
  });

  it('failure causes', () => {
    const names = ['block1_on_block0', 'block2_on_block1'];
    const base = { seed: 1, success: false, fail: false, steps: 400 };
    expect(failureCause({ ...base, success: true, stagesReached: [true, true], stagesAtEnd: [true, true] }, names)).toBe('success');
    expect(failureCause({ ...base, fail: true, stagesReached: [true, false], stagesAtEnd: [false, false] }, names)).toBe('fell off the table');
    expect(failureCause({ ...base, stagesReached: [true, false], stagesAtEnd: [true, false] }, names)).toBe('timeout before block2_on_block1');
    expect(failureCause({ ...base, stagesReached: [true, true], stagesAtEnd: [false, false] }, names)).toBe('timeout: block1_on_block0 undone');
    expect(failureCause({ ...base, stagesReached: [true, true], stagesAtEnd: [true, true] }, names)).toBe('timeout: not released or not still');
  });

  it('evaluation seeds skip every seed the model saw', () => {
    const train = [deriveSeed(7, 'eval', 1), deriveSeed(7, 'eval', 3)];
    const s = evalSeeds(5, 7, train);
    expect(s.skipped).toBe(2);
    expect(s.seeds).toHaveLength(5);
    expect(s.seeds.some((x) => train.includes(x))).toBe(false);
    expect(s.seeds[0]).toBe(deriveSeed(7, 'eval', 0));
    expect(s.seeds[1]).toBe(deriveSeed(7, 'eval', 2));
  });
});

describe('the scripted expert as a baseline', () => {
  it('runs through the same evaluator', async () => {
    const r = await evaluate({ modelDir: 'expert', scenario: scenario('stack-2'), episodes: 4, randomization: 'train', workers: 0 });
    expect(r.kind).toBe('expert');
    expect(r.model).toBe('scripted expert');
    expect(r.success!.successes).toBe(4);
    expect(r.seeds.skippedAsTrainingSeeds).toBe(0);
  });
});

describe('state BC, end to end', () => {
  let choice: BackendChoice;
  let out: string;
  beforeAll(async () => {
    choice = await wasmBackend();
    const s = scenario('stack-2');
    // 400 expert episodes without randomization (odd ones DART-noised), ~31k frames, 40 epochs:
    // about a minute on two CPU cores.
    const frames = framesFromRecords(expertEpisodes(s, 400, { randomization: 'none', dartNoise: 0.1 }), { scenario: s, randomization: 'none' });
    out = tempDir();
    await trainBc({ datasets: [], frames, out, choice, epochs: 40, hidden: [128, 128], batchSize: 256, learningRate: 2e-3, patience: 0, selectEpisodes: 0 });
  }, 180_000);

  it('trains, saves, loads and stacks two blocks on fixed unseen seeds', async () => {
    const card = readModelCard(out);
    const r = await evaluate({ modelDir: out, scenario: scenario('stack-2'), episodes: 40, randomization: 'none', seed: 11, choice });
    // A new policy carries the default execution noise on its card, and evaluation executes with it.
    expect(card.execution).toEqual({ actionNoise: DEFAULT_EXECUTION_NOISE });
    expect(r.executionNoise).toBe(DEFAULT_EXECUTION_NOISE);
    expect(r.seeds.skippedAsTrainingSeeds).toBe(0);
    expect(card.dataset.seeds.some((s) => r.seeds.first.includes(s))).toBe(false);
    expect(r.success!.trials).toBe(40);
    expect(r.success!.rate).toBeGreaterThanOrEqual(0.6);
    expect(r.stages[0].name).toBe('block1_on_block0');
    expect(formatEvalResult(r)).toMatch(/success: \d+\.\d% \(\d+\/40, 95% CI/);
  });

  it('gives the same outcomes in a worker thread as inline', async () => {
    const s = scenario('stack-2');
    const inline = await evaluate({ modelDir: out, scenario: s, episodes: 6, randomization: 'train', seed: 3, choice, group: 3 });
    const worker = await evaluate({ modelDir: out, scenario: s, episodes: 6, randomization: 'train', seed: 3, workers: 1, backend: 'wasm', group: 3 });
    expect(worker.workers).toBe(1);
    expect(worker.success).toEqual(inline.success);
    expect(worker.failures).toEqual(inline.failures);
    expect(worker.meanSteps).toEqual(inline.meanSteps);
  });
});
