/**
 * Training throughput (samples/s) of the two nets the policies are built from, on every tfjs
 * backend present:
 *
 * - `mlp`: the state policy's shape, 40 → 256 → 256 → 4 (ReLU), batch 1024;
 * - `cnn`: a 64×64×3 image net, three 3×3 stride-2 convolutions (16, 32, 64 filters, ReLU),
 *   global average pooling, dense 64 (ReLU), dense 6; batch 64 on CPUs, 128 on GPUs.
 *
 * Each (net, backend) pair trains with Adam on one seeded synthetic batch: warm-up steps first
 * (kernel compilation, XNNPACK packing, allocator), then a fixed number of timed steps sized
 * from the warm-up to fill about `seconds`. The `cpu` backend trains the CNN at a few samples/s,
 * so it gets a small batch and a single timed step. `cnnWasmOverCpu` compares the two in the same
 * run.
 *
 * Standalone (bundled into one file for a GPU machine): prints one JSON object on its
 * last stdout line; `--backends webgpu,wasm --seconds 5`.
 */
import os from 'node:os';
import { Rng } from '../sim/rng.ts';
import { backendNames, BackendUnavailableError, isBackendName, NoBackendError, selectBackend } from './backend.ts';
import type { Scalar, Sequential, Tensor } from '@tensorflow/tfjs';
import type { BackendChoice, BackendName, TF } from './backend.ts';

export type BenchNet = 'mlp' | 'cnn';

export interface BenchTrainOptions {
  /**
   * Backends to measure, each forced (a missing one is reported as skipped). Default: every
   * backend that auto mode would accept (so webgpu only on a hardware adapter).
   */
  backends?: readonly BackendName[];
  /** Nets to measure; default both. */
  nets?: readonly BenchNet[];
  /** Target length of each timed phase, seconds; default 4. */
  seconds?: number;
  /** Seed of the synthetic data and the initial weights; default 1. */
  seed?: number;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

export interface BenchTrainRow {
  net: BenchNet;
  backend: BackendName;
  device: string;
  batch: number;
  warmupSteps: number;
  steps: number;
  seconds: number;
  msPerStep: number;
  samplesPerSec: number;
  /** Loss after the first warm-up step and after the last timed step (a sanity check that it trains). */
  lossFirst: number;
  lossLast: number;
}

export interface BenchTrainResult {
  bench: 'train';
  rows: BenchTrainRow[];
  skipped: Array<{ backend: BackendName; reason: string }>;
  /** CNN samples/s on wasm over cpu, both from this run; null unless both ran. */
  cnnWasmOverCpu: number | null;
  host: { cpus: string; cores: number; node: string; platform: string };
  options: { seconds: number; seed: number };
}

interface NetSpec {
  inputShape: number[];
  outputs: number;
  build(tf: TF, rng: Rng): Sequential;
}

const nets: Record<BenchNet, NetSpec> = {
  mlp: {
    inputShape: [40],
    outputs: 4,
    build(tf, rng) {
      const init = () => tf.initializers.glorotUniform({ seed: rng.int(1, 2 ** 30) });
      return tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [40], units: 256, activation: 'relu', kernelInitializer: init() }),
          tf.layers.dense({ units: 256, activation: 'relu', kernelInitializer: init() }),
          tf.layers.dense({ units: 4, kernelInitializer: init() }),
        ],
      });
    },
  },
  cnn: {
    inputShape: [64, 64, 3],
    outputs: 6,
    build(tf, rng) {
      const init = () => tf.initializers.glorotUniform({ seed: rng.int(1, 2 ** 30) });
      const conv = (filters: number, first: boolean) =>
        tf.layers.conv2d({
          ...(first ? { inputShape: [64, 64, 3] } : {}),
          filters,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: init(),
        });
      return tf.sequential({
        layers: [
          conv(16, true),
          conv(32, false),
          conv(64, false),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init() }),
          tf.layers.dense({ units: 6, kernelInitializer: init() }),
        ],
      });
    },
  },
};

function batchFor(net: BenchNet, backend: BackendName): number {
  if (net === 'mlp') return 1024;
  if (backend === 'cpu') return 8;
  return backend === 'webgpu' || backend === 'tfjs-node-gpu' ? 128 : 64;
}

