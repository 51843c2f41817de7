import { describe, it, expect, afterEach } from 'vitest';
import { BridgeError } from '../../bridge/controller-client.ts';
import type { ControllerClient } from '../../bridge/controller-client.ts';
import type { RobotClient } from '../../bridge/robot-client.ts';
import type { RunningBridge } from '../../bridge/hub/server.ts';
import type { HubMessageOf } from '../../bridge/protocol.ts';
import { startTestBridge, startMockRobot, connectController, leaseReady, until } from './helpers.ts';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function setup(config = {}): Promise<{ bridge: RunningBridge; robot: Awaited<ReturnType<typeof startMockRobot>>['robot']; client: RobotClient; a: ControllerClient; b: ControllerClient }> {
  const bridge = await startTestBridge({ config });
  cleanup.push(() => bridge.close());
  const { robot, client } = await startMockRobot(bridge, 'arm');
  cleanup.push(() => client.stop());
  const a = await connectController(bridge, 'alice');
  const b = await connectController(bridge, 'bob');
  cleanup.push(() => a.close(), () => b.close());
  return { bridge, robot, client, a, b };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof BridgeError ? e.code : String(e);
  }
}

describe('hub: leases and permissions', () => {
  it('gives one controller the lease at a time', async () => {
    const { a, b } = await setup();
    await leaseReady(a, 'arm');
    expect(await code(b.lease('arm'))).toBe('lease_held');
    expect(await code(b.command('arm', [0, 0, 0, 0, 0]))).toBe('not_leased');
    expect(await code(b.release('arm'))).toBe('not_leased');
    expect(await code(b.reset('arm'))).toBe('not_latched'); // the lease plays no part in reset
    expect(await code(a.command('arm', [0.1, 0, 0, 0, 0]))).toBe('ok');
    await a.release('arm');
    await leaseReady(b, 'arm');
    expect(await code(b.command('arm', [0.1, 0, 0, 0, 0]))).toBe('ok');
    expect(await code(a.command('arm', [0.1, 0, 0, 0, 0]))).toBe('not_leased');
    expect(await code(a.lease('nobody'))).toBe('unknown_robot');
  });

  it('refuses ops a role may not send, and stale or wrong-form commands', async () => {
    const { bridge, a } = await setup();
    const viewer = await connectController(bridge, 'v', { role: 'viewer' });
    cleanup.push(() => viewer.close());
    expect(await code(viewer.lease('arm'))).toBe('forbidden');
    expect(await code(viewer.estop('arm'))).toBe('forbidden');
    await viewer.subscribe('arm'); // allowed
    await leaseReady(a, 'arm');
    const seq = a.sendCommand('arm', [0, 0, 0, 0, 0]);
    await until(() => true);
    // Replaying an old sequence number is refused.
    a.send({ op: 'command', robot: 'arm', seq, action: [1, 0, 0, 0, 0] });
    const err = await new Promise<HubMessageOf<'error'>>((resolve) => a.once('hubError', resolve));
    expect(err.code).toBe('stale_seq');
    expect(await code(a.command('arm', [0, 0, 0, 0, 0], { form: 'ee_target' }))).toBe('wrong_form');
  });
});

describe('hub: clamping', () => {
  it('returns the action actually sent, which is exactly what the robot received', async () => {
    const { robot, a } = await setup({ limits: { maxStep: { linear: 0.03 } } });
    await leaseReady(a, 'arm');
    const requests: Array<[number, number, number, number, number]> = [[0.5, 0, 0, 0, 1], [5, 5, 5, 5, 5], [-1, 1, -1, 1, -1], [0.3, 0.2, 0.1, 0, 0.5]];
    for (const req of requests) {
      const before = robot.commands.length;
      const ack = await a.command('arm', req);
      expect(robot.commands.length).toBe(before + 1);
      expect(robot.commands[before].action).toEqual(ack.sent);
      expect(ack.applied).toEqual(ack.sent);
      expect(ack.requested).toEqual(req);
      const step = Math.hypot(...robot.commands[before].after.slice(0, 3).map((v, i) => v - robot.commands[before].before[i]));
      expect(step).toBeLessThanOrEqual(0.03 + 1e-12);
    }
    const big = await a.command('arm', [5, 5, 5, 5, 5]);
    expect(big.clamped).toEqual(expect.arrayContaining(['normalized_range', 'grip_range']));
  });

  it('keeps the end effector inside the workspace box', async () => {
    const { robot, a } = await setup({ limits: { workspace: { min: [-0.1, -0.1, 0.1], max: [0.1, 0.1, 0.3] }, maxVelocity: { linear: 100 } } });
    await leaseReady(a, 'arm');
    for (let i = 0; i < 40; i++) await a.command('arm', [1, -1, 1, 0, 0]);
    const [x, y, z] = robot.pose;
    expect(x).toBeLessThanOrEqual(0.1 + 1e-12);
    expect(y).toBeGreaterThanOrEqual(-0.1 - 1e-12);
    expect(z).toBeLessThanOrEqual(0.3 + 1e-12);
    expect(x).toBeCloseTo(0.1, 9);
  });
});

