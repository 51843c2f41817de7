// Sorting block errors by what the block was doing, and what the robot's own state adds.
import { describe, expect, it } from 'vitest';
import { situation, withArm } from '../../policy/eval/pose-frames.ts';
import type { PoseFrame } from '../../policy/perception/frame-source.ts';
import { virtualCamera } from '../../policy/perception/virtual-view.ts';
import { project } from '../../sim/camera/projection.ts';
import type { Vec3 } from '../../sim/state.ts';
import { lookAt } from '../camera/helpers.ts';

const real = { schemaVersion: 1 as const, width: 192, height: 192, intrinsics: { fx: 230, fy: 230, cx: 96, cy: 96 }, distortion: [0, 0, 0, 0, 0] as [number, number, number, number, number], cameraToTable: lookAt([0, -0.78, 0.58], [0, -0.03, 0.02]) };
const camera = virtualCamera(real, { size: 96, region: { min: [-0.22, -0.22, 0], max: [0.22, 0.22, 0.15] } });

function frame(blocks: Vec3[], robot: PoseFrame['robot']): PoseFrame {
  return {
    rgb: new Uint8Array(0), blocks, yaws: blocks.map(() => 0), sizes: blocks.map(() => 0.05), blockIds: blocks.map((_, b) => 2 + b),
    pixels: blocks.map((b) => { const q = project(camera, b); return [q.u, q.v] as [number, number]; }),
    camera, source: real, seed: 1, step: 0, robot,
  };
}

describe('situations and the arm state', () => {
  it('tells resting, stacked, held and moving blocks apart', () => {
    const f = frame([[0, 0, 0.025], [0.0, 0.005, 0.075], [0.1, 0.1, 0.12], [-0.1, 0.1, 0.06]], { tcp: [0.1, 0.1, 0.118], width: 0.051, grip: 1 });
    expect([0, 1, 2, 3].map((b) => situation(f, b))).toEqual(['on the table', 'on another block', 'held by the gripper', 'in motion']);
  });

  it('puts the detection nearest the tool centre point at it when the fingers are stalled, and only then', () => {
    const held: Vec3 = [0.1, 0.1, 0.12];
    const f = frame([[0, 0, 0.025], held], { tcp: held, width: 0.05, grip: 1 });
    const q = project(camera, held), r = project(camera, [0, 0, 0.025]);
    const dets = [{ score: 1, u: r.u, v: r.v, height: 0.025, yaw: 0, size: 0.05, position: [0, 0, 0.025] as Vec3 },
      { score: 1, u: q.u + 1, v: q.v, height: 0.025, yaw: 0, size: 0.05, position: [0.1, 0.3, 0.025] as Vec3 }];
    expect(withArm(f, dets.map((d) => d.position!), dets, 4)).toEqual([[0, 0, 0.025], held]);
    // Fingers open as commanded: nothing is held, the camera's estimates stand.
    const open = frame([[0, 0, 0.025], held], { tcp: held, width: 0.1, grip: -1 });
    expect(withArm(open, dets.map((d) => d.position!), dets, 4)[1]).toEqual([0.1, 0.3, 0.025]);
  });
});

describe('the yaw error of a cube', () => {
  it('folds by the quarter turn a cube repeats at, so 89° against 1° is 2° off and never more than 45°', async () => {
    const { cubeYawError } = await import('../../policy/eval/pose-frames.ts');
    const deg = Math.PI / 180;
    expect(cubeYawError(89 * deg, 1 * deg) / deg).toBeCloseTo(2, 9);
    expect(cubeYawError(-44 * deg, 44 * deg) / deg).toBeCloseTo(2, 9);
    expect(cubeYawError(10 * deg, 55 * deg) / deg).toBeCloseTo(45, 9);
    expect(cubeYawError(0.3, 0.3 + 3 * Math.PI / 2)).toBeCloseTo(0, 9);
    for (let a = -3; a <= 3; a += 0.37) for (let b = -3; b <= 3; b += 0.41) expect(cubeYawError(a, b)).toBeLessThanOrEqual(Math.PI / 4 + 1e-12);
  });
});
