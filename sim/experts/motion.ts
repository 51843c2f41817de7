/**
 * Motion primitives the scripted experts share: turn a desired tool-centre-point pose and finger
 * opening into the environment's normalized action, with a gain below one so that the loop stays
 * well damped under the action latency that randomization adds.
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

export interface MoveOptions {
  /** Fraction of the remaining error to command per step (0–1]. Default 0.6. */
  gain?: number;
  /** Cap on the normalized translation command (0–1]. Default 1. */
  speed?: number;
}

/**
 * Action that moves the tool centre point toward (x, y, z), the gripper yaw toward `yaw`, and sets
 * the finger command `grip`.
 */
export function moveTo(env: TabletopEnv, x: number, y: number, z: number, yaw: number, grip: number, options: MoveOptions = {}): Float32Array {
  const gain = options.gain ?? 0.6;
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