describe('hub: e-stop', () => {
  it('latches on any controller or the robot; the controller that raised it clears it', async () => {
    const { bridge, robot, client, a, b } = await setup();
    await leaseReady(a, 'arm');
    await a.command('arm', [0.2, 0, 0, 0, 0]);
    // Bob holds no lease but may stop the robot.
    const seen = new Promise<HubMessageOf<'estop'>>((resolve) => a.once('estop', resolve));
    await b.estop('arm', 'hand in the workspace');
    expect((await seen).reason).toBe('hand in the workspace');
    await until(() => robot.estopped, 2000, 'robot e-stopped');
    expect(await code(a.command('arm', [0.1, 0, 0, 0, 0]))).toBe('estop_latched');
    // Raising again keeps the first reason (and owner).
    await a.estop('arm', 'second');
    expect(bridge.hub.robotList()[0].state.estop?.reason).toBe('hand in the workspace');
    expect(await code(a.reset('arm'))).toBe('forbidden'); // the lease holder: not its stop
    await b.reset('arm');
    expect(await code(b.reset('arm'))).toBe('not_latched');
    await until(() => !robot.estopped, 2000, 're-armed');
    expect(bridge.hub.robotList()[0].state).toMatchObject({ estop: null, holding: true, holdReason: 'reset' });
    // After a hold the hub takes commands again once a pose shows where the robot stopped.
    await new Promise((resolve) => a.once('observation', resolve));
    expect(await code(a.command('arm', [0.1, 0, 0, 0, 0]))).toBe('ok');
    // The robot raises it itself (a fault).
    robot.fault('overload on servo 3');
    await until(() => bridge.hub.robotList()[0].state.estop !== null, 2000, 'robot-raised e-stop');
    expect(bridge.hub.robotList()[0].state.estop?.by.role).toBe('robot');
    void client;
  });
});

describe('hub: refusals caused by the robot', () => {
  it('do not spend the error budget of an honest controller (a robot whose pose goes stale)', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const { client } = await startMockRobot(bridge, 'slow', {}, 2); // a pose every 500 ms; the timeout is 200 ms
    cleanup.push(() => client.stop());
    const a = await connectController(bridge, 'alice');
    cleanup.push(() => a.close());
    await leaseReady(a, 'slow');
    await new Promise((r) => setTimeout(r, 300));
    const codes = new Map<string, number>();
    a.on('hubError', (e) => codes.set(e.code, (codes.get(e.code) ?? 0) + 1));
    for (let i = 0; i < 600; i++) a.sendCommand('slow', [0.1, 0, 0, 0, 0]);
    await until(() => (codes.get('stale_pose') ?? 0) >= 300, 5000, 'stale_pose refusals');
    expect(a.isOpen).toBe(true);
    expect(await a.ping()).toBeGreaterThanOrEqual(0);
  });
});

describe('hub: the pending-ack table (finding 6)', () => {
  it('a lease holder bursting commands never gets the robot disconnected: the table is bounded by refusing, not by forgetting', async () => {
    const bridge = await startTestBridge({ config: { maxPendingCommands: 256 } });
    cleanup.push(() => bridge.close());
    const { client } = await startMockRobot(bridge, 'arm', { form: 'ee_target', log: false });
    cleanup.push(() => client.stop());
    const robotErrors: string[] = [];
    client.on('hubError', (e) => robotErrors.push(e.code));
    const disconnects: number[] = [];
    client.on('disconnected', (d) => disconnects.push(d.code));
    const a = await connectController(bridge, 'burst');
    cleanup.push(() => a.close());
    await leaseReady(a, 'arm');
    const acked = new Set<number>();
    const refused = new Map<number, string>();
    a.on('ack', (m) => acked.add(m.seq));
    a.on('hubError', (e) => { if (e.ref?.seq !== undefined) refused.set(e.ref.seq, e.code); });
    const obs = await new Promise<{ state: Record<string, number[]> }>((resolve) => a.once('observation', resolve));
    const p = obs.state['ee.pose'];
    const seqs: number[] = [];
    for (let i = 0; i < 2000; i++) seqs.push(a.sendCommand('arm', [p[0], p[1], p[2], p[3], 0]));
    // Targets: a robot that falls behind skips to the latest, so the last accepted one is acked.
    const lastAcceptedAcked = (): boolean => {
      const accepted = seqs.filter((q) => !refused.has(q));
      return accepted.length > 0 && acked.has(accepted[accepted.length - 1]);
    };
    await until(() => lastAcceptedAcked() || disconnects.length > 0, 10_000, 'the last accepted command acked');
    expect(disconnects).toEqual([]);
    expect(robotErrors).toEqual([]);
    // The burst outran the robot: the hub refused (its tables full, or the robot's pose left behind), it did not forget.
    expect(refused.size).toBeGreaterThan(0);
    for (const code of refused.values()) expect(['window_full', 'stale_pose']).toContain(code);
    expect(bridge.hub.stats.closedForAbuse).toBe(0);
  });

  it('acks that arrive after the lease ended are not charged to the robot', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const { robot, client } = await startMockRobot(bridge, 'arm', { form: 'ee_target', latencyMs: 30, log: false });
    cleanup.push(() => client.stop());
    const robotErrors: string[] = [];
    client.on('hubError', (e) => robotErrors.push(e.code));
    const a = await connectController(bridge, 'alice');
    cleanup.push(() => a.close());
    await leaseReady(a, 'arm');
    for (let i = 0; i < 50; i++) a.sendCommand('arm', [robot.pose[0], robot.pose[1], robot.pose[2], 0, 0]);
    await a.release('arm');
    await new Promise((r) => setTimeout(r, 200));
    expect(robotErrors).toEqual([]);
  });
});

