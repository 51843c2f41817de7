/**
 * Picks the TensorFlow.js backend that training and inference run on, and says which one.
 *
 * Order in auto mode: `@tensorflow/tfjs-node-gpu` (CUDA; optional dependency) →
 * `@tensorflow/tfjs-node` (libtensorflow on the CPU; optional) → `webgpu` (tfjs-backend-webgpu on
 * Dawn, hardware adapters only) → `wasm` (XNNPACK, with our convolution-gradient kernels from
 * policy/wasm-kernels) → `cpu` (plain JS; ~3 samples/s on a 64² CNN).
 *
 * A software WebGPU adapter (lavapipe/llvmpipe, SwiftShader) is skipped in auto mode: tfjs on
 * lavapipe reaches ~5 GFLOP/s, below wasm for MLPs and far below it for conv nets. Asking for a
 * backend by name never falls back: a missing one is a `BackendUnavailableError` that says why
 * and how to get it.
 *
 * The wasm binaries are looked up beside a bundle first (`./wasm/` next to the bundled .mjs, as
 * a single-file bundle for a GPU machine lays them out), then in node_modules.
 */
import fs from 'node:fs';
import { createRequire as nodeCreateRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfjs from '@tensorflow/tfjs';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { adapterLabel, mayHaveHardwareGpu, openDawn } from '../sim/gpu/dawn.ts';
import type { DawnGpu } from '../sim/gpu/dawn.ts';
import { probeWebGpuAdapter } from '../sim/gpu/probe.ts';
import type { AdapterProbe } from '../sim/gpu/probe.ts';
import { registerWasmTrainingKernels } from './wasm-kernels/index.ts';

export type TF = typeof tfjs;

export const backendNames = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

export interface SelectBackendOptions {
  /** A backend by name (no fallback); default: the first that works, in `backendNames` order. */
  backend?: BackendName;
  /**
   * Auto mode only: the candidates to try, still in `backendNames` order (default: all of them).
   * `['webgpu']` asks "is there a hardware GPU adapter?" without falling back.
   */
  candidates?: readonly BackendName[];
  /** What will train: 'conv' makes sure wasm has the convolution-gradient kernels and warns on `cpu`. */
  model?: 'mlp' | 'conv';
  /** Where the choice (and skipped candidates) are reported; default: nowhere. */
  log?: (line: string) => void;
}

export interface BackendChoice {
  /** The tfjs module, with this backend active. */
  tf: TF;
  name: BackendName;
  /** What runs the math, e.g. "CPU: Intel Xeon @ 2.20GHz, wasm 1 thread, SIMD" or "GPU: NVIDIA H100 …". */
  device: string;
  /**
   * Frees what the backend holds outside the JS heap so Node can exit: for webgpu the backend is
   * removed, its GPU device destroyed and Dawn released (select a backend again before more tf
   * work); for the others nothing is needed.
   */
  dispose(): void;
}

/** A backend that was asked for by name and cannot run here. */
export class BackendUnavailableError extends Error {
  readonly backend: BackendName;
  constructor(backend: BackendName, message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
  }
}

/** Auto mode found nothing that starts; `skipped` says why for each candidate. */
export class NoBackendError extends Error {
  readonly skipped: ReadonlyArray<{ backend: BackendName; reason: string }>;
  constructor(skipped: ReadonlyArray<{ backend: BackendName; reason: string }>) {
    super(
      skipped.length === 0
        ? 'no TensorFlow.js backend to try (empty candidate list)'
        : `no TensorFlow.js backend could start:\n  ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('\n  ')}`,
    );
    this.name = 'NoBackendError';
    this.skipped = skipped;
  }
}

export function isBackendName(s: string): s is BackendName {
  return (backendNames as readonly string[]).includes(s);
}

export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendChoice> {
  const log = opts.log ?? (() => {});
  const model = opts.model ?? 'mlp';
  if (opts.backend !== undefined) {
    if (!isBackendName(opts.backend)) {
      throw new BackendUnavailableError(opts.backend, `unknown backend '${opts.backend}': choose one of ${backendNames.join(', ')}`);
    }
    const choice = await tryBackend(opts.backend, { explicit: true, log });
    if (choice.ok) return report(choice.choice, log);
    throw new BackendUnavailableError(opts.backend, `backend '${opts.backend}' is not available: ${choice.why}`);
  }
  const skipped: Array<{ backend: BackendName; reason: string }> = [];
  for (const name of backendNames) {
    if (opts.candidates && !opts.candidates.includes(name)) continue;
    const r = await tryBackend(name, { explicit: false, log });
    if (r.ok) {
      if (name === 'cpu' && model === 'conv') {
        log('warning: conv nets train at a few samples/s on the cpu backend (wasm with policy/wasm-kernels runs them ~100x faster)');
      }
      return report(r.choice, log);
    }
    skipped.push({ backend: name, reason: r.short });
    log(`backend ${name} skipped: ${r.short}`);
  }
  throw new NoBackendError(skipped);
}

function report(choice: BackendChoice, log: (line: string) => void): BackendChoice {
  log(`backend: ${choice.name} on ${choice.device}`);
  return choice;
}

type Attempt = { ok: true; choice: BackendChoice } | { ok: false; short: string; why: string };

async function tryBackend(
  name: BackendName,
  ctx: { explicit: boolean; log: (line: string) => void },
): Promise<Attempt> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      return tryTfjsNode(name);
    case 'webgpu':
      return tryWebgpu(ctx);
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return tryCpu();
  }
}

