/**
 * The scripted experts are re-entrant: they derive their stage from the state, so an expert made
 * mid-episode acts exactly as one that ran from the start, and one started from a saved state
 * (the expert's own, or one a clumsy driver left: a block dropped, the gripper off to the side)
 * finishes the task. DAgger relies on this to label states the expert never led to.
 */
import { describe, expect, it } from 'vitest';
import { TabletopEnv, TimeLimit } from '../../sim/env.ts';
import type { EnvSnapshot } from '../../sim/env.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import { Rng } from '../../sim/rng.ts';
import { loadScenario } from '../../sim/scenario.ts';
import type { Scenario } from '../../sim/scenario.ts';

const clip = (v: number): number => Math.max(-1, Math.min(1, v));

/** Drives `steps` steps: the expert's action, or with `noise` > 0 a clumsy version of it (Gaussian noise, the grip sometimes flipped). */
function drive(env: TabletopEnv, steps: number, noise: number, rng: Rng): string[] {
  const expert = EXPERTS[env.scenario.task.id](env);
  const stages: string[] = [];
  for (let t = 0; t < steps; t++) {
    const a = Array.from(expert.act(), (v) => clip(v + (noise ? rng.normal(0, noise) : 0)));
    if (noise && rng.bool(0.1)) a[4] = -a[4];
    stages.push(expert.stage);
    const r = env.step(a);
    if (r.terminated) break;
  }
  return stages;
}

/** A fresh environment restored to `snap`, run by a fresh expert for up to the scenario's time limit. */
function finishFrom(scenario: Scenario, snap: EnvSnapshot): { success: boolean; steps: number } {
  const env = new TabletopEnv(scenario, { randomization: snap.randomization });
  env.restore(snap);
  const expert = EXPERTS[scenario.task.id](env);
  const limited = new TimeLimit(env);
  for (;;) {
    const r = limited.step(expert.act());
    if (r.terminated || r.truncated) return { success: r.info.success, steps: limited.elapsedSteps };
  }
}

describe('re-entrant scripted experts', () => {
  for (const name of ['stack-3', 'grasp-clutter', 'push']) {
    it(`${name}: an expert made at any step acts exactly as the one that ran from the start`, () => {
      const scenario = loadScenario(`scenarios/${name}.json`);
      const env = new TabletopEnv(scenario);
      const limited = new TimeLimit(env);
      limited.reset({ seed: 11 });
      const running = EXPERTS[scenario.task.id](env);
      let compared = 0;
      for (;;) {
        const a = running.act();
        const fresh = EXPERTS[scenario.task.id](env).act();
        expect(Array.from(fresh), `step ${env.scene.step} (${running.stage})`).toEqual(Array.from(a));
        compared++;
        const r = limited.step(a);
        if (r.terminated || r.truncated) {
          expect(r.info.success).toBe(true);
          break;
        }
      }
      expect(compared).toBeGreaterThan(20);
    });
  }

  it('a snapshot restored into another environment continues the episode (same actions, same states within 1 mm)', () => {
    const scenario = loadScenario('scenarios/stack-3.json');
    const a = new TabletopEnv(scenario);
    a.reset({ seed: 5 });
    drive(a, 60, 0, new Rng(0));
    const snap = JSON.parse(JSON.stringify(a.snapshot())) as EnvSnapshot;
    const b = new TabletopEnv(scenario);
    b.reset({ seed: 99 });
    b.restore(snap);
    const rng = new Rng(3);
    for (let t = 0; t < 40; t++) {
      const act = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
      a.step(act);
      b.step(act);
    }
    const pa = a.state().bodies, pb = b.state().bodies;
    for (let i = 0; i < pa.length; i++) {
      for (let k = 0; k < 3; k++) expect(Math.abs(pa[i].position[k] - pb[i].position[k]), pa[i].name).toBeLessThan(1e-3);
    }
    expect(() => new TabletopEnv(loadScenario('scenarios/stack-2.json')).restore(snap)).toThrow(/stack-3/);
  });

  for (const [name, points] of [['stack-3', [25, 45, 70, 110, 160]], ['grasp-clutter', [8, 16, 24, 32]], ['push', [10, 25, 40]]] as const) {
    it(`${name}: started from saved states mid-episode, a fresh expert finishes the task`, () => {
      const scenario = loadScenario(`scenarios/${name}.json`);
      const stages = new Set<string>();
      let restored = 0;
      for (const seed of [21, 22]) {
        for (const noise of [0, 0.7]) {
          for (const k of points) {
            const env = new TabletopEnv(scenario);
            env.reset({ seed });
            const seen = drive(env, k, noise, new Rng(seed * 1000 + k));
            if (env.evaluate().success || seen.length < k) continue;
            stages.add(seen[seen.length - 1].split(':')[0]);
            const snap = env.snapshot();
            const r = finishFrom(scenario, snap);
            expect(r.success, `seed ${seed}, ${noise ? 'clumsy driver' : 'expert'} for ${k} steps (stage ${seen.at(-1)}), then ${r.steps} steps`).toBe(true);
            restored++;
          }
        }
      }
      expect(restored).toBeGreaterThanOrEqual(points.length * 2);
      // The saved states catch the expert in several stages, not one.
      expect(stages.size).toBeGreaterThanOrEqual(3);
    });
  }
});
