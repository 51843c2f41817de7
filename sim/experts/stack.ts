/**
 * Scripted expert for StackBlocks-v1 (privileged: reads the true scene state).
 *
 * For the next block j (the lowest block not yet on its place, re-read at every pick so a knocked
 * tower is rebuilt), the stages are:
 *   Pick    – reach, descend, grasp, lift block j to carrying height (pick.ts), yaw on its faces
 *   Carry   – the held block above block j−1, lined up with its faces
 *   Lower   – until the held block is 2 mm above block j−1
 *   Release – open
 *   Retreat – up, then the next block
 */
import type { TabletopEnv } from '../env.ts';
import { GRIPPER_GEOMETRY } from '../robot/gripper.ts';
import { Scene } from '../scene.ts';
import { isGrasped } from '../tasks/features.ts';
import { isOn, stackedCount } from '../tasks/stack.ts';
import { yawDiff90 } from '../tasks/task.ts';
import { alignedYaw, graspHeight, gripFor, moveTo } from './motion.ts';
import { Pick } from './pick.ts';
import type { Expert } from './motion.ts';

type Stage = 'pick' | 'carry' | 'lower' | 'release' | 'retreat' | 'done';

export function solve(env: TabletopEnv): Expert {
  let stage: Stage = 'pick';
  let j = 1;
  let yaw = env.scene.gripper.yaw;
  let timer = 0;
  const pick = new Pick(env);
  const repick = (): void => {
    stage = 'pick';
    pick.restart();
  };

  const pickNext = (): void => {
    const k = stackedCount(env.scene);
    if (k >= env.scene.blocks.length - 1) {
      stage = 'done';
      return;
    }
    j = k + 1;
    repick();
  };

  const act = (): Float32Array => {
    const scene = env.scene;
    const g = scene.gripper;
    const [tx, ty, tz] = env.tcp();
    const b = scene.blocks[j];
    const size = scene.blockSizes[j];
    const base = scene.blocks[j - 1];
    const baseSize = scene.blockSizes[j - 1];
    const open = gripFor(size + 0.03);
    const blockYaw = Scene.yawOf(b.quaternion);
    // Clearance: the highest top among the other blocks. Empty fingers pass 1.5 cm above it
    // (hover); a held block passes with its bottom 2 cm above it (carry).
    let top = 0;
    for (let i = 0; i < scene.blocks.length; i++) if (i !== j) top = Math.max(top, scene.blocks[i].position.z + scene.blockSizes[i] / 2);
    const hover = Math.max(top + 0.015 + GRIPPER_GEOMETRY.fingerHalf[2], graspHeight(b.position.z, size) + 0.04);
    const carryZ = graspHeight(top + 0.02 + size / 2, size);
    timer++;

    if (stage === 'pick') {
      const a = pick.act(
        { x: b.position.x, y: b.position.y, z: b.position.z, size, yaw: alignedYaw(g.yaw, blockYaw) },
        { openWidth: size + 0.03, hover, liftZ: carryZ, held: () => isGrasped(scene, b) },
      );
      yaw = g.yaw;
      if (pick.stage === 'holding') {
        stage = 'carry';
        timer = 0;
      }
      return a;
    }

    switch (stage) {
      case 'carry': {
        // Steer by where the held block is, not the fingers: a slightly off-centre grasp cancels out.
        const ex = base.position.x - b.position.x, ey = base.position.y - b.position.y;
        yaw = g.yaw + yawDiff90(blockYaw, Scene.yawOf(base.quaternion));
        const a = moveTo(env, tx + ex, ty + ey, carryZ, yaw, 1);
        if (!isGrasped(scene, b)) repick();
        else if (Math.hypot(ex, ey) < 0.004 && Math.abs(yawDiff90(blockYaw, Scene.yawOf(base.quaternion))) < 0.06) {
          stage = 'lower';
          timer = 0;
        }
        return a;
      }
      case 'lower': {
        const ex = base.position.x - b.position.x, ey = base.position.y - b.position.y;
        const targetZ = base.position.z + (baseSize + size) / 2 + 0.002;
        const a = moveTo(env, tx + ex, ty + ey, tz + (targetZ - b.position.z), yaw, 1, { gain: 0.5, speed: 0.5 });
        if (!isGrasped(scene, b)) repick();
        else if (Math.hypot(ex, ey) > 0.01) {
          stage = 'carry';
          timer = 0;
        } else if (b.position.z - targetZ < 0.003) {
          stage = 'release';
          timer = 0;
        }
        return a;
      }
      case 'release': {
        const a = moveTo(env, tx, ty, tz, yaw, open, { gain: 0.2 });
        a[0] = a[1] = a[2] = 0;
        if (g.width() > size + 0.012 || timer > 20) {
          stage = 'retreat';
          timer = 0;
        }
        return a;
      }
      case 'retreat': {
        const a = moveTo(env, tx, ty, tz + 0.05, yaw, open);
        if (timer > 5 || !isGrasped(scene, b)) {
          if (timer > 5) {
            if (isOn(scene, j)) pickNext();
            else repick();
          }
        }
        return a;
      }
      case 'done': {
        const a = moveTo(env, tx, ty, Math.max(tz, hover), g.yaw, open, { gain: 0.3 });
        if (stackedCount(scene) < scene.blocks.length - 1) pickNext();
        return a;
      }
    }
  };

  pickNext();
  return {
    act,
    get stage() {
      return stage === 'done' ? 'done' : `${stage === 'pick' ? pick.stage : stage}:block${j}`;
    },
  };
}
