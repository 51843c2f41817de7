/**
 * Scripted expert for StackBlocks-v1 (privileged: reads the true scene state).
 *
 * Re-entrant: it remembers nothing between calls. Each step it reads off the state how far the
 * tower is built (blocks 1…k each on the one below: the next block is j = k + 1, so a knocked
 * tower is rebuilt from where it stands), which block the fingers hold, and where that block is,
 * and acts for that stage. Started from any state (mid-episode, or wherever a learner drove the
 * gripper) it carries on from there.
 *
 *   Pick    – reach, descend, grasp block j (pick.ts), yaw on its faces
 *   Lift    – block j held below the carrying height and not above block j−1: straight up
 *   Carry   – the held block above block j−1 at carrying height, lined up with its faces
 *   Lower   – lined up (within 4 mm to start, 1 cm to go on): down until the held block is 2 mm
 *             above block j−1
 *   Release – the held block at its place, or any other block between the fingers: open, still
 *   Done    – every block on its place and the fingers open: rise
 */
import type { TabletopEnv } from '../env.ts';
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import { Scene } from '../scene.ts';
import { isGrasped } from '../tasks/features.ts';
import { isOn } from '../tasks/stack.ts';
import { yawDiff90 } from '../tasks/task.ts';
import { alignedYaw, graspHeight, gripFor, moveTo } from './motion.ts';
import { holdTests, holds, pick } from './pick.ts';
import type { Decision } from './pick.ts';
import type { Expert } from './motion.ts';

/** Index of a block both fingers touch, or −1. */
function blockBetweenFingers(env: TabletopEnv): number {
  const scene = env.scene;
  for (let i = 0; i < scene.blocks.length; i++) if (isGrasped(scene, scene.blocks[i])) return i;
  return -1;
}

/** The height (m) block i's centre is let go at: 2 mm above resting on block i − 1. */
function releaseZ(env: TabletopEnv, i: number): number {
  const s = env.scene;
  return s.blocks[i - 1].position.z + (s.blockSizes[i - 1] + s.blockSizes[i]) / 2 + 0.002;
}

/** Whether block i, held, is where it is let go: over block i − 1 and within 3 mm of releaseZ. */
function atRelease(env: TabletopEnv, i: number): boolean {
  const b = env.scene.blocks[i].position, base = env.scene.blocks[i - 1].position;
  return Math.hypot(base.x - b.x, base.y - b.y) < 0.01 && b.z - releaseZ(env, i) < 0.003;
}

/**
 * How far the tower is built: blocks 1…k each on the one below (stackedCount), where the block
 * between the fingers counts only once it is low enough to let go. (Carried a centimetre above
 * its place it already passes the task's test; letting go there drops it.)
 */
function builtCount(env: TabletopEnv, between: number): number {
  const n = env.scene.blocks.length;
  let k = 0;
  while (k + 1 < n && isOn(env.scene, k + 1) && (k + 1 !== between || atRelease(env, k + 1))) k++;
  return k;
}

/** Open the fingers without moving. */
function release(env: TabletopEnv, size: number, stage: string): Decision {
  const [tx, ty, tz] = env.tcp();
  const a = moveTo(env, tx, ty, tz, env.scene.gripper.yaw, gripFor(size + 0.03), { gain: 0.2 });
  a[0] = a[1] = a[2] = 0;
  return { action: a, stage };
}

/** The stacking decision for the current state. */
export function decideStack(env: TabletopEnv): Decision {
  const scene = env.scene;
  const g = scene.gripper;
  const [tx, ty, tz] = env.tcp();
  const n = scene.blocks.length;
  const between = blockBetweenFingers(env);
  const k = builtCount(env, between);

  if (k >= n - 1) {
    // Built: let go of the top block, then rise clear.
    const top = scene.blocks[n - 1], size = scene.blockSizes[n - 1];
    const near = Math.hypot(top.position.x - tx, top.position.y - ty) < 0.03 && tz < top.position.z + 0.05;
    if (between >= 0 || (near && g.width() < size + 0.012)) return release(env, size, 'release');
    const hover = top.position.z + size / 2 + 0.015 + GRIPPER_GEOMETRY.fingerHalf[2];
    return { action: moveTo(env, tx, ty, Math.max(tz, hover), g.yaw, gripFor(size + 0.03), { gain: 0.3 }), stage: 'done' };
  }

  const j = k + 1;
  const b = scene.blocks[j], size = scene.blockSizes[j];
  const base = scene.blocks[j - 1];
  const blockYaw = Scene.yawOf(b.quaternion);
  const tag = (s: string): string => `${s}:block${j}`;
  // A block between the fingers that is not the next one: just placed, or the wrong one. Let go.
  if (between >= 0 && between !== j) return release(env, scene.blockSizes[between], tag('release'));

  // Clearance: the highest top among the other blocks. Empty fingers pass 1.5 cm above it
  // (hover); a held block passes with its bottom 2 cm above it (carry).
  let top = 0;
  for (let i = 0; i < n; i++) if (i !== j) top = Math.max(top, scene.blocks[i].position.z + scene.blockSizes[i] / 2);
  const carryZ = graspHeight(top + 0.02 + size / 2, size);

  if (between === j && holds(scene, b, size)) {
    // Steer by where the held block is, not the fingers: an off-centre grasp, or a block that
    // slid down between the fingers, cancels out.
    const ex = base.position.x - b.position.x, ey = base.position.y - b.position.y;
    const off = Math.hypot(ex, ey);
    const yawErr = yawDiff90(blockYaw, Scene.yawOf(base.quaternion));
    const bottom = b.position.z - size / 2;
    const carryTcp = tz + (top + 0.02 + size / 2 - b.position.z);
    const lowered = bottom < top + 0.015;
    if ((off < 0.004 && Math.abs(yawErr) < 0.06) || (lowered && off < 0.01 && Math.abs(yawErr) < 0.1)) {
      return { action: moveTo(env, tx + ex, ty + ey, tz + (releaseZ(env, j) - b.position.z), g.yaw + yawErr, 1, { gain: 0.5, speed: 0.5 }), stage: tag('lower') };
    }
    if (bottom < top + 0.008) return { action: moveTo(env, tx, ty, carryTcp, g.yaw, 1, { speed: 0.5 }), stage: tag('lift') };
    return { action: moveTo(env, tx + ex, ty + ey, carryTcp, g.yaw + yawErr, 1, { speed: 0.5 }), stage: tag('carry') };
  }

  const hover = Math.max(top + 0.015 + GRIPPER_GEOMETRY.fingerHalf[2], graspHeight(b.position.z, size) + 0.04);
  const d = pick(
    env,
    { x: b.position.x, y: b.position.y, z: b.position.z, size, yaw: alignedYaw(g.yaw, blockYaw) },
    { openWidth: size + 0.03, hover, liftZ: carryZ, ...holdTests(scene, b, size) },
  );
  return { action: d.action, stage: tag(d.stage) };
}

export function solve(env: TabletopEnv): Expert {
  let stage = 'start';
  return {
    act() {
      const d = decideStack(env);
      stage = d.stage;
      return d.action;
    },
    get stage() {
      return stage;
    },
  };
}
