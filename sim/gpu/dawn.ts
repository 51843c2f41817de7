/**
 * WebGPU in Node through Dawn (npm `webgpu`): Vulkan on NVIDIA GPUs, lavapipe (Mesa ≥ 24) on
 * CPUs. Shared by everything that draws or computes on the GPU (tfjs-backend-webgpu, three's
 * WebGPURenderer), so it knows nothing of either.
 *
 * Both libraries look for `navigator.gpu` when they are loaded, so `openDawn()` (or
 * `installNavigatorGpu()`) must run BEFORE they are imported: import them dynamically afterwards.
 * Node 22+ has a global `navigator` getter, so it is replaced with `Object.defineProperty`.
 *
 * Dawn keeps Node alive while a GPU object is reachable: call `release()` when done (and destroy
 * your devices), or exit explicitly.
 */
import fs from 'node:fs';
import os from 'node:os';

export interface GpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, WARP) or one Dawn marks as fallback. */
  software: boolean;
}

export interface DawnGpu {
  gpu: GPU;
  adapter: GPUAdapter;
  info: GpuAdapterSummary;
  /** Drops this handle's hold on `navigator.gpu`; the last release removes it so Node can exit. */
  release(): void;
}

export interface OpenDawnOptions {
  /** Adapter choice; default 'high-performance'. */
  powerPreference?: GPUPowerPreference;
  /** Dawn instance toggles, e.g. `['enable-dawn-features=allow_unsafe_apis']` (first open only). */
  dawnFlags?: string[];
}

/** No WebGPU adapter: the message names what to install. */
export class NoGpuAdapterError extends Error {
  constructor(detail?: string) {
    super(
      'no WebGPU adapter found through Dawn (npm `webgpu`, Vulkan)' + (detail ? `: ${detail}` : '') + '. ' +
        'On an NVIDIA machine install the NVIDIA driver with its Vulkan ICD (nvidia_icd.json) and the Vulkan loader (libvulkan1); ' +
        "on a CPU-only machine install Mesa >= 24's lavapipe: Debian 12's own Mesa 22 is rejected by Dawn, so add bookworm-backports and run " +
        '`apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1` (README.md, "System packages")',
    );
    this.name = 'NoGpuAdapterError';
  }
}

interface Installed {
  gpu: GPU;
  holders: number;
  /** `navigator` as it was before, to put back on the last release. */
  previous: PropertyDescriptor | undefined;
}
let installed: Installed | null = null;

/**
 * Creates Dawn's GPU object and installs it as `navigator.gpu` (plus the WebGPU constants such as
 * `GPUBufferUsage` on globalThis). Idempotent; each call takes a hold that `releaseNavigatorGpu`
 * gives back.
 */
export async function installNavigatorGpu(dawnFlags: string[] = []): Promise<GPU> {
  if (installed) {
    installed.holders++;
    return installed.gpu;
  }
  // lavapipe warns on every start without it.
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
  let dawn: { create(flags: string[]): GPU; globals: object };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (err) {
    throw new Error(`could not load Dawn (npm \`webgpu\`): ${(err as Error).message}. Run \`npm install\` (its binary is dist/linux-x64/dawn.node)`);
  }
  if (installed) {
    // Another caller finished installing while this one was loading the module.
    (installed as Installed).holders++;
    return (installed as Installed).gpu;
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(dawnFlags);
  const previous = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  const old = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
  Object.defineProperty(globalThis, 'navigator', {
    value: {
      gpu,
      userAgent: typeof old?.userAgent === 'string' ? old.userAgent : 'node',
      hardwareConcurrency: typeof old?.hardwareConcurrency === 'number' ? old.hardwareConcurrency : os.availableParallelism(),
      language: typeof old?.language === 'string' ? old.language : 'en-US',
      platform: typeof old?.platform === 'string' ? old.platform : process.platform,
    },
    configurable: true,
    writable: true,
  });
  installed = { gpu, holders: 1, previous };
  return gpu;
}

/** Gives back one hold; the last one restores Node's own `navigator`. */
export function releaseNavigatorGpu(): void {
  if (!installed) return;
  if (--installed.holders > 0) return;
  if (installed.previous) Object.defineProperty(globalThis, 'navigator', installed.previous);
  else delete (globalThis as { navigator?: unknown }).navigator;
  installed = null;
}

/** Installs `navigator.gpu`, requests an adapter and describes it; throws NoGpuAdapterError if none. */
export async function openDawn(opts: OpenDawnOptions = {}): Promise<DawnGpu> {
  const gpu = await installNavigatorGpu(opts.dawnFlags);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (err) {
    releaseNavigatorGpu();
    throw new NoGpuAdapterError((err as Error).message);
  }
  if (adapter == null) {
    releaseNavigatorGpu();
    throw new NoGpuAdapterError();
  }
  let released = false;
  return {
    gpu,
    adapter,
    info: describeAdapter(adapter),
    release() {
      if (released) return;
      released = true;
      releaseNavigatorGpu();
    },
  };
}

/** Whether an adapter opens: its description, or why not (the NoGpuAdapterError message names what to install). */
export type AdapterAnswer = { ok: true; adapter: GpuAdapterSummary } | { ok: false; reason: string };

/** Opens Dawn, describes the adapter and gives Dawn back: a yes/no for callers that only ask. */
export async function askForAdapter(): Promise<AdapterAnswer> {
  try {
    const dawn = await openDawn();
    const adapter = dawn.info;
    dawn.release();
    return { ok: true, adapter };
  } catch (err) {
    return { ok: false, reason: err instanceof NoGpuAdapterError ? err.message : `Dawn failed: ${(err as Error).message}` };
  }
}

export function describeAdapter(adapter: GPUAdapter): GpuAdapterSummary {
  const i = adapter.info as Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean };
  const legacyFallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const fields = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
  };
  return { ...fields, software: i.isFallbackAdapter === true || legacyFallback === true || isSoftwareAdapter(fields) };
}

/** Whether adapter info names a CPU rasterizer (lavapipe/llvmpipe, SwiftShader, WARP). */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; device?: string; description?: string }): boolean {
  if (info.architecture?.toLowerCase() === 'software') return true;
  const text = [info.vendor, info.device, info.description].join(' ').toLowerCase();
  return /llvmpipe|lavapipe|softpipe|swiftshader|\bwarp\b|microsoft basic render/.test(text);
}

/** One line for logs: "NVIDIA H100 … (nvidia, hopper)" or "llvmpipe: Mesa 25.0.7 … (mesa, software)". */
export function adapterLabel(info: GpuAdapterSummary): string {
  const name = info.description || info.device || 'unknown adapter';
  const extra = [info.vendor, info.architecture].filter((s) => s && s !== 'software' && !name.toLowerCase().includes(s.toLowerCase()));
  if (info.software) extra.push('software');
  return `${name}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/**
 * Whether this machine can have a hardware GPU adapter at all, without loading Dawn: on Linux a
 * GPU needs a device node (/dev/nvidia0 or a DRI render node). Elsewhere: unknown, so true.
 */
export function mayHaveHardwareGpu(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (fs.readdirSync('/dev').some((n) => /^nvidia\d+$/.test(n))) return true;
  } catch {
    return true;
  }
  try {
    return fs.readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false;
  }
}
