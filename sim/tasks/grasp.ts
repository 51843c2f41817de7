/**
 * Grasp-v1: pick the target block out of clutter and lift it.
 *
 * Task: block 0 is the target; blocks 1…M are distractors packed around it (2–4 cm apart).
 * Randomizations: target position in the central area the robot reaches, distractors in a ring of
 *   7–12 cm around it (clear of the robot's base), all yaws in ±45°, gripper start; sizes and
 *   physics from the scenario.
 * Success: the target is held by both fingers at least 8 cm above where it started.
 * Fail: any block left the table.
 */
import type { Rng } from '../rng.ts';
import type { TaskConfig } from '../scenario.ts';
import {
  anyFellOff, blockFeatureNames, blockPositionIndices, isGrasped, observeBlock, tcpDistance,
} from './features.ts';
import { inKeepOut, MOUNT_AREA } from '../robot/robot.ts';
import { homePose } from './task.ts';
import type { Evaluation, TaskSpec } from './task.ts';

type GraspConfig = Extract<TaskConfig, { id: 'Grasp-v1' }>;

/** How high (m) above its start the target must be held. */
export const LIFT_HEIGHT = 0.08;

export const Grasp: TaskSpec<GraspConfig> = {
  id: 'Grasp-v1',

  instruction: (c) => `Pick up the target block from among ${c.distractors} other blocks and lift it.`,

  blockCount: (c) => 1 + c.distractors,

  stageNames: () => ['reached', 'grasped', 'lifted'],

  layout(rng: Rng, c, sizes, area = MOUNT_AREA) {
    for (let attempt = 0; attempt < 500; attempt++) {
      const tx = rng.uniform(area.centre.x[0], area.centre.x[1]), ty = rng.uniform(area.centre.y[0], area.centre.y[1]);
      const blocks = [{ x: tx, y: ty, yaw: rng.uniform(-Math.PI / 4, Math.PI / 4) }];
      let ok = true;
      for (let i = 1; i < sizes.length && ok; i++) {
        ok = false;
        for (let tries = 0; tries < 100; tries++) {
          const r = rng.uniform(0.07, 0.12), a = rng.uniform(0, 2 * Math.PI);
          const x = tx + r * Math.cos(a), y = ty + r * Math.sin(a);
          const rad = (sizes[i] * Math.SQRT2) / 2;
          if (inKeepOut(area, x, y, rad)) continue;
          if (blocks.every((b, j) => Math.hypot(b.x - x, b.y - y) >= rad + (sizes[j] * Math.SQRT2) / 2 + 0.02)) {
            blocks.push({ x, y, yaw: rng.uniform(-Math.PI / 4, Math.PI / 4) });
            ok = true;
            break;
          }
        }
      }
      if (ok) {
        return { blocks, gripper: homePose(rng, area, 0.3), goals: [[tx, ty, sizes[0] / 2 + LIFT_HEIGHT]] };
      }
    }
    throw new Error(`cannot place ${sizes.length - 1} distractors around the target`);
  },

  featureNames(c) {
    const names = blockFeatureNames('target');
    for (let i = 1; i <= c.distractors; i++) names.push(...blockFeatureNames(`distractor${i - 1}`));
    names.push('target.lift');
    return names;
  },

  positionFeatures(c) {
    const out: number[] = [];
    for (let i = 0; i <= c.distractors; i++) out.push(...blockPositionIndices(i));
    return out;
  },

  observe(scene, c, out, offset) {
    let o = offset;
    for (let i = 0; i <= c.distractors; i++) o = observeBlock(scene, scene.blocks[i], scene.blockSizes[i], out, o);
    out[o] = scene.blocks[0].position.z - scene.blockSizes[0] / 2;
  },

  reward(scene) {
    const b = scene.blocks[0].position;
    const reach = 1 - Math.tanh(5 * tcpDistance(scene, b.x, b.y, b.z));
    const grasped = isGrasped(scene, scene.blocks[0]);
    const lift = Math.min(1, Math.max(0, (b.z - scene.blockSizes[0] / 2) / LIFT_HEIGHT));
    return (reach + (grasped ? 1 : 0) + (grasped ? 2 * lift : 0)) / 4;
  },

  evaluate(scene): Evaluation {
    const b = scene.blocks[0].position;
    const reached = tcpDistance(scene, b.x, b.y, b.z) < 0.02;
    const grasped = isGrasped(scene, scene.blocks[0]);
    const lifted = grasped && b.z - scene.blockSizes[0] / 2 >= LIFT_HEIGHT;
    return { success: lifted, fail: anyFellOff(scene), stages: [reached || grasped, grasped, lifted] };
  },
};
