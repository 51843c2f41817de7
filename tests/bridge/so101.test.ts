import { describe, it, expect } from 'vitest';
import * as F from '../../bridge/robots/so101/feetech.ts';
import { FeetechBus } from '../../bridge/robots/so101/bus.ts';
import { FeetechBusSim, openMockSo101Port } from '../../bridge/robots/so101/mock-bus.ts';
import { So101Robot } from '../../bridge/robots/so101/so101.ts';
import { mid, nominalCalibration, parseCalibration, ticksToRad, ticksToUrdf, radToTicks, gripToTicks, ticksToGrip } from '../../sim/robot/so101/calibration.ts';
import { forwardKinematics, inverseKinematics } from '../../sim/robot/so101/kinematics.ts';
import { Rng } from '../../sim/rng.ts';

describe('Feetech packets', () => {
  it('encodes instructions with the ~sum checksum', () => {
    // PING servo 1: FF FF 01 02 01 FB  (~(1 + 2 + 1) & 0xFF = 0xFB)
    expect(Array.from(F.ping(1))).toEqual([0xff, 0xff, 0x01, 0x02, 0x01, 0xfb]);
    // READ servo 1, Present_Position (56), 2 bytes
    expect(Array.from(F.read(1, 56, 2))).toEqual([0xff, 0xff, 0x01, 0x04, 0x02, 0x38, 0x02, 0xbe]);
    const sw = F.syncWrite(42, 2, [{ id: 1, data: [0x00, 0x08] }, { id: 2, data: [0xff, 0x07] }]);
    expect(Array.from(sw.subarray(0, 5))).toEqual([0xff, 0xff, 0xfe, 0x0a, 0x83]);
    expect(sw[sw.length - 1]).toBe(F.checksum(sw, 2, sw.length - 1));
    expect(() => F.syncWrite(42, 2, [{ id: 1, data: [1] }])).toThrow();
  });

  it('parses status packets from a noisy, fragmented stream and drops bad checksums', () => {
    const p = new F.PacketParser();
    const a = F.encodeStatus(3, 0x20, [0x10, 0x08]);
    const b = F.encodeStatus(4, 0, []);
    const bad = F.encodeStatus(5, 0, [1]);
    bad[bad.length - 1] ^= 1;
    const stream = new Uint8Array([0x00, 0x13, ...a, ...bad, 0xff, ...b]);
    const got: F.Packet[] = [];
    for (let i = 0; i < stream.length; i += 3) got.push(...p.push(stream.subarray(i, i + 3)));
    expect(got.map((x) => [x.id, x.code, Array.from(x.params)])).toEqual([[3, 0x20, [0x10, 0x08]], [4, 0, []]]);
    expect(p.corrupt).toBe(1);
    expect(F.describeStatusError(0x24)).toEqual(['overheat', 'overload']);
  });

  it('round-trips sign-magnitude values', () => {
    for (const [v, bit] of [[0, 15], [2047, 15], [-2047, 15], [-5, 11], [2047, 11]] as const) expect(F.decodeSignMagnitude(F.encodeSignMagnitude(v, bit), bit)).toBe(v);
    expect(F.encodeSignMagnitude(-1, 11)).toBe(0x801);
    expect(() => F.encodeSignMagnitude(4096, 11)).toThrow();
  });
});

describe('FeetechBus on the simulated bus (serialport binding-mock)', () => {
  it('pings, reads, writes, sync-writes and sync-reads', async () => {
    const sim = new FeetechBusSim({ positions: { 1: 1000, 2: 3000 } });
    const { link } = await openMockSo101Port(sim);
    const bus = new FeetechBus(link, { timeoutMs: 40, retries: 1 });
    expect(await bus.ping(1)).toBe(true);
    expect(await bus.ping(9)).toBe(false);
    expect(await bus.readRegister(1, F.STS.MODEL_NUMBER)).toBe(777);
    await bus.writeRegister(2, F.STS.P_COEFFICIENT, 16);
    expect(sim.servos.get(2)!.get(F.STS.P_COEFFICIENT)).toBe(16);
    await bus.syncWrite(F.STS.GOAL_POSITION, new Map([[1, 1500], [2, 2500]]));
    expect(sim.servos.get(1)!.goal()).toBe(1500);
    const pos = await bus.syncRead(F.STS.PRESENT_POSITION, [1, 2, 3]);
    expect([...pos]).toEqual([[1, 1000], [2, 3000], [3, 2048]]);
    // A corrupted answer is retried.
    sim.corruptNext = 1;
    expect(await bus.readRegister(1, F.STS.MODEL_NUMBER)).toBe(777);
    expect(bus.corruptPackets).toBe(1);
    // A servo that stops answering times out.
    sim.servos.get(3)!.silent = true;
    await expect(bus.syncRead(F.STS.PRESENT_POSITION, [1, 2, 3])).rejects.toThrow(/servo 3/);
    await bus.close();
  });
});