// ---------------------------------------------------------------------------------------------
// tfjs-node and tfjs-node-gpu (optional dependencies; their install script downloads libtensorflow)

async function tryTfjsNode(name: 'tfjs-node-gpu' | 'tfjs-node'): Promise<Attempt> {
  const pkg = `@tensorflow/${name}`;
  const gpu = name === 'tfjs-node-gpu';
  let mod: TF & { default?: TF };
  try {
    mod = (await import(pkg)) as TF & { default?: TF };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const notInstalled = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND';
    const lib = gpu ? 'libtensorflow with CUDA' : 'libtensorflow';
    if (notInstalled) {
      return {
        ok: false,
        short: 'not installed',
        why:
          `${pkg} is not installed: it downloads ${lib} from storage.googleapis.com at install time, and as an optional ` +
          `dependency npm skips it when that download fails (as it does on networks that reach only the npm registry). ` +
          `Fix: on a machine with network access${gpu ? ', an NVIDIA driver, CUDA 11.8 and cuDNN 8' : ''} run \`npm install ${pkg}\` ` +
          `(and \`npm install-scripts approve ${pkg}\` if npm blocked its script), or choose another backend: --backend ` +
          `${gpu ? 'webgpu, wasm or cpu' : 'wasm or cpu'}`,
      };
    }
    return {
      ok: false,
      short: `failed to load (${firstLine(e.message)})`,
      why:
        `${pkg} is installed but failed to load: ${firstLine(e.message)}. Its native ${lib} is probably missing ` +
        `(the install script did not finish): reinstall it with network access (\`npm rebuild ${pkg}\`)` +
        (gpu ? ', and check the CUDA and cuDNN libraries are on LD_LIBRARY_PATH' : '') + ', or choose another backend',
    };
  }
  const tf = (mod.default ?? mod) as TF;
  if (!(await tf.setBackend('tensorflow'))) {
    return { ok: false, short: 'tensorflow backend did not start', why: `${pkg} loaded but its 'tensorflow' backend did not start (see the warning above)` };
  }
  const device = gpu ? `GPU (CUDA via ${pkg})` : `CPU (${cpuName()}, libtensorflow)`;
  return { ok: true, choice: { tf, name, device, dispose() {} } };
}

// ---------------------------------------------------------------------------------------------
// webgpu (tfjs-backend-webgpu on Dawn)

async function tryWebgpu(ctx: { explicit: boolean; log: (line: string) => void }): Promise<Attempt> {
  if (!ctx.explicit && !mayHaveHardwareGpu()) {
    return { ok: false, short: 'no GPU device here (no /dev/nvidia*, no /dev/dri render node)', why: '' };
  }
  // Asked of a child process first: where no adapter opens, Dawn's own warnings ("Couldn't load
  // Vulkan …", "vkCreateInstance: Found no drivers!") stay in the child and only the reason is told.
  const probe = await probeOnce();
  if (!probe.ok) return { ok: false, short: firstLine(probe.reason).slice(0, 120), why: `${probe.reason}; or choose --backend wasm` };
  let dawn: DawnGpu;
  try {
    dawn = await openDawn();
  } catch (err) {
    const msg = (err as Error).message;
    return { ok: false, short: firstLine(msg).slice(0, 120), why: `${msg}; or choose --backend wasm` };
  }
  const label = adapterLabel(dawn.info);
  if (dawn.info.software) {
    if (!ctx.explicit) {
      dawn.release();
      return { ok: false, short: `software adapter (${label}): slower than wasm; --backend webgpu forces it`, why: '' };
    }
    ctx.log(`warning: webgpu runs on a software adapter (${label}): expect ~5 GFLOP/s, slower than --backend wasm`);
  }
  // Only now may tfjs-backend-webgpu load: it registers itself only if navigator.gpu exists.
  await import('@tensorflow/tfjs-backend-webgpu');
  if (tfjs.findBackendFactory('webgpu') == null) {
    dawn.release();
    return {
      ok: false,
      short: 'tfjs-backend-webgpu loaded before navigator.gpu',
      why:
        '@tensorflow/tfjs-backend-webgpu was imported before navigator.gpu existed, so it did not ' +
        'register itself; import it only after sim/gpu/dawn.ts has installed Dawn (selectBackend does this)',
    };
  }
  if (!(await tfjs.setBackend('webgpu'))) {
    dawn.release();
    return { ok: false, short: 'tfjs webgpu backend failed to start', why: `tfjs's webgpu backend failed to start on ${label}` };
  }
  let disposed = false;
  return {
    ok: true,
    choice: {
      tf: tfjs,
      name: 'webgpu',
      device: dawn.info.software ? `a software GPU (${label}), i.e. the CPU` : `GPU: ${label}`,
      dispose() {
        if (disposed) return;
        disposed = true;
        const backend = tfjs.findBackend('webgpu') as { device?: GPUDevice } | null;
        const device = backend?.device;
        tfjs.removeBackend('webgpu');
        device?.destroy();
        dawn.release();
      },
    },
  };
}

