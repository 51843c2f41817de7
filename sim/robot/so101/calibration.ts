/**
 * SO-100/SO-101 calibration file: LeRobot's format (one entry per motor: id, drive_mode,
 * homing_offset, range_min, range_max; written by `lerobot-calibrate`), so an existing LeRobot
 * calibration works as is, plus optional simreal fields:
 *
 * ```json
 * {
 *   "shoulder_pan":  { "id": 1, "drive_mode": 0, "homing_offset": -1470, "range_min": 758,  "range_max": 3292, "zero_offset_rad": 0 },
 *   "shoulder_lift": { "id": 2, "drive_mode": 0, "homing_offset": 157,   "range_min": 830,  "range_max": 3215 },
 *   "elbow_flex":    { "id": 3, … }, "wrist_flex": { "id": 4, … }, "wrist_roll": { "id": 5, … },
 *   "gripper":       { "id": 6, "drive_mode": 0, "homing_offset": 1407, "range_min": 2031, "range_max": 3476, "closed": "min" }
 * }
 * ```
 *
 * Joint angles from servo ticks (the arm joints), in two steps:
 * 1. LeRobot's joint angle, which is the angle of the matching joint of so101_new_calib.urdf:
 *    a = s · (ticks − mid) · 2π / 4096 + zero_offset_rad, with mid = (range_min + range_max) / 2
 *    (LeRobot's calibration puts each joint's zero at the middle of its range, the URDF's zero
 *    pose) and s = −1 when drive_mode is 1. `zero_offset_rad` corrects an arm whose mid-range pose
 *    was not quite the URDF's zero.
 * 2. The kinematic angle of kinematics.ts: URDF_SIGN · a + URDF_ZERO.
 * Gripper: `closed` names the end of its range where the jaws close (LeRobot: range_min); grip
 * −1 (open) … 1 (closed) maps linearly between, as LeRobot's RANGE_0_100 does.
 *
 * Browser-safe (the viewer's page draws the simulated arm); calibration-file.ts reads files.
 * `nominalCalibration()` is the calibration of the simulated arm: ranges are the URDF's limits
 * around mid-range 2048, so the mock servo bus and the simulator share joint limits.
 */
import { z } from 'zod';
import { JAW_LIMITS, URDF_LIMITS, kinematicToUrdf, urdfToKinematic } from './kinematics.ts';
import { STS3215_RESOLUTION } from './servo.ts';

export const SO101_MOTORS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'] as const;
export type So101Motor = (typeof SO101_MOTORS)[number];
export const ARM_JOINTS = SO101_MOTORS.slice(0, 5) as readonly So101Motor[];

const Ticks = z.number().int().min(0).max(STS3215_RESOLUTION - 1);
export const MotorCalibrationSchema = z
  .object({
    id: z.number().int().min(0).max(253),
    drive_mode: z.union([z.literal(0), z.literal(1)]).default(0),
    homing_offset: z.number().int().min(-2047).max(2047),
    range_min: Ticks,
    range_max: Ticks,
    zero_offset_rad: z.number().min(-2 * Math.PI).max(2 * Math.PI).default(0),
    closed: z.enum(['min', 'max']).default('min'),
  })
  .refine((m) => m.range_min < m.range_max, { message: 'range_min must be below range_max' });
export type MotorCalibration = z.infer<typeof MotorCalibrationSchema>;

export const So101CalibrationSchema = z
  .object(Object.fromEntries(SO101_MOTORS.map((m) => [m, MotorCalibrationSchema])) as Record<So101Motor, typeof MotorCalibrationSchema>)
  .superRefine((c, ctx) => {
    const ids = SO101_MOTORS.map((m) => c[m].id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', message: `motor ids must be distinct (got ${ids.join(', ')})` });
  });
export type So101Calibration = z.infer<typeof So101CalibrationSchema>;

export function parseCalibration(value: unknown, source = 'calibration'): So101Calibration {
  const r = So101CalibrationSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

const RAD_PER_TICK = (2 * Math.PI) / STS3215_RESOLUTION;
const MID = STS3215_RESOLUTION / 2;

/** The simulated arm's calibration: ids 1–6, every range the URDF's limits around mid-range 2048. */
export function nominalCalibration(): So101Calibration {
  const arm = (id: number, limit: number): MotorCalibration => {
    const half = Math.round(limit / RAD_PER_TICK);
    return { id, drive_mode: 0, homing_offset: 0, range_min: MID - half, range_max: MID + half, zero_offset_rad: 0, closed: 'min' };
  };
  return {
    shoulder_pan: arm(1, URDF_LIMITS[0]),
    shoulder_lift: arm(2, URDF_LIMITS[1]),
    elbow_flex: arm(3, URDF_LIMITS[2]),
    wrist_flex: arm(4, URDF_LIMITS[3]),
    wrist_roll: arm(5, URDF_LIMITS[4]),
    // The jaw's URDF range, ticks increasing as it opens; closed at range_min.
    gripper: {
      id: 6, drive_mode: 0, homing_offset: 0, zero_offset_rad: 0, closed: 'min',
      range_min: MID + Math.round(JAW_LIMITS[0] / RAD_PER_TICK), range_max: MID + Math.round(JAW_LIMITS[1] / RAD_PER_TICK),
    },
  };
}

export function mid(m: MotorCalibration): number {
  return (m.range_min + m.range_max) / 2;
}

/** LeRobot's joint angle (= the URDF joint angle, rad) for servo ticks. */
export function ticksToUrdf(m: MotorCalibration, ticks: number): number {
  return (m.drive_mode ? -1 : 1) * (ticks - mid(m)) * RAD_PER_TICK + m.zero_offset_rad;
}

/** Nearest tick for a URDF joint angle, clipped to the calibrated range. */
export function urdfToTicks(m: MotorCalibration, rad: number): number {
  const t = mid(m) + (m.drive_mode ? -1 : 1) * (rad - m.zero_offset_rad) / RAD_PER_TICK;
  return Math.max(m.range_min, Math.min(m.range_max, Math.round(t)));
}

/** Kinematic angle (kinematics.ts) of arm joint `i` (0 = shoulder_pan … 4 = wrist_roll) for servo ticks. */
export function ticksToRad(i: number, m: MotorCalibration, ticks: number): number {
  return urdfToKinematic(i, ticksToUrdf(m, ticks));
}

/** Nearest tick for a kinematic angle of arm joint `i`, clipped to the calibrated range. */
export function radToTicks(i: number, m: MotorCalibration, rad: number): number {
  return urdfToTicks(m, kinematicToUrdf(i, rad));
}

/** Calibrated range of arm joint `i` in kinematic radians [lo, hi]. */
export function jointRange(i: number, m: MotorCalibration): [number, number] {
  const a = ticksToRad(i, m, m.range_min);
  const b = ticksToRad(i, m, m.range_max);
  return a < b ? [a, b] : [b, a];
}

export function ticksToGrip(m: MotorCalibration, ticks: number): number {
  const closed = m.closed === 'min' ? m.range_min : m.range_max;
  const open = m.closed === 'min' ? m.range_max : m.range_min;
  const g = -1 + (2 * (ticks - open)) / (closed - open);
  return Math.max(-1, Math.min(1, g));
}

export function gripToTicks(m: MotorCalibration, grip: number): number {
  const closed = m.closed === 'min' ? m.range_min : m.range_max;
  const open = m.closed === 'min' ? m.range_max : m.range_min;
  const g = Math.max(-1, Math.min(1, grip));
  return Math.round(open + ((g + 1) / 2) * (closed - open));
}
