import { describe, it, expect } from 'vitest';
import {
  parseMessage, encodeMessage, encodeFrame, decodeFrame, frameElements, FRAME_HEADER_BYTES, CLIENT_OPS, HUB_OPS, PERMISSIONS,
} from '../../bridge/protocol.ts';
import type { ClientMessage, HubMessage } from '../../bridge/protocol.ts';
import { Rng } from '../../sim/rng.ts';

const features = {
  observation: {
    'ee.pose': { kind: 'state', dtype: 'float64', shape: [5], names: ['x', 'y', 'z', 'yaw', 'grip'] },
    'camera.front': { kind: 'image', dtype: 'uint8', shape: [480, 640, 3], format: 'rgb8', hz: 30 },
  },
  action: { form: 'ee_delta_normalized', maxDelta: [0.02, 0.02, 0.02, 0.2], poseKey: 'ee.pose' },
  controlHz: 20,
} as const;

const calibration = {
  schemaVersion: 1 as const, name: 'front', width: 640, height: 480,
  intrinsics: { fx: 579.4, fy: 579.4, cx: 320, cy: 240 },
  distortion: [0, 0, 0, 0, 0] as [number, number, number, number, number],
  cameraToTable: [1, 0, 0, 0, 0, 0, 1, -0.78, 0, -1, 0, 0.58, 0, 0, 0, 1],
};

const clientExamples: ClientMessage[] = [
  { op: 'register', id: 1, robot: 'emu-1', name: 'Emulated arm', features: structuredClone(features) as never },
  { op: 'observation', robot: 'emu-1', seq: 7, t: 1_700_000_000_000.5, cmdSeq: 41, state: { 'ee.pose': [0.1, 0, 0.2, 0, -1] } },
  { op: 'ack', robot: 'emu-1', seq: 41, applied: [0.5, 0, 0, 0, 1], t: 1 },
  { op: 'lease', id: 'a', robot: 'emu-1' },
  { op: 'release', robot: 'emu-1' },
  { op: 'command', robot: 'emu-1', seq: 3, action: [0.5, -0.5, 0, 0.1, 1], form: 'ee_delta_normalized', t: 2 },
  { op: 'estop', robot: 'emu-1', reason: 'operator' },
  { op: 'reset', id: 9, robot: 'emu-1' },
  { op: 'subscribe', robot: '*', channels: ['camera.front'] },
  { op: 'unsubscribe', robot: 'emu-1' },
  { op: 'ping', id: 5, t: 3 },
  { op: 'list_robots', id: 6, after: 'emu-1', limit: 10 },
  { op: 'attach', id: 7, robot: 'so101-1', features: { 'camera.front': { kind: 'image', dtype: 'uint8', shape: [480, 640, 3], format: 'rgb8', hz: 30, calibration: structuredClone(calibration) } } },
  { op: 'estimate', robot: 'emu-1', seq: 12, t: 1_700_000_000_000, camera: 'camera.front', frameSeq: 40, blocks: [{ name: 'block0', position: [0.01, -0.02, 0.025], yaw: 0.3, size: 0.05, score: 0.9 }], estimatedAt: 1_700_000_000_020 },
  { op: 'hold', id: 8, robot: 'emu-1', reason: 'camera.front sent no frame for 150 ms' },
];

