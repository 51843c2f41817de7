/**
 * Scripted expert for Grasp-v1 (privileged: reads the true scene state).
 *
 * Stages (pick.ts, which reads them off the state: the expert remembers nothing between calls):
 * Reach – above the target, fingers open just wider than it, yaw across the pair of faces whose
 * finger positions have the most room between the distractors; Descend; Grasp; Lift past the lift
 * goal; Holding.
 */
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import { Scene } from '../scene.ts';
import type { TabletopEnv } from '../env.ts';
import { LIFT_HEIGHT } from '../tasks/grasp.ts';
import { graspHeight } from './motion.ts';
import { angleTo, holdTests, pick } from './pick.ts';
import type { Expert } from './motion.ts';

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

/**
 * The gripper yaw nearest `current` that puts the fingers across the faces perpendicular to
 * `faceYaw`: the fingers are symmetric under a half turn, so it is `faceYaw` modulo π.
 */
export function acrossYaw(current: number, faceYaw: number): number {
  let d = angleTo(current, faceYaw) % Math.PI;
  if (d > Math.PI / 2) d -= Math.PI;
  if (d < -Math.PI / 2) d += Math.PI;
  return current + d;
}

export function solve(env: TabletopEnv): Expert {
  let stage = 'start';

  const act = (): Float32Array => {
    const scene = env.scene;
    const g = scene.gripper;
    const b = scene.blocks[0];
    const size = scene.blockSizes[0];
    const openWidth = size + 0.022;
    const blockYaw = Scene.yawOf(b.quaternion);
    let top = 0;
    for (let i = 1; i < scene.blocks.length; i++) top = Math.max(top, scene.blocks[i].position.z + scene.blockSizes[i] / 2);
    // Of the two face pairs, grasp across the one with more room for the fingers (the nearer one
    // unless the other has 5 mm more; both depend on the blocks alone, so the choice is stable).
    const y0 = acrossYaw(g.yaw, blockYaw), y1 = acrossYaw(g.yaw, blockYaw + Math.PI / 2);
    const c0 = fingerClearance(scene, y0, openWidth), c1 = fingerClearance(scene, y1, openWidth);
    const yaw = c1 > c0 + 0.005 ? y1 : c0 > c1 + 0.005 ? y0 : Math.abs(y0 - g.yaw) <= Math.abs(y1 - g.yaw) ? y0 : y1;
    const d = pick(
      env,
      { x: b.position.x, y: b.position.y, z: b.position.z, size, yaw },
      {
        openWidth,
        hover: Math.max(top + 0.015 + GRIPPER_GEOMETRY.fingerHalf[2], graspHeight(b.position.z, size) + 0.04),
        liftZ: graspHeight(size / 2 + LIFT_HEIGHT + 0.03, size),
        ...holdTests(scene, b, size),
      },
    );
    stage = d.stage;
    return d.action;
  };

  return {
    act,
    get stage() {
      return stage;
    },
  };
}
