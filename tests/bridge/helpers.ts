import { startBridge } from '../../bridge/hub/server.ts';
import type { BridgeOptions, RunningBridge } from '../../bridge/hub/server.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { ControllerClient } from '../../bridge/controller-client.ts';
import { MockRobot } from '../../bridge/robots/mock.ts';
import type { MockRobotOptions } from '../../bridge/robots/mock.ts';

export const TOKEN = 'test-token-0123456789abcdef';
/** The operator's token: clears any e-stop. */
export const OPERATOR_TOKEN = 'operator-token-0123456789abcdef';

export async function startTestBridge(options: Partial<BridgeOptions> = {}): Promise<RunningBridge> {
  return startBridge({ port: 0, host: '127.0.0.1', token: TOKEN, operatorToken: OPERATOR_TOKEN, ...options, config: { heartbeatMs: 0, ...(options.config ?? {}) } });
}

export async function startMockRobot(bridge: RunningBridge, id: string, options: MockRobotOptions = {}, observationHz = 200): Promise<{ robot: MockRobot; client: RobotClient }> {
  const robot = new MockRobot(options);
  const client = new RobotClient({ url: bridge.url, token: bridge.robotToken(id), id, robot, observationHz, backoff: { initialMs: 20, maxMs: 200 } });
  await client.start();
  await client.waitRegistered(5000);
  return { robot, client };
}

export function connectController(bridge: RunningBridge, name = 'ctl', extra: { role?: 'controller' | 'viewer'; token?: string } = {}): Promise<ControllerClient> {
  return ControllerClient.connect({ url: bridge.url, token: extra.token ?? TOKEN, name, role: extra.role ?? 'controller', timeoutMs: 3000 });
}

export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Waits for the robot's first observation to reach the hub (so commands have a pose). */
export async function leaseReady(ctl: ControllerClient, id: string): Promise<void> {
  await ctl.lease(id);
  await new Promise<void>((resolve) => ctl.once('observation', () => resolve()));
}

/** The credential a robot with this id presents to the bridge. */
export function robotToken(bridge: RunningBridge, id: string): string {
  return bridge.robotToken(id);
}