describe('hub: watchdog', () => {
  it('holds a moving robot when commands stop, and tells everyone why', async () => {
    const { bridge, robot, a, b } = await setup({ limits: { commandTimeoutMs: 50 } });
    await leaseReady(a, 'arm');
    const status = new Promise<HubMessageOf<'status'>>((resolve) => b.on('status', (s) => { if (s.code === 'watchdog') resolve(s); }));
    const holdsBefore = robot.holds.length;
    await a.command('arm', [0.1, 0, 0, 0, 0]);
    const sentAt = performance.now();
    await until(() => robot.holds.length > holdsBefore, 2000, 'hold');
    const elapsed = robot.holds[robot.holds.length - 1] - sentAt;
    expect((await status).message).toMatch(/no command from alice for 50 ms/);
    expect(elapsed).toBeLessThanOrEqual(100);
    expect(bridge.hub.robotList()[0].state).toMatchObject({ holding: true, holdReason: 'watchdog' });
  });
});

describe('hub: backpressure', () => {
  it('drops frames for a viewer that does not read, without touching the control path', async () => {
    const bridge = await startTestBridge({ config: { backpressure: { dropAboveBytes: 256 << 10, disconnectAboveBytes: 64 << 20 } } });
    cleanup.push(() => bridge.close());
    const { client } = await startMockRobot(bridge, 'cam', { camera: { width: 320, height: 240 } }, 100);
    cleanup.push(() => client.stop());
    const slow = await connectController(bridge, 'slow', { role: 'viewer' });
    const fast = await connectController(bridge, 'fast', { role: 'viewer' });
    cleanup.push(() => slow.close(), () => fast.close());
    let fastFrames = 0;
    fast.on('frame', () => fastFrames++);
    await slow.subscribe('cam');
    await fast.subscribe('cam');
    slow.ws.pause(); // stops reading: its socket fills up
    const a = await connectController(bridge, 'ctl');
    cleanup.push(() => a.close());
    await leaseReady(a, 'cam');
    for (let i = 0; i < 200; i++) await a.command('cam', [0, 0, 0, 0, 0]);
    await until(() => bridge.hub.stats.framesDropped > 0 && fastFrames > 20, 10_000, 'drops for the slow viewer');
    expect(bridge.hub.stats.commandsForwarded).toBe(200);
    slow.ws.resume();
  });
});

describe('hub: robot restarts', () => {
  it('recovers when the robot process comes back, and keeps it stopped until leased again', async () => {
    const { bridge, robot, client, a } = await setup();
    await leaseReady(a, 'arm');
    await a.command('arm', [0.1, 0, 0, 0, 0]);
    const disconnected = new Promise<void>((resolve) => a.on('status', (s) => { if (s.code === 'robot_disconnected') resolve(); }));
    // Cut the link as a crash would.
    (client as unknown as { ws: { terminate(): void } }).ws.terminate();
    await disconnected;
    expect(bridge.hub.robotList()[0].state).toMatchObject({ connected: false, lease: null });
    expect(await code(a.command('arm', [0.1, 0, 0, 0, 0]))).toMatch(/not_leased|robot_offline/);
    const holds = robot.holds.length;
    await a.waitForRobot('arm', 5000);
    await until(() => robot.holds.length > holds, 2000, 'hold after re-registration');
    expect(bridge.hub.robotList()[0].state).toMatchObject({ connected: true, lease: null, holding: true });
    const cmds = robot.commands.length;
    expect(await code(a.command('arm', [0.1, 0, 0, 0, 0]))).toBe('not_leased');
    expect(robot.commands.length).toBe(cmds);
    await leaseReady(a, 'arm');
    expect(await code(a.command('arm', [0.1, 0, 0, 0, 0]))).toBe('ok');
  });

  it('refuses a second robot with the same id while the first is connected', async () => {
    const { bridge } = await setup();
    const { MockRobot } = await import('../../bridge/robots/mock.ts');
    const { RobotClient } = await import('../../bridge/robot-client.ts');
    const dup = new RobotClient({ url: bridge.url, token: bridge.robotToken('arm'), id: 'arm', robot: new MockRobot(), backoff: { initialMs: 10_000 } });
    cleanup.push(() => dup.stop());
    const refused = new Promise<HubMessageOf<'error'>>((resolve) => dup.on('hubError', resolve));
    await dup.start();
    expect((await refused).code).toBe('robot_id_in_use');
  });
});
