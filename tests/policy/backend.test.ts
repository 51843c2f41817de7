/**
 * Backend choice: the auto order with forced fallbacks, the errors for backends that are asked for
 * and missing, the wasm binaries found from node_modules and from beside a bundle, and the Dawn
 * adapter helpers.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  backendNames,
  locateWasmBinaries,
  NoBackendError,
  selectBackend,
} from '../../policy/backend.ts';
import { wasmTrainingKernelsRegistered } from '../../policy/wasm-kernels/index.ts';
import { adapterLabel, isSoftwareAdapter, mayHaveHardwareGpu } from '../../sim/gpu/dawn.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
const hasTfjsNode = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

describe('selectBackend', () => {
  it('auto mode reports what it skips and picks wasm on a CPU-only machine', async (ctx) => {
    if (hasTfjsNode || mayHaveHardwareGpu()) ctx.skip();
    const lines: string[] = [];
    const c = await selectBackend({ model: 'conv', log: (l) => lines.push(l) });
    expect(c.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    expect(lines).toContain('backend tfjs-node-gpu skipped: not installed');
    expect(lines).toContain('backend tfjs-node skipped: not installed');
    expect(lines.some((l) => l.startsWith('backend webgpu skipped: '))).toBe(true);
    expect(lines.at(-1)).toMatch(/^backend: wasm on CPU \(.*wasm \d+ threads?(, SIMD)?, XNNPACK\)$/);
    expect(c.device).toMatch(/^CPU/);
    c.dispose();
  });

  it('falls back to cpu when wasm is not a candidate, and warns for conv nets', async () => {
    const lines: string[] = [];
    const c = await selectBackend({ candidates: ['cpu'], model: 'conv', log: (l) => lines.push(l) });
    expect(c.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines.some((l) => l.startsWith('warning: conv nets train at a few samples/s on the cpu backend'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^backend: cpu on CPU/);
  });

  it('skips webgpu without a hardware adapter in auto mode', async (ctx) => {
    if (mayHaveHardwareGpu()) ctx.skip();
    const err = await selectBackend({ candidates: ['webgpu'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoBackendError);
    expect((err as NoBackendError).skipped).toEqual([{ backend: 'webgpu', reason: expect.stringMatching(/no GPU device here/) }]);
  });

  it('refuses an empty candidate list with a clear error', async () => {
    await expect(selectBackend({ candidates: [] })).rejects.toThrow(/no TensorFlow.js backend to try/);
  });

  it('says why tfjs-node-gpu is missing and how to get it, without falling back', async (ctx) => {
    if (installed('@tensorflow/tfjs-node-gpu')) ctx.skip();
    const before = tf.getBackend();
    const err = await selectBackend({ backend: 'tfjs-node-gpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    const e = err as BackendUnavailableError;
    expect(e.backend).toBe('tfjs-node-gpu');
    expect(e.message).toMatch(/^backend 'tfjs-node-gpu' is not available: @tensorflow\/tfjs-node-gpu is not installed/);
    expect(e.message).toMatch(/downloads libtensorflow/);
    expect(e.message).toMatch(/npm install @tensorflow\/tfjs-node-gpu/);
    expect(e.message).toMatch(/--backend webgpu, wasm or cpu/);
    expect(tf.getBackend()).toBe(before);
  });

  it('says why tfjs-node is missing', async (ctx) => {
    if (installed('@tensorflow/tfjs-node')) ctx.skip();
    await expect(selectBackend({ backend: 'tfjs-node' })).rejects.toThrow(/@tensorflow\/tfjs-node is not installed: it downloads libtensorflow/);
  });

  it('rejects an unknown name, listing the known ones', async () => {
    await expect(selectBackend({ backend: 'cuda' as never })).rejects.toThrow(`unknown backend 'cuda': choose one of ${backendNames.join(', ')}`);
  });

  it('selects wasm and cpu by name', async () => {
    for (const name of ['wasm', 'cpu'] as const) {
      const lines: string[] = [];
      const c = await selectBackend({ backend: name, log: (l) => lines.push(l) });
      expect(c.name).toBe(name);
      expect(tf.getBackend()).toBe(name);
      expect(lines).toEqual([`backend: ${name} on ${c.device}`]);
      const sum = c.tf.tidy(() => c.tf.matMul(c.tf.ones([4, 3]), c.tf.ones([3, 2])).sum().dataSync()[0]);
      expect(sum).toBe(24);
    }
  });

  it('runs webgpu when asked even on a software adapter, or says what to install', async () => {
    const lines: string[] = [];
    let choice;
    try {
      choice = await selectBackend({ backend: 'webgpu', log: (l) => lines.push(l) });
    } catch (err) {
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as Error).message).toMatch(/no WebGPU adapter found through Dawn.*mesa-vulkan-drivers.*--backend wasm/s);
      return;
    }
    try {
      expect(choice.name).toBe('webgpu');
      const sum = await choice.tf.matMul(choice.tf.ones([8, 8]), choice.tf.ones([8, 8])).sum().data();
      expect(sum[0]).toBe(512);
      if (/software/.test(choice.device)) expect(lines.some((l) => l.startsWith('warning: webgpu runs on a software adapter'))).toBe(true);
    } finally {
      choice.dispose();
    }
    expect(tf.findBackend('webgpu')).toBeNull();
    await tf.setBackend('wasm');
  });
});

describe('wasm binaries', () => {
  it('are found in node_modules', () => {
    const dir = locateWasmBinaries();
    expect(dir).not.toBeNull();
    expect(fs.existsSync(path.join(dir!, 'tfjs-backend-wasm-simd.wasm'))).toBe(true);
  });

  it('are found in ./wasm/ beside a single-file bundle', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-bundle-'));
    try {
      const entry = path.join(dir, 'entry.ts');
      fs.writeFileSync(
        entry,
        `import { selectBackend } from ${JSON.stringify(path.join(root, 'policy/backend.ts'))};\n` +
          `const c = await selectBackend({ backend: 'wasm' });\n` +
          `const g = c.tf.grad((w) => c.tf.conv2d(c.tf.ones([1, 4, 4, 1]), w, 1, 'same').sum())(c.tf.ones([3, 3, 1, 1]));\n` +
          `console.log(JSON.stringify({ name: c.name, g: Array.from(g.dataSync()) }));\n`,
      );
      // pack's banner: bundled code must not declare these names at its top level.
      const banner =
        "import { createRequire } from 'module'; import { fileURLToPath as __f2p } from 'url'; import { dirname as __dn } from 'path'; " +
        'const require = createRequire(import.meta.url); const __filename = __f2p(import.meta.url); const __dirname = __dn(__filename);';
      const esbuild = path.join(root, 'node_modules/.bin/esbuild');
      const built = spawnSync(
        esbuild,
        [entry, '--bundle', '--platform=node', '--format=esm', '--target=node20', '--external:webgpu', '--external:@tensorflow/tfjs-node',
          '--external:@tensorflow/tfjs-node-gpu', `--banner:js=${banner}`, `--outfile=${path.join(dir, 'entry.mjs')}`, '--log-level=error'],
        { encoding: 'utf8' },
      );
      expect(built.status, built.stderr).toBe(0);
      fs.mkdirSync(path.join(dir, 'wasm'));
      const dist = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
      for (const f of fs.readdirSync(dist).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(dist, f), path.join(dir, 'wasm', f));
      const run = spawnSync(process.execPath, [path.join(dir, 'entry.mjs')], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
      // Each filter tap sees the 4x4 ones image minus the padding it hangs over.
      expect(out).toEqual({ name: 'wasm', g: [9, 12, 9, 12, 16, 12, 9, 12, 9] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dawn adapter helpers', () => {
  it('tell software adapters from hardware ones', () => {
    const lavapipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7' };
    const swiftshader = { vendor: 'google', architecture: '', device: 'SwiftShader Device (Subzero)', description: '' };
    const h100 = { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: 'NVIDIA H100 80GB HBM3' };
    expect(isSoftwareAdapter(lavapipe)).toBe(true);
    expect(isSoftwareAdapter(swiftshader)).toBe(true);
    expect(isSoftwareAdapter(h100)).toBe(false);
    expect(adapterLabel({ ...h100, software: false })).toBe('NVIDIA H100 80GB HBM3 (hopper)');
    expect(adapterLabel({ ...lavapipe, software: true })).toBe('llvmpipe: Mesa 25.0.7 (software)');
  });
});
