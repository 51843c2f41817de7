/**
 * Reach-v1: bring the tool centre point (between the finger pads) to a goal in the air.
 *
 * Task: no objects; one goal point.
 * Randomizations: goal x, y within 1 cm inside the robot's area (±15 cm with the mount), height
 *   3–20 cm (up to the robot's home height); gripper start; physics from the scenario.
 * Success: the tool centre point is within 2 cm of the goal.
 */
import type { Rng } from '../rng.ts';
import type { TaskConfig } from '../scenario.ts';
import { tcpDistance } from './features.ts';
import { MOUNT_AREA } from '../robot/robot.ts';
import type { Evaluation, TaskSpec } from './task.ts';

type ReachConfig = Extract<TaskConfig, { id: 'Reach-v1' }>;

export const REACH_TOLERANCE = 0.02;

export const Reach: TaskSpec<ReachConfig> = {
  id: 'Reach-v1',
  instruction: () => 'Move the gripper to the goal.',
  blockCount: () => 0,
  stageNames: () => ['reached'],

  layout(rng: Rng, _c, _sizes, area = MOUNT_AREA) {
    const h = area.home, s = h.spread + 0.03;
    return {
      blocks: [],
      gripper: { position: [h.x + rng.uniform(-s, s), h.y + rng.uniform(-s, s), rng.uniform(h.z[1] - 0.07, h.z[1] + 0.03)], yaw: rng.uniform(-0.5, 0.5) },
      goals: [[rng.uniform(area.x[0] + 0.01, area.x[1] - 0.01), rng.uniform(area.y[0] + 0.01, area.y[1] - 0.01), rng.uniform(0.03, Math.min(0.2, h.z[1]))]],
    };
  },

  featureNames: () => ['goal.x', 'goal.y', 'goal.z', 'goal.dx', 'goal.dy', 'goal.dz'],
  positionFeatures: () => [0, 1, 2, 3, 4, 5],

  observe(scene, _c, out, offset) {
    const g = scene.goals[0];
    const t = scene.gripper.graspPoint();
    out[offset] = g[0]; out[offset + 1] = g[1]; out[offset + 2] = g[2];
    out[offset + 3] = g[0] - t.x; out[offset + 4] = g[1] - t.y; out[offset + 5] = g[2] - t.z;
  },

  reward(scene) {
    const g = scene.goals[0];
    return 1 - Math.tanh(5 * tcpDistance(scene, g[0], g[1], g[2]));
  },

  evaluate(scene): Evaluation {
    const g = scene.goals[0];
    const ok = tcpDistance(scene, g[0], g[1], g[2]) < REACH_TOLERANCE;
    return { success: ok, fail: false, stages: [ok] };
  },
};
