/**
 * Runs an evaluation plan's seed groups in this thread: loads the model, checks it against the
 * scenario, builds the rollout policy, and returns per-seed outcomes and pose errors. The same
 * code runs inline and inside each worker thread (worker.ts).
 */
import type { BackendChoice, BackendName } from '../backend.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { PhysicsRandomization, Scenario } from '../../sim/scenario.ts';
import { selectBackend } from '../backend.ts';
import { openSavedModel } from '../saved-model.ts';
import type { SavedModel } from '../saved-model.ts';
import { asStatePolicy } from '../state-policy.ts';
import { PolicyInputError } from '../errors.ts';
import { checkCardFits, statePolicy, visuomotorPolicy } from './policies.ts';
import { perceivedStatePolicy, poseErrorsOnly, poseGraspPolicy } from './perception-policies.ts';
import type { PoseErrors } from './perception-policies.ts';
import { poseEstimatorOf } from '../perception/estimator.ts';
import type { PoseEstimator } from '../perception/estimator.ts';
import { TabletopEnv } from '../../sim/env.ts';
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
  /** Looks of rendered frames (default: as `randomization`). */
  looks?: RandomizationMode;
  /** A pose estimator whose estimates replace the true block features a state policy reads. */
  perception?: string;
  backend?: BackendName;
  group: number;
  mode: EvalMode;
  /** σ of the seeded noise added to a model's actions before they are executed (policy/execution-noise.ts). */
  executionNoise?: number;
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
  /** Runs one group of seeds; `ranges` replace the job's physics ranges (robustness sweeps). */
  run(index: number, seeds: number[], onEpisode?: (o: EpisodeOutcome) => void, ranges?: PhysicsRandomization): Promise<GroupResult>;
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
      async run(index, seeds, onEpisode, ranges) {
        return { index, outcomes: await rolloutGroup(policy, seeds, { scenario: job.scenario, randomization: job.randomization, ranges, onEpisode }), poseErrors: [] };
      },
      async dispose() {},
    };
  }
  // A state policy fed by the pose estimator runs both on one backend (the conv net decides it).
  const shared = choice ?? (job.perception ? await selectBackend({ backend: job.backend, model: 'conv' }) : undefined);
  let saved: SavedModel | null = null, poseSaved: SavedModel | null = null;
  let policy: RolloutPolicy | null = null;
  let estimator: PoseEstimator | null = null;
  try {
    saved = await openSavedModel(job.modelDir, {
      backend: job.backend,
      choice: shared,
      accept: (card) => checkCardFits(card, job.scenario, job.modelDir, job.scenarioLabel),
    });
  } catch (err) {
    if (shared && !choice) shared.dispose();
    throw err;
  }
  const { tf, graph: model, card } = saved;
  const looks = job.looks ?? job.randomization;
  const vision = { scenario: job.scenario, randomization: looks, group: job.group };
  const perception = { scenario: job.scenario, looks, group: job.group };
  if (card.kind === 'pose') estimator = poseEstimatorOf(saved);
  if (job.perception) {
    poseSaved = await openSavedModel(job.perception, {
      choice: shared,
      accept: (c) => {
        if (c.kind !== 'pose') throw new PolicyInputError(`--perception ${job.perception} is a ${c.kind} model, not a pose estimator (simreal train pose)`);
        checkCardFits(c, job.scenario, job.perception!, job.scenarioLabel);
      },
    });
    estimator = poseEstimatorOf(poseSaved);
  }
  if (job.mode === 'rollout') {
    if (card.kind === 'bc' && estimator && poseSaved) {
      const names = new TabletopEnv(job.scenario, { randomization: 'none' }).observationSpace.names;
      policy = await perceivedStatePolicy(asStatePolicy(saved), estimator, poseSaved.card, perception, names);
    } else if (card.kind === 'bc') policy = statePolicy(asStatePolicy(saved));
    else if (card.kind === 'visuomotor') policy = await visuomotorPolicy(tf, model, card, vision);
    else policy = await poseGraspPolicy(estimator!, card, perception);
  }
  return {
    backend: saved.backend,
    device: saved.device,
    async run(index, seeds, onEpisode, ranges) {
      if (job.mode === 'pose-only') {
        const errors = await poseErrorsOnly(estimator!, card, { ...perception, physics: job.randomization }, seeds);
        return { index, outcomes: [], poseErrors: [...errors.entries()] };
      }
      const p = policy as RolloutPolicy & { errors?: PoseErrors };
      const outcomes = await rolloutGroup(p, seeds, { scenario: job.scenario, randomization: job.randomization, ranges, onEpisode, executionNoise: job.executionNoise });
      const poseErrors = p.errors ? seeds.map((s): [number, number[]] => [s, p.errors!.get(s) ?? []]) : [];
      return { index, outcomes, poseErrors };
    },
    async dispose() {
      if (policy) await policy.dispose();
      poseSaved?.dispose();
      saved!.dispose();
      if (shared && !choice) shared.dispose();
    },
  };
}
