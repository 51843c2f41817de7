/**
 * How an SO-101 turns an end-effector command into joint goals, shared by the simulated arm
 * (arm.ts) and the driver of the real one (bridge/robots/so101/so101.ts), so that the same
 * actions move both the same way:
 *
 * 1. the desired pose (table frame) has its fingertips kept at least `floor` above the table;
 * 2. inverse kinematics with the tool pointing down, in the arm's base frame;
 * 3. the wrist roll for that jaw line that turns least from the roll last aimed for (chooseRoll);
 * 4. goals clipped to the joint limits, then every joint's move from the present joints scaled
 *    together to at most `maxStep` radians (stepToward);
 * 5. the new target: the pose of the goals commanded (a step cut short does not wind up), with
 *    the yaw as asked (the roll reaches it, if over several steps).
 */
import { chooseRoll, forwardKinematics, inverseKinematics, stepToward, unwrapNear } from './kinematics.ts';
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
  const desired = [c.desired[0], c.desired[1], c.floor === undefined ? c.desired[2] : Math.max(c.floor, c.desired[2]), c.desired[3]];
  const ik = inverseKinematics(toBase(c.base, desired), c.present[0]);
  const rollAim = chooseRoll(unwrapNear(ik.joints[4], c.rollAim), c.rollAim);
  const wanted = [ik.joints[0], ik.joints[1], ik.joints[2], ik.joints[3], rollAim];
  const goals = [0, 0, 0, 0, 0];
  const limitHit = stepToward(c.present, wanted, c.limits, c.maxStep, goals);
  const target = toTable(c.base, forwardKinematics(goals));
  target[3] = desired[3];
  return { goals, target, rollAim, limitHit, unreachable: !ik.reachable };
}
