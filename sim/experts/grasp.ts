/**
 * Scripted expert for Grasp-v1 (privileged: reads the true scene state).
 *
 * Stages (pick.ts, which reads them off the state: the expert remembers nothing between calls):
 * Reach – above the target, fingers open just wider than it, yaw across the pair of faces nearest
 * the fingers unless a distractor crowds a finger there (graspYaw); Descend; Grasp; Lift past the
 * lift goal; Holding. A distractor caught between the fingers is let go where it is.
 */
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import type { TabletopEnv } from '../env.ts';
import { LIFT_HEIGHT } from '../tasks/grasp.ts';
import { graspHeight, gripFor, moveTo } from './motion.ts';
import { isGrasped } from '../tasks/features.ts';
import { graspYaw, holdTests, pick } from './pick.ts';
import type { Expert } from './motion.ts';

export function solve(env: TabletopEnv): Expert {
  let stage = 'start';

  const act = (): Float32Array => {
    const scene = env.scene;
    const g = scene.gripper;
    const b = scene.blocks[0];
    const size = scene.blockSizes[0];
    const openWidth = size + 0.022;
    let top = 0;
    for (let i = 1; i < scene.blocks.length; i++) top = Math.max(top, scene.blocks[i].position.z + scene.blockSizes[i] / 2);
    const yaw = graspYaw(env, 0, g.yaw, openWidth);
    // A distractor between the fingers: let go of it where it is.
    for (let i = 1; i < scene.blocks.length; i++) {
      if (isGrasped(scene, scene.blocks[i])) {
        const [tx, ty, tz] = env.tcp();
        const a = moveTo(env, tx, ty, tz, g.yaw, gripFor(openWidth), { gain: 0.2 });
        a[0] = a[1] = a[2] = 0;
        stage = 'release';
        return a;
      }
    }
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
