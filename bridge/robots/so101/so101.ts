/**
 * The SO-100/SO-101 arm (six Feetech STS3215 servos, ids 1–6) as a bridge `Robot`.
 *
 * Commands are end-effector actions `[x, y, z, yaw, grip]` in the table frame (the form is
 * chosen in the options; default `ee_delta_normalized`). Each step:
 *  1. the new target = previous target (+ delta), in the table frame;
 *  2. joint goals as the simulated SO-101 computes them (sim/robot/so101/command.ts): fingertips
 *     kept 3 mm above the table, inverse kinematics with the tool pointing down, the roll that
 *     turns least for the jaw line, goals clipped to the calibrated ranges and all joints' steps
 *     scaled together to at most `maxRelativeTarget` radians (LeRobot's `max_relative_target`);
 *  3. one SYNC_WRITE of Goal_Position to all six servos;
 *  4. the action returned is recomputed from the joints actually sent (forward kinematics).
 * Observations: one SYNC_READ of Present_Position → `joints` and `ee.pose` [x, y, z, yaw, grip],
 * the pose being the tool point: midway between the jaw pads, 2.2 cm above the fingertips
 * (sim/robot/so101/jaw.ts), as the simulated arm reports it.
 *
 * Safety: torque is enabled only after Goal_Position has been set to the present position (no
 * jump on power-up); `emergencyStop` and `disconnect` switch torque off on every servo (the arm
 * goes limp: support it). A status packet reporting overload, overheating or over-current is a
 * fault: the robot raises the bridge e-stop through `onFault`.
 *
 * Its own safe zone (robots/workspace-guard.ts), on the measured joints, before every move: once
 * the hub's limits arrive, a present pose beyond the workspace box by more than the margin stops
 * the arm (goal := present) and the step fails, which raises the e-stop; otherwise the target is
 * clipped into the box, and the joint step (which joint limits and `maxRelativeTarget` may bend
 * off the straight line) is shortened until the pose it reaches, after rounding to servo ticks,
 * lies in the box (or no further out than the arm already is), with the jaw where it is and where
 * it is commanded (the tool point moves with the jaw).
 */
import type { ActionForm, ActionVector, Features, RobotLimits, SafetyLimits } from '../../protocol.ts';
import type { Robot, RobotObservation } from '../../robot.ts';
import { WorkspaceGuard, excursion } from '../workspace-guard.ts';
import { FeetechBus } from './bus.ts';
import type { SerialLink, BusOptions } from './bus.ts';
import * as F from './feetech.ts';
import { SO101_MOTORS, ARM_JOINTS, ticksToRad, radToTicks, jointRange, ticksToGrip, gripToTicks } from '../../../sim/robot/so101/calibration.ts';
import type { So101Calibration } from '../../../sim/robot/so101/calibration.ts';
import { commandJoints, TIP_FLOOR, toolPose } from '../../../sim/robot/so101/command.ts';
import type { ArmBase, ToolOffset } from '../../../sim/robot/so101/command.ts';
import { jawAngleForGrip, toolOffset, widthAt } from '../../../sim/robot/so101/jaw.ts';
import { jawLineYaw } from '../../../sim/robot/so101/kinematics.ts';
import { SO101_CONTROL, so101Features } from './features.ts';

export interface So101Options {
  /** The byte link to the servo bus (openSerialLink for hardware, openMockSo101Port for the simulation). */
  link: SerialLink;
  calibration: So101Calibration;
  /** Action form (default `ee_delta_normalized`). */
  form?: ActionForm;
  /** Per-step scale of a normalized action, [m, m, m, rad] (default the simulator's, features.ts). */
  maxDelta?: [number, number, number, number];
  /** Control rate the robot advertises (default 20 Hz, features.ts). */
  controlHz?: number;
  /** The arm's base in the table frame (default at the origin, facing +x). */
  base?: { x: number; y: number; z: number; yaw: number };
  /** Largest joint move per step from the present position, radians (default 0.15, features.ts); all joints' moves are scaled together. */
  maxRelativeTarget?: number;
  /** Lowest fingertip height in the table frame the arm is sent to (default 3 mm). */
  floor?: number;
  /** Limits the robot declares to the hub (hub ∩ these is enforced). */
  limits?: RobotLimits;
  /** Write the calibration's homing offsets and ranges into the servos' EPROM on connect (default false: verify only). */
  writeCalibration?: boolean;
  /** Servo position gains written on connect (LeRobot's defaults: P 16, I 0, D 32). */
  gains?: { p: number; i: number; d: number };
  bus?: BusOptions;
  /** How far the measured end effector may be beyond the workspace box before the arm stops (default 5 mm). */
  workspaceMarginM?: number;
}