describe('SO-101 calibration and kinematics', () => {
  it('reads a LeRobot calibration file and maps ticks ↔ radians', () => {
    const cal = parseCalibration({
      shoulder_pan: { id: 1, drive_mode: 0, homing_offset: -1470, range_min: 758, range_max: 3292 },
      shoulder_lift: { id: 2, drive_mode: 0, homing_offset: 157, range_min: 830, range_max: 3215 },
      elbow_flex: { id: 3, drive_mode: 0, homing_offset: 1122, range_min: 871, range_max: 3090 },
      wrist_flex: { id: 4, drive_mode: 0, homing_offset: -1145, range_min: 824, range_max: 3194 },
      wrist_roll: { id: 5, drive_mode: 0, homing_offset: -1382, range_min: 0, range_max: 4095 },
      gripper: { id: 6, drive_mode: 0, homing_offset: 1407, range_min: 2031, range_max: 3476 },
    });
    const m = cal.shoulder_pan;
    // Mid-range is the URDF's zero (LeRobot's calibration pose); the URDF's pan turns clockwise seen
    // from above, the kinematic pan counter-clockwise.
    expect(ticksToRad(0, m, (758 + 3292) / 2)).toBeCloseTo(0, 12);
    expect(ticksToUrdf(m, 2025 + 1024)).toBeCloseTo(Math.PI / 2, 9);
    expect(ticksToRad(0, m, 2025 + 1024)).toBeCloseTo(-Math.PI / 2, 9);
    expect(radToTicks(0, m, ticksToRad(0, m, 2500))).toBe(2500);
    expect(radToTicks(0, m, -10)).toBe(3292); // clipped to the range
    // The upper arm at mid-range stands 76° up (the URDF's zero pose).
    expect(ticksToRad(1, cal.shoulder_lift, mid(cal.shoulder_lift))).toBeCloseTo(Math.atan2(0.11257, 0.028), 9);
    expect(gripToTicks(cal.gripper, 1)).toBe(2031);
    expect(ticksToGrip(cal.gripper, 3476)).toBe(-1);
    expect(() => parseCalibration({ ...cal, gripper: { ...cal.gripper, id: 1 } })).toThrow(/distinct/);
    expect(() => parseCalibration({ shoulder_pan: cal.shoulder_pan })).toThrow(/shoulder_lift/);
  });

  it('inverts its own forward kinematics over the reachable workspace (seeded)', () => {
    const rng = new Rng(101);
    let n = 0;
    for (let i = 0; i < 500; i++) {
      const target = [rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(-0.05, 0.25), rng.uniform(-3, 3)];
      const ik = inverseKinematics(target);
      if (!ik.reachable || Math.hypot(target[0], target[1]) < 0.05) continue;
      n++;
      const fk = forwardKinematics(ik.joints);
      for (let k = 0; k < 3; k++) expect(fk[k]).toBeCloseTo(target[k], 9);
      expect(Math.cos(fk[3] - target[3])).toBeCloseTo(1, 9);
      // The tool points straight down: lift + elbow + flex = -π/2.
      expect(ik.joints[1] + ik.joints[2] + ik.joints[3]).toBeCloseTo(-Math.PI / 2, 12);
    }
    expect(n).toBeGreaterThan(100);
    expect(inverseKinematics([2, 0, 0, 0]).reachable).toBe(false);
  });
});

