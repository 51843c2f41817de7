/**
 * Generation worker (worker_threads): builds the environment once from the job description, then
 * runs one episode per request and posts the record back, its typed arrays transferred rather
 * than copied. Episodes depend only on their seed, so results are identical whichever worker runs
 * them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { importRendererFactory, prepareJob, runJobEpisode } from './job.ts';
import type { JobSpec } from './job.ts';

if (!parentPort) throw new Error('sim/generate/worker.ts must run in a worker thread');
const port = parentPort;
const spec = workerData as JobSpec;
const job = await prepareJob(spec, await importRendererFactory(spec));

port.on('message', async (msg: { index: number; seed: number } | { close: true }) => {
  if ('close' in msg) {
    await job.dispose();
    port.close();
    return;
  }
  try {
    const { record, transfer } = await runJobEpisode(job, msg.index, msg.seed);
    port.postMessage({ ok: true, record }, transfer);
  } catch (err) {
    port.postMessage({ ok: false, index: msg.index, error: (err as Error).stack ?? String(err) });
  }
});
port.postMessage({ ready: true });
