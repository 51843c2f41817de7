import { describe, it, expect, afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { RobotClient } from '../../bridge/robot-client.ts';
import { MockRobot } from '../../bridge/robots/mock.ts';
import { robotToken } from '../../bridge/hub/robot-credentials.ts';
import { parseMessage, SUBPROTOCOL } from '../../bridge/protocol.ts';
import type { HubMessage, HubMessageOf } from '../../bridge/protocol.ts';
import type { RunningBridge } from '../../bridge/hub/server.ts';
import { startTestBridge, startMockRobot, connectController, TOKEN, until } from './helpers.ts';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Upgrades as a robot with `token`; resolves with the HTTP refusal, or the hub's answer to `register`. */
function registerAs(bridge: RunningBridge, token: string, id: string): Promise<{ status: number; body: string; reply?: HubMessage }> {
  const u = new URL(bridge.url);
  u.searchParams.set('role', 'robot');
  const ws = new WebSocket(u, [SUBPROTOCOL], { headers: { Authorization: `Bearer ${token}` } });
  cleanup.push(() => ws.terminate());
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_q, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => {});
    ws.once('message', () => {
      ws.on('message', (d) => {
        const p = parseMessage((d as Buffer).toString(), { from: 'hub' });
        if (p.ok && (p.msg.op === 'ok' || p.msg.op === 'error')) resolve({ status: 101, body: '', reply: p.msg });
      });
      ws.send(JSON.stringify({ op: 'register', robot: id, features: { observation: { 'ee.pose': { kind: 'state', dtype: 'float64', shape: [5] } }, action: { form: 'ee_target' }, controlHz: 10 } }));
    });
  });
}

describe('robot credentials pinned to the robot id (finding 7)', () => {
  it('the main token does not make a robot; a robot credential makes only its own robot', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const main = await registerAs(bridge, TOKEN, 'arm');
    expect(main.status).toBe(403);
    expect(main.body).toMatch(/robots connect with their own credential/);
    const other = await registerAs(bridge, bridge.robotToken('other'), 'arm');
    expect(other.reply).toMatchObject({ op: 'error', code: 'forbidden', message: expect.stringMatching(/credential is for robot other, not arm/) });
    const own = await registerAs(bridge, bridge.robotToken('arm'), 'arm');
    expect(own.reply).toMatchObject({ op: 'ok', of: 'register', robot: 'arm' });
    // A credential made with another key is wrong.
    const forged = await registerAs(bridge, robotToken('another-key-0123456789', 'arm'), 'arm');
    expect(forged.status).toBe(401);
  });

  it('nobody takes a departed robot\'s id: the real robot comes back to its place', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const { client } = await startMockRobot(bridge, 'arm');
    const ctl = await connectController(bridge, 'op');
    cleanup.push(() => ctl.close());
    const handle = ctl.robots.get('arm')!.handle;
    await client.stop();
    await until(() => bridge.hub.robotList()[0]?.state.connected === false, 2000, 'the robot gone');
    // 50 ms later, holders of other credentials try the id.
    await new Promise((r) => setTimeout(r, 50));
    expect((await registerAs(bridge, TOKEN, 'arm')).status).toBe(403);
    expect((await registerAs(bridge, bridge.robotToken('intruder'), 'arm')).reply).toMatchObject({ op: 'error', code: 'forbidden' });
    // The real robot (its own credential) returns and gets its place back.
    const back = new RobotClient({ url: bridge.url, token: bridge.robotToken('arm'), id: 'arm', robot: new MockRobot(), backoff: { initialMs: 20, maxMs: 200 } });
    cleanup.push(() => back.stop());
    const registered = new Promise<{ handle: number }>((resolve) => back.once('registered', resolve));
    await back.start();
    expect((await registered).handle).toBe(handle);
    const state = await new Promise<HubMessageOf<'robot_state'>['state']>((resolve) => {
      const check = (): void => { const r = bridge.hub.robotList().find((x) => x.id === 'arm'); if (r?.state.connected) resolve(r.state); else setTimeout(check, 5); };
      check();
    });
    expect(state.connected).toBe(true);
  });
});
