/**
 * Foxglove: a recording's Foxglove channels carry @foxglove/schemas' own JSON schemas and every
 * message validates against them; the live endpoint speaks Foxglove's WebSocket protocol to a
 * real client (the protocol package's FoxgloveClient) that subscribes and receives transforms,
 * scene updates and images, and it admits only holders of a bridge token.
 */
import { describe, it, expect, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { McapIndexedReader } from '@mcap/core';
import * as foxgloveSchemas from '@foxglove/schemas/jsonschema.js';
import { FoxgloveClient } from '@foxglove/ws-protocol';
import { McapRecorder } from '../../bridge/mcap/recorder.ts';
import { FileReadable } from '../../bridge/mcap/file-readable.ts';
import { readRecording } from '../../bridge/mcap/reader.ts';
import { startFoxgloveEndpoint } from '../../bridge/foxglove/live.ts';
import type { FoxgloveEndpoint } from '../../bridge/foxglove/live.ts';
import { MockRobot } from '../../bridge/robots/mock.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import type { Robot, RobotObservation } from '../../bridge/robot.ts';
import type { ActionVector, Features, SafetyLimits } from '../../bridge/protocol.ts';
import type { RunningBridge } from '../../bridge/hub/server.ts';
import { TOKEN, startTestBridge, until } from './helpers.ts';

const validators: Record<string, z.ZodType> = {
  'foxglove.FrameTransform': z.fromJSONSchema(foxgloveSchemas.FrameTransform as never),
  'foxglove.SceneUpdate': z.fromJSONSchema(foxgloveSchemas.SceneUpdate as never),
  'foxglove.RawImage': z.fromJSONSchema(foxgloveSchemas.RawImage as never),
};
const ownSchema: Record<string, unknown> = {
  'foxglove.FrameTransform': foxgloveSchemas.FrameTransform,
  'foxglove.SceneUpdate': foxgloveSchemas.SceneUpdate,
  'foxglove.RawImage': foxgloveSchemas.RawImage,
};

/** A mock robot that also reports two blocks, as the simulator's task observations name them. */
class BlockRobot implements Robot {
  readonly inner = new MockRobot({ camera: { width: 32, height: 24 }, log: false });
  readonly features: Features;
  private step = 0;
  constructor() {
    const names = ['block0.x', 'block0.y', 'block0.z', 'block0.sin4yaw', 'block0.cos4yaw', 'block0.size', 'block1.x', 'block1.y', 'block1.z', 'block1.sin4yaw', 'block1.cos4yaw', 'block1.size'];
    this.features = { ...this.inner.features, observation: { ...this.inner.features.observation, 'policy.state': { kind: 'state', dtype: 'float32', shape: [names.length], names } } };
  }
  get isConnected(): boolean {
    return this.inner.isConnected;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  async getObservation(): Promise<RobotObservation> {
    const o = await this.inner.getObservation();
    const s = this.step++ * 0.001;
    o.state['policy.state'] = [0.1 + s, 0, 0.025, 0, 1, 0.05, -0.1, 0.05, 0.025, 1, 0, 0.04];
    return o;
  }
  sendAction(a: ActionVector): Promise<ActionVector> {
    return this.inner.sendAction(a);
  }
  hold(): Promise<void> {
    return this.inner.hold();
  }
  setLimits(limits: SafetyLimits): void {
    this.inner.setLimits(limits);
  }
  emergencyStop(r: string): Promise<void> {
    return this.inner.emergencyStop(r);
  }
  disconnect(): Promise<void> {
    return this.inner.disconnect();
  }
}

async function startBlockRobot(bridge: RunningBridge): Promise<RobotClient> {
  const client = new RobotClient({ url: bridge.url, token: bridge.robotToken('arm'), id: 'arm', robot: new BlockRobot(), observationHz: 50, backoff: { initialMs: 20, maxMs: 200 } });
  await client.start();
  await client.waitRegistered(5000);
  return client;
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('Foxglove', () => {
  it('records FrameTransform, SceneUpdate and RawImage channels that decode with @foxglove/schemas\' own definitions', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-foxglove-'));
    const file = path.join(dir, 'session.mcap');
    const recorder = await McapRecorder.open(file);
    const bridge = await startTestBridge({ recorder });
    const robot = await startBlockRobot(bridge);
    await new Promise((r) => setTimeout(r, 400));
    await robot.stop();
    await bridge.close();

    const buf = fs.readFileSync(file);
    const reader = await McapIndexedReader.Initialize({ readable: { size: async () => BigInt(buf.length), read: async (o, n) => buf.subarray(Number(o), Number(o + n)) } });
    const fox = [...reader.channelsById.values()].filter((c) => c.metadata.get('schema') === 'foxglove');
    expect(fox.map((c) => c.topic).sort()).toEqual(['/robots/arm/camera/camera.front', '/robots/arm/scene', '/robots/arm/tf']);
    for (const c of fox) {
      const schema = reader.schemasById.get(c.schemaId)!;
      expect(schema.encoding).toBe('jsonschema');
      expect(c.messageEncoding).toBe('json');
      // The schema stored is the package's own definition, byte for byte.
      expect(JSON.parse(Buffer.from(schema.data).toString())).toEqual(ownSchema[schema.name]);
    }
    const seen = new Map<string, number>();
    const children = new Set<string>();
    let image: Record<string, unknown> | null = null;
    let workspace = false;
    let cubes = 0;
    for await (const m of reader.readMessages({ topics: fox.map((c) => c.topic) })) {
      const c = reader.channelsById.get(m.channelId)!;
      const name = reader.schemasById.get(c.schemaId)!.name;
      const msg = JSON.parse(Buffer.from(m.data).toString()) as Record<string, unknown>;
      const r = validators[name].safeParse(msg);
      expect(r.success, `${c.topic}: ${r.success ? '' : r.error.message}`).toBe(true);
      seen.set(name, (seen.get(name) ?? 0) + 1);
      if (name === 'foxglove.FrameTransform') children.add(msg.child_frame_id as string);
      if (name === 'foxglove.RawImage') image = msg;
      if (name === 'foxglove.SceneUpdate') {
        for (const e of msg.entities as Array<{ id: string; cubes: unknown[] }>) {
          if (e.id === 'arm/workspace') workspace = true;
          else cubes += e.cubes.length;
        }
      }
    }
    expect(children).toEqual(new Set(['arm/ee', 'arm/block0', 'arm/block1']));
    expect(seen.get('foxglove.FrameTransform')).toBeGreaterThan(10);
    expect(workspace).toBe(true);
    expect(cubes).toBe(2);
    expect(image).toMatchObject({ width: 32, height: 24, encoding: 'rgb8', step: 96, frame_id: 'arm/camera.front' });
    expect(Buffer.from(image!.data as string, 'base64').length).toBe(32 * 24 * 3);
    // The protocol reader leaves the derived channels out.
    for await (const m of readRecording(file)) expect(m.topic).not.toMatch(/\/(tf|scene|camera\/)/);
  });

  async function liveSetup(): Promise<{ bridge: RunningBridge; endpoint: FoxgloveEndpoint }> {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const robot = await startBlockRobot(bridge);
    cleanup.push(() => robot.stop());
    const endpoint = await startFoxgloveEndpoint({ hubUrl: bridge.url, hubToken: TOKEN, accept: { token: TOKEN }, port: 0 });
    cleanup.push(() => endpoint.close());
    return { bridge, endpoint };
  }

  it('serves the live bridge to a Foxglove protocol client: it subscribes and receives transforms and images', async () => {
    const { endpoint } = await liveSetup();
    const ws = new WebSocket(`${endpoint.url}/?token=${TOKEN}`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
    const client = new FoxgloveClient({ ws: ws as never });
    cleanup.push(async () => client.close());
    let capabilities: string[] | null = null;
    client.on('serverInfo', (info) => (capabilities = info.capabilities));
    const channels = new Map<number, { topic: string; schemaName: string; schema: string }>();
    const subs = new Map<number, string>();
    client.on('advertise', (list) => {
      for (const c of list) {
        channels.set(c.id, c);
        subs.set(client.subscribe(c.id), c.topic);
      }
    });
    const got = new Map<string, Record<string, unknown>[]>();
    client.on('message', ({ subscriptionId, data }) => {
      const topic = subs.get(subscriptionId)!;
      const msg = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString()) as Record<string, unknown>;
      if (!got.has(topic)) got.set(topic, []);
      got.get(topic)!.push(msg);
    });
    await until(() => (got.get('/robots/arm/tf')?.length ?? 0) > 6 && (got.get('/robots/arm/camera/camera.front')?.length ?? 0) > 2, 8000, 'transforms and images');
    expect(capabilities).toEqual([]); // no clientPublish: watching only
    const byTopic = new Map([...channels.values()].map((c) => [c.topic, c]));
    for (const [topic, c] of byTopic) {
      expect(c.schema, topic).toBe(JSON.stringify(ownSchema[c.schemaName]));
      for (const m of got.get(topic) ?? []) expect(validators[c.schemaName].safeParse(m).success, topic).toBe(true);
    }
    const tf = got.get('/robots/arm/tf')!;
    expect(new Set(tf.map((m) => m.child_frame_id))).toEqual(new Set(['arm/ee', 'arm/block0', 'arm/block1']));
    const block1 = tf.find((m) => m.child_frame_id === 'arm/block1')!;
    expect(block1.translation).toEqual({ x: -0.1, y: 0.05, z: expect.closeTo(0.025, 6) });
    const img = got.get('/robots/arm/camera/camera.front')!.at(-1)!;
    expect(img).toMatchObject({ width: 32, height: 24, encoding: 'rgb8' });
    expect(Buffer.from(img.data as string, 'base64').length).toBe(32 * 24 * 3);
    expect(endpoint.clients).toBe(1);
  });

  it('admits only holders of a bridge token, and browsers only from an allowed origin', async () => {
    const { endpoint } = await liveSetup();
    const attempt = (url: string, headers: Record<string, string> = {}): Promise<number | 'open'> => new Promise((resolve) => {
      const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL], { headers });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(0));
    });
    expect(await attempt(`${endpoint.url}/`)).toBe(401);
    expect(await attempt(`${endpoint.url}/?token=wrong-token-0123456789`)).toBe(401);
    expect(await attempt(`${endpoint.url}/`, { Authorization: `Bearer ${TOKEN}` })).toBe('open');
    expect(await attempt(`${endpoint.url}/?token=${TOKEN}`, { Origin: 'https://evil.example' })).toBe(403);
  });
});