const FAULT_BITS = F.STATUS_ERROR_BITS.overload | F.STATUS_ERROR_BITS.overheat | F.STATUS_ERROR_BITS.overcurrent;

export class So101Robot implements Robot {
  readonly features: Features;
  private readonly options: So101Options;
  private readonly cal: So101Calibration;
  private readonly ids: number[];
  private bus: FeetechBus | null = null;
  private connected = false;
  private torqueOn = false;
  private estopped = false;
  /** Commanded target in the table frame [x, y, z, yaw]. */
  private target: [number, number, number, number] | null = null;
  private grip = -1;
  private presentTicks: number[] = [];
  private readonly base: ArmBase;
  /** Calibrated joint ranges (kinematic rad). */
  private readonly limits: Array<[number, number]>;
  /** The roll the current jaw line is reached with (command.ts). */
  private rollAim = 0;
  private faultListener: ((reason: string) => void) | null = null;
  private readonly guard: WorkspaceGuard;
  /** sendAction calls so far, and how many had finished writing goals. */
  private sent = 0;
  private done = 0;

  constructor(options: So101Options) {
    this.options = options;
    this.cal = options.calibration;
    this.ids = SO101_MOTORS.map((m) => this.cal[m].id);
    this.guard = new WorkspaceGuard({ marginM: options.workspaceMarginM });
    this.base = options.base ?? { x: 0, y: 0, z: 0, yaw: 0 };
    this.limits = ARM_JOINTS.map((m, i) => jointRange(i, this.cal[m]));
    this.features = so101Features({ form: options.form, maxDelta: options.maxDelta, controlHz: options.controlHz, limits: options.limits });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  onFault(listener: (reason: string) => void): void {
    this.faultListener = listener;
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    const bus = new FeetechBus(this.options.link, this.options.bus);
    this.bus = bus;
    bus.onStatusError = (id, error) => {
      if (error & FAULT_BITS) this.faultListener?.(`servo ${id} reports ${F.describeStatusError(error).join(', ')}`);
    };
    for (const m of SO101_MOTORS) {
      const id = this.cal[m].id;
      if (!(await bus.ping(id))) throw new Error(`servo ${id} (${m}) does not answer: check power, wiring, baud rate and ids`);
      const model = await bus.readRegister(id, F.STS.MODEL_NUMBER);
      if (model !== F.STS3215_MODEL_NUMBER) throw new Error(`servo ${id} (${m}) is model ${model}, expected an STS3215 (${F.STS3215_MODEL_NUMBER})`);
    }
    await this.torque(false);
    const g = this.options.gains ?? { p: 16, i: 0, d: 32 };
    for (const m of SO101_MOTORS) {
      const c = this.cal[m];
      await bus.writeRegister(c.id, F.STS.LOCK, 0);
      if (this.options.writeCalibration) {
        await bus.writeRegister(c.id, F.STS.HOMING_OFFSET, F.encodeSignMagnitude(c.homing_offset, 11));
        await bus.writeRegister(c.id, F.STS.MIN_POSITION_LIMIT, c.range_min);
        await bus.writeRegister(c.id, F.STS.MAX_POSITION_LIMIT, c.range_max);
      } else {
        const offset = F.decodeSignMagnitude(await bus.readRegister(c.id, F.STS.HOMING_OFFSET), 11);
        if (offset !== c.homing_offset) throw new Error(`servo ${c.id} (${m}) has homing offset ${offset}, the calibration file says ${c.homing_offset}: recalibrate, or connect with writeCalibration (--write-calibration)`);
      }
      await bus.writeRegister(c.id, F.STS.OPERATING_MODE, 0);
      await bus.writeRegister(c.id, F.STS.P_COEFFICIENT, g.p);
      await bus.writeRegister(c.id, F.STS.I_COEFFICIENT, g.i);
      await bus.writeRegister(c.id, F.STS.D_COEFFICIENT, g.d);
      await bus.writeRegister(c.id, F.STS.ACCELERATION, 254);
      await bus.writeRegister(c.id, F.STS.RETURN_DELAY_TIME, 0);
    }
    this.connected = true;
    await this.hold();
  }

  async getObservation(): Promise<RobotObservation> {
    // Goals written before this read are the ones its pose follows.
    const actions = this.done;
    const ticks = await this.readPresent();
    const q = ARM_JOINTS.map((m, i) => ticksToRad(i, this.cal[m], ticks[i]));
    const grip = ticksToGrip(this.cal.gripper, ticks[5]);
    const pose = toolPose(this.base, q, this.tool(grip));
    if (this.target) pose[3] = jawLineYaw(pose[3], this.target[3]);
    return { state: { 'ee.pose': [...pose, grip], joints: [...q, grip] }, actions };
  }

  setLimits(limits: SafetyLimits): void {
    this.guard.setLimits(limits, this.presentTicks.length ? this.poseOfTicks(this.presentTicks) : undefined);
  }

  async sendAction(action: ActionVector): Promise<ActionVector> {
    this.sent++;
    try {
      return await this.step(action);
    } finally {
      this.done = this.sent;
    }
  }

  private async step(action: ActionVector): Promise<ActionVector> {
    const bus = this.requireBus();
    if (this.estopped) throw new Error('SO-101 is e-stopped: hold after a reset re-arms it');
    if (!this.target) await this.hold();
    const prev = this.target!;
    const form = this.features.action.form;
    let desired: [number, number, number, number];
    if (form === 'ee_target') desired = [action[0], action[1], action[2], action[3]];
    else {
      const s = form === 'ee_delta_normalized' ? this.features.action.maxDelta! : [1, 1, 1, 1];
      const a = form === 'ee_delta_normalized' ? action.slice(0, 4).map((v) => Math.max(-1, Math.min(1, v))) : action.slice(0, 4);
      desired = [prev[0] + a[0] * s[0], prev[1] + a[1] * s[1], prev[2] + a[2] * s[2], prev[3] + a[3] * s[3]];
    }
    const present = await this.readPresent();
    const presentQ = ARM_JOINTS.map((m, i) => ticksToRad(i, this.cal[m], present[i]));
    const tool = this.tool(ticksToGrip(this.cal.gripper, present[5]));
    // The safe zone, on the measured pose.
    const measured = toolPose(this.base, presentQ, tool);
    const breach = this.guard.check(measured);
    if (breach) {
      await this.hold();
      throw new Error(`SO-101 stopped: ${breach}`);
    }
    this.guard.clampTarget(desired, measured);
    const out = commandJoints({
      base: this.base, desired, present: presentQ, rollAim: this.rollAim, limits: this.limits,
      maxStep: this.options.maxRelativeTarget ?? SO101_CONTROL.maxRelativeTarget, floor: this.options.floor ?? TIP_FLOOR, tool,
    });
    this.rollAim = out.rollAim;
    const grip = Math.max(-1, Math.min(1, action[4]));
    // The tool point moves with the jaw (midway between the pads): the step must keep it in the box
    // at the present opening and at the commanded one (and so at every opening between).
    const q = this.keepInside(presentQ, out.goals, measured, [tool, this.tool(grip)]);
    if (q !== out.goals) {
      // The step was shortened to stay in the box: the target is where the shortened step goes.
      const reached = toolPose(this.base, q, tool);
      out.target = [reached[0], reached[1], reached[2], jawLineYaw(reached[3], out.target[3])];
    }
    const goals = new Map<number, number>();
    ARM_JOINTS.forEach((m, i) => goals.set(this.cal[m].id, F.encodeSignMagnitude(radToTicks(i, this.cal[m], q[i]), 15)));
    goals.set(this.cal.gripper.id, F.encodeSignMagnitude(gripToTicks(this.cal.gripper, grip), 15));
    await bus.syncWrite(F.STS.GOAL_POSITION, goals);
    // What was actually sent, as the robot's form: forward kinematics of the ticks written.
    const sentQ = ARM_JOINTS.map((m, i) => ticksToRad(i, this.cal[m], radToTicks(i, this.cal[m], q[i])));
    const sentGrip = ticksToGrip(this.cal.gripper, gripToTicks(this.cal.gripper, grip));
    const applied = toolPose(this.base, sentQ, tool);
    applied[3] = jawLineYaw(applied[3], out.target[3]);
    // The next step adds to the target the goals stand for (as the simulated arm does), not to its
    // rounding to whole ticks: rounding errors do not add up.
    this.target = out.target;
    this.grip = sentGrip;
    if (form === 'ee_target') return [applied[0], applied[1], applied[2], applied[3], sentGrip];
    const s = form === 'ee_delta_normalized' ? this.features.action.maxDelta! : [1, 1, 1, 1];
    return [0, 1, 2, 3].map((i) => (applied[i] - prev[i]) / s[i]).concat(sentGrip) as ActionVector;
  }

  /**
   * The longest part of the joint step present → q whose pose, at the servo ticks it would be
   * written as, is inside the box (or no further out than the present pose). Bisection on the
   * fraction of the step (the box is convex and a step is short, so the path leaves it once).
   */
  private keepInside(presentQ: number[], q: number[], measured: readonly number[], tools: ToolOffset[]): number[] {
    const box = this.guard.box;
    if (!box) return q;
    const limit = excursion(measured, box) + 1e-9;
    const at = (t: number): number[] => q.map((v, i) => presentQ[i] + t * (v - presentQ[i]));
    const out = (qq: number[]): number => {
      const sent = ARM_JOINTS.map((m, i) => ticksToRad(i, this.cal[m], radToTicks(i, this.cal[m], qq[i])));
      return Math.max(...tools.map((tool) => excursion(toolPose(this.base, sent, tool), box)));
    };
    if (out(q) <= limit) return q;
    let lo = 0;
    let hi = 1;
    for (let k = 0; k < 20; k++) {
      const mid = (lo + hi) / 2;
      if (out(at(mid)) <= limit) lo = mid;
      else hi = mid;
    }
    return lo > 0 && out(at(lo)) <= limit ? at(lo) : presentQ;
  }

  private poseOfTicks(ticks: number[]): number[] {
    return toolPose(this.base, ARM_JOINTS.map((m, i) => ticksToRad(i, this.cal[m], ticks[i])), this.tool(ticksToGrip(this.cal.gripper, ticks[5])));
  }

  /** Goal := present position on every servo, torque on (re-arms after an e-stop). */
  async hold(): Promise<void> {
    const bus = this.requireBus();
    const present = await this.readPresent();
    const goals = new Map<number, number>();
    this.ids.forEach((id, i) => goals.set(id, F.encodeSignMagnitude(present[i], 15)));
    await bus.syncWrite(F.STS.GOAL_POSITION, goals);
    if (!this.torqueOn) {
      await this.torque(true);
      for (const id of this.ids) await bus.writeRegister(id, F.STS.LOCK, 1);
    }
    this.estopped = false;
    const q = ARM_JOINTS.map((m, i) => ticksToRad(i, this.cal[m], present[i]));
    this.target = toolPose(this.base, q, this.tool(ticksToGrip(this.cal.gripper, present[5])));
    this.rollAim = q[4];
    this.grip = ticksToGrip(this.cal.gripper, present[5]);
  }

  async emergencyStop(_reason: string): Promise<void> {
    this.estopped = true;
    if (this.bus) await this.torque(false);
  }

  async disconnect(): Promise<void> {
    if (!this.bus) return;
    try {
      await this.torque(false);
    } finally {
      await this.bus.close();
      this.bus = null;
      this.connected = false;
      this.target = null;
    }
  }

  // -------------------------------------------------------------------------------------------

  /** The tool point (sim/robot/so101/jaw.ts) for the jaw opening a grip reading implies. */
  private tool(grip: number): ToolOffset {
    return toolOffset(widthAt(jawAngleForGrip(grip)));
  }

  private requireBus(): FeetechBus {
    if (!this.bus) throw new Error('SO-101 is not connected');
    return this.bus;
  }

  private async torque(on: boolean): Promise<void> {
    const bus = this.requireBus();
    await bus.syncWrite(F.STS.TORQUE_ENABLE, new Map(this.ids.map((id) => [id, on ? 1 : 0])));
    this.torqueOn = on;
  }

  private async readPresent(): Promise<number[]> {
    const r = await this.requireBus().syncRead(F.STS.PRESENT_POSITION, this.ids);
    this.presentTicks = this.ids.map((id) => F.decodeSignMagnitude(r.get(id)!, 15));
    return this.presentTicks;
  }
}
