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
 *   Lift    – block j held, not yet clear of the others: up (sideways only as it clears them)
 *   Carry   – the held block to above block j−1 at carrying height, lined up with its faces
 *   Lower   – lined up: down onto block j−1 (how far down blends with how well lined up it is, so
 *             lowering and carrying never give opposite answers at a boundary)
 *   Release – the lined-up block within 8 → 2 mm of resting on block j−1: the fingers open as it
 *             goes down; any other block between the fingers: open, still
 *   Done    – every block on its place and the fingers open: rise
 */
import type { TabletopEnv } from '../env.ts';
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import { Scene } from '../scene.ts';
import { isGrasped } from '../tasks/features.ts';
import { isOn } from '../tasks/stack.ts';
import { yawDiff90 } from '../tasks/task.ts';
import { alignedYaw, graspHeight, gripFor, moveTo } from './motion.ts';
import { graspYaw, holdTests, holds, pick, ramp } from './pick.ts';
import type { Decision } from './pick.ts';
import type { Expert } from './motion.ts';

/** Index of a block both fingers touch, or −1. */
function blockBetweenFingers(env: TabletopEnv): number {
  const scene = env.scene;
  for (let i = 0; i < scene.blocks.length; i++) if (isGrasped(scene, scene.blocks[i])) return i;
  return -1;
}

/** stackedCount, up to the block between the fingers: that one is still being placed. */
function builtCount(env: TabletopEnv, between: number): number {
  let k = 0;
  while (k + 1 < env.scene.blocks.length && k + 1 !== between && isOn(env.scene, k + 1)) k++;
  return k;
}

/**
 * Let go of block i: open the fingers. A block that has reached its place (block i − 1 below it)
 * keeps being lowered onto it while the fingers open, so it lands instead of dropping the last
 * few millimetres; any other block is let go where it is.
 */
function release(env: TabletopEnv, i: number, placed: boolean, stage: string): Decision {
  const scene = env.scene;
  const [tx, ty, tz] = env.tcp();
  const open = gripFor(scene.blockSizes[i] + 0.03);
  if (placed && i > 0) {
    const b = scene.blocks[i].position, base = scene.blocks[i - 1].position;
    const rest = base.z + (scene.blockSizes[i - 1] + scene.blockSizes[i]) / 2;
    return { action: moveTo(env, tx + (base.x - b.x), ty + (base.y - b.y), tz + (rest - b.z), scene.gripper.yaw, open, { speed: 0.5 }), stage };
  }
  const a = moveTo(env, tx, ty, tz, scene.gripper.yaw, open, { gain: 0.2 });
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
  // How far the tower is built (the task's own test: what the policy observes as stacked.*), not
  // counting the block between the fingers.
  const k = builtCount(env, between);

  // The fingers still around the block just set down (the top of the tower): open them, and rise
  // only as fast as they clear it (1 → 12 mm of room), so a finger that still touches it does not
  // drag it along.
  if (between < 0 && k >= 1) {
    const p = scene.blocks[k].position, size = scene.blockSizes[k];
    const around = Math.hypot(p.x - tx, p.y - ty) < 0.02 && tz - GRIPPER_GEOMETRY.fingerHalf[2] < p.z + size / 2;
    if (around && g.width() < size + 0.012) {
      const clear = ramp(g.width() - size, 0.001, 0.012);
      return { action: moveTo(env, tx, ty, tz + 0.03 * clear, g.yaw, gripFor(size + 0.03)), stage: `release:block${k}` };
    }
  }

  if (k >= n - 1) {
    // Built: let go of the top block, then rise clear.
    const top = scene.blocks[n - 1], size = scene.blockSizes[n - 1];
    if (between >= 0) return release(env, between, true, 'release');
    const hover = top.position.z + size / 2 + 0.015 + GRIPPER_GEOMETRY.fingerHalf[2];
    return { action: moveTo(env, tx, ty, Math.max(tz, hover), g.yaw, gripFor(size + 0.03), { gain: 0.3 }), stage: 'done' };
  }

  const j = k + 1;
  const b = scene.blocks[j], size = scene.blockSizes[j];
  const base = scene.blocks[j - 1];
  const blockYaw = Scene.yawOf(b.quaternion);
  const tag = (s: string): string => `${s}:block${j}`;
  // A block between the fingers that is not the next one: just placed (let it down onto its
  // place), or the wrong one (let it go where it is).
  if (between >= 0 && between !== j) return release(env, between, between < j, tag('release'));

  // Clearance: the highest top among the other blocks. Empty fingers pass 1.5 cm above it
  // (hover); a held block passes with its bottom 2 cm above it (carry).
  let top = 0;
  for (let i = 0; i < n; i++) if (i !== j) top = Math.max(top, scene.blocks[i].position.z + scene.blockSizes[i] / 2);
  const carryZ = graspHeight(top + 0.02 + size / 2, size);

  if (between === j && (holds(scene, b, size) || isOn(scene, j))) {
    // One law for lift, carry, lower and let go, blended by the state: sideways toward block j − 1
    // as far as the held block clears the others (its bottom 0–1 cm above their tops); down onto
    // it as far as it is lined up (fully within 4 mm and 0.06 rad, not beyond 12 mm or 0.12 rad),
    // else at carrying height; the fingers open as the lined-up block comes within 8 → 2 mm of
    // resting on it, so it is set down, not dropped, and the opening never waits on a still
    // gripper. Steered by the held block, not the fingers: an off-centre grasp, or a block that
    // slid down between the fingers, cancels out.
    const ex = base.position.x - b.position.x, ey = base.position.y - b.position.y;
    const off = Math.hypot(ex, ey);
    const yawErr = yawDiff90(blockYaw, Scene.yawOf(base.quaternion));
    const bottom = b.position.z - size / 2;
    const rest = base.position.z + (scene.blockSizes[j - 1] + size) / 2;
    const carryTcp = tz + (top + 0.02 + size / 2 - b.position.z);
    const placeTcp = tz + (rest - b.position.z);
    const down = ramp(off, 0.012, 0.004) * ramp(Math.abs(yawErr), 0.12, 0.06);
    const sideways = Math.max(ramp(bottom, top, top + 0.01), down);
    const letGo = down * ramp(b.position.z - rest, 0.008, 0.002);
    const grip = 1 + letGo * (gripFor(size + 0.03) - 1);
    const stage = letGo > 0 ? 'release' : down > 0 ? 'lower' : sideways < 1 ? 'lift' : 'carry';
    return { action: moveTo(env, tx + sideways * ex, ty + sideways * ey, carryTcp + down * (placeTcp - carryTcp), g.yaw + yawErr, grip, { speed: 0.5 }), stage: tag(stage) };
  }

  const hover = Math.max(top + 0.015 + GRIPPER_GEOMETRY.fingerHalf[2], graspHeight(b.position.z, size) + 0.04);
  const d = pick(
    env,
    { x: b.position.x, y: b.position.y, z: b.position.z, size, yaw: graspYaw(env, j, g.yaw, size + 0.03) },
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
