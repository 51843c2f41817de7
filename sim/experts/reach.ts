/**
 * Scripted expert for Reach-v1: one stage, Move – a damped straight line to the goal (the shared
 * gain keeps it from overshooting under action latency).
 */
import type { TabletopEnv } from '../env.ts';
import { moveTo } from './motion.ts';
import type { Expert } from './motion.ts';

export function solve(env: TabletopEnv): Expert {
  return {
    act() {
      const g = env.scene.goals[0];
      return moveTo(env, g[0], g[1], g[2], env.scene.gripper.yaw, -1);
    },
    stage: 'move',
  };
}
