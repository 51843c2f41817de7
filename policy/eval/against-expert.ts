/**
 * Where a cloned policy parts from its teacher (`simreal eval <model> <scenario> --against-expert`).
 *
 * The policy drives seeded episodes as in an evaluation; in every state it visits, the scripted
 * expert of the task is asked what it would do there (the experts read their stage off the state,
 * so they can be asked anywhere) and nothing of its answer is executed. Per expert stage: the steps
 * spent in it in episodes that succeeded and in those that failed, and the mean absolute
 * difference between the policy's action (clipped to ±1, as executed) and the expert's, per action
 * dimension. A stage where failed episodes spend most of their steps, with a large difference in
 * one dimension, is where the clone does not do what it was taught: what DAgger's rollouts would
 * label, and what to look at before training more.
 */
import { performance } from 'node:perf_hooks';
import type { TabletopEnv } from '../../sim/env.ts';
import { ACTION_NAMES, clipAction } from '../../sim/env.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import type { Expert } from '../../sim/experts/index.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { BackendName } from '../backend.ts';
import { readModelCard } from '../model-card.ts';
import { executionNoiseOf, executionNoiseOption } from '../execution-noise.ts';
import { loadStatePolicy } from '../state-policy.ts';
import { checkCardFits, statePolicy } from './policies.ts';
import { rollout } from './rollout.ts';
import type { RolloutPolicy } from './rollout.ts';
import { DEFAULT_EVAL_SEED, evalSeeds } from './seeds.ts';
import { formatRate, wilson } from './stats.ts';
import type { Rate } from './stats.ts';

/** Steps and mean |policy − expert| per action dimension, in one expert stage, for one kind of episode. */
export interface StageSide {
  steps: number;
  /** Per action dimension (ACTION_NAMES); NaN where there were no steps. */
  meanAbsDiff: number[];
}

export interface StageAgreement {
  stage: string;
  success: StageSide;
  failure: StageSide;
}

export interface AgainstExpertResult {
  format: 'simreal-against-expert';
  version: 1;
  model: string;
  scenario: string;
  randomization: RandomizationMode;
  /** σ of the noise the policy's actions were executed with (0: exactly); the comparison uses the actions before it. */
  executionNoise: number;
  episodes: number;
  seeds: { base: number; derivation: string; skippedAsTrainingSeeds: number };
  success: Rate;
  actionNames: string[];
  /** Stages by steps spent in failed episodes, most first. */
  stages: StageAgreement[];
  seconds: number;
}

interface Sums { steps: number; abs: number[] }
const A = ACTION_NAMES.length;
const emptySums = (): Sums => ({ steps: 0, abs: new Array<number>(A).fill(0) });
const side = (s: Sums | undefined): StageSide => ({ steps: s?.steps ?? 0, meanAbsDiff: Array.from({ length: A }, (_, i) => (s && s.steps ? s.abs[i] / s.steps : NaN)) });

/**
 * Rolls `policy` out on `seeds` and asks the scenario's expert in every visited state (see the
 * header). The policy's own actions are executed; the expert only answers.
 */
export async function compareWithExpert(policy: RolloutPolicy, seeds: number[], o: { scenario: Scenario; randomization: RandomizationMode; executionNoise?: number; onEpisode?: (done: number, ok: number) => void }): Promise<{ successes: number; stages: StageAgreement[] }> {
  const expertOf = EXPERTS[o.scenario.task.id];
  const experts: Expert[] = [];
  const seedOf: number[] = [];
  const running = new Map<number, Map<string, Sums>>();
  const totals = { success: new Map<string, Sums>(), failure: new Map<string, Sums>() };
  let done = 0, ok = 0;
  const asked: RolloutPolicy = {
    async begin(slot: number, env: TabletopEnv, seed: number) {
      await policy.begin?.(slot, env, seed);
      experts[slot] = expertOf(env);
      seedOf[slot] = seed;
      running.set(seed, new Map());
    },
    async act(slots, envs, obs) {
      const actions = await policy.act(slots, envs, obs);
      slots.forEach((s, k) => {
        const label = experts[s].act();
        const stage = experts[s].stage;
        const per = running.get(seedOf[s])!;
        let sums = per.get(stage);
        if (!sums) per.set(stage, (sums = emptySums()));
        sums.steps++;
        for (let i = 0; i < A; i++) sums.abs[i] += Math.abs(clipAction(actions[k][i]) - label[i]);
      });
      return actions;
    },
    dispose: () => policy.dispose(),
  };
  await rollout(asked, seeds, {
    scenario: o.scenario,
    randomization: o.randomization,
    executionNoise: o.executionNoise,
    onEpisode: (e) => {
      const into = e.success ? totals.success : totals.failure;
      for (const [stage, s] of running.get(e.seed) ?? []) {
        let t = into.get(stage);
        if (!t) into.set(stage, (t = emptySums()));
        t.steps += s.steps;
        for (let i = 0; i < A; i++) t.abs[i] += s.abs[i];
      }
      running.delete(e.seed);
      done++;
      if (e.success) ok++;
      o.onEpisode?.(done, ok);
    },
  });
  const names = [...new Set([...totals.failure.keys(), ...totals.success.keys()])];
  const stages = names
    .map((stage) => ({ stage, success: side(totals.success.get(stage)), failure: side(totals.failure.get(stage)) }))
    .sort((a, b) => b.failure.steps - a.failure.steps || b.success.steps - a.success.steps || a.stage.localeCompare(b.stage));
  return { successes: ok, stages };
}

