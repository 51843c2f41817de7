import { NoGpuAdapterError } from '../../sim/gpu/dawn.ts';

/**
 * Runs `open` (which needs a WebGPU adapter); without one it returns null after printing one line
 * saying why the calling tests skip, except under CI, where the adapter must exist.
 */
export async function openOrSkip<T>(what: string, open: () => Promise<T>): Promise<T | null> {
  try {
    return await open();
  } catch (err) {
    if (!(err instanceof NoGpuAdapterError) || process.env.CI) throw err;
    console.warn(`${what} skipped: no WebGPU adapter (apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1)`);
    return null;
  }
}
