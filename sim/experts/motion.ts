/**
 * Motion primitives the scripted experts share: turn a desired tool-centre-point pose and finger
 * opening into the environment's normalized action, with a gain low enough that the loop stays
 * stable under the action latency randomization adds (up to 3 control steps).
 */
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import type { TabletopEnv } from '../env.ts';
import { MAX_DELTA, MAX_DYAW } from '../env.ts';
import { yawDiff90 } from '../tasks/task.ts';

export interface Expert {
  /** The next action for the environment's current state. */
  act(): Float32Array;
  /** Name of the stage the expert is in (for logs and per-stage statistics). */
  readonly stage: string;
}

/** Finger command that opens the fingers to `width` metres. */
export function gripFor(width: number): number {
  return Math.max(-1, Math.min(1, 1 - (2 * width) / GRIPPER_GEOMETRY.maxWidth));
}

const clip = (v: number): number => (v > 1 ? 1 : v < -1 ? -1 : v);

/**
 * Fraction of the remaining error commanded per step. A loop x' = x − k·x(t−d) with d steps of
 * delay is stable only for k < 2·sin(π / (2(2d + 1))): 0.62 for d = 2, 0.45 for d = 3 (the
 * held-out latency). 0.35 keeps a margin at 3 steps; 0.6 oscillated there.
 */
export const DEFAULT_GAIN = 0.35;

export interface MoveOptions {
  /** Fraction of the remaining error to command per step (0–1]. Default DEFAULT_GAIN. */
  gain?: number;
  /** Cap on the normalized translation command (0–1]. Default 1. */
  speed?: number;
}

/**
 * Action that moves the tool centre point toward (x, y, z), the gripper yaw toward `yaw`, and sets
 * the finger command `grip`.
 */
export function moveTo(env: TabletopEnv, x: number, y: number, z: number, yaw: number, grip: number, options: MoveOptions = {}): Float32Array {
  const gain = options.gain ?? DEFAULT_GAIN;
  const speed = options.speed ?? 1;
  const [tx, ty, tz] = env.tcp();
  let dx = (gain * (x - tx)) / MAX_DELTA, dy = (gain * (y - ty)) / MAX_DELTA, dz = (gain * (z - tz)) / MAX_DELTA;
  const n = Math.hypot(dx, dy, dz);
  if (n > speed) {
    dx *= speed / n; dy *= speed / n; dz *= speed / n;
  }
  const g = env.scene.gripper;
  const dyaw = clip((gain * Math.atan2(Math.sin(yaw - g.yaw), Math.cos(yaw - g.yaw))) / MAX_DYAW);
  return new Float32Array([clip(dx), clip(dy), clip(dz), dyaw, grip]);
}

/** The gripper yaw closest to the current one that lines the fingers up with a cube's faces. */
export function alignedYaw(currentYaw: number, blockYaw: number): number {
  return currentYaw + yawDiff90(currentYaw, blockYaw);
}

/**
 * Tool-centre-point height for grasping a cube of edge `size` whose centre is at `centerZ`: the
 * palm stops just above the block's top and the fingertips stay at least 8 mm above its bottom
 * (so a held block can be set down on another without the fingers touching the lower one).
 */
export function graspHeight(centerZ: number, size: number): number {
  const g = GRIPPER_GEOMETRY;
  const finger = 2 * g.fingerHalf[2];
  const gap = Math.max(0.003, finger - size + 0.008);
  return centerZ + size / 2 + gap - g.fingerHalf[2];
}
