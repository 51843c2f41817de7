/**
 * A generation job: what every episode of a run shares (scenario, randomization mode, DART noise,
 * cameras). The same code runs an episode in the main thread or in a worker.
 */
import { TabletopEnv } from '../env.ts';
import { runEpisode } from '../episode.ts';
import type { EpisodeRecord } from '../episode.ts';
import { EXPERTS } from '../experts/index.ts';
import type { RandomizationMode } from '../randomization.ts';
import type { Scenario } from '../scenario.ts';
import type { SimState } from '../state.ts';

/** Frames whose rendering may overlap during generation. */
const FRAMES_IN_FLIGHT = 8;

export interface RenderSpec {
  cameras: string[];
  width: number;
  height: number;
  /** RGB frames as PNG bytes (default) or raw height × width × 3 bytes (what a video encoder takes). */
  rgbAs?: 'png' | 'raw';
  /** Also render depth and segmentation. */
  depth?: boolean;
  segmentation?: boolean;
}

export interface JobSpec {
  scenario: Scenario;
  randomization: RandomizationMode;
  dartNoise: number;
  render?: RenderSpec;
  /**
   * With `render`: the URL of the module whose `createEpisodeFrameRenderer` export is the job's
   * FrameRendererFactory (sim/render/frame-renderer-module.ts names the project's). A job crosses
   * into worker threads as plain data, so it names the factory's module and each thread imports
   * it; generation itself never loads the renderer.
   */
  renderer?: string;
}

/**
 * What a frame renderer offers generation (implemented in sim/render): per episode it samples the
 * look from the episode's seed, per frame it encodes one PNG per camera.
 */
export interface EpisodeFrameRenderer {
  beginEpisode(scenario: Scenario, seed: number, randomization: RandomizationMode): void;
  /** Image bytes per camera for this state: PNG, or raw RGB with `rgbAs: 'raw'`. */
  renderFrame(state: SimState): Promise<Record<string, Uint8Array>>;
  dispose(): Promise<void>;
}

/** Makes the renderer for a job's cameras and image size. */
export type FrameRendererFactory = (spec: RenderSpec) => Promise<EpisodeFrameRenderer>;

/** The factory a rendering job names (`spec.renderer`), imported in this thread; null when the job renders nothing. */
export async function importRendererFactory(spec: JobSpec): Promise<FrameRendererFactory | null> {
  if (!spec.render) return null;
  if (!spec.renderer) throw new Error('a job that renders frames must name its renderer module (JobSpec.renderer: see sim/render/frame-renderer-module.ts)');
  const mod = (await import(spec.renderer)) as { createEpisodeFrameRenderer?: unknown };
  if (typeof mod.createEpisodeFrameRenderer !== 'function') throw new Error(`${spec.renderer} has no createEpisodeFrameRenderer export`);
  return mod.createEpisodeFrameRenderer as FrameRendererFactory;
}

export interface PreparedJob {
  spec: JobSpec;
  env: TabletopEnv;
  renderer: EpisodeFrameRenderer | null;
  dispose(): Promise<void>;
}

/** Builds the job's environment, and its renderer with `createRenderer` when the job renders frames. */
export async function prepareJob(spec: JobSpec, createRenderer: FrameRendererFactory | null): Promise<PreparedJob> {
  const env = new TabletopEnv(spec.scenario, { randomization: spec.randomization });
  let renderer: EpisodeFrameRenderer | null = null;
  if (spec.render) {
    if (!createRenderer) throw new Error('a job that renders frames needs a renderer factory');
    renderer = await createRenderer(spec.render);
  }
  return {
    spec,
    env,
    renderer,
    async dispose() {
      if (renderer) await renderer.dispose();
    },
  };
}

/** Runs episode `index` with `seed`; returns the record and the buffers to transfer. */
export async function runJobEpisode(job: PreparedJob, index: number, seed: number): Promise<{ record: EpisodeRecord; transfer: ArrayBuffer[] }> {
  const solve = EXPERTS[job.spec.scenario.task.id];
  const states: SimState[] = [];
  if (job.renderer) job.renderer.beginEpisode(job.spec.scenario, seed, job.spec.randomization);
  const record = runEpisode(job.env, solve, {
    index,
    seed,
    dartNoise: job.spec.dartNoise,
    onFrame: job.renderer ? (s) => states.push(s) : undefined,
  });
  const transfer: ArrayBuffer[] = [];
  if (job.renderer) {
    const images: Record<string, Uint8Array[]> = {};
    const collect = (frame: Record<string, Uint8Array>): void => {
      for (const [cam, png] of Object.entries(frame)) {
        (images[cam] ??= []).push(png);
        transfer.push(png.buffer as ArrayBuffer);
      }
    };
    // renderFrame queues its GPU work before it returns: keep several frames in flight, in order.
    const pending: Array<Promise<Record<string, Uint8Array>>> = [];
    for (const s of states) {
      pending.push(job.renderer.renderFrame(s));
      if (pending.length >= FRAMES_IN_FLIGHT) collect(await (pending.shift() as Promise<Record<string, Uint8Array>>));
    }
    for (const p of pending) collect(await p);
    record.extras = { images };
  }
  for (const a of [record.observation, record.action, record.executedAction, record.reward, record.done, record.successAfter, record.blockPoses, record.joints, record.jointAction]) {
    if (a) transfer.push(a.buffer as ArrayBuffer);
  }
  return { record, transfer };
}
