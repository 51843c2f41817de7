/** Worker thread of machine-speed.ts: one `bench train` measurement (MLP, wasm), posted back. */
import { parentPort, workerData } from 'node:worker_threads';
import { benchTrain } from './bench-train.ts';

const { seconds } = workerData as { seconds: number };
try {
  const r = await benchTrain({ backends: ['wasm'], nets: ['mlp'], seconds });
  const row = r.rows[0];
  if (!row) throw new Error(r.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ') || 'no measurement');
  // The MachineSpeed of machine-speed.ts.
  parentPort!.postMessage({ speed: { mlpWasmSamplesPerSec: row.samplesPerSec, seconds: row.seconds } });
} catch (err) {
  parentPort!.postMessage({ error: (err as Error).message });
}