export async function benchTrain(opts: BenchTrainOptions = {}): Promise<BenchTrainResult> {
  const seconds = opts.seconds ?? 4;
  const seed = opts.seed ?? 1;
  const log = opts.log ?? (() => {});
  const which = opts.nets ?? (['mlp', 'cnn'] as const);
  const rows: BenchTrainRow[] = [];
  const skipped: BenchTrainResult['skipped'] = [];
  // webgpu last: giving its device back removes the backend.
  const order = [...(opts.backends ?? backendNames)].sort((a, b) => rank(a) - rank(b));
  for (const name of order) {
    let choice: BackendChoice;
    try {
      choice = opts.backends
        ? await selectBackend({ backend: name, model: 'conv', log })
        : await selectBackend({ candidates: [name], model: 'conv' });
    } catch (err) {
      const reason =
        err instanceof NoBackendError ? err.skipped.map((s) => s.reason).join('; ') : err instanceof BackendUnavailableError ? err.message : String(err);
      skipped.push({ backend: name, reason });
      log(`${name}: skipped (${reason})`);
      continue;
    }
    try {
      for (const net of which) {
        const row = await measure(choice, net, { seconds, seed });
        rows.push(row);
        log(`${net} on ${name}: ${row.samplesPerSec.toFixed(1)} samples/s (batch ${row.batch}, ${row.steps} steps in ${row.seconds.toFixed(2)} s)`);
      }
    } finally {
      choice.dispose();
    }
  }
  const cnnOn = (b: BackendName) => rows.find((r) => r.net === 'cnn' && r.backend === b)?.samplesPerSec;
  const w = cnnOn('wasm');
  const c = cnnOn('cpu');
  const cpus = os.cpus();
  return {
    bench: 'train',
    rows,
    skipped,
    cnnWasmOverCpu: w !== undefined && c !== undefined && c > 0 ? w / c : null,
    host: { cpus: cpus[0]?.model.trim() ?? 'unknown', cores: os.availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` },
    options: { seconds, seed },
  };
}

function rank(b: BackendName): number {
  return b === 'webgpu' ? 1 : 0;
}

async function measure(choice: BackendChoice, net: BenchNet, o: { seconds: number; seed: number }): Promise<BenchTrainRow> {
  const { tf, name } = choice;
  const spec = nets[net];
  const rng = new Rng(o.seed).fork(`bench-train/${net}`);
  const batch = batchFor(net, name);
  const inSize = spec.inputShape.reduce((a, b) => a * b, 1);
  const xs = new Float32Array(batch * inSize);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.normal();
  const ys = new Float32Array(batch * spec.outputs);
  for (let i = 0; i < ys.length; i++) ys[i] = rng.normal();

  const model = spec.build(tf, rng.fork('weights'));
  const x = tf.tensor(xs, [batch, ...spec.inputShape]);
  const y = tf.tensor(ys, [batch, spec.outputs]);
  const optimizer = tf.train.adam(1e-3);
  const step = () => optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as Tensor), true) as Scalar;
  // Runs n steps and waits for the last loss (GPU work is queued until then).
  const run = async (n: number): Promise<number> => {
    if (n <= 0) return NaN;
    let loss: Scalar | null = null;
    for (let i = 0; i < n; i++) {
      loss?.dispose();
      loss = step();
    }
    const v = (await loss!.data())[0];
    loss!.dispose();
    return v;
  };
  try {
    const slow = name === 'cpu' && net === 'cnn';
    const warmupSteps = slow ? 1 : 3;
    // The first step pays for shader compilation and weight packing: size the timed run from the rest.
    let t0 = performance.now();
    const lossFirst = await run(1);
    let warmMs = performance.now() - t0;
    if (warmupSteps > 1) {
      t0 = performance.now();
      await run(warmupSteps - 1);
      warmMs = (performance.now() - t0) / (warmupSteps - 1);
    }
    const steps = slow ? 1 : Math.max(3, Math.min(10_000, Math.round((o.seconds * 1000) / Math.max(warmMs, 0.01))));
    t0 = performance.now();
    const lossLast = await run(steps);
    const ms = performance.now() - t0;
    return {
      net,
      backend: name,
      device: choice.device,
      batch,
      warmupSteps,
      steps,
      seconds: ms / 1000,
      msPerStep: ms / steps,
      samplesPerSec: (batch * steps * 1000) / ms,
      lossFirst,
      lossLast,
    };
  } finally {
    model.dispose();
    x.dispose();
    y.dispose();
    optimizer.dispose();
  }
}

/** Table for people: one line per measurement, then the wasm/cpu ratio. */
export function formatBenchTrain(r: BenchTrainResult): string {
  const head = ['net', 'backend', 'batch', 'steps', 'ms/step', 'samples/s', 'device'];
  const body = r.rows.map((w) => [w.net, w.backend, String(w.batch), String(w.steps), w.msPerStep.toFixed(1), w.samplesPerSec.toFixed(1), w.device]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  const out = [line(head), ...body.map(line)];
  for (const s of r.skipped) out.push(`${s.backend}: skipped (${s.reason})`);
  if (r.cnnWasmOverCpu !== null) out.push(`cnn wasm/cpu: ${r.cnnWasmOverCpu.toFixed(0)}x`);
  return out.join('\n');
}

/** Parses `--backends a,b` (names checked) and `--seconds n`; throws with a clear message. */
export function parseBenchTrainArgs(args: { backends?: string; seconds?: string | number }): Pick<BenchTrainOptions, 'backends' | 'seconds'> {
  const out: Pick<BenchTrainOptions, 'backends' | 'seconds'> = {};
  if (args.backends !== undefined) {
    const list = args.backends.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = list.filter((s) => !isBackendName(s));
    if (list.length === 0 || bad.length > 0) {
      throw new RangeError(`--backends: unknown backend${bad.length === 1 ? '' : 's'} '${bad.join(',') || args.backends}'; choose from ${backendNames.join(', ')}`);
    }
    out.backends = list as BackendName[];
  }
  if (args.seconds !== undefined) {
    const s = Number(args.seconds);
    if (!Number.isFinite(s) || s <= 0 || s > 600) throw new RangeError(`--seconds: expected a number of seconds in (0, 600], got '${args.seconds}'`);
    out.seconds = s;
  }
  return out;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const flag = (n: string) => {
    const i = argv.indexOf(n);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const parsed = parseBenchTrainArgs({ backends: flag('--backends'), seconds: flag('--seconds') });
  const result = await benchTrain({ ...parsed, log: (l) => process.stderr.write(l + '\n') });
  process.stderr.write(formatBenchTrain(result) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
}
