/**
 * Evaluation worker thread: opens a group runner for the job in workerData (its own tfjs backend,
 * model and renderers), then runs the seed groups the main thread sends, one at a time.
 *
 * Messages in: `{ index, seeds, ranges? }` (ranges: physics ranges of a sweep point). Out: `{ ready, backend, device }` once, `{ episode }` per
 * finished episode, `{ result }` per group, `{ error }` on failure.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openGroupRunner } from './run-groups.ts';
import type { GroupJob } from './run-groups.ts';
import type { PhysicsRandomization } from '../../sim/scenario.ts';

const port = parentPort!;
try {
  const runner = await openGroupRunner(workerData as GroupJob);
  port.postMessage({ ready: true, backend: runner.backend, device: runner.device });
  port.on('message', async (msg: { index?: number; seeds?: number[]; ranges?: PhysicsRandomization; close?: boolean }) => {
    if (msg.close) {
      await runner.dispose();
      port.close();
      return;
    }
    try {
      const result = await runner.run(msg.index as number, msg.seeds as number[], (episode) => port.postMessage({ episode }), msg.ranges);
      port.postMessage({ result });
    } catch (err) {
      port.postMessage({ error: (err as Error).stack ?? String(err) });
    }
  });
} catch (err) {
  port.postMessage({ error: (err as Error).message, userError: (err as Error).name === 'PolicyInputError' });
}
