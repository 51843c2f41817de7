/**
 * Scripted expert for Reach-v1: one stage, Move – a damped straight line to the goal, slowing
 * near it so latency does not make it overshoot.
 */
import type { TabletopEnv } from '../env.ts';
import { moveTo } from './motion.ts';
import type { Expert } from './motion.ts';

export function solve(env: TabletopEnv): Expert {
  return {
    act() {
      const g = env.scene.goals[0];
      const [tx, ty, tz] = env.tcp();
      const d = Math.hypot(g[0] - tx, g[1] - ty, g[2] - tz);
      return moveTo(env, g[0], g[1], g[2], env.scene.gripper.yaw, -1, { gain: d < 0.03 ? 0.4 : 0.6 });
    },
    stage: 'move',
  };
}
