/**
 * Scenarios: what a user runs. A scenario file names a task and its parameters, the control
 * timing, the episode length, and the ranges that physics randomization samples from, both for
 * training (`randomization`) and for evaluation on conditions never seen in training
 * (`heldout`). Validated by zod at load; `schemaVersion` versions the file format.
 *
 * A range is `[min, max]`, or a list of such intervals (`[[0.04, 0.045], [0.055, 0.06]]`): held-out
 * ranges usually lie on both sides of the training range.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues } from './json-issues.ts';
import { ROBOT_KINDS } from './robot/robot.ts';
import { range } from './ranges.ts';
import { VisualSchema } from './render/visual-schema.ts';

export const SCHEMA_VERSION = 1;

/** What each physics range may span, [lowest, highest]. */
export const PHYSICS_BOUNDS = {
  /** Block edge length (m), per block. */
  blockSize: [0.02, 0.08],
  /** Block mass (kg), per block. */
  blockMass: [0.01, 1],
  /** Friction coefficient, sampled separately for block–table, block–block and finger–block. */
  friction: [0.05, 2],
  restitution: [0, 0.9],
  linearDamping: [0, 0.9],
  angularDamping: [0, 0.9],
  /** Mount position gain (1/s). */
  gripperGain: [2, 100],
  /** Largest finger force (N). */
  gripForce: [1, 60],
  /** Control steps between choosing an action and it reaching the robot (integer). */
  actionLatency: [0, 10],
  /** Std of Gaussian noise added to each normalized action component. */
  actionNoise: [0, 1],
  /** Std of Gaussian noise on observed positions (m). */
  observationNoise: [0, 0.1],
  /** Control period varies by up to this fraction (substeps per period are rounded). */
  controlJitter: [0, 0.5],
  /** Gravity tilts by this many degrees, in a random direction. */
  gravityTilt: [0, 10],
} as const satisfies Record<string, readonly [number, number]>;

/** The SO-101's own (robot "so101" only; absent from a scenario: the nominal arm). Not swept. */
export const ARM_BOUNDS = {
  /** Servo position gain (1/s); nominal 100. */
  servoGain: [10, 1000],
  /** Servo speed limit (rad/s); an STS3215 without load: 4.71. */
  servoSpeed: [0.5, 10],
  /** Calibration error per arm joint (degrees), each joint a random sign: the arm's zero is off by this. */
  jointOffsetDeg: [0, 10],
  /** Backlash per arm joint (degrees of play); the STS3215's datasheet gives ≤ 0.5°, measured ~1°. */
  backlashDeg: [0, 5],
} as const satisfies Record<string, readonly [number, number]>;

type PhysicsParameter = keyof typeof PHYSICS_BOUNDS;
type ArmParameter = keyof typeof ARM_BOUNDS;
/** The keys of PhysicsRandomizationSchema that only the SO-101 uses. */
export const ARM_RANDOMIZATION_KEYS = Object.keys(ARM_BOUNDS) as ArmParameter[];

export const PhysicsRandomizationSchema = z.strictObject({
  ...(Object.fromEntries(Object.entries(PHYSICS_BOUNDS).map(([k, [lo, hi]]) => [k, range(lo, hi)])) as { [K in PhysicsParameter]: ReturnType<typeof range> }),
  ...(Object.fromEntries(Object.entries(ARM_BOUNDS).map(([k, [lo, hi]]) => [k, range(lo, hi).optional()])) as { [K in ArmParameter]: ReturnType<ReturnType<typeof range>['optional']> }),
});
export type PhysicsRandomization = z.infer<typeof PhysicsRandomizationSchema>;

export const TaskSchema = z.discriminatedUnion('id', [
  z.strictObject({
    id: z.literal('StackBlocks-v1'),
    /** Number of blocks; block 0 is the base, block k goes onto block k-1. */
    blocks: z.int().min(2).max(5),
  }),
  z.strictObject({
    id: z.literal('Grasp-v1'),
    /** Distractor blocks around the target. */
    distractors: z.int().min(0).max(8),
  }),
  z.strictObject({ id: z.literal('Reach-v1') }),
  z.strictObject({ id: z.literal('Push-v1') }),
]);
export type TaskConfig = z.infer<typeof TaskSchema>;

export const ScenarioSchema = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  /** Versioned id, e.g. `stack-3`. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lowercase id such as stack-3'),
  description: z.string().optional(),
  /** The robot: the gripper on its 4-DoF mount (default) or the SO-101 arm (sim/robot/so101/). */
  robot: z.enum(ROBOT_KINDS).default('mount'),
  task: TaskSchema,
  control: z.strictObject({
    /** Policy/control rate (Hz). */
    rateHz: z.int().min(1).max(240),
    /** Physics steps per second; the step is fixed at 1/physicsHz s. */
    physicsHz: z.int().min(60).max(2000),
  }).refine((c) => c.physicsHz % c.rateHz === 0, { message: 'physicsHz must be a multiple of rateHz' }),
  /** Time limit in control steps (applied by the TimeLimit wrapper). */
  maxSteps: z.int().min(1).max(100_000),
  randomization: PhysicsRandomizationSchema,
  heldout: PhysicsRandomizationSchema,
  visual: VisualSchema.optional(),
}).superRefine((s, ctx) => {
  if (s.robot === 'so101') return;
  for (const block of ['randomization', 'heldout'] as const) {
    for (const k of ARM_RANDOMIZATION_KEYS) {
      if (s[block][k] !== undefined) ctx.addIssue({ code: 'custom', path: [block, k], message: `${k} randomizes the SO-101 arm; this scenario's robot is "${s.robot}" (set "robot": "so101" or remove ${k})` });
    }
  }
});
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

export class ScenarioError extends Error {
  readonly source: string;
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super(`${source} is not a valid scenario:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ScenarioError';
    this.source = source;
    this.issues = issues;
  }
}

/** Validates parsed JSON; throws ScenarioError listing each problem with its JSON path and value. */
export function parseScenario(data: unknown, source = 'scenario'): Scenario {
  const r = ScenarioSchema.safeParse(data, { reportInput: true });
  if (r.success) return r.data;
  const issues = describeIssues(r.error, 'allowed keys are listed in sim/scenario.ts');
  throw new ScenarioError(source, issues);
}

/** Reads and validates a scenario file. */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseScenario(data, path);
}
