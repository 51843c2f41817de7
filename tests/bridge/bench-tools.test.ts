import { describe, it, expect, afterEach } from 'vitest';
import { measureHubCost } from '../../bridge/bench/hub-cost.ts';
import { startTestBridge, startMockRobot, connectController, leaseReady } from './helpers.ts';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('the capacity measurements of bench bridge', () => {
  it('measures the hub\'s CPU per message without sockets, with every scripted message accepted', () => {
    const r = measureHubCost({ robots: 2, cycles: 100 });
    expect(r.robots).toBe(2);
    expect(r.us_per_message).toBeGreaterThan(0);
    expect(r.us_per_cycle).toBeCloseTo(r.us_per_message * 3, 0);
    expect(Number.isFinite(r.messages_per_s_per_core)).toBe(true);
  });

  it('profiles the hub by message kind and stage', async () => {
    const bridge = await startTestBridge({ profile: true });
    cleanup.push(() => bridge.close());
    const { client } = await startMockRobot(bridge, 'arm');
    cleanup.push(() => client.stop());
    const ctl = await connectController(bridge);
    cleanup.push(() => ctl.close());
    await leaseReady(ctl, 'arm');
    for (let i = 0; i < 20; i++) await ctl.command('arm', [0.1, 0, 0, 0, 0]);
    const report = bridge.hub.profile!.report();
    expect(report.command.messages).toBe(20);
    expect(report.ack.messages).toBe(20);
    for (const stage of ['parse', 'validate', 'safety', 'fanout', 'record', 'total'] as const) expect(report.command.us[stage]).toBeGreaterThanOrEqual(0);
    expect(report.command.us.safety).toBeGreaterThan(0);
    expect(report.command.us.fanout).toBeGreaterThan(0);
    expect(report.observation.us.safety).toBe(0);
  });
});
