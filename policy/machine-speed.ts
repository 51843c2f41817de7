/**
 * How fast this machine trains, measured the way `simreal bench train` does for its `mlp` row on
 * `wasm`: the state policy's shape (40 → 256 → 256 → 4, ReLU), Adam on one seeded batch of 1024,
 * samples per second after warm-up, one wasm thread. Printed beside a run's time so a user can
 * tell a slow machine from a slow program: the README's default run took 12.3 min where this
 * figure was ~10,400 samples/s and 28.6 min where it was ~4,300.
 *
 * Measured in a worker thread, so the run's own TensorFlow.js state (backend, layer names,
 * memory) is untouched; it takes `seconds` plus about two seconds of start-up.
 */
import { Worker } from 'node:worker_threads';

export interface MachineSpeed {
  /** Training samples per second of the `bench train` MLP on wasm (batch 1024, one thread). */
  mlpWasmSamplesPerSec: number;
  /** How long the timed part ran. */
  seconds: number;
}

/** Default length of the timed part: long enough for a steady figure, short beside a run. */
export const MACHINE_SPEED_SECONDS = 3;

export function measureMachineSpeed(seconds = MACHINE_SPEED_SECONDS): Promise<MachineSpeed> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./machine-speed-worker.ts', import.meta.url), { workerData: { seconds } });
    let answered = false;
    w.once('message', (m: { speed?: MachineSpeed; error?: string }) => {
      answered = true;
      void w.terminate();
      if (m.speed) resolve(m.speed);
      else reject(new Error(`measuring the machine's speed failed: ${m.error}`));
    });
    w.once('error', (err) => {
      answered = true;
      reject(err);
    });
    w.once('exit', (code) => {
      if (!answered) reject(new Error(`the machine-speed worker exited with code ${code} before answering`));
    });
  });
}

/** "4,306 MLP samples/s (bench train, wasm)". */
export function formatMachineSpeed(mlpWasmSamplesPerSec: number): string {
  return `${Math.round(mlpWasmSamplesPerSec).toLocaleString('en-US')} MLP samples/s (bench train, wasm)`;
}
