/**
 * Closed-loop policies that see the blocks only through a camera and the pose estimator:
 *
 * - `poseGraspPolicy` (Grasp-v1, Tobin et al.'s experiment): the estimator looks at the
 *   episode's first frame; the scripted grasp (estimate-grasp.ts) acts on its estimate of the
 *   target and the distractors around it;
 * - `perceivedStatePolicy`: a state policy (simreal train bc) whose block features come from the
 *   estimator at every control step (perceived-state.ts), the robot's own features from the
 *   simulator as a robot reports them.
 *
 * Frames are rendered with the episode's look (`looks`: training, held-out or nominal ranges)
 * at the resolution the estimator was trained on, with the camera's calibration for that
 * episode. Pose errors of the first frame are recorded per episode.
 */
import type { TabletopEnv } from '../../sim/env.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { Vec3 } from '../../sim/state.ts';
import type { ModelCard } from '../model-card.ts';
import type { StatePolicy } from '../state-policy.ts';
import { cameraFromFrame } from '../../sim/camera/camera.ts';
import { toEstimate } from '../perception/estimator.ts';
import type { BlockEstimate, PoseEstimator } from '../perception/estimator.ts';
import { nameByRule } from '../perception/identity.ts';
import { blockErrors } from '../perception/measure.ts';
import { BlockTracker, PerceivedState } from '../perception/perceived-state.ts';
import { estimateGrasp } from './estimate-grasp.ts';
import type { EstimateGrasp } from './estimate-grasp.ts';
import { openSlotCameras } from './images.ts';
import type { SlotCamera } from './images.ts';
import type { RolloutPolicy } from './rollout.ts';

/** Pose errors (m) of each episode's first-frame estimate, by seed. */
export type PoseErrors = Map<number, number[]>;

export interface PerceptionOptions {
  scenario: Scenario;
  /** Looks of the rendered frames. */
  looks: RandomizationMode;
  group: number;
}

async function cameras(estimator: PoseEstimator, card: ModelCard, o: PerceptionOptions, count: number): Promise<SlotCamera[]> {
  const size = card.perception!.renderSize;
  return openSlotCameras({ scenario: o.scenario, randomization: o.looks, camera: estimator.spec.camera, width: size, height: size }, count);
}

/** Every block of `env`'s current frame as the estimator sees it (unnamed, strongest first). */
async function look(estimator: PoseEstimator, camera: SlotCamera, env: TabletopEnv): Promise<BlockEstimate[]> {
  const { rgb, frame } = await camera.view(env.state());
  const view = estimator.view(rgb, cameraFromFrame(frame));
  return estimator.detect([view])[0].map((d) => toEstimate(d, view.camera));
}

function truthOf(env: TabletopEnv): Vec3[] {
  return env.scene.blocks.map((b) => [b.position.x, b.position.y, b.position.z] as Vec3);
}

export interface PoseGraspPolicy extends RolloutPolicy {
  errors: PoseErrors;
}

/** The estimate of the first frame + the scripted grasp on it (Grasp-v1 scenarios). */
export async function poseGraspPolicy(estimator: PoseEstimator, card: ModelCard, o: PerceptionOptions): Promise<PoseGraspPolicy> {
  const [camera] = await cameras(estimator, card, o, 1);
  const controllers: EstimateGrasp[] = [];
  const errors: PoseErrors = new Map();
  return {
    errors,
    async begin(slot, env, seed) {
      camera.begin(seed);
      const seen = await look(estimator, camera, env);
      const named = nameByRule(o.scenario.task, seen.map((b) => b.position)).map((i) => seen[i]);
      errors.set(seed, blockErrors(o.scenario.task, seen.map((b) => b.position), truthOf(env)));
      controllers[slot] = estimateGrasp(env, named[0].position, named[0].yaw, named.slice(1).map((b) => b.position));
    },
    async act(slots) {
      return slots.map((s) => controllers[s].act());
    },
    async dispose() {
      await camera.dispose();
    },
  };
}

/** First-frame pose errors only (no rollout), for scenarios without a scripted grasp. */
export async function poseErrorsOnly(estimator: PoseEstimator, card: ModelCard, o: PerceptionOptions & { physics: RandomizationMode }, seeds: number[]): Promise<PoseErrors> {
  const { TabletopEnv } = await import('../../sim/env.ts');
  const [camera] = await cameras(estimator, card, o, 1);
  const env = new TabletopEnv(o.scenario, { randomization: o.physics });
  const errors: PoseErrors = new Map();
  try {
    for (const seed of seeds) {
      env.reset({ seed });
      camera.begin(seed);
      const seen = await look(estimator, camera, env);
      errors.set(seed, blockErrors(o.scenario.task, seen.map((b) => b.position), truthOf(env)));
    }
  } finally {
    await camera.dispose();
  }
  return errors;
}

export interface PerceivedStatePolicy extends RolloutPolicy {
  errors: PoseErrors;
}

/**
 * A state policy fed by the estimator: each step, every slot's frame is rendered and estimated,
 * the blocks named (rule, then tracking) and written into the observation the policy reads.
 */
export async function perceivedStatePolicy(policy: StatePolicy, estimator: PoseEstimator, poseCard: ModelCard, o: PerceptionOptions, envNames: string[]): Promise<PerceivedStatePolicy> {
  const state = new PerceivedState(o.scenario.task, [...policy.names], envNames, estimator.spec.blockCount);
  const cams = await cameras(estimator, poseCard, o, o.group);
  const trackers = cams.map(() => new BlockTracker(o.scenario.task, estimator.spec.blockCount));
  const errors: PoseErrors = new Map();
  return {
    errors,
    async begin(slot, env, seed) {
      cams[slot].begin(seed);
      trackers[slot].reset();
      const first = await look(estimator, cams[slot], env);
      errors.set(seed, blockErrors(o.scenario.task, first.map((b) => b.position), truthOf(env)));
    },
    async act(slots, envs, obs) {
      const frames = await Promise.all(slots.map((s) => cams[s].view(envs[s].state())));
      const views = frames.map((f) => estimator.view(f.rgb, cameraFromFrame(f.frame)));
      const detections = estimator.detect(views, estimator.spec.blockCount + BlockTracker.CANDIDATES_EXTRA);
      return policy.actBatch(slots.map((s, k) => state.fill(obs[k], trackers[s].name(detections[k].map((d) => toEstimate(d, views[k].camera)), state.proprioception(obs[k])))));
    },
    async dispose() {
      for (const c of cams) await c.dispose();
    },
  };
}
