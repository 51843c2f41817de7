/**
 * The pick primitive the scripted experts share: from anywhere, get a block between the fingers
 * and lift it.
 *
 *   Reach   – above the block at a clear height (rising first when low and far, so the fingers
 *             never sweep through other blocks), fingers open, yaw as the caller asks
 *   Descend – down to grasp height, tracking the block (back to Reach if it slid away)
 *   Grasp   – close until the fingers stop (back to Reach after 1.5 s without a hold)
 *   Lift    – straight up to the caller's height (back to Reach if the block slipped out)
 *   Holding – lifted; the caller takes over
 */
import type { TabletopEnv } from '../env.ts';
import { graspHeight, gripFor, moveTo } from './motion.ts';

export type PickStage = 'reach' | 'descend' | 'grasp' | 'lift' | 'holding';

export interface PickTarget {
  /** Block centre (world frame). */
  x: number;
  y: number;
  z: number;
  /** Edge length (m). */
  size: number;
  /** Gripper yaw to grasp at (the caller lines it up with the block's faces); kept once closing starts. */
  yaw: number;
}

export interface PickGoal {
  /** Finger opening (m) while approaching. */
  openWidth: number;
  /** Tool-centre-point height for moving with empty fingers. */
  hover: number;
  /** Tool-centre-point height to lift to. */
  liftZ: number;
  /** Whether both fingers hold the block now. */
  held: () => boolean;
}

export class Pick {
  stage: PickStage = 'reach';
  private readonly env: TabletopEnv;
  private timer = 0;
  private lastWidth = Infinity;
  /** Yaw kept from the moment the fingers close: a held block turns with the gripper. */
  private heldYaw = 0;

  constructor(env: TabletopEnv) {
    this.env = env;
  }

  private go(stage: PickStage): void {
    this.stage = stage;
    this.timer = 0;
    this.lastWidth = Infinity;
  }

  restart(): void {
    this.go('reach');
  }

  act(t: PickTarget, goal: PickGoal): Float32Array {
    const g = this.env.scene.gripper;
    const [tx, ty, tz] = this.env.tcp();
    const xy = Math.hypot(t.x - tx, t.y - ty);
    const zg = graspHeight(t.z, t.size);
    const open = gripFor(goal.openWidth);
    this.timer++;
    switch (this.stage) {
      case 'reach': {
        const a = tz < goal.hover - 0.015 && xy > 0.02
          ? moveTo(this.env, tx, ty, goal.hover, t.yaw, open)
          : moveTo(this.env, t.x, t.y, Math.max(goal.hover, tz), t.yaw, open);
        const opened = g.width() > (t.size + goal.openWidth) / 2;
        if (xy < 0.006 && Math.abs(Math.atan2(Math.sin(t.yaw - g.yaw), Math.cos(t.yaw - g.yaw))) < 0.05 && opened) this.go('descend');
        return a;
      }
      case 'descend': {
        const a = moveTo(this.env, t.x, t.y, zg, t.yaw, open);
        if (xy > 0.015) this.go('reach');
        else if (Math.abs(tz - zg) < 0.003 && xy < 0.006) {
          this.go('grasp');
          this.heldYaw = t.yaw;
        }
        return a;
      }
      case 'grasp': {
        const a = moveTo(this.env, t.x, t.y, zg, this.heldYaw, 1);
        const w = g.width();
        if (this.timer > 4 && Math.abs(w - this.lastWidth) < 0.0005 && w < t.size + 0.002) this.go('lift');
        else if (this.timer > 30) this.go('reach');
        else this.lastWidth = w;
        return a;
      }
      case 'lift': {
        const a = moveTo(this.env, tx, ty, goal.liftZ, this.heldYaw, 1);
        if (!goal.held() && this.timer > 3) this.go('reach');
        else if (tz > goal.liftZ - 0.01) this.go('holding');
        return a;
      }
      case 'holding': {
        if (!goal.held()) this.go('reach');
        return moveTo(this.env, tx, ty, goal.liftZ, this.heldYaw, 1, { gain: 0.3 });
      }
    }
  }
}
