/**
 * The pick primitive the scripted experts share: from any state, get a block between the fingers
 * and lift it. It keeps no memory: each call reads the stage off the state (where the tool centre
 * point is relative to the block, how wide the fingers are and what they are commanded to do,
 * whether they hold the block), so it can be asked for the right action in a state it never led
 * to (a learner's state in DAgger, an episode restored mid-way).
 *
 *   Reach   – to the hover height above the block (rising first when below it and more than 2 cm
 *             off, so the fingers never sweep through other blocks), fingers open, yaw as asked
 *   Descend – open and lined up: down to grasp height, tracking the block; how far down blends
 *             with how well lined up the fingers are (fully within 6 mm and 0.05 rad, not at all
 *             beyond 1.5 cm or 0.1 rad), so there is no edge where the answer jumps
 *   Grasp   – within 6 mm of grasp height: close, and keep closing while the fingers settle on the
 *             block; closed past it (a miss) or stalled wide: open again (Reach)
 *   Lift    – held: straight up to the caller's height
 *   Holding – lifted; the caller takes over
 *
 * The motions blend continuously with the state where they can: an imitating policy smooths what
 * it learns, and a jump in the expert's answer becomes a place where the learner hesitates.
 */
import type { Body } from 'cannon-es';
import type { TabletopEnv } from '../env.ts';
import { Scene } from '../scene.ts';
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import { isGrasped } from '../tasks/features.ts';
import { alignedYaw, graspHeight, gripFor, moveTo } from './motion.ts';

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
    // Closing, or closed, on the block: keep closing until it holds. Closed on nothing (a miss,
    // or stalled wide): carry on below, where every action opens the fingers.
    const onBlock = w > t.size - 0.008 && (nearGrasp || goal.between());
    const stalledWide = w > t.size + 0.004 && Math.abs(g.widthRate()) < 0.002;
    if (onBlock && !stalledWide) return { stage: 'grasp', action: moveTo(env, t.x, t.y, zg, g.yaw, 1) };
  }
  const opened = w > (t.size + goal.openWidth) / 2;
  // Close from 6 mm above grasp height on: the command takes effect after the action latency,
  // and the same test holds on the way down and while the fingers wait for it.
  if (nearGrasp && opened && yawErr < 0.1) return { stage: 'grasp', action: moveTo(env, t.x, t.y, zg, t.yaw, 1) };
  // How far down toward grasp height: all the way lined up within 6 mm and 0.05 rad with the
  // fingers open, none beyond 1.5 cm or 0.1 rad, in proportion between (a learner that imitates
  // the expert blends the same way instead of averaging two different moves).
  const depth = opened ? ramp(xy, 0.015, 0.006) * ramp(yawErr, 0.1, 0.05) : 0;
  // Below the hover height and more than 2 cm off: rise before moving sideways (starting once the
  // fingertips are 5 mm above everything, at full speed from the hover height).
  const sideways = Math.max(ramp(xy, 0.02, 0.015), ramp(tz, goal.hover - 0.01, goal.hover));
  return {
    stage: depth > 0 ? 'descend' : 'reach',
    action: moveTo(env, tx + sideways * (t.x - tx), ty + sideways * (t.y - ty), goal.hover + depth * (zg - goal.hover), t.yaw, open),
  };
}

/**
 * The gripper yaw for grasping block `i` with the fingers opened to `width`: across the pair of
 * faces nearest the current yaw (at most 45° to turn), unless a neighbouring block leaves a
 * finger there less than 8 mm of room and the other pair 5 mm more. Room depends on the blocks
 * alone, so the choice stays put while the gripper turns.
 */
export function graspYaw(env: TabletopEnv, i: number, current: number, width: number): number {
  const scene = env.scene;
  const faces = Scene.yawOf(scene.blocks[i].quaternion);
  const near = alignedYaw(current, faces);
  const room = (yaw: number): number => fingerRoom(scene, i, yaw, width);
  const here = room(near);
  if (here >= 0.008) return near;
  const other = near + (angleTo(near, current) > 0 ? Math.PI / 2 : -Math.PI / 2);
  return room(other) > here + 0.005 ? other : near;
}

/** Room (m) between the fingers, opened to `width` around block `i` at `yaw`, and the other blocks. */
function fingerRoom(scene: Scene, i: number, yaw: number, width: number): number {
  const t = scene.blocks[i].position;
  const off = width / 2 + GRIPPER_GEOMETRY.fingerHalf[0];
  let best = Infinity;
  for (const side of [-1, 1]) {
    const fx = t.x + side * off * Math.cos(yaw), fy = t.y + side * off * Math.sin(yaw);
    for (let k = 0; k < scene.blocks.length; k++) {
      if (k === i) continue;
      const d = scene.blocks[k].position;
      best = Math.min(best, Math.hypot(d.x - fx, d.y - fy) - (scene.blockSizes[k] * Math.SQRT2) / 2 - GRIPPER_GEOMETRY.fingerHalf[0]);
    }
  }
  return best;
}

/** 0 at `zeroAt`, 1 at `oneAt`, linear between, clamped (either order). */
export function ramp(v: number, zeroAt: number, oneAt: number): number {
  const r = (v - zeroAt) / (oneAt - zeroAt);
  return r < 0 ? 0 : r > 1 ? 1 : r;
}
