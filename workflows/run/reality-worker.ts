/**
 * The `reality` stage's bridge, emulated robot and policy in a worker thread of their own (see
 * driveInWorker in reality-thread.ts, the stage itself in reality-drive.ts): posts each finished episode and the run's result back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { driveEmulatedRobot } from './reality-drive.ts';
import type { RealityJob, RealityMessage } from './reality-drive.ts';

const port = parentPort!;
const job = workerData as RealityJob;
const post = (m: RealityMessage): void => port.postMessage(m);

try {
  const done = await driveEmulatedRobot({ ...job, onEpisode: (success, n) => post({ episode: { success, n } }) });
  post({ done });
} catch (err) {
  const e = err as Error;
  post({ error: { message: e.message, stack: e.stack } });
}
