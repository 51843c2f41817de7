import { hasSystemPackage } from '../system-packages.ts';

/**
 * Runs `open` (which needs a WebGPU adapter) where this test run found one (tests/system-packages.ts);
 * null elsewhere. Suites that use the result declare `needs('webgpu')`, so without an adapter they
 * skip, with the run's summary naming the packages, and under CI they run and fail.
 */
export async function openIfRendering<T>(open: () => Promise<T>): Promise<T | null> {
  return hasSystemPackage('webgpu') ? open() : null;
}