describe('protocol: JSON messages', () => {
  it('has an example here for every client op, and each round-trips', () => {
    expect(new Set(clientExamples.map((m) => m.op))).toEqual(new Set(CLIENT_OPS));
    for (const m of clientExamples) {
      const r = parseMessage(encodeMessage(m));
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) expect(r.msg).toEqual(m);
    }
  });

  it('round-trips hub messages', () => {
    const state = { connected: true, lease: { role: 'controller' as const, session: 's2', name: 'policy' }, estop: null, holding: false, holdReason: null };
    const limits = { workspace: { min: [-0.4, -0.4, 0] as [number, number, number], max: [0.4, 0.4, 0.5] as [number, number, number] }, yaw: [-3, 3] as [number, number], maxStep: { linear: 0.05, angular: 0.5, grip: 2 }, maxVelocity: { linear: 1, angular: 6 }, commandTimeoutMs: 250, poseTimeoutMs: 1000 };
    const examples: HubMessage[] = [
      { op: 'welcome', protocol: 'simreal.bridge.v1', version: { major: 1, minor: 0 }, session: 's1', role: 'viewer', hubTime: 1, limits: { maxMessageBytes: 65536, messagesPerSecond: 50, bytesPerSecond: 262144 }, robots: [] },
      { op: 'ok', of: 'register', id: 1, robot: 'emu-1', handle: 3, limits },
      { op: 'error', code: 'not_leased', message: 'lease emu-1 before commanding it', ref: { op: 'command', seq: 3, robot: 'emu-1' } },
      { op: 'robots', robots: [{ id: 'emu-1', handle: 3, features: structuredClone(features) as never, limits, state }] },
      { op: 'robot', info: { id: 'emu-1', handle: 3, features: structuredClone(features) as never, limits, state } },
      { op: 'robot_removed', robot: 'emu-1' },
      { op: 'robot_state', robot: 'emu-1', state },
      { op: 'command', robot: 'emu-1', seq: 41, form: 'ee_delta_normalized', action: [1, 0, 0, 0, 1], clamped: ['normalized_range'], t: 2 },
      { op: 'ack', robot: 'emu-1', seq: 3, requested: [5, 0, 0, 0, 1], sent: [1, 0, 0, 0, 1], applied: [1, 0, 0, 0, 1], clamped: ['normalized_range'], hubReceived: 1, hubAcked: 2 },
      { op: 'observation', robot: 'emu-1', seq: 1, t: 1, state: { 'ee.pose': [0, 0, 0, 0, 0] } },
      { op: 'hold', robot: 'emu-1', reason: 'watchdog', message: 'no command from policy for 250 ms', t: 3 },
      { op: 'estop', robot: 'emu-1', reason: 'operator', by: { role: 'controller', session: 's4' }, t: 4 },
      { op: 'status', level: 'warn', code: 'watchdog', message: 'emu-1: no command', robot: 'emu-1', t: 5 },
      { op: 'pong', id: 5, t: 3, hubTime: 6 },
      { op: 'estimate', robot: 'emu-1', seq: 12, t: 1, camera: 'camera.front', blocks: [{ name: 'block0', position: [0, 0, 0.025], yaw: 0, size: 0.05 }], by: { role: 'controller', session: 's4', name: 'policy' } },
    ];
    expect(new Set(examples.map((m) => m.op))).toEqual(new Set(HUB_OPS));
    for (const m of examples) {
      const r = parseMessage(encodeMessage(m), { from: 'hub' });
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) expect(r.msg).toEqual(m);
    }
  });

  it('gives every op a permission entry', () => {
    expect(Object.keys(PERMISSIONS).sort()).toEqual([...CLIENT_OPS].sort());
  });

  it('rejects bad input with a code, and never throws', () => {
    const cases: Array<[string, string]> = [
      ['{', 'bad_json'],
      ['', 'bad_json'],
      ['null', 'not_object'],
      ['[1,2]', 'not_object'],
      ['"ping"', 'not_object'],
      ['{"x":1}', 'invalid'],
      ['{"op":5}', 'invalid'],
      ['{"op":"launch"}', 'unknown_op'],
      ['{"op":"__proto__"}', 'unknown_op'],
      ['{"op":"command","robot":"r","seq":1,"action":[0,0,0,0]}', 'invalid'],
      ['{"op":"command","robot":"r","seq":-1,"action":[0,0,0,0,0]}', 'invalid'],
      ['{"op":"command","robot":"r","seq":1,"action":[0,0,0,0,"1"]}', 'invalid'],
      ['{"op":"command","robot":"r","seq":1,"action":[0,0,0,0,1e999]}', 'invalid'],
      ['{"op":"command","robot":"../x","seq":1,"action":[0,0,0,0,0]}', 'invalid'],
      ['{"op":"register","robot":"r","features":{"observation":{},"action":{"form":"ee_delta_normalized"},"controlHz":10}}', 'invalid'],
      ['{"op":"subscribe","robot":"*","channels":["__proto__"]}', 'invalid'],
      ['['.repeat(100000), 'bad_json'],
    ];
    for (const [text, code] of cases) {
      const r = parseMessage(text);
      expect(r.ok, text.slice(0, 80)).toBe(false);
      if (!r.ok) expect(r.error.code, text.slice(0, 80)).toBe(code);
    }
    const big = parseMessage(JSON.stringify({ op: 'ping', pad: 'x'.repeat(2000) }), { maxChars: 1000 });
    expect(!big.ok && big.error.code).toBe('too_large');
    // The reference survives for correlation even when the message is invalid.
    const r = parseMessage('{"op":"command","robot":"r1","seq":12,"action":[]}');
    expect(!r.ok && r.error.ref).toEqual({ op: 'command', seq: 12, robot: 'r1' });
  });

  it('survives seeded random text and bytes', () => {
    const rng = new Rng(6);
    for (let i = 0; i < 2000; i++) {
      const n = rng.int(0, 64);
      let s = '';
      for (let k = 0; k < n; k++) s += String.fromCharCode(rng.int(0, 0xffff));
      expect(parseMessage(s).ok).toBe(false);
      const b = new Uint8Array(rng.int(0, 100));
      for (let k = 0; k < b.length; k++) b[k] = rng.int(0, 255);
      expect(parseMessage(b).ok).toBe(false);
    }
  });

  it('keeps __proto__ keys as plain data', () => {
    const r = parseMessage('{"op":"observation","robot":"r","seq":1,"t":1,"state":{"__proto__":[1,2]}}');
    // Either refused by the key pattern or kept as data: never a changed prototype.
    if (r.ok && r.msg.op === 'observation') expect(Object.getPrototypeOf(r.msg.state)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('protocol: binary frames', () => {
  it('encodes a 48-byte little-endian header and decodes it back', () => {
    const data = new Float32Array([1.5, -2, 3, 4, 5, 6]);
    const bytes = encodeFrame({ kind: 'tensor', dtype: 'float32', shape: [2, 3], handle: 7, channel: 2, seq: 99, t: 1234.5, format: null }, data);
    expect(bytes.byteLength).toBe(FRAME_HEADER_BYTES + 24);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x53, 0x52, 0x42, 0x46]);
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(12, true)).toBe(7);
    expect(v.getFloat64(24, true)).toBe(1234.5);
    const r = decodeFrame(bytes);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.frame).toMatchObject({ kind: 'tensor', dtype: 'float32', shape: [2, 3], handle: 7, channel: 2, seq: 99, t: 1234.5, format: null });
      expect(Array.from(frameElements(r.frame))).toEqual(Array.from(data));
    }
  });

  it('decodes an image frame from an unaligned view', () => {
    const img = new Uint8Array(4 * 5 * 3).map((_, i) => i);
    const f = encodeFrame({ kind: 'image', dtype: 'uint8', shape: [4, 5, 3], handle: 1, channel: 0, seq: 1, t: 0, format: 'rgb8' }, img);
    const shifted = new Uint8Array(f.byteLength + 1);
    shifted.set(f, 1);
    const r = decodeFrame(shifted.subarray(1));
    expect(r.ok && Array.from(frameElements(r.frame))).toEqual(Array.from(img));
  });

  it('rejects lying headers', () => {
    const good = encodeFrame({ kind: 'image', dtype: 'uint16', shape: [2, 2, 1], handle: 1, channel: 0, seq: 1, t: 0, format: 'depth16mm' }, new Uint16Array(4));
    const mutate = (off: number, val: number): Uint8Array => { const b = good.slice(); b[off] = val; return b; };
    const bad = [good.subarray(0, 47), good.subarray(0, good.length - 1), mutate(0, 0), mutate(4, 2), mutate(5, 9), mutate(6, 0), mutate(7, 5), mutate(20, 0), mutate(32, 3), mutate(44, 1)];
    for (const b of bad) expect(decodeFrame(b).ok).toBe(false);
    expect(() => encodeFrame({ kind: 'tensor', dtype: 'float64', shape: [3], handle: 1, channel: 0, seq: 0, t: 0, format: null }, new Float64Array(2))).toThrow(/needs 24/);
  });
});

