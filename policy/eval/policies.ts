/**
 * Rollout policies built from saved models, after checking that the model fits the scenario:
 *
 * - `bc`: the state MLP (policy/state-policy.ts), one batched predict per step for the whole group;
 * - `visuomotor`: each slot's camera frame (rendered with the episode's look) + gripper state;
 * - `pose`: at reset, the pose estimator looks at the first frame; the scripted grasp
 *   (estimate-grasp.ts) then acts on its estimate. The estimate's error is recorded per episode.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import type { TabletopEnv } from '../../sim/env.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { ROBOT_FEATURES } from '../../sim/tasks/features.ts';
import { TabletopEnv as Env } from '../../sim/env.ts';
import { PolicyInputError, listNames, namesMismatch } from '../errors.ts';
import type { ModelCard } from '../model-card.ts';
import { identityGroups, matchedErrors } from '../models/pose-cnn.ts';
import { estimateGrasp } from './estimate-grasp.ts';
import type { EstimateGrasp, Vec3 } from './estimate-grasp.ts';
import { openSlotCameras } from './images.ts';
import type { SlotCamera } from './images.ts';
import type { RolloutPolicy } from './rollout.ts';
import type { StatePredictor } from '../state-policy.ts';

/** Checks that a model (by its card) fits a scenario; throws naming both sides. */
export function checkCardFits(card: ModelCard, scenario: Scenario, modelDir: string, scenarioLabel: string): void {
  const env = new Env(scenario, { randomization: 'none' });
  const obsNames = env.observationSpace.names;
  const blocks = env.task.blockCount(scenario.task);
  if (card.kind === 'bc') {
    const want = card.inputs.state?.names ?? [];
    const why = namesMismatch(want, obsNames);
    if (why) {
      throw new PolicyInputError(
        `model ${modelDir} reads ${want.length} observation features (trained on scenario ${card.scenario.id}: ${listNames(want, 4)}), ` +
          `but ${scenarioLabel} (${scenario.id}) gives ${obsNames.length} (${listNames(obsNames, 4)}): ${why}. Evaluate it on a ${card.scenario.id} scenario, or train a model on ${scenario.id}`,
      );
    }
  }
  if (card.kind === 'visuomotor') {
    const missing = ROBOT_FEATURES.filter((n) => !obsNames.includes(n));
    if (missing.length) throw new PolicyInputError(`${scenarioLabel} (${scenario.id}) does not observe ${listNames(missing)}, which model ${modelDir} reads`);
  }
  if (card.kind === 'pose' && blocks !== card.scenario.blockCount) {
    throw new PolicyInputError(
      `model ${modelDir} estimates ${card.scenario.blockCount} block positions (trained on ${card.scenario.id}), but ${scenarioLabel} (${scenario.id}) has ${blocks} blocks; evaluate it on a scenario with ${card.scenario.blockCount} blocks`,
    );
  }
  if (card.kind !== 'bc' && scenario.task.id !== (card.scenario.task as { id?: string }).id) {
    throw new PolicyInputError(`model ${modelDir} was trained on task ${(card.scenario.task as { id?: string }).id} (${card.scenario.id}), but ${scenarioLabel} is task ${scenario.task.id}`);
  }
}

function toRows(t: Tensor, rows: number, width: number): Float32Array[] {
  const flat = t.dataSync() as Float32Array;
  return Array.from({ length: rows }, (_, i) => flat.slice(i * width, (i + 1) * width));
}

/** A state policy (observation → action), one batched predict per step for the whole group. */
export function statePolicy(policy: StatePredictor): RolloutPolicy {
  return {
    async act(_slots, _envs, obs) {
      return policy.actBatch(obs);
    },
    dispose() {},
  };
}

export interface VisionOptions {
  scenario: Scenario;
  randomization: RandomizationMode;
  group: number;
}

