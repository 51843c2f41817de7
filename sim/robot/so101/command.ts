/**
 * How an SO-101 turns an end-effector command into joint goals, shared by the simulated arm
 * (arm.ts) and the driver of the real one (bridge/robots/so101/so101.ts), so that the same
 * actions move both the same way:
 *
 * 1. the desired pose (table frame) is of the tool point (`tool`: the grasp point between the
 *    jaws, see arm.ts), kept with the fingertips at least `floor` above the table;
 * 2. the fingertip point on the roll axis that puts the tool point there with the jaws along the
 *    desired yaw, and inverse kinematics for it with the tool pointing down, in the base frame;
 * 3. the wrist roll for that jaw line that turns least from the roll last aimed for (chooseRoll;
 *    when that is the half turn, the fingertip point is placed for the jaws turned round);
 * 4. goals clipped to the joint limits, then every joint's move from the present joints scaled
 *    together to at most `maxStep` radians (stepToward);
 * 5. the new target: the pose of the goals commanded (a step cut short does not wind up), its
 *    yaw the goals' jaw line, or the yaw asked while the roll turns half round.
 */
import { chooseRoll, forwardKinematics, inverseKinematics, jawLineYaw, stepToward, unwrapNear } from './kinematics.ts';
import type { EePose } from './kinematics.ts';

/** Lowest fingertip target above the table (m): as the mount's workspace keeps its fingertips 3 mm up. */
export const TIP_FLOOR = 0.003;

/** The arm's base frame in the table frame (m, rad). */
export interface ArmBase {
  x: number;
  y: number;
  z: number;
  yaw: number;
}

export function toBase(b: ArmBase, p: readonly number[]): EePose {
  const c = Math.cos(b.yaw), s = Math.sin(b.yaw);
  const dx = p[0] - b.x, dy = p[1] - b.y;
  return [c * dx + s * dy, -s * dx + c * dy, p[2] - b.z, p[3] - b.yaw];
}

export function toTable(b: ArmBase, p: readonly number[]): EePose {
  const c = Math.cos(b.yaw), s = Math.sin(b.yaw);
  return [b.x + c * p[0] - s * p[1], b.y + s * p[0] + c * p[1], b.z + p[2], p[3] + b.yaw];
}

/**
 * Where the tool point sits from the fingertip point on the roll axis, in the gripper frame: `u`
 * along the opening axis (toward the moving jaw), `s` up the tool.
 */
export interface ToolOffset {
  u: number;
  s: number;
}

/** The tool point's pose [x, y, z, yaw] (table frame) for joints `q`; yaw is the physical jaw line's. */
export function toolPose(base: ArmBase, q: readonly number[], tool: ToolOffset): EePose {
  const tip = toTable(base, forwardKinematics(q));
  return [tip[0] + tool.u * Math.cos(tip[3]), tip[1] + tool.u * Math.sin(tip[3]), tip[2] + tool.s, tip[3]];
}

export interface CommandInput {
  base: ArmBase;
  /** Desired end-effector pose [x, y, z, yaw], table frame. */
  desired: readonly number[];
  /** Present arm joints (kinematic rad, as the encoders read). */
  present: readonly number[];
  /** The roll last aimed for. */
  rollAim: number;
  /** Joint limits [lo, hi] per arm joint. */
  limits: ReadonlyArray<readonly [number, number]>;
  /** Largest joint move per step (rad). */
  maxStep: number;
  /** Lowest fingertip height in the table frame (m); default none. */
  floor?: number;
  /** The point the pose is of (default the fingertip point on the roll axis). */
  tool?: ToolOffset;
}

export interface CommandOutput {
  goals: number[];
  /** The new target, table frame. */
  target: EePose;
  rollAim: number;
  /** A goal was clipped at a joint limit. */
  limitHit: boolean;
  /** The pose lay beyond the reach with the tool down (pulled onto the reachable shell). */
  unreachable: boolean;
}

export function commandJoints(c: CommandInput): CommandOutput {
  const tool = c.tool ?? { u: 0, s: 0 };
  const z = c.floor === undefined ? c.desired[2] : Math.max(c.floor + tool.s, c.desired[2]);
  const desired = [c.desired[0], c.desired[1], z, c.desired[3]];
  // The jaws' physical yaw: the desired one, or half a turn from it, as the roll last aimed for has them.
  const aimYaw = c.base.yaw + c.present[0] + c.rollAim;
  let yaw = desired[3] + Math.PI * Math.round((aimYaw - desired[3]) / Math.PI);
  let ik = null as ReturnType<typeof inverseKinematics> | null;
  let rollAim = c.rollAim;
  for (let pass = 0; pass < 2; pass++) {
    const tip = [desired[0] - tool.u * Math.cos(yaw), desired[1] - tool.u * Math.sin(yaw), desired[2] - tool.s, yaw];
    ik = inverseKinematics(toBase(c.base, tip), c.present[0]);
    rollAim = chooseRoll(unwrapNear(ik.joints[4], c.rollAim), c.rollAim);
    // The roll chosen turns the jaws half a turn from `yaw`: place the fingertips for that.
    const physical = c.base.yaw + ik.joints[0] + rollAim;
    const turned = Math.abs(Math.cos(physical - yaw)) > 0.5 && Math.cos(physical - yaw) < 0;
    if (!turned || tool.u === 0) break;
    yaw += Math.PI;
  }
  const k = ik as ReturnType<typeof inverseKinematics>;
  const wanted = [k.joints[0], k.joints[1], k.joints[2], k.joints[3], rollAim];
  const goals = [0, 0, 0, 0, 0];
  const limitHit = stepToward(c.present, wanted, c.limits, c.maxStep, goals);
  // The target: where the goals put the tool point, and their jaw line's yaw (so neither runs ahead
  // of the arm by more than a step), except while the roll turns half round, when the yaw stays as asked.
  const target = toolPose(c.base, goals, tool);
  target[3] = Math.abs(goals[4] - rollAim) < Math.PI / 2 ? jawLineYaw(target[3], desired[3]) : desired[3];
  return { goals, target, rollAim, limitHit, unreachable: !k.reachable };
}
