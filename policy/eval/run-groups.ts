/**
 * Runs an evaluation plan's seed groups in this thread: loads the model, checks it against the
 * scenario, builds the rollout policy, and returns per-seed outcomes and pose errors. The same
 * code runs inline and inside each worker thread (worker.ts).
 */
import type { BackendChoice, BackendName } from '../backend.ts';
import { selectBackend } from '../backend.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { readModelCard } from '../model-card.ts';
import { loadLayersModel } from '../model-io.ts';
import { bcPolicy, checkCardFits, checkGraphFits, visuomotorPolicy } from './policies.ts';
import { perceivedStatePolicy, poseErrorsOnly, poseGraspPolicy } from './perception-policies.ts';
import type { PoseErrors } from './perception-policies.ts';
import { loadPoseEstimator } from '../perception/estimator.ts';
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
  const card = readModelCard(job.modelDir);
  checkCardFits(card, job.scenario, job.modelDir, job.scenarioLabel);
  const backend = choice ?? (await selectBackend({ backend: job.backend, model: card.kind === 'bc' && !job.perception ? 'mlp' : 'conv' }));
  const { tf } = backend;
  const looks = job.looks ?? job.randomization;
  const vision = { scenario: job.scenario, randomization: looks, group: job.group };
  const perception = { scenario: job.scenario, looks, group: job.group };
  let model: { dispose(): void } | null = null;
  let policy: RolloutPolicy | null = null;
  let estimator: Awaited<ReturnType<typeof loadPoseEstimator>> | null = null;
  if (card.kind === 'pose') {
    estimator = await loadPoseEstimator(tf, job.modelDir);
    if (job.mode === 'rollout') policy = await poseGraspPolicy(estimator.estimator, estimator.card, perception);
  } else {
    const net = await loadLayersModel(tf, job.modelDir);
    model = net;
    checkGraphFits(card, net, job.modelDir);
    if (job.perception) {
      const poseCard = readModelCard(job.perception);
      checkCardFits(poseCard, job.scenario, job.perception, job.scenarioLabel);
      estimator = await loadPoseEstimator(tf, job.perception);
      const envNames = new TabletopEnv(job.scenario, { randomization: 'none' }).observationSpace.names;
      policy = await perceivedStatePolicy(tf, net, card, estimator.estimator, estimator.card, perception, envNames);
    } else if (card.kind === 'bc') policy = bcPolicy(tf, net, card);
    else policy = await visuomotorPolicy(tf, net, card, vision);
  }
  return {
    backend: backend.name,
    device: backend.device,
    async run(index, seeds, onEpisode) {
      if (job.mode === 'pose-only') {
        const errors = await poseErrorsOnly(estimator!.estimator, estimator!.card, { ...perception, physics: job.randomization }, seeds);
        return { index, outcomes: [], poseErrors: [...errors.entries()] };
      }
      const p = policy as RolloutPolicy & { errors?: PoseErrors };
      const outcomes = await rolloutGroup(p, seeds, { scenario: job.scenario, randomization: job.randomization, onEpisode });
      const poseErrors = p.errors ? seeds.map((s): [number, number[]] => [s, p.errors!.get(s) ?? []]) : [];
      return { index, outcomes, poseErrors };
    },
    async dispose() {
      if (policy) await policy.dispose();
      model?.dispose();
      estimator?.estimator.dispose();
      if (!choice) backend.dispose();
    },
  };
}
