/**
 * The SO-101 in the simulator: its kinematics against the URDF it comes from, round trips across
 * its workspace, joint, speed and acceleration limits honoured by the simulated servos, protective
 * stops on blocks and the table, a friction grasp, determinism, and the scenarios that choose it.
 */
import { describe, expect, it } from 'vitest';
import { EXPERTS } from '../../sim/experts/index.ts';
import { TabletopEnv, TimeLimit } from '../../sim/env.ts';
import { nominalPhysics } from '../../sim/randomization.ts';
import { Rng } from '../../sim/rng.ts';
import { loadScenario, parseScenario } from '../../sim/scenario.ts';
import { Scene } from '../../sim/scene.ts';
import { SO101_AREA, SO101_BASE, So101Arm } from '../../sim/robot/so101/arm.ts';
import { toBase, toTable, toolPose } from '../../sim/robot/so101/command.ts';
import {
  forwardKinematics, inverseKinematics, JOINT_LIMITS, kinematicToUrdf, URDF_LIMITS, urdfToKinematic, withinLimits,
} from '../../sim/robot/so101/kinematics.ts';
import { STS3215_ACCEL } from '../../sim/robot/so101/servo.ts';

// --- the URDF's own chain (so101_new_calib.urdf joint origins), to check the planar model against -----

