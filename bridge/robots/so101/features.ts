/**
 * What an SO-101 arm observes and how it is commanded on the bridge, in one place: the driver for
 * the real arm (so101.ts) and the emulated SO-101 (robots/emulated) both declare these features, so
 * a controller cannot tell them apart and a policy that drives one drives the other unchanged.
 *
 * - `ee.pose` [x, y, z, yaw, grip]: the tool point midway between the jaw pads, table frame, yaw
 *   of the jaw line (forward kinematics of the present joints and jaw, sim/robot/so101/).
 * - `joints`: the five arm joints in kinematic radians and the gripper as grip (−1 open … 1 closed).
 * - Actions: end-effector `[x, y, z, yaw, grip]` in the chosen form; the normalized form's step
 *   scale is the simulator's (sim/env.ts MAX_DELTA, MAX_DYAW) and the control rate the SO-101
 *   scenarios' (20 Hz), so a policy trained in simulation sees the same step per action on both.
 */
import { MAX_DELTA, MAX_DYAW } from '../../../sim/env.ts';
import { SO101_MOTORS } from '../../../sim/robot/so101/calibration.ts';
import type { ActionForm, Features, RobotLimits } from '../../protocol.ts';

/** Per-step scale of a normalized action, [m, m, m, rad]: the simulator's. */
export const SO101_MAX_DELTA: [number, number, number, number] = [MAX_DELTA, MAX_DELTA, MAX_DELTA, MAX_DYAW];
/** Control rate (Hz) the arm advertises by default: the SO-101 scenarios' rate. */
export const SO101_CONTROL_HZ = 20;

export const SO101_CONTROL = {
  /** Largest joint move per step from the present position (rad), LeRobot's `max_relative_target` idea. */
  maxRelativeTarget: 0.15,
};

export interface So101FeatureOptions {
  /** Default `ee_delta_normalized`. */
  form?: ActionForm;
  /** Step scale of the normalized form (default SO101_MAX_DELTA). */
  maxDelta?: [number, number, number, number];
  /** Default SO101_CONTROL_HZ. */
  controlHz?: number;
  limits?: RobotLimits;
}

export function so101Features(o: So101FeatureOptions = {}): Features {
  const form = o.form ?? 'ee_delta_normalized';
  return {
    observation: {
      'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'], unit: 'm, rad' },
      joints: { kind: 'state', dtype: 'float64', shape: [6], names: [...SO101_MOTORS], unit: 'rad (gripper: grip)' },
    },
    action: { form, poseKey: 'ee.pose', ...(form === 'ee_delta_normalized' ? { maxDelta: o.maxDelta ?? [...SO101_MAX_DELTA] } : {}) },
    controlHz: o.controlHz ?? SO101_CONTROL_HZ,
    ...(o.limits ? { limits: o.limits } : {}),
  };
}
