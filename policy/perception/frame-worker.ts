/**
 * Render worker (worker_threads) for the pose estimator's frame stream: opens a frame source
 * from the spec it is started with and answers each requested episode seed with that episode's
 * frames, their pixel buffers transferred rather than copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createFrameSource } from './frame-source.ts';
import type { FrameSourceSpec } from './frame-source.ts';

if (!parentPort) throw new Error('policy/perception/frame-worker.ts must run in a worker thread');
const port = parentPort;
let source: Awaited<ReturnType<typeof createFrameSource>>;
try {
  source = await createFrameSource(workerData as FrameSourceSpec);
} catch (err) {
  port.postMessage({ ok: false, error: (err as Error).message, name: (err as Error).name });
  port.close();
  throw err;
}

// One episode at a time: the source's simulator, scene and codecs are shared by its episodes.
// A close request drops the episodes still queued and closes once the current one is done:
// tearing Dawn down (or terminating the thread) while a readback is pending aborts the process.
let queue: Promise<void> = Promise.resolve();
let closing = false;
port.on('message', (msg: { index: number; seed: number } | { close: true }) => {
  if ('close' in msg) {
    closing = true;
    queue = queue.then(() => {
      source.dispose();
      port.close();
    });
    return;
  }
  queue = queue.then(async () => {
    if (closing) return;
    try {
      const t0 = performance.now();
      const frames = await source.episode(msg.seed);
      port.postMessage({ ok: true, index: msg.index, seed: msg.seed, frames, ms: performance.now() - t0 }, frames.flatMap((f) => [f.rgb, f.segmentation, f.surface].filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer)));
    } catch (err) {
      port.postMessage({ ok: false, index: msg.index, seed: msg.seed, error: (err as Error).stack ?? String(err) });
    }
  });
});
port.postMessage({ ready: true });