/** One adapter probe per process (and per Vulkan driver setting in the environment). */
let probed: { key: string; result: Promise<AdapterProbe> } | null = null;
function probeOnce(): Promise<AdapterProbe> {
  const key = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES', 'LD_LIBRARY_PATH'].map((k) => process.env[k] ?? '').join('\0');
  if (probed?.key !== key) probed = { key, result: probeWebGpuAdapter() };
  return probed.result;
}

// ---------------------------------------------------------------------------------------------
// wasm (XNNPACK), with the conv training kernels from ./wasm-kernels

let wasmPathsSet = false;

/**
 * Where the .wasm binaries are: `./wasm/` beside this module when it runs bundled (pack copies
 * them there), else the package's dist/ in node_modules.
 */
export function locateWasmBinaries(): string | null {
  const wasmFile = 'tfjs-backend-wasm-simd.wasm';
  const candidates: string[] = [];
  try {
    candidates.push(fileURLToPath(new URL('./wasm/', import.meta.url)));
  } catch {
    // not a file: URL (a browser): tfjs's own default applies
  }
  try {
    const req = nodeCreateRequire(import.meta.url);
    candidates.push(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm')));
  } catch {
    // not resolvable (inside a bundle without node_modules)
  }
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, wasmFile))) return dir.endsWith(path.sep) ? dir : dir + path.sep;
  }
  return null;
}

async function tryWasm(): Promise<Attempt> {
  if (!wasmPathsSet) {
    const dir = locateWasmBinaries();
    if (dir == null) {
      return {
        ok: false,
        short: 'wasm binaries not found',
        why:
          'tfjs-backend-wasm-simd.wasm was found neither in ./wasm/ beside the program nor in ' +
          'node_modules/@tensorflow/tfjs-backend-wasm/dist/; run `npm install` (or pack the bundle again)',
      };
    }
    tfWasm.setWasmPaths(dir);
    wasmPathsSet = true;
  }
  // Always installed (harmless for MLPs); a conv net cannot train on wasm without them.
  registerWasmTrainingKernels();
  if (!(await tfjs.setBackend('wasm'))) {
    return { ok: false, short: 'wasm backend failed to start', why: 'its module failed to start (see the warning above)' };
  }
  const simd = (await tfjs.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = tfWasm.getThreadsCount();
  const device = `CPU (${cpuName()}; wasm ${threads} thread${threads === 1 ? '' : 's'}${simd ? ', SIMD' : ''}, XNNPACK)`;
  return { ok: true, choice: { tf: tfjs, name: 'wasm', device, dispose() {} } };
}

// ---------------------------------------------------------------------------------------------
// cpu (plain JavaScript)

async function tryCpu(): Promise<Attempt> {
  if (!(await tfjs.setBackend('cpu'))) return { ok: false, short: 'cpu backend failed to start', why: 'the cpu backend failed to start' };
  // Its first-use banner recommends tfjs-node; the choice is reported by `log` instead.
  const backend = tfjs.backend() as { firstUse?: boolean };
  if ('firstUse' in backend) backend.firstUse = false;
  return { ok: true, choice: { tf: tfjs, name: 'cpu', device: `CPU (${cpuName()}; plain JavaScript, 1 thread)`, dispose() {} } };
}

function cpuName(): string {
  const cpus = os.cpus();
  const model = (cpus[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  return `${model}, ${os.availableParallelism()} cores`;
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
