/**
 * Per-episode frame rendering for dataset generation (see sim/generate/job.ts for the interface).
 */
import type { EpisodeFrameRenderer, RenderSpec } from '../generate/job.ts';

export async function createEpisodeFrameRenderer(_spec: RenderSpec): Promise<EpisodeFrameRenderer> {
  throw new Error('rendering during generation is not available in this build (sim/render is not complete)');
}
