/**
 * A bridge on loopback, an emulated-reality robot on it, and a state policy driving that robot
 * through the bridge: the run's `reality` stage, as the worker thread of reality-thread.ts runs it.
 */
import { randomBytes } from 'node:crypto';
import { startBridge } from '../../bridge/hub/server.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { EmulatedRobot } from '../../bridge/robots/emulated/emulated.ts';
import type { Reality } from '../../bridge/robots/emulated/reality.ts';
import type { BackendName } from '../../policy/backend.ts';
import { runPolicyOnBridge } from '../policy-on-bridge.ts';
import type { BridgeRunResult } from '../policy-on-bridge.ts';

/** What the stage hands the thread: plain data (the reality with the scenario it plays). */
export interface RealityJob {
  reality: Reality;
  modelDir: string;
  episodes: number;
  backend?: BackendName;
}

/** Messages from the worker. */
export type RealityMessage = { episode: { success: boolean; n: number } } | { done: BridgeRunResult } | { error: { message: string; stack?: string } };

export async function driveEmulatedRobot(o: RealityJob & { onEpisode?: (success: boolean, n: number) => void }): Promise<BridgeRunResult> {
  const token = randomBytes(24).toString('hex');
  const bridge = await startBridge({ port: 0, host: '127.0.0.1', token });
  const robot = new EmulatedRobot(o.reality);
  const client = new RobotClient({ url: bridge.url, token: bridge.robotToken('emu-1'), id: 'emu-1', robot, model: `emulated:${o.reality.config.id}` });
  try {
    await client.start();
    await client.waitRegistered(10_000);
    return await runPolicyOnBridge({
      modelDir: o.modelDir, url: bridge.url, token, robot: 'emu-1', episodes: o.episodes, backend: o.backend,
      onEpisode: (e, n) => o.onEpisode?.(e.success, n),
    });
  } finally {
    await client.stop();
    await bridge.close();
  }
}

