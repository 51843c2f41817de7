/**
 * The physics bench's workload: the stack-3 tabletop (three 5 cm, 0.1 kg blocks) with the gripper
 * sweeping through it on a fixed trajectory — descending among the blocks, opening and closing,
 * pushing them about — at 1/240 s with 12 substeps per 20 Hz control step. The same trajectory
 * drives simreal's world and MuJoCo. Every `segmentSteps` steps the scene starts over, so the
 * blocks stay in the gripper's way instead of ending up scattered out of reach; only stepping is
 * timed.
 */
import { nominalPhysics } from '../randomization.ts';
import type { Gripper } from '../robot/gripper.ts';
import { Scene } from '../scene.ts';
import { createMujocoScene } from './mujoco.ts';

export const SWEEP_DT = 1 / 240;
export const SWEEP_SUBSTEPS = 12;
const BLOCKS = [
  { x: -0.08, y: -0.04, yaw: 0.2 },
  { x: 0.01, y: 0.05, yaw: -0.3 },
  { x: 0.09, y: -0.02, yaw: 0.6 },
];

/** Setpoint (palm x, y, z, yaw) and finger opening at time t (s). */
export function sweepSetpoint(t: number): [number, number, number, number, number] {
  return [
    0.14 * Math.sin(0.9 * t),
    0.08 * Math.sin(0.6 * t + 1),
    0.075 + 0.05 * (0.5 + 0.5 * Math.sin(1.3 * t)),
    0.5 * Math.sin(0.4 * t),
    Math.sin(0.8 * t) > 0 ? 0.09 : 0.02,
  ];
}

export interface SweepResult {
  steps: number;
  seconds: number;
  stepsPerSecond: number;
}

/** simreal's world on the sweep, `steps` physics steps in segments of `segmentSteps`. */
export function sweepSimreal(steps: number, segmentSteps = 2400): SweepResult {
  let done = 0, time = 0;
  while (done < steps) {
    const scene = new Scene({ task: 'bench', physics: nominalPhysics(3), layout: { blocks: BLOCKS, gripper: { position: [0, 0.08, 0.15], yaw: 0 }, goals: [] }, dt: SWEEP_DT });
    const g = scene.gripper as Gripper;
    const n = Math.min(segmentSteps, steps - done);
    const t0 = performance.now();
    for (let i = 0; i < n; i += SWEEP_SUBSTEPS) {
      const [x, y, z, yaw, w] = sweepSetpoint(i * SWEEP_DT);
      g.setTarget(x, y, z, yaw);
      g.grip = 1 - (2 * w) / g.geometry.maxWidth;
      scene.advance(Math.min(SWEEP_SUBSTEPS, n - i));
    }
    time += performance.now() - t0;
    done += n;
  }
  return { steps, seconds: time / 1000, stepsPerSecond: steps / (time / 1000) };
}

/** The same sweep in MuJoCo (official WebAssembly build). */
export async function sweepMujoco(steps: number, segmentSteps = 2400): Promise<SweepResult> {
  let done = 0, time = 0;
  while (done < steps) {
    const mj = await createMujocoScene(
      BLOCKS.map((b) => ({ x: b.x, y: b.y, z: 0.025, size: 0.05, mass: 0.1 })),
      { x: 0, y: 0.08, z: 0.15 },
      0.8,
      SWEEP_DT,
    );
    const n = Math.min(segmentSteps, steps - done);
    const t0 = performance.now();
    for (let i = 0; i < n; i += SWEEP_SUBSTEPS) {
      const [x, y, z, yaw, w] = sweepSetpoint(i * SWEEP_DT);
      mj.control(x, y, z, yaw, w);
      const k = Math.min(SWEEP_SUBSTEPS, n - i);
      for (let s = 0; s < k; s++) mj.step();
    }
    time += performance.now() - t0;
    mj.dispose();
    done += n;
  }
  return { steps, seconds: time / 1000, stepsPerSecond: steps / (time / 1000) };
}