describe('So101Robot against the simulated bus', () => {
  async function arm(opts: Partial<ConstructorParameters<typeof So101Robot>[0]> = {}) {
    let now = 0;
    // Start folded: shoulder up 45°, elbow down 90°, wrist down 45° (ticks relative to mid 2048).
    const sim = new FeetechBusSim({ clock: () => now, positions: { 2: 2048 + 512, 3: 2048 - 1024, 4: 2048 - 512 } });
    const { link } = await openMockSo101Port(sim);
    const robot = new So101Robot({ link, calibration: nominalCalibration(), form: 'ee_target', maxRelativeTarget: 0.3, ...opts });
    return { sim, robot, advance: (ms: number) => { now += ms; } };
  }

  it('holds the present position before enabling torque', async () => {
    const { sim, robot } = await arm();
    await robot.connect();
    for (const s of sim.servos.values()) {
      expect(s.torque).toBe(true);
      expect(s.goal()).toBe(s.present());
      const torqueAt = s.log.findIndex((e) => e.instruction === F.INSTRUCTION.SYNC_WRITE && e.params[0] === F.STS.TORQUE_ENABLE[0] && e.params[1] === 1);
      const goalAt = s.log.findIndex((e) => e.instruction === F.INSTRUCTION.SYNC_WRITE && e.params[0] === F.STS.GOAL_POSITION[0]);
      expect(goalAt).toBeGreaterThanOrEqual(0);
      expect(goalAt).toBeLessThan(torqueAt);
    }
    await robot.disconnect();
  });

  it('moves the end effector to a target through the servos, returning the action sent', async () => {
    const { sim, robot, advance } = await arm();
    await robot.connect();
    const target: [number, number, number, number, number] = [0.2, 0.05, 0.05, 0.3, 1];
    let applied = target;
    for (let i = 0; i < 30; i++) {
      applied = await robot.sendAction(target);
      advance(100);
    }
    for (let k = 0; k < 4; k++) expect(applied[k]).toBeCloseTo(target[k], 2);
    const obs = await robot.getObservation();
    const pose = obs.state['ee.pose'];
    for (let k = 0; k < 3; k++) expect(pose[k]).toBeCloseTo(target[k], 2);
    expect(pose[4]).toBeCloseTo(1, 2);
    expect(sim.servos.get(6)!.goal()).toBe(nominalCalibration().gripper.range_min); // gripper closed = range_min
    await robot.disconnect();
  });

  it('limits each joint step like max_relative_target and reports what was really sent', async () => {
    const { sim, robot } = await arm({ maxRelativeTarget: 0.05 });
    await robot.connect();
    const applied = await robot.sendAction([0.25, -0.15, 0.02, 1, -1]);
    const maxTicks = Math.ceil(0.05 / ((2 * Math.PI) / 4096)) + 1;
    for (const id of [1, 2, 3, 4, 5]) {
      const s = sim.servos.get(id)!;
      expect(Math.abs(s.goal() - s.present())).toBeLessThanOrEqual(maxTicks);
    }
    // The applied pose is what the limited joints reach, not the request.
    expect(Math.hypot(applied[0] - 0.25, applied[1] + 0.15)).toBeGreaterThan(0.01);
    await robot.disconnect();
  });

  it('switches torque off on e-stop and on disconnect, and re-arms on hold', async () => {
    const { sim, robot } = await arm();
    await robot.connect();
    await robot.emergencyStop('test');
    for (const s of sim.servos.values()) expect(s.torque).toBe(false);
    await expect(robot.sendAction([0.2, 0, 0.1, 0, 0])).rejects.toThrow(/e-stopped/);
    await robot.hold();
    for (const s of sim.servos.values()) expect(s.torque).toBe(true);
    await robot.disconnect();
    for (const s of sim.servos.values()) expect(s.torque).toBe(false);
  });

  it('reports servo overload as a fault', async () => {
    const { sim, robot } = await arm();
    const faults: string[] = [];
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    sim.servos.get(3)!.error = F.STATUS_ERROR_BITS.overload;
    await robot.getObservation();
    expect(faults[0]).toMatch(/servo 3 reports overload/);
    await robot.disconnect();
  });

  it('refuses a bus whose servos do not match the calibration', async () => {
    const { sim, robot } = await arm();
    sim.servos.get(2)!.set(F.STS.HOMING_OFFSET, F.encodeSignMagnitude(100, 11));
    await expect(robot.connect()).rejects.toThrow(/homing offset 100/);
  });
});
