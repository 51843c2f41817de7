/**
 * Scripted expert for Grasp-v1 (privileged: reads the true scene state).
 *
 * Stages:
 *   Reach   – above the target, fingers open just wider than it, yaw on the pair of faces whose
 *             finger positions have the most room between the distractors
 *   Descend – down to grasp height, tracking the target
 *   Grasp   – close until the fingers stop
 *   Lift    – straight up past the lift goal (back to Reach if the target slipped out)
 */
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import { Scene } from '../scene.ts';
import type { TabletopEnv } from '../env.ts';
import { isGrasped } from '../tasks/features.ts';
import { LIFT_HEIGHT } from '../tasks/grasp.ts';
import { alignedYaw, graspHeight, gripFor, moveTo } from './motion.ts';
import type { Expert } from './motion.ts';

type Stage = 'reach' | 'descend' | 'grasp' | 'lift' | 'hold';

/** Clearance (m) between the fingers, opened to `width` around the target at `yaw`, and the distractors. */
function fingerClearance(scene: Scene, yaw: number, width: number): number {
  const t = scene.blocks[0].position;
  const off = width / 2 + GRIPPER_GEOMETRY.fingerHalf[0];
  let best = Infinity;
  for (const side of [-1, 1]) {
    const fx = t.x + side * off * Math.cos(yaw), fy = t.y + side * off * Math.sin(yaw);
    for (let i = 1; i < scene.blocks.length; i++) {
      const d = scene.blocks[i].position;
      best = Math.min(best, Math.hypot(d.x - fx, d.y - fy) - (scene.blockSizes[i] * Math.SQRT2) / 2);
    }
  }
  return best;
}

export function solve(env: TabletopEnv): Expert {
  let stage: Stage = 'reach';
  let timer = 0;
  let lastWidth = Infinity;
  let yaw = env.scene.gripper.yaw;

  const act = (): Float32Array => {
    const scene = env.scene;
    const g = scene.gripper;
    const [tx, ty, tz] = env.tcp();
    const b = scene.blocks[0];
    const size = scene.blockSizes[0];
    const openWidth = size + 0.022;
    const open = gripFor(openWidth);
    const blockYaw = Scene.yawOf(b.quaternion);
    let top = 0;
    for (let i = 1; i < scene.blocks.length; i++) top = Math.max(top, scene.blocks[i].position.z + scene.blockSizes[i] / 2);
    const hover = Math.max(top + 0.015 + GRIPPER_GEOMETRY.fingerHalf[2], graspHeight(b.position.z, size) + 0.04);
    timer++;

    switch (stage) {
      case 'reach': {
        // Of the two face pairs, grasp across the one with more room for the fingers.
        const y0 = alignedYaw(g.yaw, blockYaw), y1 = alignedYaw(g.yaw, blockYaw + Math.PI / 2);
        const c0 = fingerClearance(scene, y0, openWidth), c1 = fingerClearance(scene, y1, openWidth);
        yaw = c1 > c0 + 0.005 ? y1 : c0 > c1 + 0.005 ? y0 : Math.abs(y0 - g.yaw) <= Math.abs(y1 - g.yaw) ? y0 : y1;
        const xy = Math.hypot(b.position.x - tx, b.position.y - ty);
        const a = tz < hover - 0.015 && xy > 0.02
          ? moveTo(env, tx, ty, hover, yaw, open)
          : moveTo(env, b.position.x, b.position.y, Math.max(hover, tz), yaw, open);
        if (xy < 0.005 && Math.abs(g.yaw - yaw) < 0.05 && g.width() > size + 0.01) {
          stage = 'descend';
          timer = 0;
        }
        return a;
      }
      case 'descend': {
        const zg = graspHeight(b.position.z, size);
        const a = moveTo(env, b.position.x, b.position.y, zg, yaw, open);
        const xy = Math.hypot(b.position.x - tx, b.position.y - ty);
        if (xy > 0.015) stage = 'reach';
        else if (Math.abs(tz - zg) < 0.003 && xy < 0.006) {
          stage = 'grasp';
          timer = 0;
          lastWidth = Infinity;
        }
        return a;
      }
      case 'grasp': {
        const a = moveTo(env, b.position.x, b.position.y, graspHeight(b.position.z, size), yaw, 1);
        const w = g.width();
        if (timer > 4 && Math.abs(w - lastWidth) < 0.0005 && w < size + 0.002) {
          stage = 'lift';
          timer = 0;
        } else if (timer > 30) {
          stage = 'reach';
          timer = 0;
        }
        lastWidth = w;
        return a;
      }
      case 'lift': {
        const goalZ = graspHeight(size / 2 + LIFT_HEIGHT + 0.03, size);
        const a = moveTo(env, tx, ty, goalZ, yaw, 1);
        if (!isGrasped(scene, b) && timer > 3) {
          stage = 'reach';
          timer = 0;
        } else if (tz > goalZ - 0.005) stage = 'hold';
        return a;
      }
      case 'hold': {
        const goalZ = graspHeight(size / 2 + LIFT_HEIGHT + 0.03, size);
        if (!isGrasped(scene, b)) {
          stage = 'reach';
          timer = 0;
        }
        return moveTo(env, tx, ty, goalZ, yaw, 1, { gain: 0.3 });
      }
    }
  };

  return {
    act,
    get stage() {
      return stage;
    },
  };
}
