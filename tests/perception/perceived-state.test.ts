import { describe, expect, it } from 'vitest';
import { TabletopEnv } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import type { BlockEstimate } from '../../policy/perception/estimator.ts';
import { blockTruth } from '../../policy/perception/frame-source.ts';
import { PerceivedState } from '../../policy/perception/perceived-state.ts';
import { PolicyInputError } from '../../policy/errors.ts';

/** Perfect estimates: the blocks' true poses, in the task's order. */
function trueEstimates(env: TabletopEnv): BlockEstimate[] {
  const t = blockTruth(env.state());
  return t.blocks.map((position, i) => ({ position, yaw: t.yaws[i], size: t.sizes[i], score: 1 }));
}

describe('PerceivedState', () => {
  const scenario = loadScenario('scenarios/stack-2.json');

  it('rebuilds the simulator\'s observation from exact estimates, the gripper-relative yaw included', () => {
    const env = new TabletopEnv(scenario, { randomization: 'none' });
    const names = [...env.observationSpace.names];
    const state = new PerceivedState(scenario.task, names, names, 2);
    env.reset({ seed: 11 });
    let obs: ArrayLike<number> = [];
    for (let i = 0; i < 5; i++) obs = env.step([0.3, -0.2, 0, 0.8, -1]).obs; // turn the gripper
    const perceived = state.fill(obs, trueEstimates(env));
    names.forEach((n, i) => expect(perceived[i], n).toBeCloseTo(obs[i], 4));
    expect(names).toContain('block1.sin4dyaw');
  });

  it('refuses a policy that reads the relative yaw when the robot does not report its own yaw', () => {
    const env = new TabletopEnv(scenario, { randomization: 'none' });
    const names = [...env.observationSpace.names];
    const robot = names.filter((n) => !n.startsWith('gripper.') || n === 'gripper.width' || n === 'gripper.command');
    expect(() => new PerceivedState(scenario.task, names, robot, 2)).toThrow(PolicyInputError);
    expect(() => new PerceivedState(scenario.task, names, robot, 2)).toThrow(/block0\.sin4dyaw \(the robot's state lacks gripper\.sin_yaw/);
  });
});
