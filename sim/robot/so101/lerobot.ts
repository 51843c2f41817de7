/**
 * The SO-101 in LeRobot's own terms, for datasets a LeRobot user can train on and LeRobot datasets
 * simreal can train on.
 *
 * LeRobot's SO-101 follower (lerobot/robots/so101_follower/so101_follower.py) observes and is
 * commanded by one value per motor, `{motor}.pos` for shoulder_pan, shoulder_lift, elbow_flex,
 * wrist_flex, wrist_roll and gripper, normalized by its motor bus (lerobot/motors/motors_bus.py,
 * MotorsBus._normalize):
 * - arm joints in DEGREES mode (`use_degrees=True`, what LeRobot's own SO-101 end-effector control
 *   uses with so101_new_calib.urdf): (ticks − mid) · 360 / 4095, mid the middle of the calibrated
 *   range, which is the URDF joint angle in degrees (× 4096/4095);
 * - or in RANGE_M100_100 mode (the default `use_degrees=False`): (ticks − range_min) /
 *   (range_max − range_min) · 200 − 100, negated when drive_mode is 1: needs that arm's calibration;
 * - the gripper in RANGE_0_100: (ticks − range_min) / (range_max − range_min) · 100, 0 closed.
 * simreal writes degrees (the mode whose numbers mean the same on every arm) and the gripper's
 * 0–100 over the jaw's URDF range (the simulated arm's calibration, calibration.ts).
 */
import { JAW_LIMITS, kinematicToUrdf, urdfToKinematic } from './kinematics.ts';
import { SO101_MOTORS, urdfToTicks, ticksToUrdf } from './calibration.ts';
import type { So101Calibration } from './calibration.ts';
import { STS3215_RESOLUTION } from './servo.ts';

/** LeRobot's SO-101 feature names (observation.state and action). */
export const LEROBOT_SO101_NAMES = SO101_MOTORS.map((m) => `${m}.pos`);
/** LeRobot's robot type for the SO-101 follower (info.json robot_type). */
export const LEROBOT_SO101_TYPE = 'so101_follower';

/** Degrees per radian of LeRobot's DEGREES normalization: 360/4095 per tick, 2π/4096 rad per tick. */
const DEG_PER_RAD = (STS3215_RESOLUTION / (2 * Math.PI)) * (360 / (STS3215_RESOLUTION - 1));

/** LeRobot values [5 arm joints in degrees, gripper 0–100] for kinematic joints and a jaw angle. */
export function toLeRobot(joints: readonly number[], jaw: number, out: Float32Array | number[] = new Array<number>(6), offset = 0): Float32Array | number[] {
  for (let i = 0; i < 5; i++) out[offset + i] = kinematicToUrdf(i, joints[i]) * DEG_PER_RAD;
  out[offset + 5] = ((jaw - JAW_LIMITS[0]) / (JAW_LIMITS[1] - JAW_LIMITS[0])) * 100;
  return out;
}

export type LeRobotJointUnits = 'degrees' | 'range';

/**
 * Kinematic joints and jaw angle from LeRobot values. `degrees`: arm joints in degrees; `range`:
 * arm joints in RANGE_M100_100, converted with `calibration` (that arm's LeRobot calibration file).
 * The gripper's 0–100 is taken over the jaw's range.
 */
export function fromLeRobot(values: ArrayLike<number>, units: LeRobotJointUnits, calibration?: So101Calibration): { joints: number[]; jaw: number } {
  const joints: number[] = [];
  for (let i = 0; i < 5; i++) {
    const v = values[i];
    let urdf: number;
    if (units === 'degrees') urdf = v / DEG_PER_RAD;
    else {
      if (!calibration) throw new Error('LeRobot joints in RANGE_M100_100 need the arm\'s calibration to become angles');
      // Undo LeRobot's normalization to the servo's ticks, then the calibration's own map to the angle.
      const m = calibration[SO101_MOTORS[i]];
      const raw = m.drive_mode ? -v : v;
      const ticks = ((raw + 100) / 200) * (m.range_max - m.range_min) + m.range_min;
      urdf = ticksToUrdf(m, ticks);
    }
    joints.push(urdfToKinematic(i, urdf));
  }
  const jaw = JAW_LIMITS[0] + (Math.max(0, Math.min(100, values[5])) / 100) * (JAW_LIMITS[1] - JAW_LIMITS[0]);
  return { joints, jaw };
}

/** RANGE_M100_100 value of arm joint `i` at kinematic angle `q` on a calibrated arm (the inverse of the above). */
export function toRangeM100(i: number, q: number, calibration: So101Calibration): number {
  const m = calibration[SO101_MOTORS[i]];
  const ticks = urdfToTicks(m, kinematicToUrdf(i, q));
  const raw = ((ticks - m.range_min) / (m.range_max - m.range_min)) * 200 - 100;
  return m.drive_mode ? -raw : raw;
}

