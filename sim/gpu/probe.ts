/**
 * Whether a WebGPU adapter opens here, asked of a short-lived child process.
 *
 * Dawn reports what it meets while it looks for adapters from native code, straight to the
 * process's stderr: "Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file"
 * (dawn/native/vulkan/BackendVk.cpp, when the Vulkan loader is missing), "vkCreateInstance: Found
 * no drivers!" (the loader without an ICD such as lavapipe), and limit notices even when an
 * adapter opens. JavaScript cannot filter those lines, so a command that only needs to know
 * whether it can render asks a child Node process (same binary, same environment) and keeps the
 * child's stderr as `dawnLog`. The child also keeps Dawn out of the asking process, which would
 * otherwise hold Node open until released.
 *
 * The child is probe-child.ts, which prints its answer as one JSON line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { askForAdapter } from './dawn.ts';
import type { AdapterAnswer } from './dawn.ts';

/** What headless rendering needs on a CPU-only Debian 12 machine (README.md, "System packages"). */
export const RENDER_PACKAGES = 'mesa-vulkan-drivers and libvulkan1 from bookworm-backports (Mesa >= 24 lavapipe)';

/** The answer, and what Dawn wrote to stderr while it looked (empty when asked in this process). */
export type AdapterProbe = AdapterAnswer & { dawnLog: string };

export interface ProbeOptions {
  /** The child's environment; default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Default 60 s (loading Dawn takes well under a second; a hung driver must not hang the caller). */
  timeoutMs?: number;
}

/** The child's script, beside this module (absent when this module was bundled into one file). */
const CHILD = fileURLToPath(new URL('./probe-child.ts', import.meta.url));

/**
 * Opens Dawn in a child process and says whether an adapter came up, without printing anything.
 * Bundled into a single file (no child script beside it), it asks in this process instead (with
 * this process's environment), and Dawn's warnings reach stderr as before.
 */
export function probeWebGpuAdapter(opts: ProbeOptions = {}): Promise<AdapterProbe> {
  if (!existsSync(CHILD)) return askForAdapter().then((r) => ({ ...r, dawnLog: '' }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD], { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `the adapter probe could not start (${e.message})`, dawnLog: err.trim() });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const dawnLog = err.trim();
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(line) as AdapterAnswer;
        resolve({ ...r, dawnLog });
      } catch {
        const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
        const last = dawnLog.split('\n').filter(Boolean).pop();
        resolve({ ok: false, reason: `the adapter probe ${how} without an answer${last ? `: ${last}` : ''}`, dawnLog });
      }
    });
  });
}
