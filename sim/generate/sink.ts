/**
 * Where generated episodes go. A sink receives complete episodes in index order and must leave
 * its output holding only complete episodes, with consistent metadata, whenever it is
 * interrupted (so `--resume` can continue it).
 */
import type { EpisodeRecord } from '../episode.ts';
import type { Scenario } from '../scenario.ts';
import type { RandomizationMode } from '../randomization.ts';
import type { VideoCodec } from '../dataset/video.ts';

export interface GenerationMeta {
  scenario: Scenario;
  /** Path the scenario was loaded from, if any. */
  scenarioPath?: string;
  randomization: RandomizationMode;
  baseSeed: number;
  dartNoise: number;
  /** Episode indices this output holds are [firstIndex, firstIndex + episodes). */
  firstIndex: number;
  episodes: number;
  /** Shard `index/count` when the run is one shard of a larger dataset. */
  shard?: { index: number; count: number };
  /** Camera names, image size and storage (MP4 video, the default, or PNG) when frames are rendered. */
  cameras?: { names: string[]; width: number; height: number; format?: 'video' | 'png'; codec?: VideoCodec };
}

export interface EpisodeSink {
  /** Episodes already complete in the output (resume continues after them). */
  readonly completed: number;
  write(episode: EpisodeRecord): Promise<void>;
  /** Flushes and finalizes metadata; safe to call after an interruption. */
  close(): Promise<void>;
}
