/**
 * The Feetech STS3215 servo as the SO-101 uses it (six per arm), and the joint model the simulated
 * arm runs: position control with a speed limit, as the servo's own controller does.
 *
 * Numbers:
 * - 4096 positions per turn (12-bit magnetic encoder, 0.088° per step).
 * - No-load speed 0.22 s/60° = 45 rpm = 4.71 rad/s (the datasheet figure quoted, and measured at
 *   46 rpm, in TheRobotStudio/SO-ARM100 issue #134, "Feetech STS3215 servos has around 1 degree real
 *   backlash"; the same issue gives gearbox backlash ≤ 0.5° in the datasheet and ~1° measured).
 * - Acceleration: register 41 holds it in units of 100 steps/s² (Feetech's FTServo library,
 *   examples SMS_STS/SyncWritePos: "A = 50 (50 × 100 steps/s²)"); the driver, like LeRobot's
 *   Feetech bus, writes 254: 25,400 steps/s² = 39 rad/s².
 * - Position gain: near its goal the servo closes the error at 1/`gain` seconds' time constant;
 *   100/s settles the last milliradians within a few milliseconds.
 *
 * Joint model (`servoStep`, `ServoJoint`): the motor angle (what the servo's encoder reads, what
 * the robot reports) follows a trapezoidal velocity profile toward the goal: its velocity heads for
 * `min(speed, √(2 · accel · |error|), gain · |error|)` (the last two: braking in time, settling)
 * and changes by at most `accel · dt` per step. The link it turns sits at the motor angle plus a
 * calibration error (`offset`: the arm's zero differs from what its calibration says) and within a
 * backlash play of ± `backlash / 2` around that (the link lags behind the motor by up to half the
 * play, whichever way it last moved). The simulated servo bus (bridge/robots/so101/mock-bus.ts)
 * moves its servos with the same `servoStep`, at the same 1/240 s steps.
 */

export const STS3215_RESOLUTION = 4096;
/** No-load speed (rad/s): 45 rpm. */
export const STS3215_SPEED = (45 * 2 * Math.PI) / 60;
/** The same in encoder ticks per second. */
export const STS3215_SPEED_TICKS = Math.round((STS3215_SPEED * STS3215_RESOLUTION) / (2 * Math.PI));
/** Acceleration at register value 254 (rad/s²). */
export const STS3215_ACCEL = (254 * 100 * 2 * Math.PI) / STS3215_RESOLUTION;
/** Nominal position gain of the joint model (1/s). */
export const SERVO_GAIN = 100;
/** The step the joint model integrates with (s): the simulator's physics step. */
export const SERVO_DT = 1 / 240;

export interface ServoParams {
  /** Position gain (1/s). */
  gain: number;
  /** Speed limit (rad/s, or ticks/s for a bus in ticks). */
  speed: number;
  /** Acceleration limit (rad/s², or ticks/s²). Default STS3215_ACCEL (in rad/s²). */
  accel?: number;
}

/**
 * The velocity a servo at `position` moving at `velocity` runs with over the next `dt` toward
 * `goal` (any unit, consistently): the trapezoidal profile above, never stepping past the goal.
 */
export function servoStep(position: number, velocity: number, goal: number, p: ServoParams, dt: number): number {
  const err = goal - position;
  const a = p.accel ?? STS3215_ACCEL;
  const mag = Math.abs(err);
  const want = Math.sign(err) * Math.min(p.speed, Math.sqrt(2 * a * mag), p.gain * mag);
  const dv = Math.max(-a * dt, Math.min(a * dt, want - velocity));
  let v = velocity + dv;
  // Never step past the goal.
  if ((err >= 0 && v * dt > err) || (err <= 0 && v * dt < err)) v = err / dt;
  return v;
}

/** One joint: a speed-limited position servo turning a link through a calibration error and backlash. */
export class ServoJoint {
  /** Encoder angle (rad, kinematic convention): what the robot reads and reports. */
  motor: number;
  /** Angle of the link itself (rad): motor + offset, within the backlash play. */
  link: number;
  /** Goal angle (rad). */
  goal: number;
  /** Motor velocity planned for the coming substep (rad/s). */
  velocity = 0;
  readonly lo: number;
  readonly hi: number;
  private readonly offset: number;
  private readonly halfPlay: number;

  constructor(options: { angle: number; limits: readonly [number, number]; offset?: number; backlash?: number }) {
    this.lo = options.limits[0];
    this.hi = options.limits[1];
    this.offset = options.offset ?? 0;
    this.halfPlay = (options.backlash ?? 0) / 2;
    this.motor = Math.min(this.hi, Math.max(this.lo, options.angle));
    this.goal = this.motor;
    this.link = this.motor + this.offset;
  }

  /** Plans the motor velocity for a substep of `dt` toward the goal. */
  plan(p: ServoParams, dt: number): number {
    this.velocity = servoStep(this.motor, this.velocity, this.goal, p, dt);
    return this.velocity;
  }

  /** The link angle after the motor moved to `motor` (backlash: the link follows within the play). */
  linkAt(motor: number): number {
    const centre = motor + this.offset;
    if (this.link > centre + this.halfPlay) return centre + this.halfPlay;
    if (this.link < centre - this.halfPlay) return centre - this.halfPlay;
    return this.link;
  }

  /** Applies the planned velocity for `dt` (or none, when the arm is stopped). */
  advance(dt: number, stopped: boolean): void {
    if (stopped) {
      this.velocity = 0;
      return;
    }
    this.motor = Math.min(this.hi, Math.max(this.lo, this.motor + this.velocity * dt));
    this.link = this.linkAt(this.motor);
  }
}
