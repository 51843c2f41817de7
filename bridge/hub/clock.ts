/** The hub's clock. */
import { performance } from 'node:perf_hooks';

/** Hub clock: ms since the Unix epoch with sub-ms resolution, monotonic within the process. */
export function hubNow(): number {
  return performance.timeOrigin + performance.now();
}
