import { describe, it, expect, afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { ControllerClient } from '../../bridge/controller-client.ts';
import { SUBPROTOCOL, parseMessage } from '../../bridge/protocol.ts';
import type { HubMessage } from '../../bridge/protocol.ts';
import type { RunningBridge } from '../../bridge/hub/server.ts';
import { startTestBridge, startMockRobot, connectController, until, robotToken } from './helpers.ts';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A raw robot connection that registers `id` with `features` and returns the hub's first answer. */
async function rawRegister(bridge: RunningBridge, id: string, features: unknown): Promise<{ ws: WebSocket; reply: HubMessage }> {
  const u = new URL(bridge.url);
  u.searchParams.set('role', 'robot');
  const ws = new WebSocket(u, [SUBPROTOCOL], { headers: { Authorization: `Bearer ${robotToken(bridge, id)}` } });
  await new Promise<void>((resolve, reject) => { ws.once('message', () => resolve()); ws.once('error', reject); });
  const reply = new Promise<HubMessage>((resolve) => ws.on('message', (d) => {
    const p = parseMessage((d as Buffer).toString(), { from: 'hub' });
    if (p.ok && (p.msg.op === 'ok' || p.msg.op === 'error')) resolve(p.msg);
  }));
  ws.send(JSON.stringify({ op: 'register', id: 1, robot: id, features }));
  return { ws, reply: await reply };
}

const pose = { 'ee.pose': { kind: 'state', dtype: 'float64', shape: [5] } };

describe('availability: the robot list stays bounded (finding 3)', () => {
  it('forgets departed robots once settled, and keeps a latched e-stop until it is cleared', async () => {
    const bridge = await startTestBridge({ config: { departedRobotMs: 50 } });
    cleanup.push(() => bridge.close());
    for (let i = 0; i < 30; i++) {
      const { ws } = await rawRegister(bridge, `gone-${i}`, { observation: pose, action: { form: 'ee_target' }, controlHz: 10 });
      ws.close();
    }
    const { client } = await startMockRobot(bridge, 'stopped');
    const ctl = await connectController(bridge, 'op');
    cleanup.push(() => ctl.close());
    await ctl.estop('stopped', 'test');
    await client.stop();
    await until(() => bridge.hub.robotList().length === 1, 3000, 'departed robots removed');
    expect(bridge.hub.robotList()[0]).toMatchObject({ id: 'stopped', state: { connected: false, estop: { reason: 'test' } } });
    // Clients hear of removals.
    const later = await connectController(bridge, 'late');
    cleanup.push(() => later.close());
    expect([...later.robots.keys()]).toEqual(['stopped']);
  });

  it('caps the features one robot may declare, and the robots one hub may hold', async () => {
    const bridge = await startTestBridge({ config: { maxRobots: 3, maxFeatureBytes: 2048 } });
    cleanup.push(() => bridge.close());
    const names = Array.from({ length: 256 }, (_, i) => `n${i}`.padEnd(60, 'x'));
    const big = await rawRegister(bridge, 'big', { observation: { ...pose, huge: { kind: 'state', dtype: 'float64', shape: [256], names } }, action: { form: 'ee_target' }, controlHz: 10 });
    cleanup.push(async () => big.ws.close());
    expect(big.reply).toMatchObject({ op: 'error', code: 'too_large' });
    expect((big.reply as { message: string }).message).toMatch(/features of robot big are \d+ bytes of JSON; the limit is 2048/);
    const held: WebSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await rawRegister(bridge, `r${i}`, { observation: pose, action: { form: 'ee_target' }, controlHz: 10 });
      expect(r.reply.op).toBe('ok');
      held.push(r.ws);
    }
    const fourth = await rawRegister(bridge, 'r3', { observation: pose, action: { form: 'ee_target' }, controlHz: 10 });
    expect(fourth.reply).toMatchObject({ op: 'error', code: 'hub_full' });
    for (const w of [...held, fourth.ws]) w.close();
  });

  it('pages the robot list: the welcome stays small however many robots there are', async () => {
    const bridge = await startTestBridge({ config: { robotPageSize: 4 } });
    cleanup.push(() => bridge.close());
    const held: WebSocket[] = [];
    for (let i = 0; i < 10; i++) held.push((await rawRegister(bridge, `p${String(i).padStart(2, '0')}`, { observation: pose, action: { form: 'ee_target' }, controlHz: 10 })).ws);
    cleanup.push(async () => { for (const w of held) w.close(); });
    // The raw welcome carries one page and the total.
    const u = new URL(bridge.url);
    u.searchParams.set('role', 'viewer');
    const raw = new WebSocket(u, [SUBPROTOCOL], { headers: { Authorization: 'Bearer test-token-0123456789abcdef' } });
    const welcome = await new Promise<HubMessage>((resolve) => raw.once('message', (d) => { const p = parseMessage((d as Buffer).toString(), { from: 'hub' }); if (p.ok) resolve(p.msg); }));
    raw.close();
    expect(welcome).toMatchObject({ op: 'welcome', robotsTotal: 10 });
    expect((welcome as { robots: unknown[] }).robots).toHaveLength(4);
    // The client pages through the rest before it resolves.
    const c: ControllerClient = await connectController(bridge, 'pager', { role: 'viewer' });
    cleanup.push(() => c.close());
    expect([...c.robots.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `p${String(i).padStart(2, '0')}`));
    // A robot registering later arrives as one `robot` message, not the whole list again.
    const seen: string[] = [];
    c.ws.on('message', (d) => { const p = parseMessage((d as Buffer).toString(), { from: 'hub' }); if (p.ok) seen.push(p.msg.op); });
    held.push((await rawRegister(bridge, 'p10', { observation: pose, action: { form: 'ee_target' }, controlHz: 10 })).ws);
    await until(() => c.robots.has('p10'), 2000, 'the new robot');
    expect(seen).toContain('robot');
    expect(seen).not.toContain('robots');
  });
});
