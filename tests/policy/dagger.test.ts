/**
 * DAgger with the scripted expert (policy/train/dagger.ts): on a tiny fixed-seed problem it beats
 * plain BC given the same number of expert labels; rollouts mix the expert in at rate β and label
 * every visited state; the warm start keeps the learner's function while moving it to the new
 * data's normalization; runs are deterministic and resume with more rounds; the card records rounds,
 * β and labels.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendChoice } from '../../policy/backend.ts';
import { framesFromRecords } from '../../policy/data/load.ts';
import { splitByEpisode } from '../../policy/data/split.ts';
import { evaluate } from '../../policy/eval/evaluate.ts';
import { readModelCard } from '../../policy/model-card.ts';
import { loadLayersModel } from '../../policy/model-io.ts';
import { statePredictor } from '../../policy/state-policy.ts';
import { bcRecipe } from '../../policy/train/bc.ts';
import { betaOf, rolloutSeeds, trainDagger } from '../../policy/train/dagger.ts';
import { labelledRollouts } from '../../policy/train/dagger-data.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { Rng } from '../../sim/rng.ts';
import { expertEpisodes, scenario, tempDir, wasmBackend } from './helpers.ts';

let choice: BackendChoice;
beforeAll(async () => {
  choice = await wasmBackend();
});

describe('DAgger', () => {
  it('beats plain BC on the same number of expert labels (Reach-v1, fixed seeds)', async () => {
    const s = scenario('reach');
    // Clean demonstrations only: BC sees the expert's own path, DAgger also the learner's.
    const common = { scenario: s, choice, hidden: [64, 64], batchSize: 32, selectEpisodes: 0, patience: 0, seed: 2, workers: 0, dartNoise: 0 };
    const dagger = await trainDagger({ ...common, out: tempDir(), demos: 20, rounds: 4, episodesPerRound: 10, epochs: 100, roundEpochs: 40 });
    const labels = dagger.card.dagger!.labels.total;
    const bc = await trainDagger({ ...common, out: tempDir(), labels, rounds: 0, epochs: 260 });
    const bcLabels = bc.card.dagger!.labels.total;
    // The same budget, counted the same way: BC gets at least as many labels, by less than one episode more.
    expect(bcLabels).toBeGreaterThanOrEqual(labels);
    expect(bcLabels - labels).toBeLessThan(s.maxSteps);
    const rate = async (dir: string): Promise<number> =>
      (await evaluate({ modelDir: dir, scenario: s, episodes: 100, randomization: 'train', choice, workers: 0 })).success!.rate;
    const [d, b] = [await rate(dagger.out), await rate(bc.out)];
    expect(d, `DAgger ${d}, BC ${b}`).toBeGreaterThanOrEqual(b + 0.08);
  }, 240_000);

  it('records rounds, β and labels in the model card, and keeps every round', async () => {
    const s = scenario('reach');
    const out = tempDir();
    const r = await trainDagger({ scenario: s, choice, out, demos: 6, rounds: 2, episodesPerRound: 3, epochs: 4, roundEpochs: 2, hidden: [16], selectEpisodes: 4, workers: 0, seed: 5, beta: 0.6, betaDecay: 0.5, executionNoise: 0.02 });
    const card = readModelCard(out);
    const dg = card.dagger!;
    expect(card.kind).toBe('bc');
    // The execution noise it was selected with is the one it runs with.
    expect(card.execution).toEqual({ actionNoise: 0.02 });
    expect(dg.rounds.map((x) => x.beta)).toEqual([1, 0.6, 0.3]);
    expect(dg.rounds.map((x) => x.episodes)).toEqual([6, 3, 3]);
    expect(dg.labels.total).toBe(dg.labels.demonstrations + dg.labels.rollouts);
    expect(dg.rounds.reduce((n, x) => n + x.labels, 0)).toBe(dg.labels.total);
    expect(dg.rounds.at(-1)!.totalLabels).toBe(dg.labels.total);
    for (const x of dg.rounds) expect(x.selectSuccess).not.toBeNull();
    // Evaluation must skip every seed DAgger saw: the demonstrations' and the rollouts'.
    for (const seed of rolloutSeeds(5, 1, 3)) expect(card.dataset.seeds).toContain(seed);
    expect(card.dataset.seeds.length).toBe(6 + 2 * 3);
    for (let i = 0; i <= 2; i++) expect(fs.existsSync(path.join(out, 'rounds', `round-${i}`, 'model.json'))).toBe(true);
    expect(r.card.dagger!.bestRound).toBe(dg.bestRound);
    expect(betaOf(3, 0.6, 0.5)).toBeCloseTo(0.15);
  }, 120_000);

  it('rollouts label every visited state with the expert, execute it at rate β, and depend on the seeds alone', async () => {
    const s = scenario('reach');
    const out = tempDir();
    await trainDagger({ scenario: s, choice, out, demos: 4, rounds: 0, epochs: 2, hidden: [16], selectEpisodes: 0, workers: 0 });
    const model = await loadLayersModel(choice.tf, out);
    const S = model.inputs[0].shape[1] as number;
    const learner = statePredictor(choice.tf, model, S, 5);
    const seeds = rolloutSeeds(0, 1, 6);
    const a = await labelledRollouts(learner, seeds, { scenario: s, beta: 0.5 });
    const b = await labelledRollouts(learner, seeds, { scenario: s, beta: 0.5 });
    expect(a.map((e) => e.seed)).toEqual(seeds);
    expect(a.map((e) => Array.from(e.labels))).toEqual(b.map((e) => Array.from(e.labels)));
    const steps = a.reduce((n, e) => n + e.length, 0), expert = a.reduce((n, e) => n + e.expertSteps, 0);
    expect(expert / steps).toBeGreaterThan(0.3);
    expect(expert / steps).toBeLessThan(0.7);
    for (const e of a) {
      expect(e.obs.length).toBe(e.length * S);
      expect(e.labels.length).toBe(e.length * 5);
    }
    const none = await labelledRollouts(learner, seeds, { scenario: s, beta: 0 });
    expect(none.reduce((n, e) => n + e.expertSteps, 0)).toBe(0);
    const all = await labelledRollouts(learner, seeds, { scenario: s, beta: 1 });
    expect(all.every((e) => e.expertSteps === e.length && e.success)).toBe(true);
    model.dispose();
  }, 120_000);

  it('the warm start moves the learner to the new normalization without changing what it computes', async () => {
    const s = scenario('stack-2');
    const out = tempDir();
    await trainDagger({ scenario: s, choice, out, demos: 3, rounds: 0, epochs: 2, hidden: [32, 32], selectEpisodes: 0, workers: 0 });
    const warm = await loadLayersModel(choice.tf, out);
    // Other data (DART-noised, another seed): other means and deviations.
    const set = framesFromRecords(expertEpisodes(s, 4, { baseSeed: 9, dartNoise: 0.4 }), { scenario: s, randomization: 'train' });
    const prepared = bcRecipe.prepare(choice.tf, set, splitByEpisode(set, 0.25, 0), s, { datasets: [], out: '', hidden: [32, 32] }, new Rng(1));
    expect(prepared.card.normalization!.mean).not.toEqual(readModelCard(out).normalization!.mean);
    bcRecipe.warmStart!(choice.tf, prepared, warm, readModelCard(out));
    const S = set.stateNames.length;
    const x = choice.tf.tensor2d(set.state.subarray(0, 200 * S), [200, S]);
    const p = (warm.predict(x) as Tensor).dataSync(), q = (prepared.save.predict(x) as Tensor).dataSync();
    let worst = 0;
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - q[i]));
    expect(worst).toBeLessThan(1e-4);
    // …and the saved normalization is the new data's.
    const normalize = prepared.save.getLayer('normalize').getWeights()[1].dataSync();
    expect(normalize[0]).toBeCloseTo(-prepared.card.normalization!.mean[0] / prepared.card.normalization!.std[0], 4);
    choice.tf.dispose([x]);
    warm.dispose();
    prepared.save.dispose();
  }, 120_000);

  it('is deterministic for a seed', async () => {
    const s = scenario('reach');
    const run = async (): Promise<number[]> => {
      const out = tempDir();
      await trainDagger({ scenario: s, choice, out, demos: 4, rounds: 1, episodesPerRound: 2, epochs: 2, roundEpochs: 1, hidden: [16], selectEpisodes: 0, workers: 0, seed: 3 });
      const m = await loadLayersModel(choice.tf, out);
      const w = Array.from(m.getWeights()[0].dataSync());
      m.dispose();
      return w;
    };
    expect(await run()).toEqual(await run());
  }, 120_000);

  it('resumes a run with more rounds and ends where a run of that many rounds from the start ends', async () => {
    const s = scenario('reach');
    const common = { scenario: s, choice, demos: 4, episodesPerRound: 2, epochs: 2, roundEpochs: 1, hidden: [16], selectEpisodes: 2, workers: 0, seed: 4 };
    const weights = async (dir: string): Promise<number[]> => {
      const m = await loadLayersModel(choice.tf, dir);
      const w = m.getWeights().flatMap((t) => Array.from(t.dataSync()));
      m.dispose();
      return w;
    };
    const whole = tempDir();
    await trainDagger({ ...common, out: whole, rounds: 2 });
    const part = tempDir();
    await trainDagger({ ...common, out: part, rounds: 1 });
    const lines: string[] = [];
    const r = await trainDagger({ ...common, out: part, rounds: 2, resume: true, log: (l) => lines.push(l) });
    // Rounds 0 and 1 are reloaded, not trained again; round 2 trains on the same aggregate.
    expect(lines.filter((l) => /^round \d: resuming/.test(l))).toHaveLength(2);
    expect(r.card.dagger!.labels).toEqual(readModelCard(whole).dagger!.labels);
    expect(r.card.dagger!.rounds.map((x) => x.selectSuccess)).toEqual(readModelCard(whole).dagger!.rounds.map((x) => x.selectSuccess));
    for (const i of [1, 2]) expect(await weights(path.join(part, 'rounds', `round-${i}`))).toEqual(await weights(path.join(whole, 'rounds', `round-${i}`)));
    // Nothing to resume, or both --resume and --overwrite: refused with the fix named.
    await expect(trainDagger({ ...common, out: tempDir(), rounds: 1, resume: true })).rejects.toThrow(/no DAgger run.*start without --resume/);
    await expect(trainDagger({ ...common, out: part, rounds: 1, resume: true, overwrite: true })).rejects.toThrow(/contradict/);
    // Another seed's data is not this run's: round 0's checkpoint says so.
    await expect(trainDagger({ ...common, seed: 5, out: part, rounds: 2, resume: true })).rejects.toThrow(/belongs to another run/);
  }, 180_000);

  it('refuses contradictory or out-of-range options with a message that names them', async () => {
    const s = scenario('reach');
    await expect(trainDagger({ scenario: s, choice, out: tempDir(), beta: 1.5 })).rejects.toThrow(/--beta must lie in \[0, 1\]/);
    await expect(trainDagger({ scenario: s, choice, out: tempDir(), rounds: -1 })).rejects.toThrow(/--rounds/);
    await expect(trainDagger({ choice, out: tempDir() })).rejects.toThrow(/needs a scenario/);
    const full = tempDir();
    fs.writeFileSync(path.join(full, 'x'), '');
    await expect(trainDagger({ scenario: s, choice, out: full })).rejects.toThrow(/not empty.*--overwrite/);
  });
});
