import { describe, it, expect, afterEach } from 'vitest';
import * as http from 'node:http';
import type { ControllerClient } from '../../bridge/controller-client.ts';
import type { HubMessageOf } from '../../bridge/protocol.ts';
import { RobotSlot } from '../../bridge/hub/robot-slot.ts';
import type { SlotLink } from '../../bridge/hub/robot-slot.ts';
import { DEFAULT_SAFETY_LIMITS } from '../../bridge/config.ts';
import { startTestBridge, startMockRobot, connectController, leaseReady } from './helpers.ts';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Sends a raw command with this seq; resolves with 'ok' (acked) or the error code. */
function raw(c: ControllerClient, robot: string, seq: number): Promise<string> {
  return new Promise((resolve) => {
    const onAck = (a: HubMessageOf<'ack'>): void => { if (a.seq === seq) done('ok'); };
    const onErr = (e: HubMessageOf<'error'>): void => { if (e.ref?.seq === seq) done(e.code); };
    const done = (v: string): void => { c.off('ack', onAck); c.off('hubError', onErr); resolve(v); };
    c.on('ack', onAck);
    c.on('hubError', onErr);
    c.send({ op: 'command', robot, seq, action: [0, 0, 0, 0, 0] });
  });
}

describe('command sequence numbers (finding 10)', () => {
  it('refuses a huge jump instead of letting it poison the lease', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const { client } = await startMockRobot(bridge, 'arm');
    cleanup.push(() => client.stop());
    const a = await connectController(bridge, 'a');
    cleanup.push(() => a.close());
    await leaseReady(a, 'arm');
    expect(await raw(a, 'arm', 1)).toBe('ok');
    expect(await raw(a, 'arm', 4294967295)).toBe('stale_seq');
    expect(await raw(a, 'arm', 2)).toBe('ok');
    expect(await raw(a, 'arm', 2)).toBe('stale_seq');
  });

  it('ties seq to the lease: a new lease starts after everything accepted before, so old seqs never count again', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const { client } = await startMockRobot(bridge, 'arm');
    cleanup.push(() => client.stop());
    const a = await connectController(bridge, 'a');
    cleanup.push(() => a.close());
    await leaseReady(a, 'arm');
    for (let s = 1; s <= 5; s++) expect(await raw(a, 'arm', s)).toBe('ok');
    await a.release('arm');
    const ok = await new Promise<HubMessageOf<'ok'>>((resolve) => {
      a.ws.on('message', function on(d) {
        const m = JSON.parse(d.toString()) as HubMessageOf<'ok'>;
        if (m.op === 'ok' && m.of === 'lease') { a.ws.off('message', on); resolve(m); }
      });
      a.send({ op: 'lease', id: 'again', robot: 'arm' });
    });
    expect(ok.seq).toBe(6);
    expect(await raw(a, 'arm', 3)).toBe('stale_seq');
    // The release held the robot: the hub takes commands again once a pose shows where it stopped.
    await new Promise((resolve) => a.once('observation', resolve));
    expect(await raw(a, 'arm', 6)).toBe('ok');
    // The client library follows the lease's seq by itself.
    await a.release('arm');
    await leaseReady(a, 'arm');
    await expect(a.command('arm', [0, 0, 0, 0, 0])).resolves.toMatchObject({ op: 'ack' });
  });

  it('wraps at 2^32', () => {
    const link: SlotLink = { toRobot: () => {}, broadcast: () => {}, stateChanged: () => {}, log: () => {}, countHold: () => {}, countCommand: () => {} };
    const slot = new RobotSlot<object>({
      id: 'arm', handle: 1, conn: {}, link, maxPendingCommands: 64, ctrlSeqStart: 4294967294,
      declaration: { name: undefined, model: undefined, limits: DEFAULT_SAFETY_LIMITS, features: { observation: { 'ee.pose': { kind: 'state', dtype: 'float64', shape: [5] } }, action: { form: 'ee_target', poseKey: 'ee.pose' }, controlHz: 20 } },
    });
    const c = {};
    expect(slot.lease({ conn: c, peer: { role: 'controller', session: 's1' } })).toBeNull();
    expect(slot.leaseSeq).toBe(4294967294);
    const t = Date.now();
    slot.observe({ op: 'observation', robot: 'arm', seq: 1, t: 1, state: { 'ee.pose': [0, 0, 0.2, 0, -1] } }, t);
    for (const seq of [4294967294, 4294967295, 0, 1]) expect(slot.command(c, { op: 'command', robot: 'arm', seq, action: [0, 0, 0.2, 0, -1] }, t)).toBeNull();
    expect(slot.command(c, { op: 'command', robot: 'arm', seq: 4294967295, action: [0, 0, 0.2, 0, -1] }, t)).toMatchObject({ code: 'stale_seq' });
  });
});

describe('GET / without a WebSocket', () => {
  it('reveals nothing about the hub', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const a = await connectController(bridge, 'a');
    cleanup.push(() => a.close());
    const body = await new Promise<{ status: number; text: string }>((resolve) => {
      http.get(`http://127.0.0.1:${bridge.port}/`, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
    });
    expect(body.status).toBe(426);
    expect(body.text).not.toMatch(/\d/);
    expect(body.text).not.toMatch(/connected|robot|session/i);
  });
});
