/**
 * A bridge on loopback, an emulated-reality robot on it, and a state policy driving that robot
 * through the bridge: the run's `reality` stage. It runs in real time (the robot's physics steps
 * at its control rate and its network adds the reality's latency), so `driveInWorker` runs it in a
 * worker thread: work on the main thread (the pose estimator's training steps, which hold the
 * event loop for up to a second, the evaluations' bookkeeping) then cannot delay the hub, the
 * robot or the policy. Measured with the stage beside the pose training on the main thread:
 * bridge round trip p99 1,225 ms; see README.md for the figures in a worker. What the thread runs
 * is reality-drive.ts.
 */
import { Worker } from 'node:worker_threads';
import type { BridgeRunResult } from '../policy-on-bridge.ts';
import type { RealityJob, RealityMessage } from './reality-drive.ts';

/**
 * driveEmulatedRobot in a worker thread. Aborting `signal` ends the thread (its bridge, robot and
 * policy with it: the robot is emulated and lives only there) and rejects with "interrupted".
 */
export function driveInWorker(job: RealityJob, on: { onEpisode?: (success: boolean, n: number) => void; signal?: AbortSignal }): Promise<BridgeRunResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./reality-worker.ts', import.meta.url), { workerData: job });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      on.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = (): void => settle(() => reject(new Error('interrupted')));
    if (on.signal?.aborted) return onAbort();
    on.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: RealityMessage) => {
      if ('episode' in m) on.onEpisode?.(m.episode.success, m.episode.n);
      else if ('done' in m) settle(() => resolve(m.done));
      else settle(() => reject(Object.assign(new Error(m.error.message), { stack: m.error.stack })));
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the emulated robot's thread exited with code ${code} before its run finished`))));
  });
}
