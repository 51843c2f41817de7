/**
 * Scripted expert for Push-v1 (privileged: reads the true scene state). The closed fingers make a
 * 2.4 cm pusher.
 *
 * Stages:
 *   Approach – rise, then go above a point behind the block on the line from the goal through it
 *   Lower    – down to pushing height behind the block
 *   Push     – along the line toward the goal, re-aiming at the block's centre each step; back to
 *              Approach when the block has turned off the line
 *   Settle   – at the goal: back off and wait
 */
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import type { TabletopEnv } from '../env.ts';
import { PUSH_TOLERANCE } from '../tasks/push.ts';
import { moveTo } from './motion.ts';
import type { Expert } from './motion.ts';

type Stage = 'approach' | 'lower' | 'push' | 'settle';

export function solve(env: TabletopEnv): Expert {
  let stage: Stage = 'approach';
  const pusherHalf = 2 * GRIPPER_GEOMETRY.fingerHalf[0];

  const act = (): Float32Array => {
    const scene = env.scene;
    const g = scene.gripper;
    const [tx, ty, tz] = env.tcp();
    const b = scene.blocks[0].position;
    const size = scene.blockSizes[0];
    const goal = scene.goals[0];
    let ux = goal[0] - b.x, uy = goal[1] - b.y;
    const dist = Math.hypot(ux, uy);
    ux /= dist || 1;
    uy /= dist || 1;
    // Pushing height: fingertips 4 mm above the table.
    const pushZ = 0.004 + GRIPPER_GEOMETRY.fingerHalf[2];
    const hover = size + 0.02 + GRIPPER_GEOMETRY.fingerHalf[2];
    const back = size / 2 + pusherHalf + 0.025; // start point behind the block
    const sx = b.x - ux * back, sy = b.y - uy * back;
    // Where the pusher is relative to the block, along and across the push line.
    const rx = tx - b.x, ry = ty - b.y;
    // Fingers side by side across the push line: the push loads their rigid axis, not the grip.
    const yaw = g.yaw + Math.atan2(Math.sin(2 * (Math.atan2(uy, ux) + Math.PI / 2 - g.yaw)), Math.cos(2 * (Math.atan2(uy, ux) + Math.PI / 2 - g.yaw))) / 2;
    const along = rx * ux + ry * uy;
    const across = -rx * uy + ry * ux;

    if (dist < PUSH_TOLERANCE * 0.5) stage = 'settle';
    switch (stage) {
      case 'approach': {
        const near = Math.hypot(sx - tx, sy - ty);
        if (near < 0.008 && tz > hover - 0.01) stage = 'lower';
        if (tz < hover - 0.01 && near > 0.01) return moveTo(env, tx, ty, hover, yaw, 1);
        return moveTo(env, sx, sy, hover, yaw, 1);
      }
      case 'lower': {
        if (Math.hypot(sx - tx, sy - ty) > 0.015) stage = 'approach';
        else if (Math.abs(tz - pushZ) < 0.004) stage = 'push';
        return moveTo(env, sx, sy, pushZ, yaw, 1);
      }
      case 'push': {
        // Off the line, or no longer behind the block: go round again.
        if (Math.abs(across) > 0.012 || along > -(size / 2 + pusherHalf - 0.01)) {
          if (Math.abs(across) > 0.012 || along > 0) {
            stage = 'approach';
            return moveTo(env, tx - ux * 0.02, ty - uy * 0.02, hover, yaw, 1);
          }
        }
        // Aim the contact through the block's centre, a little past where it is now.
        const speed = Math.min(0.6, Math.max(0.25, dist / 0.05));
        const px = b.x - ux * (size / 2 + pusherHalf - 0.012), py = b.y - uy * (size / 2 + pusherHalf - 0.012);
        return moveTo(env, px, py, pushZ, yaw, 1, { gain: 0.8, speed });
      }
      case 'settle': {
        if (dist > PUSH_TOLERANCE * 0.8) stage = 'approach';
        return moveTo(env, tx - ux * 0.01, ty - uy * 0.01, tz, yaw, 1, { gain: 0.3 });
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
