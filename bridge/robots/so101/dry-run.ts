/**
 * `simreal robot so101 --dry-run`: the driver over the simulated servo bus, set up as the
 * simulator's SO-101 stands: the nominal calibration (the URDF's ranges), the base where the SO-101
 * scenarios put it, and the arm at their home pose, so the dry run and the emulated SO-101 start
 * and move alike.
 */
import { homeJoints, SO101_BASE } from '../../../sim/robot/so101/arm.ts';
import { ARM_JOINTS, gripToTicks, nominalCalibration, radToTicks } from '../../../sim/robot/so101/calibration.ts';
import type { So101Calibration } from '../../../sim/robot/so101/calibration.ts';
import type { ArmBase } from '../../../sim/robot/so101/command.ts';
import { JAW_LIMITS } from '../../../sim/robot/so101/kinematics.ts';
import type { SerialLink } from './bus.ts';
import { FeetechBusSim, openMockSo101Port } from './mock-bus.ts';

export interface DryRunOptions {
  /** Arm joints to start at (kinematic rad); default the SO-101 scenarios' home pose. */
  joints?: readonly number[];
  /** Gripper to start at (−1 open … 1 closed); default open. */
  grip?: number;
  /** The bus clock in ms (default performance.now); tests pass a manual one. */
  clock?: () => number;
}

export interface DryRunArm {
  sim: FeetechBusSim;
  link: SerialLink;
  calibration: So101Calibration;
  base: ArmBase;
}

export { homeJoints };

export async function openDryRunArm(options: DryRunOptions = {}): Promise<DryRunArm> {
  const calibration = nominalCalibration();
  const joints = options.joints ?? homeJoints();
  const positions: Record<number, number> = {};
  ARM_JOINTS.forEach((m, i) => { positions[calibration[m].id] = radToTicks(i, calibration[m], joints[i]); });
  positions[calibration.gripper.id] = gripToTicks(calibration.gripper, options.grip ?? -1);
  // The gripper servo stalls where the jaws meet (jaw angle 0), as on the arm; closing past it presses.
  const g = calibration.gripper;
  const meet = Math.round(g.range_min + (-JAW_LIMITS[0] / (JAW_LIMITS[1] - JAW_LIMITS[0])) * (g.range_max - g.range_min));
  const sim = new FeetechBusSim({ positions, clock: options.clock, stops: { [g.id]: [meet, Infinity] } });
  const { link } = await openMockSo101Port(sim);
  return { sim, link, calibration, base: { ...SO101_BASE } };
}
