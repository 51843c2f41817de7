import { describe, expect, it } from 'vitest';
import { TabletopEnv } from '../../sim/env.ts';
import { runEpisode } from '../../sim/episode.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import { loadScenario } from '../../sim/scenario.ts';

const cases: Array<[string, number]> = [
  ['stack-2', 8],
  ['stack-3', 6],
  ['stack-5', 2],
  ['grasp-clutter', 8],
  ['push', 8],
  ['reach', 8],
];

describe('scripted experts solve their tasks under training randomization', () => {
  for (const [name, n] of cases) {
    it(`${name}: ${n} fixed seeds`, () => {
      const scenario = loadScenario(`scenarios/${name}.json`);
      const env = new TabletopEnv(scenario);
      const solve = EXPERTS[scenario.task.id];
      for (let seed = 100; seed < 100 + n; seed++) {
        const ep = runEpisode(env, solve, { index: 0, seed });
        expect(ep.success, `${name} seed ${seed} (${ep.length} steps)`).toBe(true);
        expect(ep.stagesReached.every(Boolean)).toBe(true);
        expect(ep.length).toBeLessThanOrEqual(scenario.maxSteps);
      }
    });
  }

  it('records DART noise in executed actions while labels stay the expert\'s', () => {
    const scenario = loadScenario('scenarios/push.json');
    const env = new TabletopEnv(scenario, { randomization: 'none' });
    const clean = runEpisode(env, EXPERTS['Push-v1'], { index: 0, seed: 5 });
    const noisy = runEpisode(env, EXPERTS['Push-v1'], { index: 0, seed: 5, dartNoise: 0.2 });
    // Without randomization and DART, what is executed is exactly the label.
    expect(Array.from(clean.executedAction)).toEqual(Array.from(clean.action));
    let differs = 0;
    for (let i = 0; i < noisy.length * 5; i++) if (Math.abs(noisy.executedAction[i] - noisy.action[i]) > 1e-6) differs++;
    expect(differs).toBeGreaterThan(noisy.length * 4);
  });
});
