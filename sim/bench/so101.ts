/**
 * The physics bench with the SO-101 (`simreal bench physics`, `so101` in its JSON): the stack-3
 * sweep's blocks with the arm's gripper sweeping through them, and a resting 5-block tower beside
 * the arm.
 *
 * - Sweep: the mount's sweep trajectory (sweep.ts), scaled into the arm's reach (x · 0.6,
 *   y · 0.6 + 2 cm, the fingertips at the mount's fingertips' heights, the same yaws and jaw
 *   openings), commanded as end-effector targets
 *   through the arm's inverse kinematics and servos every 12 substeps; only stepping is timed, in
 *   the same segments as the mount's, alternating with the mount's sweep (compareWithMount).
 * - Tower: five 5 cm, 0.1 kg cubes resting 60 s 17 cm beside the arm's home pose, the arm
 *   holding still over the table (its links and jaws in the world, touching nothing).
 */
import { nominalPhysics } from '../randomization.ts';
import { SO101_AREA } from '../robot/so101/arm.ts';
import type { So101Arm } from '../robot/so101/arm.ts';
import { jawAngleForGrip } from '../robot/so101/jaw.ts';
import { Scene } from '../scene.ts';
import { SWEEP_DT, SWEEP_SUBSTEPS, sweepSetpoint, sweepSimreal } from './sweep.ts';
import type { SweepResult } from './sweep.ts';
import type { StackDriftResult } from './stability.ts';

const BLOCKS = [
  { x: -0.06, y: 0.0, yaw: 0.2 },
  { x: 0.0, y: 0.05, yaw: -0.3 },
  { x: 0.06, y: -0.0, yaw: 0.6 },
];

/** The SO-101 on the sweep, `steps` physics steps in segments of `segmentSteps`. */
export function sweepSo101(steps: number, segmentSteps = 2400): SweepResult {
  let done = 0, time = 0;
  while (done < steps) {
    const scene = new Scene({
      task: 'bench', physics: nominalPhysics(3), robot: 'so101', dt: SWEEP_DT,
      layout: { blocks: BLOCKS, gripper: { position: [0, 0.05, 0.12], yaw: 0 }, goals: [] },
    });
    const arm = scene.gripper as So101Arm;
    const n = Math.min(segmentSteps, steps - done);
    const t0 = performance.now();
    for (let i = 0; i < n; i += SWEEP_SUBSTEPS) {
      const [x, y, z, yaw, w] = sweepSetpoint(i * SWEEP_DT);
      // The fingertips as low as the mount's (its palm centre is 5.4 cm above its fingertips, the
      // SO-101's tool point 2.2 cm above its own).
      arm.setTarget([0.6 * x, 0.6 * y + 0.02, z - 0.032, yaw]);
      // The opening asked for, as the jaw's angle's grip (jaw.ts: opening = 7.47 cm · sin(angle)).
      const angle = Math.asin(Math.min(1, w / 0.0747));
      arm.grip = 1 - (2 * (angle - jawAngleForGrip(1))) / (jawAngleForGrip(-1) - jawAngleForGrip(1));
      scene.advance(Math.min(SWEEP_SUBSTEPS, n - i));
    }
    time += performance.now() - t0;
    done += n;
  }
  return { steps, seconds: time / 1000, stepsPerSecond: steps / (time / 1000) };
}

/** A tower of `n` cubes (edge `size`, 0.1 kg, friction 0.8) resting `seconds` beside the SO-101. */
export function towerBesideArm(n: number, seconds: number, size = 0.05): StackDriftResult {
  const dt = 1 / 240, steps = Math.round(seconds / dt);
  const x = SO101_AREA.home.x + 0.17, y = SO101_AREA.home.y;
  const physics = { ...nominalPhysics(n), blockSize: Array.from({ length: n }, () => size) };
  const blocks = Array.from({ length: n }, (_, i) => ({ x, y, yaw: 0, z: size / 2 + size * i }));
  const scene = new Scene({ task: 'bench', physics, robot: 'so101', dt, layout: { blocks, gripper: { position: [SO101_AREA.home.x, SO101_AREA.home.y, 0.14], yaw: 0 }, goals: [] } });
  scene.gripper.hold();
  const top = scene.blocks[n - 1];
  const z0 = size / 2 + size * (n - 1);
  let max = 0, collapsedAt: number | null = null;
  for (let i = 0; i < steps; i += 12) {
    scene.advance(Math.min(12, steps - i));
    const d = Math.hypot(top.position.x - x, top.position.y - y, top.position.z - z0);
    max = Math.max(max, d);
    if (d > 0.01 && collapsedAt === null) collapsedAt = (i * dt);
  }
  const p = top.position;
  return { blocks: n, seconds, topDriftMm: Math.hypot(p.x - x, p.y - y, p.z - z0) * 1000, maxDriftMm: max * 1000, collapsedAt };
}

/**
 * The mount's sweep and the SO-101's, `steps` physics steps each, in alternating quarters, so that
 * a machine busy with other work slows both alike: their steps/s and the ratio.
 */
export function compareWithMount(steps: number): { mount: SweepResult; so101: SweepResult; ratio: number } {
  const quarter = Math.max(SWEEP_SUBSTEPS, Math.round(steps / 4 / SWEEP_SUBSTEPS) * SWEEP_SUBSTEPS);
  let tm = 0, ta = 0;
  for (let k = 0; k < 4; k++) {
    tm += sweepSimreal(quarter).seconds;
    ta += sweepSo101(quarter).seconds;
  }
  const n = 4 * quarter;
  return {
    mount: { steps: n, seconds: tm, stepsPerSecond: n / tm },
    so101: { steps: n, seconds: ta, stepsPerSecond: n / ta },
    ratio: tm / ta,
  };
}
