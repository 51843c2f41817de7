/**
 * The data DAgger learns from, in memory:
 *
 * - expert demonstrations (round 0): the scripted expert on seeded episodes of the training
 *   randomization, a third clean and a third each with DART noise σ and 2σ (the mix `simreal run`
 *   trains on), either a number of episodes or as many as it takes to reach a number of labels;
 * - rollouts (rounds ≥ 1): the learner drives, mixed with the expert at rate β, and every visited
 *   state is labelled with the expert's action.
 *
 * A label is one frame: an observation with the expert's action for it. Demonstrations and
 * rollouts are counted the same way, so a DAgger run and a BC run can be given the same budget.
 */
import { TabletopEnv, TimeLimit } from '../../sim/env.ts';
import { ACTION_SIZE } from '../../sim/env.ts';
import type { EpisodeRecord } from '../../sim/episode.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import type { Expert } from '../../sim/experts/index.ts';
import { generate } from '../../sim/generate/generate.ts';
import type { EpisodeSink } from '../../sim/generate/sink.ts';
import { Rng, deriveSeed } from '../../sim/rng.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { FrameEpisode, FrameSet } from '../data/frames.ts';
import { framesFromRecords } from '../data/load.ts';
import { periodicYield } from '../event-loop.ts';
import type { StatePredictor } from '../state-policy.ts';

export interface DemoOptions {
  scenario: Scenario;
  /** Episodes in all (split in thirds: clean, DART σ, DART 2σ). */
  episodes?: number;
  /** Instead of `episodes`: whole episodes, taken clean/σ/2σ in turn, until this many labels. */
  labels?: number;
  /** DART σ of the noisy thirds (σ and 2σ). */
  dartNoise: number;
  /** Base seed: the thirds use seed, seed + 1 and seed + 2 as `simreal generate --seed` would. */
  seed: number;
  workers?: number;
  signal?: AbortSignal;
  onEpisode?: (done: number, labels: number) => void;
}

/** An in-memory sink for generate(). */
function memorySink(): EpisodeSink & { records: EpisodeRecord[] } {
  const records: EpisodeRecord[] = [];
  return { records, completed: 0, async write(ep) { records.push(ep); }, async close() {} };
}

/** Expert demonstrations for round 0 (see the header), in the order they count toward `labels`. */
export async function expertDemos(o: DemoOptions): Promise<EpisodeRecord[]> {
  if (o.episodes === undefined && o.labels === undefined) throw new RangeError('expertDemos needs episodes or labels');
  const noise = [0, o.dartNoise, 2 * o.dartNoise];
  const parts: EpisodeRecord[][] = [[], [], []];
  let labels = 0, done = 0;
  const more = async (k: number, count: number): Promise<void> => {
    if (count <= 0) return;
    const sink = memorySink();
    const r = await generate({
      job: { scenario: o.scenario, randomization: 'train', dartNoise: noise[k] }, sink, baseSeed: o.seed + k,
      first: parts[k].length, count, workers: o.workers, signal: o.signal,
      onEpisode: (ep) => {
        labels += ep.length;
        o.onEpisode?.(++done, labels);
      },
    });
    if (r.stopped) throw new Error('interrupted');
    parts[k].push(...sink.records);
  };
  if (o.episodes !== undefined) {
    const a = Math.ceil(o.episodes / 3), b = Math.ceil((o.episodes - a) / 2);
    const counts = [a, b, o.episodes - a - b];
    for (let k = 0; k < 3; k++) await more(k, counts[k]);
    return interleave(parts, Infinity);
  }
  const target = o.labels as number;
  // Chunks sized from the time limit at first, then from the mean episode length seen so far.
  while (labels < target) {
    const mean = done > 0 ? labels / done : o.scenario.maxSteps / 2;
    const chunk = Math.max(2, Math.ceil((target - labels) / mean / 3) + 1);
    for (let k = 0; k < 3; k++) await more(k, chunk);
  }
  return interleave(parts, target);
}

/** Episodes clean, σ, 2σ, clean, … until `labels` frames (whole episodes). */
function interleave(parts: EpisodeRecord[][], labels: number): EpisodeRecord[] {
  const out: EpisodeRecord[] = [];
  let n = 0;
  for (let i = 0; n < labels; i++) {
    let any = false;
    for (const p of parts) {
      if (i >= p.length || n >= labels) continue;
      out.push(p[i]);
      n += p[i].length;
      any = true;
    }
    if (!any) break;
  }
  return out;
}

/** Round 0's frames from demonstrations (block poses dropped: the state policy does not read them). */
export function demoFrames(records: EpisodeRecord[], scenario: Scenario): FrameSet {
  const set = framesFromRecords(records, { scenario, randomization: 'train', path: `expert demonstrations of ${scenario.id}` });
  // Episode indices are made unique across the three thirds (each third counts from 0).
  set.episodes.forEach((e, i) => { e.index = i; });
  return { ...set, blockPoses: null };
}