export async function visuomotorPolicy(tf: TF, model: LayersModel, card: ModelCard, o: VisionOptions): Promise<RolloutPolicy> {
  const img = card.inputs.image!;
  const cameras = await openSlotCameras({ scenario: o.scenario, randomization: o.randomization, camera: img.camera, width: img.width, height: img.height }, o.group);
  const env = new Env(o.scenario, { randomization: 'none' });
  const cols = ROBOT_FEATURES.map((n) => env.observationSpace.names.indexOf(n));
  const R = cols.length, A = card.outputs.size, P = img.width * img.height * 3;
  return {
    async begin(slot, _env, seed) {
      cameras[slot].begin(seed);
    },
    async act(slots, envs, obs) {
      const frames = await Promise.all(slots.map((s) => cameras[s].rgb(envs[s].state())));
      const pix = new Float32Array(slots.length * P), st = new Float32Array(slots.length * R);
      frames.forEach((f, k) => {
        for (let i = 0; i < P; i++) pix[k * P + i] = f[i];
        for (let j = 0; j < R; j++) st[k * R + j] = obs[k][cols[j]];
      });
      return tf.tidy(() => toRows(model.predict([tf.tensor4d(pix, [slots.length, img.height, img.width, 3]), tf.tensor2d(st, [slots.length, R])]) as Tensor, slots.length, A));
    },
    async dispose() {
      for (const c of cameras) await c.dispose();
    },
  };
}

/** Pose errors (m) of each episode's first-frame estimate, by seed. */
export type PoseErrors = Map<number, number[]>;

export interface PoseGraspPolicy extends RolloutPolicy {
  errors: PoseErrors;
}

/** Renders `env`'s first frame, estimates block positions and records their matched errors. */
async function estimate(tf: TF, model: LayersModel, card: ModelCard, camera: SlotCamera, env: TabletopEnv, seed: number, groups: number[][]): Promise<{ positions: Vec3[]; errors: number[] }> {
  const img = card.inputs.image!;
  camera.begin(seed);
  const rgb = await camera.rgb(env.state());
  const px = Float32Array.from(rgb);
  const out = tf.tidy(() => (model.predict(tf.tensor4d(px, [1, img.height, img.width, 3])) as Tensor).dataSync() as Float32Array);
  const n = card.scenario.blockCount;
  const truth = new Float32Array(n * 3);
  env.scene.blocks.forEach((b, i) => truth.set([b.position.x, b.position.y, b.position.z], i * 3));
  const positions = Array.from({ length: n }, (_, i) => [out[i * 3], out[i * 3 + 1], out[i * 3 + 2]] as Vec3);
  return { positions, errors: matchedErrors(out, truth, groups, n) };
}

/** Pose estimate at reset + the scripted grasp on it (Grasp-v1 scenarios). */
export async function poseGraspPolicy(tf: TF, model: LayersModel, card: ModelCard, o: VisionOptions): Promise<PoseGraspPolicy> {
  const img = card.inputs.image!;
  const [camera] = await openSlotCameras({ scenario: o.scenario, randomization: o.randomization, camera: img.camera, width: img.width, height: img.height }, 1);
  const groups = identityGroups(o.scenario.task, card.scenario.blockCount);
  const controllers: EstimateGrasp[] = [];
  const errors: PoseErrors = new Map();
  return {
    errors,
    async begin(slot, env, seed) {
      const { positions, errors: e } = await estimate(tf, model, card, camera, env, seed, groups);
      errors.set(seed, e);
      controllers[slot] = estimateGrasp(env, positions[0], null, positions.slice(1));
    },
    async act(slots) {
      return slots.map((s) => controllers[s].act());
    },
    async dispose() {
      await camera.dispose();
    },
  };
}

/** Pose errors only (no rollout): first frames of the given seeds. */
export async function poseErrorsOnly(tf: TF, model: LayersModel, card: ModelCard, o: VisionOptions, seeds: number[], onSeed?: () => void): Promise<PoseErrors> {
  const img = card.inputs.image!;
  const [camera] = await openSlotCameras({ scenario: o.scenario, randomization: o.randomization, camera: img.camera, width: img.width, height: img.height }, 1);
  const groups = identityGroups(o.scenario.task, card.scenario.blockCount);
  const env = new Env(o.scenario, { randomization: o.randomization });
  const errors: PoseErrors = new Map();
  try {
    for (const seed of seeds) {
      env.reset({ seed });
      errors.set(seed, (await estimate(tf, model, card, camera, env, seed, groups)).errors);
      onSeed?.();
    }
  } finally {
    await camera.dispose();
  }
  return errors;
}
