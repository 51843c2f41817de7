/**
 * The scripted grasp that acts on estimated positions (Tobin et al.: a detector's estimate, then a
 * scripted grasp). It never reads the true scene: only the estimate (target and distractor
 * positions, from the pose estimator) and the robot's own state (tool centre point, yaw, finger
 * width).
 *
 * Stages: Reach (above the estimate at a hover height, fingers open wide enough for a cube of the
 * estimated size at any yaw, gripper yaw chosen for the most room between the estimated
 * distractors) → Descend → Grasp (close until the fingers stop) → Lift (to the lift goal plus a
 * margin) → Hold. If the fingers close on nothing (width well below the estimated size), it
 * opens, rises and tries again with the yaw turned by 45°.
 *
 * It moves with the experts' moveTo and their gain (0.35 of the remaining error per step), but at
 * most 60 % of the largest step, slowing further as it descends, so that it stays stable and does
 * not overshoot into the block under the held-out action latency.
 */
import type { TabletopEnv } from '../../sim/env.ts';
import { GRIPPER_GEOMETRY } from '../../sim/robot/gripper.ts';
import { LIFT_HEIGHT } from '../../sim/tasks/grasp.ts';
import { DEFAULT_GAIN, graspHeight, gripFor, moveTo } from '../../sim/experts/motion.ts';
import { yawDiff90 } from '../../sim/tasks/task.ts';

export type Vec3 = [number, number, number];

/** Cap on the normalized translation command. */
const SPEED = 0.6;
/** Finger closing per control step while grasping (m). */
const CLOSE_RATE = 0.004;

function move(env: TabletopEnv, x: number, y: number, z: number, yaw: number, grip: number, speed = SPEED): Float32Array {
  return moveTo(env, x, y, z, yaw, grip, { gain: DEFAULT_GAIN, speed });
}

/** Room (m) between the fingers, opened to `width` at `yaw` around `target`, and the nearest distractor. */
function clearance(target: Vec3, others: Vec3[], yaw: number, width: number, size: number): number {
  const off = width / 2 + GRIPPER_GEOMETRY.fingerHalf[0];
  let best = Infinity;
  for (const side of [-1, 1]) {
    const fx = target[0] + side * off * Math.cos(yaw), fy = target[1] + side * off * Math.sin(yaw);
    for (const d of others) best = Math.min(best, Math.hypot(d[0] - fx, d[1] - fy) - (size * Math.SQRT2) / 2);
  }
  return best;
}

export interface EstimateGrasp {
  act(): Float32Array;
  readonly stage: string;
}

/**
 * `target`: the estimated target position; `targetYaw`: its estimated yaw (rad; cubes repeat every
 * 90°), or null to choose the gripper yaw from the clearance alone; `others`: estimated
 * distractor positions.
 */
export function estimateGrasp(env: TabletopEnv, target: Vec3, targetYaw: number | null, others: Vec3[]): EstimateGrasp {
  const size = Math.min(0.065, Math.max(0.035, 2 * target[2]));
  const openWidth = Math.min(GRIPPER_GEOMETRY.maxWidth, targetYaw === null ? size * Math.SQRT2 + 0.012 : size + 0.03);
  const open = gripFor(openWidth);
  // Palm 9 mm above the block's top (room for a few millimetres of overshoot), fingertips at least
  // 5 mm above the table.
  const fingerHalf = GRIPPER_GEOMETRY.fingerHalf[2];
  const zGrasp = Math.max(0.005 + fingerHalf, size + 0.009 - fingerHalf);
  const hover = zGrasp + 0.06;
  const zLift = graspHeight(size / 2 + LIFT_HEIGHT + 0.03, size);
  // Yaw with the most room for the fingers: across one of the two face pairs when the yaw is
  // estimated, else among 12 candidates over the half turn.
  const g0 = env.scene.gripper.yaw;
  const candidates = targetYaw === null
    ? Array.from({ length: 12 }, (_, k) => g0 + (k / 12) * Math.PI - Math.PI / 2)
    : [0, 1].map((k) => g0 + yawDiff90(g0, targetYaw + (k * Math.PI) / 2));
  let yaw = g0, bestRoom = -Infinity;
  for (const cand of candidates) {
    const room = clearance(target, others, cand, openWidth, size) - 0.002 * Math.abs(cand - g0);
    if (room > bestRoom) {
      bestRoom = room;
      yaw = cand;
    }
  }
  let stage: 'reach' | 'descend' | 'grasp' | 'lift' | 'hold' | 'retry' = 'reach';
  let timer = 0, lastWidth = Infinity, lastZ = Infinity, attempts = 0;

  const act = (): Float32Array => {
    const g = env.scene.gripper;
    const [tx, ty, tz] = env.tcp();
    const w = g.width();
    timer++;
    switch (stage) {
      case 'reach': {
        const xy = Math.hypot(target[0] - tx, target[1] - ty);
        const a = tz < hover - 0.015 && xy > 0.02 ? move(env, tx, ty, hover, yaw, open) : move(env, target[0], target[1], Math.max(hover, tz), yaw, open);
        const aligned = Math.abs(Math.atan2(Math.sin(yaw - g.yaw), Math.cos(yaw - g.yaw))) < 0.08;
        if ((xy < 0.006 || (xy < 0.012 && timer > 40)) && aligned && w > openWidth - 0.01) {
          stage = 'descend';
          timer = 0;
        }
        return a;
      }
      case 'descend': {
        const prevZ = lastZ;
        lastZ = tz;
        // Slower the lower it gets: under action latency the steps already sent would carry a fast
        // approach past grasp height, pressing the palm onto the block.
        const a = move(env, target[0], target[1], zGrasp, yaw, open, Math.min(SPEED, Math.max(0.08, (tz - zGrasp) / 0.1)));
        // Stop at grasp height, or where the fingers rest on something (the estimate was off).
        if (Math.abs(tz - zGrasp) < 0.003 || (timer > 8 && Math.abs(tz - prevZ) < 0.0003) || timer > 40) {
          stage = 'grasp';
          timer = 0;
          lastWidth = Infinity;
        }
        return a;
      }
      case 'grasp': {
        // Close slowly: a cube squeezed at an angle then turns square between the fingers instead
        // of squirting out (the estimate has no yaw).
        const a = move(env, tx, ty, zGrasp, yaw, gripFor(Math.max(0, openWidth - CLOSE_RATE * timer)));
        if (timer > 6 && Math.abs(w - lastWidth) < 0.0005) {
          if (w < size * 0.5) {
            stage = 'retry';
            timer = 0;
          } else {
            stage = 'lift';
            timer = 0;
          }
        } else if (timer > 60) {
          stage = 'retry';
          timer = 0;
        }
        lastWidth = w;
        return a;
      }
      case 'lift': {
        const a = move(env, tx, ty, zLift, yaw, 1);
        if (w < size * 0.5 && timer > 3) {
          stage = 'retry';
          timer = 0;
        } else if (tz > zLift - 0.005) stage = 'hold';
        return a;
      }
      case 'hold':
        return move(env, tx, ty, zLift, yaw, 1);
      case 'retry': {
        const a = move(env, tx, ty, hover, yaw, open);
        if (tz > hover - 0.01 && w > openWidth - 0.01) {
          attempts++;
          yaw += Math.PI / 4;
          stage = attempts > 3 ? 'hold' : 'reach';
          timer = 0;
        }
        return a;
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