export interface AgainstExpertOptions {
  modelDir: string;
  scenario: Scenario;
  scenarioLabel?: string;
  episodes: number;
  randomization: RandomizationMode;
  /** σ of the execution noise (policy/execution-noise.ts); default: the model card's. */
  executionNoise?: number;
  seed?: number;
  backend?: BackendName;
  log?: (line: string) => void;
  onEpisode?: (done: number, total: number, ok: number) => void;
}

/** A saved state policy against the scenario's expert on the evaluation seeds (in this thread). */
export async function againstExpert(o: AgainstExpertOptions): Promise<AgainstExpertResult> {
  const label = o.scenarioLabel ?? o.scenario.id;
  const card = readModelCard(o.modelDir);
  checkCardFits(card, o.scenario, o.modelDir, label);
  const policy = await loadStatePolicy(o.modelDir, { backend: o.backend, log: o.log, purpose: 'comparing a policy with the scripted expert needs a state policy (simreal train bc or train dagger)' });
  const base = o.seed ?? DEFAULT_EVAL_SEED;
  const { seeds, skipped, derivation } = evalSeeds(o.episodes, base, card.dataset.seeds ?? []);
  const t0 = performance.now();
  try {
    const executionNoise = executionNoiseOption(o.executionNoise, executionNoiseOf(card));
    const r = await compareWithExpert(statePolicy(policy), seeds, {
      scenario: o.scenario, randomization: o.randomization, executionNoise,
      onEpisode: (done, ok) => o.onEpisode?.(done, seeds.length, ok),
    });
    return {
      format: 'simreal-against-expert', version: 1,
      model: o.modelDir, scenario: o.scenario.id, randomization: o.randomization, executionNoise, episodes: seeds.length,
      seeds: { base, derivation, skippedAsTrainingSeeds: skipped },
      success: wilson(r.successes, seeds.length),
      actionNames: [...ACTION_NAMES],
      stages: r.stages,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    policy.dispose();
  }
}

export function formatAgainstExpert(r: AgainstExpertResult): string {
  const fmt = (v: number): string => (Number.isNaN(v) ? '-' : v.toFixed(2)).padStart(6);
  const width = Math.max(5, ...r.stages.map((s) => s.stage.length));
  const dims = r.actionNames.map((n) => n.padStart(6)).join('');
  const all = r.stages.reduce((n, s) => n + s.failure.steps, 0);
  const block = 12 + 6 * r.actionNames.length;
  const lines = [
    `${r.model} against the scripted expert on ${r.scenario} (${r.randomization} randomization${r.executionNoise ? `, actions executed with noise σ ${r.executionNoise}` : ''}): the policy drives ${r.episodes} seeded episodes; in every state it visits the expert is asked what it would do (${r.seconds.toFixed(1)} s)`,
    `success ${formatRate(r.success)}`,
    '',
    `${' '.repeat(width)}  ${'in failed episodes'.padEnd(block)}  in successful episodes`,
    `${'stage'.padEnd(width)}  ${'steps'.padStart(12)}${dims}  ${'steps'.padStart(12)}${dims}`,
  ];
  for (const s of r.stages) {
    const share = all ? ` ${((100 * s.failure.steps) / all).toFixed(0).padStart(3)}%` : '';
    lines.push(`${s.stage.padEnd(width)}  ${`${s.failure.steps}${share}`.padStart(12)}${s.failure.meanAbsDiff.map(fmt).join('')}  ${String(s.success.steps).padStart(12)}${s.success.meanAbsDiff.map(fmt).join('')}`);
  }
  lines.push('', `${r.actionNames.join(', ')}: mean |policy − expert| per action dimension (normalized units; the policy's action clipped to ±1 as executed)`);
  return lines.join('\n');
}
