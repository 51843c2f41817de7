/**
 * The `reality` stage's bridge, emulated robot and policy in a worker thread of their own (see
 * driveInWorker in reality-thread.ts): posts each finished episode and the run's result back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { driveEmulatedRobot } from './reality-thread.ts';
import type { RealityJob, RealityMessage } from './reality-thread.ts';

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
