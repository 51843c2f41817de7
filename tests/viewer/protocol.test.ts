import { describe, it, expect } from 'vitest';
import { decodeFrame, FRAME_HEADER_BYTES } from '../../bridge/protocol.ts';
import {
  encodePoseFrame, encodeContactFrame, readPoseFrame, readContactFrame, parseClientMessage, parseServerMessage,
  encodeServerMessage, relayHub, POSE_COLUMNS, CHANNEL_POSES, SIM_HANDLE,
} from '../../viewer/protocol.ts';
import type { Moment } from '../../viewer/protocol.ts';
import { interpolatePoses } from '../../viewer/server/sim-source.ts';
import { gripperRows, gripperState } from '../../viewer/server/robot-scene.ts';
import { GRIPPER_GEOMETRY } from '../../sim/robot/gripper.ts';

const moment = (): Moment => ({ time: 1.25, step: 25, reward: 0.5, success: true, fail: false, paused: true, done: false, stepsPerSecond: 20, episode: 3, seed: 7, speed: 2 });

describe('viewer protocol: pose and contact frames', () => {
  it('round-trips a pose frame through the bridge frame header', () => {
    const poses = new Float64Array(2 * POSE_COLUMNS);
    poses.set([2, 0.1, 0.2, 0.025, 0, 0, 0, 1, 5, -0.1, 0, 0.3, 0, 0, 0.7071, 0.7071]);
    const bytes = encodePoseFrame(moment(), poses, 2, 42);
    const r = decodeFrame(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.frame).toMatchObject({ kind: 'tensor', dtype: 'float64', shape: [3, POSE_COLUMNS], handle: SIM_HANDLE, channel: CHANNEL_POSES, seq: 42 });
    const out = { ...moment(), time: 0, step: 0, success: false, paused: false };
    const rows = readPoseFrame(r.frame, out);
    expect(out).toEqual(moment());
    expect(Array.from(rows!)).toEqual(Array.from(poses));
    expect(readContactFrame(r.frame)).toBeNull();
  });

  it('round-trips contact frames, including an empty one', () => {
    const pts = new Float32Array([0.1, 0.2, 0.3, 0, 0, 1, 0.5, 0.5, 0.5, 1, 0, 0]);
    for (const n of [0, 1, 2]) {
      const r = decodeFrame(encodeContactFrame(pts, n, 1));
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      const c = readContactFrame(r.frame)!;
      expect(c.length).toBe(n * 6);
      expect(Array.from(c)).toEqual(Array.from(pts.subarray(0, n * 6)));
      expect(readPoseFrame(r.frame, moment())).toBeNull();
    }
  });

  it('reads frames whose payload is not 8-byte aligned', () => {
    const bytes = encodePoseFrame(moment(), new Float64Array(POSE_COLUMNS).fill(1), 1, 0);
    const shifted = new Uint8Array(bytes.byteLength + 3).subarray(3);
    shifted.set(bytes);
    const r = decodeFrame(shifted);
    expect(r.ok).toBe(true);
    if (r.ok) expect(Array.from(readPoseFrame(r.frame, moment())!)).toEqual(new Array(POSE_COLUMNS).fill(1));
    expect(bytes.byteLength).toBe(FRAME_HEADER_BYTES + 2 * POSE_COLUMNS * 8);
  });
});

