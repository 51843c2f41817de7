import { describe, it, expect, afterEach } from 'vitest';
import { BridgeError } from '../../bridge/controller-client.ts';
import { startTestBridge, startMockRobot, connectController, leaseReady, until, OPERATOR_TOKEN } from './helpers.ts';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof BridgeError ? e.code : String(e);
  }
}

describe('who may clear an e-stop (finding 9)', () => {
  it('an operator\'s e-stop is cleared only by an operator, never by a policy that holds or takes the lease', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const { robot, client } = await startMockRobot(bridge, 'arm');
    cleanup.push(() => client.stop());
    const policy = await connectController(bridge, 'policy');
    const next = await connectController(bridge, 'next-policy');
    const operator = await connectController(bridge, 'operator', { token: OPERATOR_TOKEN });
    cleanup.push(() => policy.close(), () => next.close(), () => operator.close());
    await leaseReady(policy, 'arm');
    await operator.estop('arm', 'hand in the workspace');
    await until(() => robot.estopped, 2000, 'robot e-stopped');
    expect(bridge.hub.robotList()[0].state.estop?.by).toMatchObject({ role: 'controller', name: 'operator', operator: true });
    expect(await code(policy.reset('arm'))).toBe('forbidden');
    await policy.release('arm');
    await leaseReady(next, 'arm');
    expect(await code(next.reset('arm'))).toBe('forbidden');
    // The operator clears it without holding the lease.
    expect(await code(operator.reset('arm'))).toBe('ok');
    await until(() => !robot.estopped, 2000, 're-armed');
    // After the hold the hub takes commands again once a pose shows where the robot stopped.
    await new Promise((resolve) => next.once('observation', resolve));
    expect(await code(next.command('arm', [0.1, 0, 0, 0, 0]))).toBe('ok');
  });

  it('a controller\'s own e-stop may be cleared by that controller or an operator, not by the lease holder', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const { client } = await startMockRobot(bridge, 'arm');
    cleanup.push(() => client.stop());
    const holder = await connectController(bridge, 'holder');
    const watcher = await connectController(bridge, 'watcher');
    cleanup.push(() => holder.close(), () => watcher.close());
    await leaseReady(holder, 'arm');
    await watcher.estop('arm', 'looked wrong');
    expect(await code(holder.reset('arm'))).toBe('forbidden');
    expect(await code(watcher.reset('arm'))).toBe('ok');
    expect(await code(watcher.reset('arm'))).toBe('not_latched');
    // The holder's own e-stop: it may clear it itself.
    await holder.estop('arm', 'pause');
    expect(await code(holder.reset('arm'))).toBe('ok');
  });

  it('a robot\'s own e-stop (a fault) is cleared only by an operator, even after the robot left', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const { robot, client } = await startMockRobot(bridge, 'arm');
    const holder = await connectController(bridge, 'holder');
    const operator = await connectController(bridge, 'operator', { token: OPERATOR_TOKEN });
    cleanup.push(() => holder.close(), () => operator.close());
    await leaseReady(holder, 'arm');
    robot.fault('overload on servo 3');
    await until(() => bridge.hub.robotList()[0].state.estop !== null, 2000, 'robot-raised e-stop');
    expect(await code(holder.reset('arm'))).toBe('forbidden');
    await client.stop();
    await until(() => bridge.hub.robotList()[0].state.connected === false, 2000, 'robot gone');
    expect(await code(operator.reset('arm'))).toBe('ok');
    expect(bridge.hub.robotList()[0].state.estop).toBeNull();
  });
});
