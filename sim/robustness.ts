/**
 * Robustness sweeps: where a policy breaks along one physics parameter. A sweep tries one
 * randomized parameter at evenly spaced values across and beyond the scenario's training and
 * held-out ranges while every other parameter stays at its nominal value (what `--randomization
 * none` runs with), so a drop in success belongs to that parameter alone.
 *
 * The values are physics ranges of zero width (`[v, v]`), sampled by the same code as any other
 * episode (randomization.ts): at a parameter's nominal value a sweep episode is the
 * no-randomization episode of the same seed. Gravity tilt keeps its seeded direction.
 */
import type { Range } from './ranges.ts';
import { NOMINAL } from './randomization.ts';
import { SO101_BLOCK_SIZE } from './robot/so101/arm.ts';
import type { RobotKind } from './robot/robot.ts';
import { PHYSICS_BOUNDS } from './scenario.ts';
import type { PhysicsRandomization, Scenario } from './scenario.ts';

/** The physics parameters every robot shares (the SO-101's own are not swept). */
export type SweepParameter = keyof typeof PHYSICS_BOUNDS;

/** Every parameter a sweep can vary, in the order scenario files list them. */
export const SWEEP_PARAMETERS = Object.keys(PHYSICS_BOUNDS) as SweepParameter[];

/** Integer-valued parameters (control steps). */
export const INTEGER_PARAMETERS: ReadonlySet<SweepParameter> = new Set(['actionLatency']);

/** The nominal value of each parameter, as NOMINAL (randomization.ts) states it. */
export const NOMINAL_VALUES: Record<SweepParameter, number> = {
  blockSize: NOMINAL.blockSize,
  blockMass: NOMINAL.blockMass,
  friction: NOMINAL.objectFriction,
  restitution: NOMINAL.restitution,
  linearDamping: NOMINAL.linearDamping,
  angularDamping: NOMINAL.angularDamping,
  gripperGain: NOMINAL.gripperGain,
  gripForce: NOMINAL.gripForce,
  actionLatency: NOMINAL.actionLatency,
  actionNoise: NOMINAL.actionNoise,
  observationNoise: NOMINAL.observationNoise,
  controlJitter: NOMINAL.controlJitter,
  gravityTilt: 0,
};

/**
 * The nominal values for a robot: the SO-101's blocks are smaller (SO101_BLOCK_SIZE, what its
 * scenarios' ranges lie around and what its unrandomized episodes use); the rest is shared.
 */
export function nominalValuesFor(robot: RobotKind = 'mount'): Record<SweepParameter, number> {
  return robot === 'so101' ? { ...NOMINAL_VALUES, blockSize: SO101_BLOCK_SIZE } : NOMINAL_VALUES;
}

/** Ranges of zero width at every nominal value: sampling them gives the nominal physics. */
export function nominalRanges(robot: RobotKind = 'mount'): PhysicsRandomization {
  const nominal = nominalValuesFor(robot);
  const out = {} as Record<SweepParameter, [number, number]>;
  for (const p of SWEEP_PARAMETERS) out[p] = [nominal[p], nominal[p]];
  return out;
}

/** The unit each parameter is given in (for axis labels). */
export const PARAMETER_UNITS: Record<SweepParameter, string> = {
  blockSize: 'm',
  blockMass: 'kg',
  friction: 'coefficient',
  restitution: 'coefficient',
  linearDamping: 'fraction/s',
  angularDamping: 'fraction/s',
  gripperGain: '1/s',
  gripForce: 'N',
  actionLatency: 'control steps',
  actionNoise: 'std, normalized action',
  observationNoise: 'std, m',
  controlJitter: 'fraction of the period',
  gravityTilt: 'degrees',
};

/** The nominal ranges (of `robot`) with `parameter` fixed at `value`. */
export function rangesWith(parameter: SweepParameter, value: number, robot: RobotKind = 'mount'): PhysicsRandomization {
  if (!SWEEP_PARAMETERS.includes(parameter)) throw new RangeError(`unknown parameter ${parameter}; known: ${SWEEP_PARAMETERS.join(', ')}`);
  return { ...nominalRanges(robot), [parameter]: [value, value] };
}

/** The intervals of a range. */
export function intervalsOf(r: Range): Array<[number, number]> {
  return typeof r[0] === 'number' ? [r as [number, number]] : (r as Array<[number, number]>);
}

/** Lowest and highest value of a range. */
export function extentOf(r: Range): [number, number] {
  const parts = intervalsOf(r);
  return [Math.min(...parts.map((p) => p[0])), Math.max(...parts.map((p) => p[1]))];
}

export function inRange(value: number, r: Range, eps = 1e-12): boolean {
  return intervalsOf(r).some(([a, b]) => value >= a - eps && value <= b + eps);
}

/** Where a value lies: in the training range (which wins at a shared edge), the held-out range, or beyond both. */
export type Region = 'train' | 'heldout' | 'beyond';

export function regionOf(value: number, train: Range, heldout: Range): Region {
  if (inRange(value, train)) return 'train';
  if (inRange(value, heldout)) return 'heldout';
  return 'beyond';
}

/** How far past the training and held-out ranges a sweep reaches on each side, as a fraction of their joint width. */
export const SWEEP_MARGIN = 0.5;

/**
 * The values a sweep tries: `points` evenly spaced values from below to above the union of the
 * training range, the held-out range and the nominal value, reaching SWEEP_MARGIN of that span
 * further on each side (within what scenario files allow). Integer parameters take each integer
 * once, so they may have fewer points.
 */
export function sweepValues(parameter: SweepParameter, scenario: Scenario, points: number): number[] {
  if (!(Number.isInteger(points) && points >= 2)) throw new RangeError(`a sweep needs at least 2 points, got ${points}`);
  const [tLo, tHi] = extentOf(scenario.randomization[parameter]);
  const [hLo, hHi] = extentOf(scenario.heldout[parameter]);
  const nominal = nominalValuesFor(scenario.robot)[parameter];
  let lo = Math.min(tLo, hLo, nominal), hi = Math.max(tHi, hHi, nominal);
  const width = hi - lo || Math.max(Math.abs(hi), 1e-3);
  const [bLo, bHi] = PHYSICS_BOUNDS[parameter];
  lo = Math.max(bLo, lo - SWEEP_MARGIN * width);
  hi = Math.min(bHi, hi + SWEEP_MARGIN * width);
  if (INTEGER_PARAMETERS.has(parameter)) {
    const a = Math.ceil(lo), b = Math.floor(hi);
    const n = b - a + 1;
    if (n <= points) return Array.from({ length: n }, (_, i) => a + i);
    return [...new Set(Array.from({ length: points }, (_, i) => Math.round(a + ((b - a) * i) / (points - 1))))];
  }
  // Rounded to 6 significant digits, so printed values and JSON read cleanly.
  return Array.from({ length: points }, (_, i) => Number((lo + ((hi - lo) * i) / (points - 1)).toPrecision(6)));
}
