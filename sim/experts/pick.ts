/**
 * The pick primitive the scripted experts share: from any state, get a block between the fingers
 * and lift it. It keeps no memory: each call reads the stage off the state (where the tool centre
 * point is relative to the block, how wide the fingers are and what they are commanded to do,
 * whether they hold the block), so it can be asked for the right action in a state it never led
 * to (a learner's state in DAgger, an episode restored mid-way).
 *
 *   Reach   – above the block at a clear height (rising first when low and far, so the fingers
 *             never sweep through other blocks), fingers open, yaw as the caller asks
 *   Descend – lined up and open: down to grasp height, tracking the block (turning in place when
 *             off by more than 0.1 rad); low but off by more than 1.5 cm: back up (Reach)
 *   Grasp   – within 6 mm of grasp height: close, and keep closing while the fingers settle on the
 *             block; closed past it (a miss) or stalled wide: open again (Reach)
 *   Lift    – held: straight up to the caller's height
 *   Holding – lifted; the caller takes over
 *
 * Hysteresis comes from the state too: a gripper already below the hover height is descending, so
 * it keeps descending while within 1.5 cm of the block, though it only starts at 6 mm.
 */
import type { Body } from 'cannon-es';
import type { TabletopEnv } from '../env.ts';
import type { Scene } from '../scene.ts';
import { isGrasped } from '../tasks/features.ts';
import { graspHeight, gripFor, moveTo } from './motion.ts';

export type PickStage = 'reach' | 'descend' | 'grasp' | 'lift' | 'holding';

export interface PickTarget {
  /** Block centre (world frame). */
  x: number;
  y: number;
  z: number;
  /** Edge length (m). */
  size: number;
  /** Gripper yaw to grasp at (the caller lines it up with the block's faces). */
  yaw: number;
}

export interface PickGoal {
  /** Finger opening (m) while approaching. */
  openWidth: number;
  /** Tool-centre-point height for moving with empty fingers. */
  hover: number;
  /** Tool-centre-point height to lift to. */
  liftZ: number;
  /** Whether the fingers hold the block now (see `holds`). */
  held: () => boolean;
  /** Whether the block is between the fingers, both touching it (held or not yet). */
  between: () => boolean;
}

export interface Decision {
  action: Float32Array;
  stage: string;
}

/**
 * Whether the fingers hold `block` firmly: both touch it, they are commanded closed past it (so
 * they press), and they have closed onto it (no wider than the block).
 */
export function holds(scene: Scene, block: Body, size: number): boolean {
  const g = scene.gripper;
  return g.commandedWidth() < size - 0.005 && g.width() < size + 0.004 && isGrasped(scene, block);
}

/** The pick goal's tests for `block`: whether it is held (`holds`), and whether it is between the fingers. */
export function holdTests(scene: Scene, block: Body, size: number): Pick<PickGoal, 'held' | 'between'> {
  return { held: () => holds(scene, block, size), between: () => isGrasped(scene, block) };
}

/** Whether the finger command closes the fingers on a block of edge `size` (they would press on it). */
export function pressing(env: TabletopEnv, size: number): boolean {
  return env.scene.gripper.commandedWidth() < size - 0.005;
}

/** Smallest signed angle from a to b. */
export function angleTo(a: number, b: number): number {
  return Math.atan2(Math.sin(b - a), Math.cos(b - a));
}

/** The next action for picking up `t`, and the stage the state is in. */
export function pick(env: TabletopEnv, t: PickTarget, goal: PickGoal): Decision {
  const g = env.scene.gripper;
  const [tx, ty, tz] = env.tcp();
  const xy = Math.hypot(t.x - tx, t.y - ty);
  const zg = graspHeight(t.z, t.size);
  const open = gripFor(goal.openWidth);
  const yawErr = Math.abs(angleTo(g.yaw, t.yaw));
  const w = g.width();

  if (goal.held()) {
    if (tz > goal.liftZ - 0.01) return { stage: 'holding', action: moveTo(env, tx, ty, goal.liftZ, g.yaw, 1, { gain: 0.3 }) };
    return { stage: 'lift', action: moveTo(env, tx, ty, goal.liftZ, g.yaw, 1) };
  }
  const nearGrasp = xy < 0.01 && Math.abs(tz - zg) < 0.006;
  if (pressing(env, t.size)) {
    // Closing, or closed: on the block (keep closing until it holds), or on nothing (open again).
    const onBlock = w > t.size - 0.008 && (nearGrasp || goal.between());
    const stalledWide = w > t.size + 0.004 && Math.abs(g.widthRate()) < 0.002;
    if (onBlock && !stalledWide) return { stage: 'grasp', action: moveTo(env, t.x, t.y, zg, g.yaw, 1) };
    return { stage: 'reach', action: moveTo(env, tx, ty, tz, g.yaw, open) };
  }
  const opened = w > (t.size + goal.openWidth) / 2;
  // Close from 6 mm above grasp height on: the command takes effect after the action latency,
  // and the same test holds on the way down and while the fingers wait for it.
  if (nearGrasp && opened && yawErr < 0.1) return { stage: 'grasp', action: moveTo(env, t.x, t.y, zg, t.yaw, 1) };
  const low = tz < goal.hover - 0.015;
  if (low && xy < 0.015) {
    // Descending: open first where the fingers are not yet wide enough to pass the block, and
    // turn in place where they are not lined up with its faces.
    return { stage: 'descend', action: moveTo(env, t.x, t.y, opened && yawErr < 0.1 ? zg : tz, t.yaw, open) };
  }
  if (!low && xy < 0.006 && yawErr < 0.05 && opened) return { stage: 'descend', action: moveTo(env, t.x, t.y, zg, t.yaw, open) };
  if (low && xy > 0.02) return { stage: 'reach', action: moveTo(env, tx, ty, goal.hover, t.yaw, open) };
  return { stage: 'reach', action: moveTo(env, t.x, t.y, Math.max(goal.hover, tz), t.yaw, open) };
}