type M = number[];
const mul = (a: M, b: M): M => {
  const o = new Array<number>(16).fill(0);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) o[i * 4 + j] += a[i * 4 + k] * b[k * 4 + j];
  return o;
};
/** URDF origin: translation xyz, then R = Rz(yaw) Ry(pitch) Rx(roll). */
function origin(x: number, y: number, z: number, r: number, p: number, w: number): M {
  const cr = Math.cos(r), sr = Math.sin(r), cp = Math.cos(p), sp = Math.sin(p), cy = Math.cos(w), sy = Math.sin(w);
  return [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr, x, sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr, y, -sp, cp * sr, cp * cr, z, 0, 0, 0, 1];
}
const rotZ = (t: number): M => [Math.cos(t), -Math.sin(t), 0, 0, Math.sin(t), Math.cos(t), 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
const URDF_JOINTS = [
  origin(0.0207909, -0.0230745, 0.0948817, -3.14159, 6.03684e-16, 1.5708), // shoulder_pan
  origin(-0.0303992, -0.0182778, -0.0542, -1.5708, -1.5708, 0), // shoulder_lift
  origin(-0.11257, -0.028, 0, 0, 0, 1.5708), // elbow_flex
  origin(-0.1349, 0.0052, 0, 0, 0, -1.5708), // wrist_flex
  origin(0, -0.0611, 0.0181, 1.5708, -9.38083e-08, 3.14159), // wrist_roll
];
/** The gripperframe point moved onto the roll axis (the model's fingertip point): 0.0981 down the tool. */
const TIP = origin(0, 0, -0.0981274, 0, 0, 0);
/** URDF `baseframe`: the mounting plane under the pan axis. */
const BASEFRAME_Z = 0.0324817;

/** Fingertip point of the URDF chain for URDF joint angles, in the model's base frame. */
function urdfTip(q: number[]): [number, number, number] {
  let T = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  for (let i = 0; i < 5; i++) T = mul(mul(T, URDF_JOINTS[i]), rotZ(q[i]));
  T = mul(T, TIP);
  // The model's base frame: on the pan axis, at the mounting plane, +x where the arm reaches at pan 0 (URDF −y).
  const px = 0.0207909, py = -0.0230745;
  return [-(T[7] - py), T[3] - px, T[11] - BASEFRAME_Z];
}

describe('SO-101 kinematics', () => {
  it('matches the URDF chain it is reduced from, within the 2 mm of the offsets it ignores', () => {
    const rng = new Rng(18);
    let n = 0;
    for (let i = 0; i < 300; i++) {
      const urdf = URDF_LIMITS.map((l) => rng.uniform(-0.8 * l, 0.8 * l));
      const q = urdf.map((v, j) => urdfToKinematic(j, v));
      const model = forwardKinematics(q);
      const real = urdfTip(urdf);
      const err = Math.hypot(model[0] - real[0], model[1] - real[1], model[2] - real[2]);
      expect(err, `URDF angles ${urdf.map((v) => v.toFixed(2))}`).toBeLessThan(0.002);
      expect(kinematicToUrdf(2, q[2])).toBeCloseTo(urdf[2], 12);
      n++;
    }
    expect(n).toBe(300);
    // The URDF's zero pose: upper arm 76° up, forearm and tool straight out.
    const zero = urdfTip([0, 0, 0, 0, 0]);
    expect(forwardKinematics(URDF_LIMITS.map((_, j) => urdfToKinematic(j, 0))).slice(0, 3).map((v, k) => v - zero[k]).every((d) => Math.abs(d) < 0.002)).toBe(true);
  });

  it('round-trips poses across the workspace of the SO-101 scenarios (IK → FK and FK → IK)', () => {
    const rng = new Rng(101);
    let inLimits = 0;
    for (let i = 0; i < 1000; i++) {
      // Tool-point targets over the blocks' area, from the table to 15 cm above it, any jaw yaw.
      const p = [rng.uniform(SO101_AREA.x[0], SO101_AREA.x[1]), rng.uniform(SO101_AREA.y[0], SO101_AREA.y[1]), rng.uniform(0.005, 0.15), rng.uniform(-Math.PI, Math.PI)];
      const ik = inverseKinematics(toBase(SO101_BASE, p), 0);
      expect(ik.reachable).toBe(true);
      if (withinLimits(ik.joints.map((v, j) => (j === 4 ? Math.atan2(Math.sin(v), Math.cos(v)) : v)))) inLimits++;
      const fk = toTable(SO101_BASE, forwardKinematics(ik.joints));
      for (let k = 0; k < 3; k++) expect(fk[k]).toBeCloseTo(p[k], 10);
      expect(Math.cos(fk[3] - p[3])).toBeCloseTo(1, 10);
      // Tool down: lift + elbow + flex = -π/2; and back again from the joints.
      expect(ik.joints[1] + ik.joints[2] + ik.joints[3]).toBeCloseTo(-Math.PI / 2, 12);
      const again = inverseKinematics(forwardKinematics(ik.joints), ik.joints[0]);
      for (let j = 0; j < 4; j++) expect(again.joints[j]).toBeCloseTo(ik.joints[j], 9);
    }
    // Every arm joint but the roll (which has its half-turn choice) within the URDF's limits everywhere.
    expect(inLimits).toBeGreaterThan(600);
    // The tool point is the grasp point: yawing the jaws about it moves the fingertips round it.
    const q = inverseKinematics(toBase(SO101_BASE, [0, 0.03, 0.1, 0]), 0).joints;
    const tool = { u: 0.02, s: 0.022 };
    const a = toolPose(SO101_BASE, q, tool), tip = toTable(SO101_BASE, forwardKinematics(q));
    expect(Math.hypot(a[0] - tip[0], a[1] - tip[1])).toBeCloseTo(0.02, 10);
    expect(a[2] - tip[2]).toBeCloseTo(0.022, 12);
  });
});

/** A scene with the SO-101 and blocks where asked, nominal physics. */
function armScene(blocks: Array<{ x: number; y: number; yaw: number }>, start: [number, number, number] = [0, 0.03, 0.12]): { scene: Scene; arm: So101Arm } {
  const physics = { ...nominalPhysics(blocks.length), blockSize: blocks.map(() => 0.04) };
  const scene = new Scene({ task: 'test', physics, layout: { blocks, gripper: { position: start, yaw: 0 }, goals: [] }, dt: 1 / 240, robot: 'so101' });
  return { scene, arm: scene.gripper as So101Arm };
}

describe('the simulated SO-101', () => {
  it('keeps every joint within its limits and its speed and acceleration, whatever it is told', () => {
    const { scene, arm } = armScene([]);
    const rng = new Rng(7);
    let hits = 0;
    let prev = arm.motorAngles(), prevV = [0, 0, 0, 0, 0];
    const p = arm.params;
    for (let k = 0; k < 200; k++) {
      // Far, fast targets: beyond reach and past the joint limits.
      arm.setTarget([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), rng.uniform(-0.2, 0.6), rng.uniform(-6, 6)]);
      arm.grip = rng.uniform(-1, 1);
      for (let s = 0; s < 12; s++) {
        scene.advance(1);
        const q = arm.motorAngles();
        for (let i = 0; i < 5; i++) {
          expect(q[i]).toBeGreaterThanOrEqual(JOINT_LIMITS[i][0] - 1e-9);
          expect(q[i]).toBeLessThanOrEqual(JOINT_LIMITS[i][1] + 1e-9);
          const v = (q[i] - prev[i]) * 240;
          expect(Math.abs(v)).toBeLessThanOrEqual(p.servoSpeed + 1e-6);
          // Velocity changes by at most accel·dt per substep while the joint is on its way (not landing
          // on its goal, not stopped at a limit or by a protective stop).
          const j = arm.joints[i];
          const onTheWay = Math.abs(j.goal - q[i]) > 0.02 && q[i] > JOINT_LIMITS[i][0] + 1e-6 && q[i] < JOINT_LIMITS[i][1] - 1e-6;
          if (onTheWay && arm.report.protectiveStops === 0) expect(Math.abs(v - prevV[i])).toBeLessThanOrEqual(STS3215_ACCEL / 240 + 1e-6);
          prevV[i] = v;
        }
        prev = q;
      }
      hits = arm.report.limitHits + arm.report.unreachable;
    }
    expect(hits).toBeGreaterThan(50);
  });

  it('stops a link pushing into a block, and reports it, instead of crushing it into the table', () => {
    // A block right under the fixed jaw: the gripper comes straight down onto it, jaws open.
    const probe = armScene([], [0, 0.03, 0.14]);
    probe.arm.grip = -1;
    probe.scene.advance(30);
    const jawX = probe.scene.gripper.fingers[0].position.x;
    const { scene, arm } = armScene([{ x: jawX, y: 0.03, yaw: 0 }], [0, 0.03, 0.14]);
    const block = scene.blocks[0];
    arm.grip = -1;
    scene.advance(30);
    expect(Math.abs(scene.gripper.fingers[0].position.x - block.position.x)).toBeLessThan(0.002);
    for (let k = 0; k < 60; k++) {
      arm.moveBy(0, 0, -0.025, 0);
      scene.advance(12);
    }
    expect(arm.report.protectiveStops).toBeGreaterThan(0);
    expect(arm.report.contacts.length).toBeGreaterThan(0);
    // The block was neither pushed into the table nor thrown: it rests where it was, on the table.
    expect(block.position.z).toBeGreaterThan(0.02 - 0.002);
    expect(block.position.z).toBeLessThan(0.02 + 0.005);
    expect(Math.hypot(block.position.x - jawX, block.position.y - 0.03)).toBeLessThan(0.03);
    // Nothing of the arm went into the table either.
    for (const b of scene.snapshot().bodies) {
      if (b.kind === 'table' || b.name === 'riser') continue;
      const [x, y, z, w] = b.quaternion;
      const h = b.shape.type === 'box' ? b.shape.halfExtents : [0, 0, 0];
      const low = b.position[2] - (Math.abs(2 * (x * z - w * y)) * h[0] + Math.abs(2 * (y * z + w * x)) * h[1] + Math.abs(1 - 2 * (x * x + y * y)) * h[2]);
      expect(low, b.name).toBeGreaterThan(-0.0025);
    }
  });

  it('holds a grasped block by friction while lifting and carrying it', () => {
    const { scene, arm } = armScene([{ x: 0.0, y: 0.03, yaw: 0 }], [0, 0.03, 0.1]);
    const block = scene.blocks[0];
    arm.grip = -1;
    scene.advance(30);
    // Down around the block (tool point 1 cm above its centre), close, lift 8 cm, carry 6 cm.
    const t = arm.targetPose();
    const path: Array<[number, number, number, number]> = [];
    for (let k = 1; k <= 10; k++) path.push([t[0] + (0 - t[0]) * k / 10, t[1] + (0.03 - t[1]) * k / 10, t[2] + (0.03 - t[2]) * k / 10, 0]);
    for (const p of path) { arm.setTarget(p); scene.advance(12); }
    scene.advance(24);
    arm.grip = 1;
    scene.advance(120);
    const held = block.position.z;
    for (let k = 1; k <= 16; k++) { arm.setTarget([0, 0.03, 0.03 + 0.005 * k, 0]); scene.advance(12); }
    for (let k = 1; k <= 12; k++) { arm.setTarget([0.005 * k, 0.03, 0.11, 0]); scene.advance(12); }
    scene.advance(48);
    expect(block.position.z - held).toBeGreaterThan(0.07);
    expect(block.position.x).toBeGreaterThan(0.05);
    // Nothing welds it: the jaws touch it, and opening drops it.
    const [l, r] = scene.gripper.fingers;
    const touching = (f: unknown) => scene.tabletop.world.contacts.some((c) => (c.bi === f && c.bj === block) || (c.bj === f && c.bi === block));
    expect(touching(l) && touching(r)).toBe(true);
    arm.grip = -1;
    scene.advance(120);
    expect(block.position.z).toBeLessThan(0.03);
  });

  it('gives the same trajectory for the same seed', () => {
    const scenario = loadScenario('scenarios/so101-stack-2.json');
    const run = (): number[] => {
      const env = new TabletopEnv(scenario);
      const limited = new TimeLimit(env, 60);
      limited.reset({ seed: 4242 });
      const expert = EXPERTS[scenario.task.id](env);
      const out: number[] = [];
      for (let k = 0; k < 60; k++) {
        const r = limited.step(expert.act());
        out.push(...r.obs);
        if (r.terminated || r.truncated) break;
      }
      return out;
    };
    expect(run()).toEqual(run());
  });

  it('reports the velocity of the tool point over the control step, as its encoders read once per command', () => {
    const env = new TabletopEnv(loadScenario('scenarios/so101-stack-2.json'), { randomization: 'none' });
    env.reset({ seed: 5 });
    const arm = env.scene.gripper as So101Arm;
    for (let k = 0; k < 6; k++) {
      const before = arm.reportedPose();
      const r = env.step(Float32Array.from([0.4, -0.3, k < 3 ? -0.5 : 0.5, 0, -1]));
      const after = arm.reportedPose();
      const dt = 1 / env.scenario.control.rateHz;
      for (let i = 0; i < 3; i++) expect(r.obs[6 + i]).toBeCloseTo((after[i] - before[i]) / dt, 6);
    }
  });
});

