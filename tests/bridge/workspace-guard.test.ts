import { describe, it, expect } from 'vitest';
import { WorkspaceGuard, excursion } from '../../bridge/robots/workspace-guard.ts';
import { FeetechBusSim, openMockSo101Port } from '../../bridge/robots/so101/mock-bus.ts';
import { So101Robot } from '../../bridge/robots/so101/so101.ts';
import { nominalCalibration } from '../../sim/robot/so101/calibration.ts';
import { MockRobot } from '../../bridge/robots/mock.ts';
import { DEFAULT_SAFETY_LIMITS } from '../../bridge/config.ts';
import type { SafetyLimits } from '../../bridge/protocol.ts';

const boxed = (min: [number, number, number], max: [number, number, number]): SafetyLimits => ({ ...DEFAULT_SAFETY_LIMITS, workspace: { min, max } });

describe('WorkspaceGuard', () => {
  it('clips targets into the box, widened to include an arm that is outside', () => {
    const g = new WorkspaceGuard({ marginM: 0.005 });
    const t = [0.5, 0, 0.2];
    expect(g.clampTarget(t, [0, 0, 0.2])).toBe(false); // no limits yet: nothing to enforce
    g.setLimits(boxed([-0.1, -0.1, 0], [0.1, 0.1, 0.3]));
    expect(g.clampTarget(t, [0, 0, 0.2])).toBe(true);
    expect(t).toEqual([0.1, 0, 0.2]);
    // Outside at x = 0.15: may stay or come back, not go further.
    const u = [0.2, 0, 0.2];
    g.clampTarget(u, [0.15, 0, 0.2]);
    expect(u[0]).toBe(0.15);
    expect(excursion([0.13, 0, -0.01], boxed([-0.1, -0.1, 0], [0.1, 0.1, 0.3]).workspace)).toBeCloseTo(0.03, 12);
  });

  it('reports a breach beyond the margin, and tolerates less and less of a start outside', () => {
    const g = new WorkspaceGuard({ marginM: 0.005 });
    g.setLimits(boxed([-0.1, -0.1, 0], [0.1, 0.1, 0.3]), [0.14, 0, 0.2]); // limits arrive with the arm 4 cm out
    expect(g.check([0.14, 0, 0.2])).toBeNull();
    expect(g.check([0.12, 0, 0.2])).toBeNull(); // coming back in
    expect(g.check([0.13, 0, 0.2])).toMatch(/30\.0 mm outside the workspace box \(tolerance 20\.0 mm\)/);
    expect(g.check([0.104, 0, 0.2])).toBeNull();
    expect(g.check([0.1049, 0, 0.2])).toBeNull(); // within the 5 mm margin
    expect(g.check([0.106, 0, 0.2])).toMatch(/6\.0 mm outside/);
    expect(() => new WorkspaceGuard({ marginM: -1 })).toThrow(/margin/);
  });
});

describe('robots keep the box on their own measured state', () => {
  async function arm(opts: Partial<ConstructorParameters<typeof So101Robot>[0]> = {}) {
    let now = 0;
    const sim = new FeetechBusSim({ clock: () => now, positions: { 2: 2048 + 512, 3: 2048 - 1024, 4: 2048 - 512 } });
    const { link } = await openMockSo101Port(sim);
    const robot = new So101Robot({ link, calibration: nominalCalibration(), form: 'ee_target', maxRelativeTarget: 0.3, ...opts });
    return { sim, robot, advance: (ms: number) => { now += ms; } };
  }

  it('SO-101: a target beyond the box wall stops at the wall, in the ticks written to the servos', async () => {
    const { robot, advance } = await arm();
    await robot.connect();
    const start = (await robot.getObservation()).state['ee.pose'];
    const wall = start[0] + 0.03;
    robot.setLimits(boxed([-0.5, -0.5, -0.1], [wall, 0.5, 0.5]));
    let applied = [0, 0, 0, 0, 0];
    for (let i = 0; i < 20; i++) {
      applied = await robot.sendAction([start[0] + 0.2, start[1], start[2], start[3], 0]);
      advance(100);
      const p = (await robot.getObservation()).state['ee.pose'];
      expect(p[0]).toBeLessThanOrEqual(wall + 1e-9);
    }
    expect(applied[0]).toBeLessThanOrEqual(wall + 1e-9);
    expect(applied[0]).toBeGreaterThan(wall - 0.002);
    await robot.disconnect();
  });

  it('SO-101: pushed beyond the box by more than the margin, it stops and the step fails (the client raises the e-stop)', async () => {
    const { sim, robot, advance } = await arm();
    await robot.connect();
    const start = (await robot.getObservation()).state['ee.pose'];
    robot.setLimits(boxed([-0.5, -0.5, -0.1], [start[0] + 0.005, 0.5, 0.5]));
    // Something (a person, a collision) shoves the shoulder: the end effector leaves the box.
    const s2 = sim.servos.get(2)!;
    s2.actual += 200;
    const pushed = (await robot.getObservation()).state['ee.pose'];
    expect(pushed[0] - (start[0] + 0.005)).toBeGreaterThan(0.005);
    await expect(robot.sendAction([start[0], start[1], start[2], start[3], 0])).rejects.toThrow(/outside the workspace box/);
    advance(100);
    // It holds where it is (goal = present), torque still on until the hub's e-stop arrives.
    for (const s of sim.servos.values()) expect(s.goal()).toBe(s.present());
    await robot.disconnect();
  });

  it('mock robot with its guard: a hub that sent it too far would be clipped, and a breach is a fault', async () => {
    const robot = new MockRobot({ form: 'ee_delta', guard: true, initialPose: [0, 0, 0.2, 0, -1] });
    const faults: string[] = [];
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    robot.setLimits(boxed([-0.1, -0.1, 0], [0.1, 0.1, 0.3]));
    const applied = await robot.sendAction([0.3, 0, 0, 0, 0]);
    expect(robot.pose[0]).toBeCloseTo(0.1, 12);
    expect(applied[0]).toBeCloseTo(0.1, 12);
    robot.pose[0] = 0.2; // pushed out
    await robot.sendAction([0.01, 0, 0, 0, 0]);
    expect(robot.pose[0]).toBe(0.2);
    expect(faults[0]).toMatch(/100\.0 mm outside the workspace box/);
    expect(robot.estopped).toBe(true);
  });
});
