/**
 * Runs an evaluation plan's seed groups in this thread: loads the model, checks it against the
 * scenario, builds the rollout policy, and returns per-seed outcomes and pose errors. The same
 * code runs inline and inside each worker thread (worker.ts).
 */
import type { BackendChoice, BackendName } from '../backend.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { openSavedModel } from '../saved-model.ts';
import { asStatePolicy } from '../state-policy.ts';
import { checkCardFits, poseErrorsOnly, poseGraspPolicy, statePolicy, visuomotorPolicy } from './policies.ts';
import type { PoseGraspPolicy } from './policies.ts';
import { rolloutGroup } from './rollout.ts';
import type { RolloutPolicy } from './rollout.ts';
import type { EpisodeOutcome } from './stats.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import type { Expert } from '../../sim/experts/index.ts';

/** rollout: the model drives; pose-only: pose errors on first frames; expert: the scripted expert drives (a baseline). */
export type EvalMode = 'rollout' | 'pose-only' | 'expert';

export interface GroupJob {
  modelDir: string;
  scenario: Scenario;
  scenarioLabel: string;
  randomization: RandomizationMode;
  backend?: BackendName;
  group: number;
  mode: EvalMode;
}

export interface GroupResult {
  index: number;
  outcomes: EpisodeOutcome[];
  /** [seed, per-block errors in metres] */
  poseErrors: Array<[number, number[]]>;
}

export interface GroupRunner {
  backend: string;
  device: string;
  run(index: number, seeds: number[], onEpisode?: (o: EpisodeOutcome) => void): Promise<GroupResult>;
  dispose(): Promise<void>;
}

/** The scripted expert as a rollout policy (privileged: it reads the true scene). */
export function expertPolicy(scenario: Scenario): RolloutPolicy {
  const experts: Expert[] = [];
  return {
    async begin(slot, env) {
      experts[slot] = EXPERTS[scenario.task.id](env);
    },
    async act(slots) {
      return slots.map((s) => experts[s].act());
    },
    dispose() {},
  };
}

export async function openGroupRunner(job: GroupJob, choice?: BackendChoice): Promise<GroupRunner> {
  if (job.mode === 'expert') {
    const policy = expertPolicy(job.scenario);
    return {
      backend: 'none',
      device: 'scripted expert (no model)',
      async run(index, seeds, onEpisode) {
        return { index, outcomes: await rolloutGroup(policy, seeds, { scenario: job.scenario, randomization: job.randomization, onEpisode }), poseErrors: [] };
      },
      async dispose() {},
    };
  }
  const saved = await openSavedModel(job.modelDir, {
    backend: job.backend,
    choice,
    accept: (card) => checkCardFits(card, job.scenario, job.modelDir, job.scenarioLabel),
  });
  const { tf, graph: model, card } = saved;
  const vision = { scenario: job.scenario, randomization: job.randomization, group: job.group };
  let policy: RolloutPolicy | null = null;
  if (job.mode === 'rollout') {
    if (card.kind === 'bc') policy = statePolicy(asStatePolicy(saved));
    else if (card.kind === 'visuomotor') policy = await visuomotorPolicy(tf, model, card, vision);
    else policy = await poseGraspPolicy(tf, model, card, vision);
  }
  return {
    backend: saved.backend,
    device: saved.device,
    async run(index, seeds, onEpisode) {
      if (job.mode === 'pose-only') {
        const errors = await poseErrorsOnly(tf, model, card, vision, seeds);
        return { index, outcomes: [], poseErrors: [...errors.entries()] };
      }
      const p = policy as RolloutPolicy;
      const outcomes = await rolloutGroup(p, seeds, { scenario: job.scenario, randomization: job.randomization, onEpisode });
      const poseErrors = 'errors' in p ? seeds.map((s): [number, number[]] => [s, (p as PoseGraspPolicy).errors.get(s) ?? []]) : [];
      return { index, outcomes, poseErrors };
    },
    async dispose() {
      if (policy) await policy.dispose();
      saved.dispose();
    },
  };
}