describe('protocol: the fast path agrees with the schemas', () => {
  it('accepts exactly what zod accepts, with the same output, for seeded valid and broken control messages', async () => {
    const { fastClientMessage, fastHubMessage } = await import('../../bridge/protocol/fast.ts');
    const { ClientMessageSchema, HubMessageSchema } = await import('../../bridge/protocol/messages.ts');
    const rng = new Rng(7);
    const num = (): number => rng.uniform(-2, 2);
    const vec = (): number[] => [num(), num(), num(), num(), num()];
    const state = (): Record<string, number[]> => ({ 'ee.pose': vec(), joints: [num(), num(), num()] });
    const bases: Array<{ from: 'client' | 'hub'; m: Record<string, unknown> }> = [
      { from: 'client', m: { op: 'command', robot: 'emu-1', seq: 3, action: vec(), form: 'ee_delta', t: 5 } },
      { from: 'client', m: { op: 'command', robot: 'a', seq: 0, action: vec() } },
      { from: 'client', m: { op: 'ack', robot: 'so101.left', seq: 4294967295, applied: vec(), t: 1 } },
      { from: 'client', m: { op: 'observation', robot: 'emu-1', seq: 9, t: 1.5, cmdSeq: 8, state: state() } },
      { from: 'client', m: { op: 'observation', robot: 'emu-1', seq: 9, t: 1.5, state: {} } },
      { from: 'hub', m: { op: 'command', robot: 'emu-1', seq: 1, form: 'ee_target', action: vec(), clamped: ['workspace', 'yaw'], t: 2 } },
      { from: 'hub', m: { op: 'ack', robot: 'emu-1', seq: 1, requested: vec(), sent: vec(), applied: vec(), clamped: [], hubReceived: 1, hubAcked: 2 } },
      { from: 'hub', m: { op: 'observation', robot: 'x', seq: 1, t: 0, state: state() } },
    ];
    const weird: unknown[] = [null, true, -1, 0.5, 4294967296, 1e16, '1', [], {}, 'emu 1', '__proto__', 'x'.repeat(65), Infinity, NaN, -0, [1, 2, 3, 4], [1, 2, 3, 4, 5, 6], ['a', 1, 2, 3, 4], 'bogus_form', ['velocity_linear', 'nope']];
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const base = rng.pick(bases);
      const m: Record<string, unknown> = structuredClone(base.m);
      const keys = Object.keys(m).filter((k) => k !== 'op');
      const r = rng.next();
      if (r < 0.3) m[rng.pick(keys)] = rng.pick(weird);
      else if (r < 0.4) delete m[rng.pick(keys)];
      else if (r < 0.5) m[rng.pick(['extra', 'note', 'cmdSeq', 'form', 't'])] = rng.pick([1, 'ee_delta', 'x']);
      else if (r < 0.6 && typeof m.state === 'object') {
        const st = m.state as Record<string, unknown>;
        st[rng.pick(['ee.pose', '9bad', 'a'.repeat(70), 'ok.key', '__proto__'])] = rng.pick([vec(), [1, 'x'], Array.from({ length: 257 }, () => 1), [Infinity]]);
      } else if (r < 0.65 && typeof m.state === 'object') {
        for (let k = 0; k < 65; k++) (m.state as Record<string, number[]>)[`k${k}`] = [1];
      }
      // Through JSON, as on the wire (Infinity becomes 1e999 in the text, which parses back to Infinity).
      const text = JSON.stringify(m, (_k, v) => (v === Infinity ? '__INF__' : v)).replace(/"__INF__"/g, '1e999');
      const value = JSON.parse(text) as Record<string, unknown>;
      const fast = base.from === 'client' ? fastClientMessage(value) : fastHubMessage(value);
      const zod = (base.from === 'client' ? ClientMessageSchema : HubMessageSchema).safeParse(value);
      if (fast) {
        expect(zod.success, text).toBe(true);
        if (zod.success) expect(JSON.stringify(fast.msg), text).toBe(JSON.stringify(zod.data));
        expect(fast.exact, text).toBe(Object.keys(value).every((k) => k in fast.msg));
        accepted++;
      } else {
        // The fast path may decline something valid (zod then decides), but only with an unknown field.
        if (zod.success) expect(Object.keys(value).some((k) => !(k in zod.data)), text).toBe(true);
        refused++;
      }
    }
    expect(accepted).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });
});
