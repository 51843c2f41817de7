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
 * Joint angle from servo ticks (the arm joints): q = s · (ticks − mid) · 2π / 4096 + zero_offset_rad,
 * with mid = (range_min + range_max) / 2 (LeRobot's "degrees" normalization) and s = −1 when
 * drive_mode is 1. `zero_offset_rad` maps LeRobot's zero (middle of the range) to the kinematic
 * zero of kinematics.ts (arm stretched out horizontally, tool in line with the forearm); find it by
 * posing the arm that way and reading the joints. Gripper: `closed` names the end of its range
 * where the jaws close (LeRobot: range_min); grip −1 (open) … 1 (closed) maps linearly between.
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { STS3215_RESOLUTION } from './feetech.ts';

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

export function loadCalibration(path: string): So101Calibration {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read calibration file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`calibration file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseCalibration(json, path);
}

/** A nominal calibration (ids 1–6, ±90° around mid-range, full-turn wrist roll) for the simulated bus. */
export function nominalCalibration(): So101Calibration {
  const arm = { drive_mode: 0 as const, homing_offset: 0, range_min: 1024, range_max: 3072, zero_offset_rad: 0, closed: 'min' as const };
  return {
    shoulder_pan: { id: 1, ...arm },
    shoulder_lift: { id: 2, ...arm },
    elbow_flex: { id: 3, ...arm },
    wrist_flex: { id: 4, ...arm },
    wrist_roll: { id: 5, ...arm, range_min: 0, range_max: 4095 },
    gripper: { id: 6, ...arm, range_min: 2000, range_max: 3400 },
  };
}

const RAD_PER_TICK = (2 * Math.PI) / STS3215_RESOLUTION;

export function mid(m: MotorCalibration): number {
  return (m.range_min + m.range_max) / 2;
}

export function ticksToRad(m: MotorCalibration, ticks: number): number {
  return (m.drive_mode ? -1 : 1) * (ticks - mid(m)) * RAD_PER_TICK + m.zero_offset_rad;
}

/** Nearest tick for an angle, clipped to the calibrated range. */
export function radToTicks(m: MotorCalibration, rad: number): number {
  const t = mid(m) + (m.drive_mode ? -1 : 1) * (rad - m.zero_offset_rad) / RAD_PER_TICK;
  return Math.max(m.range_min, Math.min(m.range_max, Math.round(t)));
}

/** Joint range in radians [lo, hi]. */
export function jointRange(m: MotorCalibration): [number, number] {
  const a = ticksToRad(m, m.range_min);
  const b = ticksToRad(m, m.range_max);
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
