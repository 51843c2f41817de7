/**
 * `simreal view --replay`: the estimates a controller published during a recorded session come back
 * at the times they were sent, named after the controller that sent them, and a seek backwards
 * shows the estimate that was newest at the new time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startBridge } from '../../bridge/hub/server.ts';
import { McapRecorder } from '../../bridge/mcap/recorder.ts';
import { readRecording } from '../../bridge/mcap/reader.ts';
import { MockRobot } from '../../bridge/robots/mock.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { ControllerClient } from '../../bridge/controller-client.ts';
import type { HubMessageOf } from '../../bridge/protocol.ts';
import { ReplaySource } from '../../viewer/server/replay-source.ts';

const TOKEN = 'replay-estimates-test-token-0123456789';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('replay of a recording with estimates', () => {
  it('relays each estimate at its time, with the controller that sent it, and the right one after a seek back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-replay-'));
    dirs.push(dir);
    const file = path.join(dir, 'session.mcap');
    const recorder = await McapRecorder.open(file);
    const bridge = await startBridge({ port: 0, token: TOKEN, recorder, config: { heartbeatMs: 0 } });
    const robot = new MockRobot({ camera: { width: 32, height: 24 } });
    const client = new RobotClient({ url: bridge.url, token: bridge.robotToken('arm'), id: 'arm', robot, observationHz: 50, backoff: { initialMs: 20, maxMs: 200 } });
    await client.start();
    await client.waitRegistered(5000);
    const ctl = await ControllerClient.connect({ url: bridge.url, token: TOKEN, name: 'pose-ctl' });
    const seen = new Promise<void>((resolve) => ctl.once('observation', () => resolve()));
    await ctl.subscribe('arm');
    await seen;
    // A controller that came and went before the estimates: not the one that sent them.
    const passerBy = await ControllerClient.connect({ url: bridge.url, token: TOKEN, name: 'passer-by' });
    await passerBy.close();
    await sleep(20);
    for (const x of [0.1, 0.2]) {
      await sleep(80);
      ctl.estimate('arm', { t: Date.now(), camera: 'camera.front', blocks: [{ name: 'block0', position: [x, 0, 0.02], yaw: 0, size: 0.04 }] });
    }
    await sleep(80);
    await ctl.close();
    await client.stop();
    await bridge.close();

    const sent: number[] = [];
    for await (const m of readRecording(file)) if (m.dir === 'in' && m.op === 'estimate') sent.push(m.t);
    expect(sent).toHaveLength(2);

    const source = new ReplaySource({ file, play: false });
    await source.start();
    try {
      expect(source.summary().estimates).toBe(2);
      const got: Array<HubMessageOf<'estimate'>> = [];
      const page = { send: () => {}, sendFrame: () => {}, sendText: (t: string) => { const j = JSON.parse(t); if (j.op === 'hub' && j.msg.op === 'estimate') got.push(j.msg); } };
      source.attach(page);
      const at = (t: number): HubMessageOf<'estimate'> | undefined => {
        got.length = 0;
        source.handle(page, { op: 'seek', t });
        return got.at(-1);
      };
      expect(at(sent[0] - 1)).toBeUndefined();
      const first = at(sent[0]);
      expect(first?.blocks[0].position[0]).toBe(0.1);
      expect(first?.by).toMatchObject({ role: 'controller', name: 'pose-ctl' });
      expect(at(sent[1] + 1)?.blocks[0].position[0]).toBe(0.2);
      // Back between the two: the first again.
      expect(at((sent[0] + sent[1]) / 2)?.blocks[0].position[0]).toBe(0.1);
    } finally {
      await source.close();
    }
  }, 30_000);
});
