import { describe, it, expect } from 'vitest';
import { RobotInfoSchema, decodeFrame } from '../../bridge/protocol.ts';
import type { Observation } from '../../bridge/protocol.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { POSE_COLUMNS, readPoseFrame } from '../../viewer/protocol.ts';
import type { Moment, ViewerServerMessage } from '../../viewer/protocol.ts';
import { RobotScene, blockSlots, isSo101 } from '../../viewer/server/robot-scene.ts';
import { so101Features } from '../../bridge/robots/so101/features.ts';
import type { So101Arm } from '../../sim/robot/so101/arm.ts';
import { Pages } from '../../viewer/server/source.ts';

describe('viewer: a bridge robot drawn from its observations', () => {
  it('draws the gripper at ee.pose and the blocks its task observation perceives', () => {
    const env = new TabletopEnv(loadScenario('scenarios/stack-3.json'), { randomization: 'none' });
    env.reset({ seed: 2 });
    const names = env.observationSpace.names;
    const info = RobotInfoSchema.parse({
      id: 'emu-1', handle: 1,
      features: {
        observation: {
          'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'] },
          'policy.state': { kind: 'state', dtype: 'float32', shape: [names.length], names },
        },
        action: { form: 'ee_delta_normalized', maxDelta: [0.025, 0.025, 0.025, 0.25], poseKey: 'ee.pose' },
        controlHz: 20,
      },
      limits: { workspace: { min: [-1, -1, -1], max: [1, 1, 1] }, yaw: [-4, 4], maxStep: { linear: 1, angular: 1, grip: 2 }, maxVelocity: { linear: 1, angular: 1 }, commandTimeoutMs: 250, poseTimeoutMs: 1000 },
      state: { connected: true, lease: null, estop: null, holding: true, holdReason: null },
    });
    expect(blockSlots(info).map((b) => b.name)).toEqual(['block0', 'block1', 'block2']);

    const pages = new Pages();
    const messages: ViewerServerMessage[] = [];
    const frames: Uint8Array[] = [];
    pages.add({ send: (m) => messages.push(m), sendText: (t) => messages.push(JSON.parse(t)), sendFrame: (f) => frames.push(f) });
    const scene = new RobotScene(pages, { canEstop: false });
    scene.setRobots([info]);
    const state = env.state();
    const p = state.gripper.position;
    const obs: Observation = { op: 'observation', robot: 'emu-1', seq: 1, t: 1000, state: { 'ee.pose': [p[0], p[1], p[2], state.gripper.yaw, -1], 'policy.state': Array.from(env.observeClean()) } };
    scene.observation(obs);
    scene.flush();
    const episode = messages.filter((m) => m.op === 'episode').at(-1) as Extract<ViewerServerMessage, { op: 'episode' }>;
    const drawnBlocks = episode.state.bodies.filter((b) => b.kind === 'block');
    expect(drawnBlocks.map((b) => b.name)).toEqual(['block0', 'block1', 'block2']);
    const r = decodeFrame(frames.at(-1)!);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = {} as Moment;
    const rows = readPoseFrame(r.frame, m)!;
    expect(rows.length).toBe(7 * POSE_COLUMNS);
    for (const b of state.bodies.filter((x) => x.kind === 'block')) {
      const drawn = episode.state.bodies.findIndex((x) => x.name === b.name);
      const o = drawn * POSE_COLUMNS;
      for (let k = 0; k < 3; k++) expect(rows[o + 1 + k]).toBeCloseTo(b.position[k], 5);
      expect(drawnBlocks.find((x) => x.name === b.name)!.shape).toEqual({ type: 'box', halfExtents: b.shape.type === 'box' ? b.shape.halfExtents.map((h) => expect.closeTo(h, 5)) : [] });
    }
    const palm = episode.state.bodies.findIndex((x) => x.name === 'palm') * POSE_COLUMNS;
    expect([rows[palm + 1], rows[palm + 2], rows[palm + 3]]).toEqual(p);
  });

  it('draws an SO-101 as the arm itself from the joints it reports', () => {
    const env = new TabletopEnv(loadScenario('scenarios/so101-stack-2.json'), { randomization: 'none' });
    env.reset({ seed: 3 });
    for (let i = 0; i < 15; i++) env.step(Float32Array.from([0.6, -0.4, -0.5, 0.3, i < 8 ? -1 : 1]));
    const arm = env.scene.gripper as So101Arm;
    const info = RobotInfoSchema.parse({
      id: 'so101-1', handle: 1, features: so101Features(),
      limits: { workspace: { min: [-1, -1, -1], max: [1, 1, 1] }, yaw: [-4, 4], maxStep: { linear: 1, angular: 1, grip: 2 }, maxVelocity: { linear: 1, angular: 1 }, commandTimeoutMs: 250, poseTimeoutMs: 1000 },
      state: { connected: true, lease: null, estop: null, holding: true, holdReason: null },
    });
    expect(isSo101(info)).toBe(true);

    const pages = new Pages();
    const messages: ViewerServerMessage[] = [];
    const frames: Uint8Array[] = [];
    pages.add({ send: (m) => messages.push(m), sendText: (t) => messages.push(JSON.parse(t)), sendFrame: (f) => frames.push(f) });
    const scene = new RobotScene(pages, { canEstop: false });
    scene.setRobots([info]);
    const pose = arm.reportedPose();
    scene.observation({ op: 'observation', robot: 'so101-1', seq: 1, t: 1000, state: { 'ee.pose': [...pose.slice(0, 3), pose[3], arm.reportedGrip()], joints: [...arm.motorAngles(), arm.reportedGrip()] } });
    scene.flush();
    const episode = messages.filter((m) => m.op === 'episode').at(-1) as Extract<ViewerServerMessage, { op: 'episode' }>;
    expect(episode.state.robot).toBe('so101');
    const r = decodeFrame(frames.at(-1)!);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const rows = readPoseFrame(r.frame, {} as Moment)!;
    expect(rows.length).toBe(10 * POSE_COLUMNS);
    // Without randomization the encoders read the links' angles: every link is drawn where the simulator has it.
    const sim = env.state().bodies;
    for (const name of ['arm_base', 'arm_shoulder', 'arm_upper', 'arm_lower', 'arm_wrist', 'palm', 'finger_l', 'finger_r', 'riser']) {
      const o = episode.state.bodies.findIndex((x) => x.name === name) * POSE_COLUMNS;
      const b = sim.find((x) => x.name === name)!;
      expect(b, name).toBeDefined();
      const d = Math.hypot(rows[o + 1] - b.position[0], rows[o + 2] - b.position[1], rows[o + 3] - b.position[2]);
      // The moving jaw is a body the servo drives (it lags its encoder by a little); the rest are set from the joints.
      expect(d, name).toBeLessThan(name === 'finger_r' ? 0.002 : 1e-6);
    }
  });
});
