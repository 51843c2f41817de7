/**
 * Scripted expert for Push-v1 (privileged: reads the true scene state). The closed fingers make a
 * 2.4 cm pusher.
 *
 * Re-entrant: the stage is read off the state each step (where the pusher is relative to the block
 * and the line to the goal), nothing is remembered between calls.
 *
 * Stages:
 *   Approach – rise, then go above a point behind the block on the line from the goal through it
 *   Lower    – down to pushing height behind the block
 *   Push     – along the line toward the goal, re-aiming at the block's centre each step; back to
 *              Approach when the block has turned off the line
 *   Settle   – at the goal (within half the tolerance, or within 0.8 of it with the pusher off the
 *              block): back off and wait
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
    const near = Math.hypot(sx - tx, sy - ty);
    const low = tz < hover - 0.01;
    const touching = Math.hypot(rx, ry) < size / 2 + pusherHalf + 0.008;

    if (dist < PUSH_TOLERANCE * 0.5 || (dist < PUSH_TOLERANCE * 0.8 && !touching)) {
      stage = 'settle';
      return moveTo(env, tx - ux * 0.01, ty - uy * 0.01, tz, yaw, 1, { gain: 0.3 });
    }
    // Behind the block on the line, at pushing height: push, aiming the contact through the
    // block's centre, a little past where it is now.
    if (Math.abs(tz - pushZ) < 0.006 && Math.abs(across) <= 0.012 && along <= 0 && along >= -(back + 0.015)) {
      stage = 'push';
      const speed = Math.min(0.6, Math.max(0.25, dist / 0.05));
      const px = b.x - ux * (size / 2 + pusherHalf - 0.012), py = b.y - uy * (size / 2 + pusherHalf - 0.012);
      return moveTo(env, px, py, pushZ, yaw, 1, { gain: 0.8, speed });
    }
    // Above the start point (or already on the way down within 1.5 cm of it): lower.
    if ((near < 0.008 && !low) || (near < 0.015 && low)) {
      stage = 'lower';
      return moveTo(env, sx, sy, pushZ, yaw, 1);
    }
    stage = 'approach';
    // Low anywhere else: rise first (stepping back along the line when next to the block).
    if (low) return touching ? moveTo(env, tx - ux * 0.02, ty - uy * 0.02, hover, yaw, 1) : moveTo(env, tx, ty, hover, yaw, 1);
    return moveTo(env, sx, sy, hover, yaw, 1);
  };

  return {
    act,
    get stage() {
      return stage;
    },
  };
}
