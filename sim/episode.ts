/**
 * One recorded episode: an expert (or any policy) run in the environment from one seed, kept as
 * columns of typed arrays. This is what generation produces and what dataset writers store:
 * frame t holds the observation before the action, the action chosen at t (the expert's label),
 * the action that reached the robot, the reward and done flag after it, and the true poses of the
 * blocks at t.
 *
 * DART noise injection (Laskey et al. 2017): with `dartNoise` > 0 the executed action is the
 * expert's label plus Gaussian noise, while the label stays the expert's clean choice, so the
 * data covers the states a slightly wrong policy visits, each labelled with the correction.
 */
import { ACTION_SIZE, clipAction, MAX_DELTA, MAX_DYAW, TimeLimit } from './env.ts';
import type { So101Arm } from './robot/so101/arm.ts';
import type { ResetInfo, TabletopEnv } from './env.ts';
import type { Expert } from './experts/motion.ts';
import { Rng, deriveSeed } from './rng.ts';
import type { SimState } from './state.ts';

export interface EpisodeRecord {
  /** Position of the episode in its dataset (0-based). */
  index: number;
  seed: number;
  scenario: string;
  task: string;
  instruction: string;
  /** Control rate (frames per second). */
  fps: number;
  reset: ResetInfo;
  success: boolean;
  fail: boolean;
  /** Whether each task stage was reached at some point. */
  stagesReached: boolean[];
  stageNames: string[];
  length: number;
  /** Std of the DART noise added to executed actions (0: none). */
  dartNoise: number;
  observationNames: string[];
  /** [length × observation size] */
  observation: Float32Array;
  /** [length × 5] the expert's label */
  action: Float32Array;
  /** [length × 5] what reached the robot (after DART noise, latency, action noise) */
  executedAction: Float32Array;
  /** [length] reward after each step */
  reward: Float32Array;
  /** [length] 1 on the last frame */
  done: Uint8Array;
  /** [length] task success after each step */
  successAfter: Uint8Array;
  /** [length × blocks × 7] block position (3) and quaternion xyzw (4) at each frame */
  blockPoses: Float32Array;
  /**
   * SO-101 only: [length × 6] the joints as LeRobot's SO-101 records them (sim/robot/so101/lerobot.ts:
   * 5 joints in degrees, the gripper 0–100) at each frame, and the joint goals the label commands.
   */
  joints?: Float32Array;
  jointAction?: Float32Array;
  /** Optional per-frame hook output (e.g. rendered images), filled by the caller. */
  extras?: Record<string, unknown>;
}

export interface RunEpisodeOptions {
  index: number;
  seed: number;
  dartNoise?: number;
  /** Called with the state of each frame before its action (e.g. to render it). */
  onFrame?: (state: SimState, frame: number) => void;
}

export type ExpertFactory = (env: TabletopEnv) => Expert;

/** Runs one episode with `solve` driving `env` (wrapped in its scenario's time limit). */
export function runEpisode(env: TabletopEnv, solve: ExpertFactory, options: RunEpisodeOptions): EpisodeRecord {
  const limited = new TimeLimit(env);
  const { obs: first, info } = limited.reset({ seed: options.seed });
  const expert = solve(env);
  const dart = options.dartNoise ?? 0;
  const dartRng = new Rng(deriveSeed(options.seed, 'dart'));
  const obsSize = env.observationSpace.shape[0];
  const max = limited.maxSteps;
  const nBlocks = env.scene.blocks.length;
  const observation = new Float32Array(max * obsSize);
  const action = new Float32Array(max * ACTION_SIZE);
  const executedAction = new Float32Array(max * ACTION_SIZE);
  const reward = new Float32Array(max);
  const done = new Uint8Array(max);
  const successAfter = new Uint8Array(max);
  const blockPoses = new Float32Array(max * nBlocks * 7);
  const arm = env.scene.gripper.kind === 'so101' ? (env.scene.gripper as So101Arm) : null;
  const joints = arm ? new Float32Array(max * 6) : null;
  const jointAction = arm ? new Float32Array(max * 6) : null;
  const stageNames = env.task.stageNames(env.scenario.task);
  const stagesReached = stageNames.map(() => false);
  let obs = first;
  let t = 0;
  let success = false, fail = false;
  for (;;) {
    if (options.onFrame) options.onFrame(env.state(), t);
    for (let b = 0; b < nBlocks; b++) {
      const body = env.scene.blocks[b];
      const o = (t * nBlocks + b) * 7;
      blockPoses[o] = body.position.x; blockPoses[o + 1] = body.position.y; blockPoses[o + 2] = body.position.z;
      blockPoses[o + 3] = body.quaternion.x; blockPoses[o + 4] = body.quaternion.y; blockPoses[o + 5] = body.quaternion.z; blockPoses[o + 6] = body.quaternion.w;
    }
    observation.set(obs, t * obsSize);
    const label = expert.act();
    action.set(label, t * ACTION_SIZE);
    if (arm && joints && jointAction) {
      arm.lerobotState(joints, t * 6);
      arm.lerobotGoalsFor(label[0] * MAX_DELTA, label[1] * MAX_DELTA, label[2] * MAX_DELTA, label[3] * MAX_DYAW, label[4], jointAction, t * 6);
    }
    let sent: Float32Array = label;
    if (dart > 0) {
      sent = new Float32Array(ACTION_SIZE);
      for (let i = 0; i < ACTION_SIZE; i++) sent[i] = clipAction(label[i] + dartRng.normal(0, dart));
    }
    const r = limited.step(sent);
    executedAction.set(r.info.executedAction, t * ACTION_SIZE);
    reward[t] = r.reward;
    successAfter[t] = r.info.success ? 1 : 0;
    r.info.stages.forEach((s, i) => { if (s) stagesReached[i] = true; });
    t++;
    obs = r.obs;
    if (r.terminated || r.truncated) {
      success = r.info.success;
      fail = r.info.fail;
      break;
    }
  }
  done[t - 1] = 1;
  return {
    index: options.index,
    seed: options.seed,
    scenario: env.scenario.id,
    task: env.task.id,
    instruction: env.task.instruction(env.scenario.task),
    fps: env.scenario.control.rateHz,
    reset: info,
    success,
    fail,
    stagesReached,
    stageNames,
    length: t,
    dartNoise: dart,
    observationNames: env.observationSpace.names,
    observation: observation.slice(0, t * obsSize),
    action: action.slice(0, t * ACTION_SIZE),
    executedAction: executedAction.slice(0, t * ACTION_SIZE),
    reward: reward.slice(0, t),
    done: done.slice(0, t),
    successAfter: successAfter.slice(0, t),
    blockPoses: blockPoses.slice(0, t * nBlocks * 7),
    ...(joints && jointAction ? { joints: joints.slice(0, t * 6), jointAction: jointAction.slice(0, t * 6) } : {}),
  };
}

/** The seed of episode `index` of a run seeded with `baseSeed`: independent of workers and shards. */
export function episodeSeed(baseSeed: number, index: number): number {
  return deriveSeed(baseSeed, 'episode', index);
}
