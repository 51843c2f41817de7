/**
 * The SO-101 gripper's jaws as the simulated arm and the driver both see them.
 *
 * The fixed jaw is part of the wrist roll follower; the moving jaw turns about a hinge (URDF joint
 * `gripper`, range −0.174533 … 1.74533 rad) 7.47 cm above its tip (URDF: gripperframe 0.0981 −
 * hinge 0.0234 along the tool). Closed, the jaws meet 7.9 mm off the roll axis toward the fixed
 * jaw (URDF gripperframe x = −0.0079). The opening between the pads is taken as the distance the
 * turning tip moves away: 7.47 cm · sin(angle), up to the full 7.47 cm at 90°; below 0 the jaw is
 * pressed shut. A grip command maps linearly onto the jaw's range, closed at its lower end, as the
 * driver maps grip onto the calibrated servo range (LeRobot's RANGE_0_100).
 *
 * The tool point (what the arm is commanded by, and reports as its end-effector pose) is the grasp
 * point midway between the pads, 2.2 cm above the fingertips (where the mount's finger pads centre).
 */
import { JAW_LIMITS } from './kinematics.ts';
import type { ToolOffset } from './command.ts';

/** Distance the moving jaw's tip is from its hinge (m). */
export const JAW_RADIUS = 0.0747;
/** Where the closed jaws meet, from the roll axis along the opening axis (m). */
export const JAW_FACE = -0.0079;
/** Height of the pads' centre, the tool point, above the fingertips (m). */
export const PAD_CENTRE = 0.022;

/** Jaw angle (rad) for a grip command (−1 open … 1 closed). */
export function jawAngleForGrip(grip: number): number {
  const g = Math.max(-1, Math.min(1, grip));
  return JAW_LIMITS[0] + ((1 - g) / 2) * (JAW_LIMITS[1] - JAW_LIMITS[0]);
}

/** Grip (−1 open … 1 closed) for a jaw angle. */
export function gripForJawAngle(angle: number): number {
  const t = (angle - JAW_LIMITS[0]) / (JAW_LIMITS[1] - JAW_LIMITS[0]);
  return Math.max(-1, Math.min(1, 1 - 2 * t));
}

/** Opening between the pads for a jaw angle (negative below 0: pressing shut). */
export function widthAt(angle: number): number {
  return angle <= 0 ? JAW_RADIUS * angle : JAW_RADIUS * Math.sin(Math.min(angle, Math.PI / 2));
}

/** The jaw angle an opening implies (at and past the full opening: 90°). */
export function angleForWidth(width: number): number {
  return width <= 0 ? width / JAW_RADIUS : Math.asin(Math.min(1, width / JAW_RADIUS));
}

/** The tool point for a jaw opening `width` (m). */
export function toolOffset(width: number): ToolOffset {
  return { u: JAW_FACE + Math.max(0, width) / 2, s: PAD_CENTRE };
}
