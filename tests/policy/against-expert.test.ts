/**
 * `eval --against-expert`: the policy drives, the scripted expert is asked in every visited state.
 * The expert compared with itself agrees to the bit; a policy that holds still never gets past
 * the first stage, and its difference there is the expert's own action; the CLI refuses what
 * does not apply.
 */
import { describe, expect, it } from 'vitest';
import { ACTION_SIZE } from '../../sim/env.ts';
import type { TabletopEnv } from '../../sim/env.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import type { Expert } from '../../sim/experts/index.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { compareWithExpert } from '../../policy/eval/against-expert.ts';
import type { RolloutPolicy } from '../../policy/eval/rollout.ts';
import { runCli } from '../cli/run-cli.ts';

const scenario = loadScenario('scenarios/stack-2.json');
const SEEDS = [11, 12, 13, 14];

describe('compareWithExpert', () => {
  it('finds no difference between the expert and itself, in every stage, and counts every step once', async () => {
    const experts: Expert[] = [];
    let steps = 0;
    const expert: RolloutPolicy = {
      async begin(slot: number, env: TabletopEnv) { experts[slot] = EXPERTS[scenario.task.id](env); },
      async act(slots) {
        steps += slots.length;
        return slots.map((s) => experts[s].act());
      },
      dispose() {},
    };
    const r = await compareWithExpert(expert, SEEDS, { scenario, randomization: 'train' });
    expect(r.successes).toBe(SEEDS.length);
    expect(r.stages.length).toBeGreaterThan(3);
    for (const s of r.stages) {
      expect(s.failure.steps).toBe(0);
      expect(s.success.meanAbsDiff).toEqual(new Array(ACTION_SIZE).fill(0));
    }
    expect(r.stages.reduce((n, s) => n + s.success.steps, 0)).toBe(steps);
  });

  it("holding still: every episode fails in the expert's first stage, and the difference there is the expert's own action", async () => {
    const experts: Expert[] = [];
    const sums = new Array<number>(ACTION_SIZE).fill(0);
    let n = 0;
    const still: RolloutPolicy = {
      async begin(slot: number, env: TabletopEnv) { experts[slot] = EXPERTS[scenario.task.id](env); },
      async act(slots) {
        // An independent expert on the same state says what the compared one will say.
        for (const s of slots) {
          const a = experts[s].act();
          for (let i = 0; i < ACTION_SIZE; i++) sums[i] += Math.abs(a[i]);
          n++;
        }
        return slots.map(() => new Float32Array(ACTION_SIZE));
      },
      dispose() {},
    };
    const r = await compareWithExpert(still, SEEDS, { scenario, randomization: 'none' });
    expect(r.successes).toBe(0);
    expect(r.stages.map((s) => s.stage)).toEqual(['reach:block1']);
    const [reach] = r.stages;
    expect(reach.failure.steps).toBe(n);
    expect(reach.success.steps).toBe(0);
    expect(reach.success.meanAbsDiff.every(Number.isNaN)).toBe(true);
    reach.failure.meanAbsDiff.forEach((d, i) => expect(d).toBeCloseTo(sums[i] / n, 6));
    expect(Math.max(...reach.failure.meanAbsDiff)).toBeGreaterThan(0.1);
  });
});

describe('simreal eval --against-expert', () => {
  it('refuses options that do not apply to it, and the scripted expert as the model, with exit code 2', async () => {
    const sweep = await runCli(['eval', 'models/none', 'scenarios/stack-2.json', '--against-expert', '--sweep', 'friction']);
    expect(sweep.code).toBe(2);
    expect(sweep.stderr).toMatch(/--against-expert .*; --sweep does not apply to it/);
    const expert = await runCli(['eval', 'expert', 'scenarios/stack-2.json', '--against-expert']);
    expect(expert.code).toBe(2);
    expect(expert.stderr).toMatch(/give a model folder, not `expert`/);
  });
});
