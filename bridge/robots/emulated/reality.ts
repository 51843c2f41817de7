/**
 * A "reality": what the emulated robot is, written down in `scenarios/reality/*.json`. It names
 * the task scenario to set up, physics that the policies never trained on (ranges in the same form
 * as a scenario's randomization block, typically outside its training ranges), the transport
 * between robot and bridge (latency and jitter), and an optional camera with its look, place and
 * calibration (robots/emulated/camera.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ARM_RANDOMIZATION_KEYS, loadScenario, PhysicsRandomizationSchema, ScenarioError } from '../../../sim/scenario.ts';
import type { Scenario } from '../../../sim/scenario.ts';

export const RealitySchema = z.strictObject({
  schemaVersion: z.literal(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lowercase id such as lab'),
  description: z.string().optional(),
  /** Task scenario to set up, relative to this file. */
  scenario: z.string().min(1),
  /** Seed of the first episode; episode k uses seed + k. */
  seed: z.int().min(0).max(0xffffffff).default(0),
  /** This reality's physics (replaces the scenario's randomization ranges). */
  physics: PhysicsRandomizationSchema,
  transport: z.strictObject({
    /** One-way delay of commands and observations (ms). */
    latencyMs: z.number().min(0).max(1000),
    /** Uniform jitter added to each delay (ms, ±). */
    jitterMs: z.number().min(0).max(1000),
  }),
  /** Pause between episodes, as a person would take to reset the scene (ms, real time). */
  resetPauseMs: z.number().min(0).max(60_000).default(500),
  /**
   * The robot's camera (robots/emulated/camera.ts), rendered with sim/render's headless renderer
   * (a WebGPU adapter is needed; without one the robot runs without it). Its look lies outside the
   * training looks as the physics lies outside the training physics, and it sits at its own fixed
   * place near the nominal front mount.
   */
  camera: z.strictObject({
    /** The feature is `camera.<name>`; the scene's camera it is drawn from is the front mount. */
    name: z.string().regex(/^[a-z]+$/).default('front'),
    width: z.int().min(16).max(1024),
    height: z.int().min(16).max(1024),
    /**
     * Frames per second. The camera is triggered by the arm's control loop, as a camera read in a
     * robot's observation is: each frame shows the state of one control step, every
     * round(rate / fps)-th step, so fps is at most the control rate.
     */
    fps: z.number().positive().max(120),
    /** Visual ranges of its looks, drawn afresh each episode: the scenario's held-out ranges or its training ones. */
    looks: z.enum(['heldout', 'train']).default('heldout'),
    /** Where it is: an offset from the front mount (m, mount frame), a rotation about its own axes (degrees), its vertical field of view (degrees). */
    pose: z.strictObject({
      positionOffset: z.tuple([z.number().min(-0.3).max(0.3), z.number().min(-0.3).max(0.3), z.number().min(-0.3).max(0.3)]),
      rotationDeg: z.tuple([z.number().min(-45).max(45), z.number().min(-45).max(45), z.number().min(-45).max(45)]),
      fovDeg: z.number().min(5).max(120),
    }),
    /** The calibration the robot publishes with it (a camera file, relative to this file). */
    calibration: z.string().min(1),
    /**
     * What that calibration gets wrong, as every real calibration does (written into the file by
     * `simreal robot emulate --write-calibration`): the camera's position (m, table frame) and
     * rotation (degrees about the camera's own x, y, z), the focal length (per cent) and the
     * principal point (pixels).
     */
    calibrationError: z.strictObject({
      positionM: z.tuple([z.number(), z.number(), z.number()]),
      rotationDeg: z.tuple([z.number(), z.number(), z.number()]),
      focalPct: z.number().min(-20).max(20),
      principalPointPx: z.tuple([z.number(), z.number()]),
    }),
  }).optional(),
});
export type RealityConfig = z.infer<typeof RealitySchema>;

export interface Reality {
  config: RealityConfig;
  /** The task scenario with this reality's physics in place of its training ranges. */
  scenario: Scenario;
  path: string;
}

export function loadReality(path: string): Reality {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ScenarioError(path, [`cannot read the reality file: ${(err as Error).message}`]);
  }
  const r = RealitySchema.safeParse(data, { reportInput: true });
  if (!r.success) {
    throw new ScenarioError(path, r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const scenarioPath = resolve(dirname(path), r.data.scenario);
  const base = loadScenario(scenarioPath);
  const armKeys = ARM_RANDOMIZATION_KEYS.filter((k) => r.data.physics[k] !== undefined);
  if (base.robot !== 'so101' && armKeys.length > 0) {
    throw new ScenarioError(path, armKeys.map((k) => `physics.${k}: randomizes the SO-101 arm, but ${r.data.scenario} sets up the ${base.robot} (point "scenario" at an SO-101 scenario or remove ${k})`));
  }
  return { config: r.data, scenario: { ...base, randomization: r.data.physics }, path };
}
