/**
 * Physics domain randomization: small pure functions from (ranges, seeded generator) to the values
 * one episode runs with. The generator is the episode's own `physics` stream, isolated from task
 * layout sampling, so changing a layout never changes the physics drawn for a seed (and the other
 * way round). Every sampled value lands in the episode's record.
 */
import type { Rng } from './rng.ts';
import { NOMINAL_ARM } from './robot/so101/arm.ts';
import type { Range } from './ranges.ts';
import type { PhysicsRandomization } from './scenario.ts';

export type RandomizationMode = 'train' | 'heldout' | 'none';

/** The values one episode's physics runs with. Plain data: recorded with the episode. */
export interface PhysicsSample {
  /** Edge length (m) of each block, in task order. */
  blockSize: number[];
  /** Mass (kg) of each block. */
  blockMass: number[];
  tableFriction: number;
  objectFriction: number;
  fingerFriction: number;
  restitution: number;
  linearDamping: number;
  angularDamping: number;
  gripperGain: number;
  gripForce: number;
  /** Control steps of action delay. */
  actionLatency: number;
  actionNoise: number;
  observationNoise: number;
  controlJitter: number;
  /** Gravity vector (m/s²). */
  gravity: [number, number, number];
  // The SO-101's own (present when the scene holds the SO-101; sampleArm).
  /** Servo position gain (1/s). */
  servoGain?: number;
  /** Servo speed limit (rad/s). */
  servoSpeed?: number;
  /** Calibration error per arm joint (rad, signed). */
  jointOffset?: number[];
  /** Backlash per arm joint (rad of play). */
  backlash?: number[];
}

/** The SO-101's part of a PhysicsSample. */
export type ArmSample = Required<Pick<PhysicsSample, 'servoGain' | 'servoSpeed' | 'jointOffset' | 'backlash'>>;

/** What "no randomization" means: the nominal robot and blocks. */
export const NOMINAL: Omit<PhysicsSample, 'blockSize' | 'blockMass'> & { blockSize: number; blockMass: number } = {
  blockSize: 0.05,
  blockMass: 0.1,
  tableFriction: 0.8,
  objectFriction: 0.8,
  fingerFriction: 0.8,
  restitution: 0,
  linearDamping: 0.01,
  angularDamping: 0.01,
  gripperGain: 20,
  gripForce: 12,
  actionLatency: 0,
  actionNoise: 0,
  observationNoise: 0,
  controlJitter: 0,
  gravity: [0, 0, -9.81],
};

function intervals(r: Range): Array<[number, number]> {
  return typeof r[0] === 'number' ? [r as [number, number]] : (r as Array<[number, number]>);
}

/** Uniform over a range (a union of intervals is sampled in proportion to each interval's length). */
export function sampleRange(rng: Rng, r: Range): number {
  const parts = intervals(r);
  let total = 0;
  for (const [a, b] of parts) total += b - a;
  let u = rng.next() * total;
  for (const [a, b] of parts) {
    if (u <= b - a || parts.length === 1) return a + Math.min(u, b - a);
    u -= b - a;
  }
  const [a, b] = parts[parts.length - 1];
  return rng.uniform(a, b);
}

/** Uniform integer over a range (bounds rounded inward to integers). */
export function sampleIntRange(rng: Rng, r: Range): number {
  const parts = intervals(r).map(([a, b]): [number, number] => [Math.ceil(a), Math.floor(b)]).filter(([a, b]) => a <= b);
  if (parts.length === 0) return Math.round(intervals(r)[0][0]);
  let total = 0;
  for (const [a, b] of parts) total += b - a + 1;
  let k = Math.floor(rng.next() * total);
  for (const [a, b] of parts) {
    if (k <= b - a) return a + k;
    k -= b - a + 1;
  }
  return parts[0][0];
}

/** Gravity of magnitude 9.81 tilted `deg` degrees from -z toward a random azimuth. */
export function tiltedGravity(rng: Rng, deg: number): [number, number, number] {
  const tilt = (deg * Math.PI) / 180;
  const az = rng.uniform(0, 2 * Math.PI);
  const g = 9.81;
  return [g * Math.sin(tilt) * Math.cos(az), g * Math.sin(tilt) * Math.sin(az), -g * Math.cos(tilt)];
}

/** Samples one episode's physics for `blocks` blocks. */
export function samplePhysics(rng: Rng, ranges: PhysicsRandomization, blocks: number): PhysicsSample {
  const blockSize: number[] = [];
  const blockMass: number[] = [];
  for (let i = 0; i < blocks; i++) {
    blockSize.push(sampleRange(rng, ranges.blockSize));
    blockMass.push(sampleRange(rng, ranges.blockMass));
  }
  return {
    blockSize,
    blockMass,
    tableFriction: sampleRange(rng, ranges.friction),
    objectFriction: sampleRange(rng, ranges.friction),
    fingerFriction: sampleRange(rng, ranges.friction),
    restitution: sampleRange(rng, ranges.restitution),
    linearDamping: sampleRange(rng, ranges.linearDamping),
    angularDamping: sampleRange(rng, ranges.angularDamping),
    gripperGain: sampleRange(rng, ranges.gripperGain),
    gripForce: sampleRange(rng, ranges.gripForce),
    actionLatency: sampleIntRange(rng, ranges.actionLatency),
    actionNoise: sampleRange(rng, ranges.actionNoise),
    observationNoise: sampleRange(rng, ranges.observationNoise),
    controlJitter: sampleRange(rng, ranges.controlJitter),
    gravity: tiltedGravity(rng, sampleRange(rng, ranges.gravityTilt)),
  };
}

/** The nominal physics for `blocks` blocks (randomization off). */
export function nominalPhysics(blocks: number): PhysicsSample {
  return {
    ...NOMINAL,
    gravity: [...NOMINAL.gravity],
    blockSize: Array.from({ length: blocks }, () => NOMINAL.blockSize),
    blockMass: Array.from({ length: blocks }, () => NOMINAL.blockMass),
  };
}

/**
 * Samples the SO-101's servo gain and speed, calibration error (a random sign per joint) and
 * backlash from their ranges; a range the scenario leaves out stays nominal. Drawn from its own
 * stream (`arm`), so the rest of the physics of a seed is the same with either robot.
 */
export function sampleArm(rng: Rng, ranges: PhysicsRandomization): ArmSample {
  const deg = Math.PI / 180;
  const gain = ranges.servoGain ? sampleRange(rng, ranges.servoGain) : NOMINAL_ARM.servoGain;
  const speed = ranges.servoSpeed ? sampleRange(rng, ranges.servoSpeed) : NOMINAL_ARM.servoSpeed;
  const jointOffset: number[] = [];
  const backlash: number[] = [];
  for (let i = 0; i < 5; i++) {
    const off = ranges.jointOffsetDeg ? sampleRange(rng, ranges.jointOffsetDeg) * deg : 0;
    jointOffset.push(rng.next() < 0.5 ? -off : off);
    backlash.push(ranges.backlashDeg ? sampleRange(rng, ranges.backlashDeg) * deg : 0);
  }
  return { servoGain: gain, servoSpeed: speed, jointOffset, backlash };
}

/** The nominal SO-101 (randomization off). */
export function nominalArm(): ArmSample {
  return { servoGain: NOMINAL_ARM.servoGain, servoSpeed: NOMINAL_ARM.servoSpeed, jointOffset: [...NOMINAL_ARM.jointOffset], backlash: [...NOMINAL_ARM.backlash] };
}
