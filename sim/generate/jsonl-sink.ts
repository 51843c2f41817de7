/**
 * A minimal episode sink: one JSON line per episode in `episodes.jsonl` plus `meta.json`. Each
 * line is appended whole and fsynced before the next episode, so an interruption leaves only
 * complete lines (a torn last line, if the process dies mid-write, is cut off on resume).
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EpisodeRecord } from '../episode.ts';
import type { EpisodeSink, GenerationMeta } from './sink.ts';
import { formatJson } from '../format-json.ts';

export function episodeToJson(ep: EpisodeRecord): Record<string, unknown> {
  const obsSize = ep.observationNames.length;
  const rows = <T extends ArrayLike<number>>(a: T, width: number): number[][] =>
    Array.from({ length: ep.length }, (_, t) => Array.from(a).slice(t * width, (t + 1) * width));
  return {
    episode_index: ep.index,
    seed: ep.seed,
    scenario: ep.scenario,
    task: ep.task,
    instruction: ep.instruction,
    success: ep.success,
    fail: ep.fail,
    length: ep.length,
    stages: Object.fromEntries(ep.stageNames.map((n, i) => [n, ep.stagesReached[i]])),
    dart_noise: ep.dartNoise,
    randomization: ep.reset.randomization,
    physics: ep.reset.physics,
    observation: rows(ep.observation, obsSize),
    action: rows(ep.action, 5),
    executed_action: rows(ep.executedAction, 5),
    reward: Array.from(ep.reward),
    done: Array.from(ep.done, (d) => d === 1),
  };
}

export class JsonlSink implements EpisodeSink {
  readonly dir: string;
  completed: number;
  private fd: number;

  constructor(dir: string, meta: GenerationMeta, resume: boolean) {
    this.dir = dir;
    const file = join(dir, 'episodes.jsonl');
    let count = 0;
    if (resume && existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      const end = text.lastIndexOf('\n') + 1; // drop a torn last line
      count = text.slice(0, end).split('\n').filter(Boolean).length;
      this.fd = openSync(file, 'r+');
      ftruncateSync(this.fd, Buffer.byteLength(text.slice(0, end)));
      closeSync(this.fd);
    }
    this.fd = openSync(file, resume ? 'a' : 'w');
    this.completed = count;
    writeFileSync(join(dir, 'meta.json'), `${formatJson({ format: 'simreal-jsonl', ...meta }, 2)}\n`);
  }

  async write(ep: EpisodeRecord): Promise<void> {
    writeSync(this.fd, `${JSON.stringify(episodeToJson(ep))}\n`);
    fsyncSync(this.fd);
    this.completed++;
  }

  async close(): Promise<void> {
    closeSync(this.fd);
  }
}