describe('viewer protocol: JSON messages', () => {
  it('accepts every page request and fills defaults', () => {
    const ok = [
      { op: 'pause' }, { op: 'resume' }, { op: 'step' }, { op: 'step', n: 5 }, { op: 'reset' }, { op: 'reset', seed: 4294967295 },
      { op: 'scenario', path: 'scenarios/stack-2.json' }, { op: 'speed', value: 0 }, { op: 'autoReset', on: false },
      { op: 'contacts', on: true }, { op: 'seek', t: 1.7e12 }, { op: 'play' }, { op: 'estop', robot: 'emu-1' },
    ];
    for (const m of ok) expect(parseClientMessage(JSON.stringify(m)).ok, JSON.stringify(m)).toBe(true);
    const step = parseClientMessage('{"op":"step"}');
    expect(step.ok && step.msg).toEqual({ op: 'step', n: 1 });
    const estop = parseClientMessage('{"op":"estop","robot":"a"}');
    expect(estop.ok && estop.msg).toEqual({ op: 'estop', robot: 'a', reason: 'viewer e-stop' });
  });

  it('refuses bad requests with a reason, never throwing', () => {
    const bad = ['', 'null', '[]', '{"op":"fly"}', '{"op":"reset","seed":-1}', '{"op":"reset","seed":1.5}', '{"op":"speed","value":1e9}',
      '{"op":"step","n":0}', '{"op":"speed","value":"fast"}', 'x'.repeat(10_000), '{"op":"seek","t":null}'];
    for (const text of bad) {
      const r = parseClientMessage(text);
      expect(r.ok, text.slice(0, 40)).toBe(false);
      if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
    }
  });

  it('carries hub messages inside a checked relay', () => {
    const obs = { op: 'observation' as const, robot: 'emu-1', seq: 3, t: 1000, state: { 'ee.pose': [0, 0, 0.2, 0, -1] } };
    const r = parseServerMessage(relayHub(obs));
    expect(r.ok && r.msg).toEqual({ op: 'hub', msg: obs });
    expect(parseServerMessage(JSON.stringify({ op: 'hub', msg: { op: 'observation', robot: 'bad id!', seq: 1, t: 0, state: {} } })).ok).toBe(false);
    const hello = { op: 'hello' as const, protocol: 'simreal.viewer.v1' as const, mode: 'sim' as const, server: 's', streamHz: 60, scenarios: [], driver: 'expert' };
    expect(parseServerMessage(encodeServerMessage(hello)).ok).toBe(true);
  });
});

describe('viewer server helpers', () => {
  it('interpolates poses: ends exact, midpoints halfway, rotations unit and on the short arc', () => {
    const a = new Float64Array([7, 0, 0, 0, 0, 0, 0, 1]);
    const b = new Float64Array([7, 1, 2, 3, 0, 0, -Math.SQRT1_2, -Math.SQRT1_2]); // same as +90° about z with flipped sign
    const out = new Float64Array(8);
    interpolatePoses(a, b, 1, 1, out);
    expect(Array.from(out)).toEqual(Array.from(b));
    interpolatePoses(a, b, 0, 1, out);
    expect(Array.from(out.subarray(1, 4))).toEqual([0, 0, 0]);
    interpolatePoses(a, b, 0.5, 1, out);
    expect(Array.from(out.subarray(0, 4))).toEqual([7, 0.5, 1, 1.5]);
    expect(Math.hypot(out[4], out[5], out[6], out[7])).toBeCloseTo(1, 12);
    // Halfway to +90° about z is +45°: z = sin(22.5°), w = cos(22.5°) (short arc, not through 180°).
    expect(out[6]).toBeCloseTo(Math.sin(Math.PI / 8), 12);
    expect(out[7]).toBeCloseTo(Math.cos(Math.PI / 8), 12);
  });

  it('places a bridge robot\'s fingers from its pose like the simulator does', () => {
    const rows = new Float64Array(4 * POSE_COLUMNS);
    gripperRows([0.1, -0.05, 0.2, Math.PI / 2, -1], rows);
    const g = GRIPPER_GEOMETRY;
    const half = g.maxWidth / 2 + g.fingerHalf[0];
    expect(rows[POSE_COLUMNS + 1]).toBe(0.1);
    // yaw 90°: the opening axis is world y.
    expect(rows[2 * POSE_COLUMNS + 1]).toBeCloseTo(0.1, 12);
    expect(rows[2 * POSE_COLUMNS + 2]).toBeCloseTo(-0.05 - half, 12);
    expect(rows[3 * POSE_COLUMNS + 2]).toBeCloseTo(-0.05 + half, 12);
    expect(rows[3 * POSE_COLUMNS + 3]).toBeCloseTo(0.2 - g.palmHalf[2] - g.fingerHalf[2], 12);
    gripperRows([0, 0, 0.2, 0, 1], rows);
    expect(rows[3 * POSE_COLUMNS + 1] - rows[2 * POSE_COLUMNS + 1]).toBeCloseTo(2 * g.fingerHalf[0], 12); // closed: fingers touch
    const s = gripperState('emu', [0, 0, 0.2, 0, 0]);
    expect(s.bodies.map((b) => b.name)).toEqual(['table', 'palm', 'finger_l', 'finger_r']);
    expect(s.gripper.width).toBeCloseTo(g.maxWidth / 2, 12);
  });
});