describe('scenarios choosing the robot', () => {
  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(loadScenario('scenarios/stack-2.json')));

  it('keep the mount by default and take "so101"', () => {
    const raw = base();
    delete raw.robot;
    expect(parseScenario(raw).robot).toBe('mount');
    expect(loadScenario('scenarios/so101-stack-3.json').robot).toBe('so101');
    expect(() => parseScenario({ ...raw, robot: 'ur5' })).toThrow(/robot/);
  });

  it('refuse the SO-101 randomization on the mount, naming the key and the fix', () => {
    const raw = base();
    (raw.randomization as Record<string, unknown>).servoGain = [50, 60];
    expect(() => parseScenario(raw)).toThrow(/randomization\.servoGain.*"robot": "so101"/s);
  });

  it('record the arm randomization with the episode, from its own stream', () => {
    const scenario = loadScenario('scenarios/so101-stack-2.json');
    const env = new TabletopEnv(scenario);
    const { info } = env.reset({ seed: 3 });
    expect(info.physics.servoGain).toBeGreaterThanOrEqual(70);
    expect(info.physics.jointOffset).toHaveLength(5);
    for (const b of info.physics.backlash ?? []) expect(b).toBeLessThanOrEqual((0.5 * Math.PI) / 180 + 1e-12);
    // The mount's physics draws are unchanged by the arm's stream: same seed, same blocks.
    const mount = new TabletopEnv({ ...scenario, robot: 'mount', randomization: { ...scenario.randomization, servoGain: undefined, servoSpeed: undefined, jointOffsetDeg: undefined, backlashDeg: undefined } });
    expect(mount.reset({ seed: 3 }).info.physics.blockSize).toEqual(info.physics.blockSize);
  });

  it('stack its own 4 cm blocks without randomization', () => {
    const env = new TabletopEnv(loadScenario('scenarios/so101-stack-2.json'), { randomization: 'none' });
    expect(env.reset({ seed: 3 }).info.physics.blockSize).toEqual([0.04, 0.04]);
    expect(new TabletopEnv(loadScenario('scenarios/stack-2.json'), { randomization: 'none' }).reset({ seed: 3 }).info.physics.blockSize).toEqual([0.05, 0.05]);
  });
});