/** One rollout of the mixture policy: what it saw and what the expert said to do there. */
export interface LabelledEpisode {
  seed: number;
  length: number;
  /** length × observation size (as the policy saw it, sensor noise included). */
  obs: Float32Array;
  /** length × 5: the expert's action in each visited state. */
  labels: Float32Array;
  success: boolean;
  /** Steps on which the expert's action was the one executed. */
  expertSteps: number;
}

export interface RolloutOptions {
  scenario: Scenario;
  /** Probability that a step executes the expert's action instead of the learner's. */
  beta: number;
  /** Steps a rollout runs at most (default and cap: the scenario's time limit). */
  horizon?: number;
  /** Environments stepped together (one batched prediction per step). Default 16. */
  group?: number;
  signal?: AbortSignal;
  onEpisode?: (e: LabelledEpisode) => void;
}

/**
 * Rolls out π = β·expert + (1 − β)·learner on `seeds` (training randomization) and labels every
 * visited state with the expert's action. Whether a step executes the expert's action is drawn
 * from a stream of the episode's own seed, so the data depends on the seeds alone.
 */
export async function labelledRollouts(learner: StatePredictor, seeds: number[], o: RolloutOptions): Promise<LabelledEpisode[]> {
  const out: LabelledEpisode[] = [];
  const group = o.group ?? 16;
  const yieldNow = periodicYield();
  for (let g = 0; g < seeds.length; g += group) {
    const ids = seeds.slice(g, g + group);
    const envs = ids.map(() => new TabletopEnv(o.scenario, { randomization: 'train' }));
    const limits = envs.map((e) => new TimeLimit(e, Math.min(o.horizon ?? o.scenario.maxSteps, o.scenario.maxSteps)));
    const S = envs[0].observationSpace.shape[0], max = limits[0].maxSteps;
    const obs: Float32Array[] = [];
    const experts: Expert[] = [];
    const coins = ids.map((s) => new Rng(deriveSeed(s, 'dagger-beta')));
    const rec = ids.map(() => ({ obs: new Float32Array(max * S), labels: new Float32Array(max * ACTION_SIZE), t: 0, expertSteps: 0 }));
    ids.forEach((seed, i) => {
      obs[i] = limits[i].reset({ seed }).obs;
      experts[i] = EXPERTS[o.scenario.task.id](envs[i]);
    });
    const finish = (i: number, success: boolean): void => {
      const r = rec[i];
      const e: LabelledEpisode = { seed: ids[i], length: r.t, obs: r.obs.slice(0, r.t * S), labels: r.labels.slice(0, r.t * ACTION_SIZE), success, expertSteps: r.expertSteps };
      out.push(e);
      o.onEpisode?.(e);
    };
    let active = ids.map((_, i) => i);
    while (active.length) {
      if (o.signal?.aborted) throw new Error('interrupted');
      await yieldNow();
      const learned = learner.actBatch(active.map((i) => obs[i]));
      const still: number[] = [];
      active.forEach((i, k) => {
        const r = rec[i];
        const label = experts[i].act();
        r.obs.set(obs[i], r.t * S);
        r.labels.set(label, r.t * ACTION_SIZE);
        r.t++;
        const expertActs = coins[i].next() < o.beta;
        if (expertActs) r.expertSteps++;
        let step;
        try {
          step = limits[i].step(expertActs ? label : learned[k]);
        } catch {
          // A learner action the environment refuses (not finite) or a diverged world ends the episode; its labels stay.
          finish(i, false);
          return;
        }
        obs[i] = step.obs;
        if (step.terminated || step.truncated) finish(i, step.info.success);
        else still.push(i);
      });
      active = still;
    }
  }
  out.sort((a, b) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed));
  return out;
}

/** Frames from labelled rollouts; episode indices start at `firstIndex`. */
export function rolloutFrames(episodes: LabelledEpisode[], like: FrameSet, firstIndex: number, path: string): FrameSet {
  const S = like.stateNames.length, A = like.actionNames.length;
  const frames = episodes.reduce((n, e) => n + e.length, 0);
  const state = new Float32Array(frames * S), action = new Float32Array(frames * A);
  const list: FrameEpisode[] = [];
  let f = 0;
  episodes.forEach((e, k) => {
    state.set(e.obs, f * S);
    action.set(e.labels, f * A);
    list.push({ index: firstIndex + k, seed: e.seed, success: e.success, dartNoise: null, start: f, length: e.length });
    f += e.length;
  });
  return {
    source: { ...like.source, path, format: 'memory' },
    stateNames: like.stateNames,
    actionNames: like.actionNames,
    blockCount: like.blockCount,
    frames,
    state,
    action,
    blockPoses: null,
    images: null,
    episodes: list,
  };
}
