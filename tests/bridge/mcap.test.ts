import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import type { McapTypes } from '@mcap/core';
import { McapRecorder } from '../../bridge/mcap/recorder.ts';
import { readRecording, replay } from '../../bridge/mcap/reader.ts';
import { startTestBridge, startMockRobot, connectController, leaseReady } from './helpers.ts';

class FileReadable implements McapTypes.IReadable {
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  async size(): Promise<bigint> {
    return BigInt(this.buf.byteLength);
  }
  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    return this.buf.subarray(Number(offset), Number(offset + size));
  }
}

describe('MCAP recording', () => {
  it('records every message through the hub and reads it back in time order', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-mcap-'));
    const file = path.join(dir, 'session.mcap');
    const recorder = await McapRecorder.open(file);
    await expect(McapRecorder.open(file)).rejects.toThrow(/EEXIST/);
    const bridge = await startTestBridge({ recorder });
    const { client } = await startMockRobot(bridge, 'cam', { camera: { width: 32, height: 24 } }, 100);
    const ctl = await connectController(bridge);
    await leaseReady(ctl, 'cam');
    const viewer = await connectController(bridge, 'v', { role: 'viewer' });
    let frames = 0;
    viewer.on('frame', () => frames++);
    await viewer.subscribe('cam');
    for (let i = 0; i < 10; i++) await ctl.command('cam', [0.1, 0, 0, 0, 1]);
    while (frames < 3) await new Promise((r) => setTimeout(r, 10));
    await viewer.close();
    await ctl.close();
    await client.stop();
    await bridge.close(); // closes the recorder

    // The library's own reader.
    const reader = await McapIndexedReader.Initialize({ readable: new FileReadable(fs.readFileSync(file)) });
    const topics = new Set([...reader.channelsById.values()].map((c) => c.topic));
    for (const t of ['/robots/cam/in/register', '/robots/cam/in/command', '/robots/cam/out/command', '/robots/cam/in/ack', '/robots/cam/out/ack', '/robots/cam/in/observation', '/robots/cam/frames/camera.front', '/hub/sessions']) expect(topics).toContain(t);
    const schemas = [...reader.schemasById.values()];
    expect(schemas.find((s) => s.name === 'simreal.bridge.v1.hub.command')?.encoding).toBe('jsonschema');
    const frameSchema = schemas.find((s) => s.name === 'simreal.bridge.v1.Frame');
    expect(JSON.parse(Buffer.from(frameSchema!.data).toString()).headerBytes).toBe(48);
    let count = 0;
    for await (const m of reader.readMessages()) {
      void m;
      count++;
    }
    expect(count).toBeGreaterThan(30);
    expect(reader.statistics?.messageCount).toBe(BigInt(count));

    // Ours: ordered, decoded.
    let last = 0n;
    const ops = new Map<string, number>();
    let decodedFrames = 0;
    for await (const m of readRecording(file)) {
      expect(m.logTime >= last).toBe(true);
      last = m.logTime;
      ops.set(`${m.dir}.${m.op}`, (ops.get(`${m.dir}.${m.op}`) ?? 0) + 1);
      if (m.frame) {
        decodedFrames++;
        expect(m.frame.shape).toEqual([24, 32, 3]);
      }
    }
    expect(ops.get('in.command')).toBe(10);
    expect(ops.get('out.ack')).toBe(10);
    expect(decodedFrames).toBeGreaterThan(0);
    const cmds: unknown[] = [];
    await replay(file, (m) => { if (m.op === 'command' && m.dir === 'out') cmds.push(m.json); }, { speed: Infinity, topics: ['/robots/cam/out/command'] });
    expect(cmds).toHaveLength(10);
    expect(cmds[0]).toMatchObject({ op: 'command', robot: 'cam', form: 'ee_delta_normalized' });
  });

  it('records only what the hub accepted: a refused, forged observation or command never enters the recording (finding 8)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-mcap-'));
    const file = path.join(dir, 'forged.mcap');
    const recorder = await McapRecorder.open(file);
    const bridge = await startTestBridge({ recorder });
    const { client } = await startMockRobot(bridge, 'arm', {}, 50);
    const { client: other } = await startMockRobot(bridge, 'other', {}, 50);
    const holder = await connectController(bridge, 'holder');
    await leaseReady(holder, 'arm');
    const intruder = await connectController(bridge, 'intruder');
    // Robot `other` forges an observation of `arm` (a pose far outside the box); a controller without the lease commands.
    const forged = { op: 'observation', robot: 'arm', seq: 1, t: 1, state: { 'ee.pose': [9, 9, 9, 0, 0] } } as const;
    (other as unknown as { ws: { send(s: string): void } }).ws.send(JSON.stringify(forged));
    const refused = new Promise<void>((resolve) => intruder.once('hubError', () => resolve()));
    intruder.sendCommand('arm', [0.9, 0, 0, 0, 0]);
    await refused;
    await holder.command('arm', [0.1, 0, 0, 0, 0]);
    await new Promise((r) => setTimeout(r, 100));
    await intruder.close();
    await holder.close();
    await client.stop();
    await other.stop();
    await bridge.close();
    const inbound: Array<{ op: string; robot: string | null; json: unknown }> = [];
    const errors: unknown[] = [];
    for await (const m of readRecording(file)) {
      if (m.dir === 'in') inbound.push({ op: m.op, robot: m.robot, json: m.json });
      if (m.dir === 'out' && m.op === 'error') errors.push(m.json);
    }
    const poses = inbound.filter((m) => m.op === 'observation' && m.robot === 'arm').map((m) => (m.json as { state: Record<string, number[]> }).state['ee.pose'][0]);
    expect(poses.length).toBeGreaterThan(0);
    expect(poses.every((x) => x < 1)).toBe(true);
    expect(inbound.filter((m) => m.op === 'command')).toHaveLength(1);
    // The refusals themselves are in the recording, as the hub's error replies.
    expect(errors).toEqual(expect.arrayContaining([
      expect.objectContaining({ code: 'forbidden', ref: expect.objectContaining({ op: 'observation', robot: 'arm' }) }),
      expect.objectContaining({ code: 'not_leased', ref: expect.objectContaining({ op: 'command', robot: 'arm' }) }),
    ]));
  });

  it('streams a recording that was never closed (a crash)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-mcap-'));
    const file = path.join(dir, 'crash.mcap');
    const full = path.join(dir, 'full.mcap');
    const rec = await McapRecorder.open(full, { chunkSize: 256 });
    for (let i = 0; i < 50; i++) rec.record({ dir: 'in', op: 'ping', robot: null, t: 1000 + i, text: JSON.stringify({ op: 'ping', id: i }) });
    await rec.close();
    const bytes = fs.readFileSync(full);
    // Cut off the summary and footer, as a killed process would leave it.
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const ids: number[] = [];
    for await (const m of readRecording(file)) ids.push((m.json as { id: number }).id);
    expect(ids.length).toBeGreaterThan(10);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });
});
