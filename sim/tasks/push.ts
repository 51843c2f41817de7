/**
 * Push-v1: push a block across the table to a goal.
 *
 * Task: one block, one goal on the table.
 * Randomizations: block anywhere in the robot's central area with yaw in ±45°; goal 10–18 cm away
 *   in any direction (kept within 2 cm of the robot's area); gripper start; sizes and physics from
 *   the scenario.
 * Success: the block's centre is within 3 cm of the goal (horizontally).
 * Fail: the block left the table.
 */
import type { Rng } from '../rng.ts';
import type { TaskConfig } from '../scenario.ts';
import { anyFellOff, BLOCK_FEATURE_SUFFIXES, blockFeatureNames, blockPositionIndices, observeBlock, tcpDistance } from './features.ts';
import { inKeepOut, MOUNT_AREA } from '../robot/robot.ts';
import { homePose } from './task.ts';
import type { Evaluation, TaskSpec } from './task.ts';

type PushConfig = Extract<TaskConfig, { id: 'Push-v1' }>;

export const PUSH_TOLERANCE = 0.03;

export const Push: TaskSpec<PushConfig> = {
  id: 'Push-v1',
  instruction: () => 'Push the block to the goal.',
  blockCount: () => 1,
  stageNames: () => ['touched', 'within_6cm', 'at_goal'],

  layout(rng: Rng, _c, sizes, area = MOUNT_AREA) {
    // Goals may lie up to 2 cm past the area blocks start in.
    const gx0 = area.x[0] - 0.02, gx1 = area.x[1] + 0.02, gy0 = area.y[0] - 0.02, gy1 = area.y[1] + 0.02;
    for (;;) {
      const x = rng.uniform(area.centre.x[0], area.centre.x[1]), y = rng.uniform(area.centre.y[0], area.centre.y[1]);
      const d = rng.uniform(0.1, 0.18), a = rng.uniform(0, 2 * Math.PI);
      const gx = x + d * Math.cos(a), gy = y + d * Math.sin(a);
      if (gx < gx0 || gx > gx1 || gy < gy0 || gy > gy1 || inKeepOut(area, gx, gy, sizes[0])) continue;
      return { blocks: [{ x, y, yaw: rng.uniform(-Math.PI / 4, Math.PI / 4) }], gripper: homePose(rng, area, 0.3), goals: [[gx, gy, sizes[0] / 2]] };
    }
  },

  featureNames: () => [...blockFeatureNames('block0'), 'goal.x', 'goal.y', 'goal.dx', 'goal.dy'],
  // The goal's four features follow the block's.
  positionFeatures: () => [...blockPositionIndices(0), ...[0, 1, 2, 3].map((k) => BLOCK_FEATURE_SUFFIXES.length + k)],

  observe(scene, _c, out, offset) {
    const o = observeBlock(scene, scene.blocks[0], scene.blockSizes[0], out, offset);
    const g = scene.goals[0], p = scene.blocks[0].position;
    out[o] = g[0]; out[o + 1] = g[1]; out[o + 2] = g[0] - p.x; out[o + 3] = g[1] - p.y;
  },

  reward(scene) {
    const g = scene.goals[0], p = scene.blocks[0].position;
    const reach = 1 - Math.tanh(5 * tcpDistance(scene, p.x, p.y, p.z));
    const place = 1 - Math.tanh(5 * Math.hypot(g[0] - p.x, g[1] - p.y));
    return (reach + 3 * place) / 4;
  },

  evaluate(scene): Evaluation {
    const g = scene.goals[0], p = scene.blocks[0].position;
    const d = Math.hypot(g[0] - p.x, g[1] - p.y);
    const touched = tcpDistance(scene, p.x, p.y, p.z) < scene.blockSizes[0] / 2 + 0.03;
    const ok = d < PUSH_TOLERANCE;
    return { success: ok, fail: anyFellOff(scene), stages: [touched || ok, d < 0.06 || ok, ok] };
  },
};
