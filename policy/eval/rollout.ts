/**
 * Closed-loop rollouts: a policy drives the environment from seeded resets until success, failure
 * or the scenario's time limit. Episodes run in fixed groups of `group` environments stepped in
 * lockstep, so a policy answers one batched call per step for the whole group; the grouping
 * depends only on the seed list, so results do not depend on how groups are spread over workers.
 */
import { TabletopEnv, TimeLimit } from '../../sim/env.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { PhysicsRandomization, Scenario } from '../../sim/scenario.ts';
import { failureCause } from './stats.ts';
import type { EpisodeOutcome } from './stats.ts';
import { periodicYield } from '../event-loop.ts';
import { ExecutionNoise } from '../execution-noise.ts';

/** Something that acts in a group of environments (a trained model, a scripted controller…). */
export interface RolloutPolicy {
  /** Called right after environment `slot` was reset to `seed` (e.g. to render and estimate poses). */
  begin?(slot: number, env: TabletopEnv, seed: number): Promise<void>;
  /** Actions for the active slots, given their current observations. */
  act(slots: number[], envs: TabletopEnv[], obs: Float32Array[]): Promise<ArrayLike<number>[]>;
  dispose(): void | Promise<void>;
}

export interface RolloutOptions {
  scenario: Scenario;
  randomization: RandomizationMode;
  /** Physics ranges replacing the scenario's (robustness sweeps). */
  ranges?: PhysicsRandomization;
  /** Environments stepped together. Default 16. */
  group?: number;
  /** σ of the seeded noise added to each action before it is executed (policy/execution-noise.ts). Default 0. */
  executionNoise?: number;
  onEpisode?: (o: EpisodeOutcome) => void;
}

/** Splits seeds into the fixed groups rollouts use. */
export function seedGroups(seeds: number[], group: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < seeds.length; i += group) out.push(seeds.slice(i, i + group));
  return out;
}

/** Runs one group of seeds to the end; outcomes in seed order. */
export async function rolloutGroup(policy: RolloutPolicy, seeds: number[], o: RolloutOptions): Promise<EpisodeOutcome[]> {
  const envs = seeds.map(() => new TabletopEnv(o.scenario, { randomization: o.randomization, ranges: o.ranges }));
  const limits = envs.map((e) => new TimeLimit(e));
  const stageNames = envs[0].task.stageNames(o.scenario.task);
  const obs: Float32Array[] = [];
  const reached = seeds.map(() => stageNames.map(() => false));
  const outcomes: Array<EpisodeOutcome | null> = seeds.map(() => null);
  const noise = o.executionNoise ? seeds.map((s) => new ExecutionNoise(o.executionNoise!, s)) : null;
  for (let i = 0; i < seeds.length; i++) {
    obs[i] = limits[i].reset({ seed: seeds[i] }).obs;
    if (policy.begin) await policy.begin(i, envs[i], seeds[i]);
  }
  const finish = (i: number, success: boolean, fail: boolean, stagesAtEnd: boolean[], error?: string): void => {
    const base = { seed: seeds[i], success, fail, steps: limits[i].elapsedSteps, stagesReached: reached[i], stagesAtEnd };
    outcomes[i] = { ...base, cause: failureCause(base, stageNames, error) };
    o.onEpisode?.(outcomes[i] as EpisodeOutcome);
  };
  let active = seeds.map((_, i) => i);
  const yieldNow = periodicYield();
  while (active.length) {
    await yieldNow();
    const actions = await policy.act(active, envs, active.map((i) => obs[i]));
    const still: number[] = [];
    active.forEach((i, k) => {
      let r;
      try {
        r = limits[i].step(noise ? noise[i].apply(actions[k]) : actions[k]);
      } catch (err) {
        const msg = (err as Error).message;
        const kind = /finite/.test(msg) && /action/.test(msg) ? 'policy output not finite' : /diverged/.test(msg) ? 'physics diverged' : 'error';
        finish(i, false, false, stageNames.map(() => false), `${kind}: ${msg.split('\n')[0]}`);
        return;
      }
      r.info.stages.forEach((s, j) => { if (s) reached[i][j] = true; });
      obs[i] = r.obs;
      if (r.terminated || r.truncated) finish(i, r.info.success, r.info.fail, r.info.stages);
      else still.push(i);
    });
    active = still;
  }
  return outcomes as EpisodeOutcome[];
}

/** Runs every seed (group by group, in this thread). */
export async function rollout(policy: RolloutPolicy, seeds: number[], o: RolloutOptions): Promise<EpisodeOutcome[]> {
  const out: EpisodeOutcome[] = [];
  for (const g of seedGroups(seeds, o.group ?? 16)) out.push(...(await rolloutGroup(policy, g, o)));
  return out;
}
