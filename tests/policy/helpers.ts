/** Shared fixtures of the policy tests: in-process episodes, temp folders, the wasm backend. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TabletopEnv } from '../../sim/env.ts';
import { episodeSeed, runEpisode } from '../../sim/episode.ts';
import type { EpisodeRecord } from '../../sim/episode.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import { loadScenario } from '../../sim/scenario.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { selectBackend } from '../../policy/backend.ts';
import type { BackendChoice } from '../../policy/backend.ts';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export function scenario(id: string): Scenario {
  return loadScenario(path.join(ROOT, 'scenarios', `${id}.json`));
}

export function tempDir(prefix = 'simreal-policy-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Expert episodes 0…n−1 of a run with base seed `baseSeed`; odd ones with DART noise. */
export function expertEpisodes(s: Scenario, n: number, o: { baseSeed?: number; randomization?: RandomizationMode; dartNoise?: number } = {}): EpisodeRecord[] {
  const env = new TabletopEnv(s, { randomization: o.randomization ?? 'train' });
  const out: EpisodeRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push(runEpisode(env, EXPERTS[s.task.id], { index: i, seed: episodeSeed(o.baseSeed ?? 1, i), dartNoise: i % 2 ? (o.dartNoise ?? 0) : 0 }));
  }
  return out;
}

let wasm: Promise<BackendChoice> | null = null;
export function wasmBackend(): Promise<BackendChoice> {
  wasm ??= selectBackend({ backend: 'wasm', model: 'conv' });
  return wasm;
}
