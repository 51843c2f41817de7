/**
 * Ranges are written on one line: in the shipped scenario and reality files, and in the files
 * generation writes that carry a scenario (a dataset's meta/simreal.json, a JSON-lines meta.json),
 * all through formatJson, whose output parses back to the value it was given.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import { formatJson } from '../../sim/format-json.ts';
import { JsonlSink } from '../../sim/generate/jsonl-sink.ts';
import type { GenerationMeta } from '../../sim/generate/sink.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { runEpisode } from '../../sim/episode.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import { loadScenario } from '../../sim/scenario.ts';

/** A range `[min, max]` spread over four lines, as JSON.stringify(v, null, n) writes it. */
const SPREAD_RANGE = /\[\n\s*-?[\d.eE+-]+,\n\s*-?[\d.eE+-]+\n\s*\]/;

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
}

describe('formatJson', () => {
  it('writes ranges and unions of ranges on one line, everything else as JSON.stringify does', () => {
    const value = { id: 'x', friction: [0.6, 1], blockSize: [[0.042, 0.045], [0.055, 0.058]], names: ['a', 'b'], nested: { n: 1, mixed: [1, 'two'] }, empty: [] };
    const text = formatJson(value, 2);
    expect(text).toContain('"friction": [0.6, 1],');
    expect(text).toContain('"blockSize": [[0.042, 0.045], [0.055, 0.058]],');
    expect(text).toContain('"names": [\n    "a",\n    "b"\n  ],');
    expect(text).toContain('"mixed": [\n      1,\n      "two"\n    ]');
    expect(text).not.toMatch(SPREAD_RANGE);
    expect(JSON.stringify(value, null, 2)).toMatch(SPREAD_RANGE);
    expect(JSON.parse(text)).toEqual(value);
    const plain = { a: { b: 'c,d' }, n: null, t: true };
    expect(formatJson(plain, 4)).toBe(JSON.stringify(plain, null, 4));
  });

  it('leaves no range spread over lines in the shipped scenario and reality files', () => {
    const files = [...jsonFiles('scenarios'), ...jsonFiles('scenarios/reality')];
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(SPREAD_RANGE);
  });

  it('writes the scenario a dataset carries with its ranges on one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simreal-format-'));
    try {
      const scenario = loadScenario('scenarios/stack-2.json');
      const meta: GenerationMeta = { scenario, randomization: 'train', baseSeed: 1, dartNoise: 0, firstIndex: 0, episodes: 1 };
      mkdirSync(join(dir, 'jsonl'));
      const jsonl = new JsonlSink(join(dir, 'jsonl'), meta, false);
      await jsonl.close();
      // A LeRobot dataset writes meta/simreal.json with its first episode.
      const lerobot = await openLeRobotSink(join(dir, 'lerobot'), meta, false);
      await lerobot.write(runEpisode(new TabletopEnv(scenario, { randomization: 'train' }), EXPERTS[scenario.task.id], { index: 0, seed: 1 }));
      await lerobot.close();
      for (const file of [join(dir, 'jsonl', 'meta.json'), join(dir, 'lerobot', 'meta', 'simreal.json')]) {
        const text = readFileSync(file, 'utf8');
        expect(text, file).toContain('"friction": [0.6, 1]');
        expect(text, file).not.toMatch(SPREAD_RANGE);
        expect(JSON.parse(text).scenario).toEqual(JSON.parse(JSON.stringify(scenario)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
