import { describe, expect, it } from 'vitest';
import { ACTION_NAMES, TabletopEnv, TimeLimit } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { taskSpec } from '../../sim/tasks/index.ts';

const scenario = loadScenario('scenarios/stack-2.json');

describe('TabletopEnv', () => {
  it('declares its spaces', () => {
    const env = new TabletopEnv(scenario);
    expect(env.actionSpace.shape).toEqual([5]);
    expect(env.actionSpace.names).toEqual([...ACTION_NAMES]);
    expect(env.actionSpace.low).toBe(-1);
    expect(env.actionSpace.high).toBe(1);
    const { obs } = env.reset({ seed: 1 });
    expect(obs.length).toBe(env.observationSpace.shape[0]);
    expect(env.observationSpace.names.length).toBe(obs.length);
    expect(new Set(env.observationSpace.names).size).toBe(obs.length);
  });

  it('refuses NaN, infinite and wrong-length actions without touching the world', () => {
    const env = new TabletopEnv(scenario);
    env.reset({ seed: 1 });
    const before = JSON.stringify(env.state());
    expect(() => env.step([0, Number.NaN, 0, 0, 0])).toThrow(/action\[1\] \(dy\) must be a finite number/);
    expect(() => env.step([0, 0, Infinity, 0, 0])).toThrow(/finite/);
    expect(() => env.step([0, 0, 0])).toThrow(/must have 5 numbers/);
    expect(JSON.stringify(env.state())).toBe(before);
    // ...and it still steps normally afterwards.
    const r = env.step([0.5, 0, 0, 0, -1]);
    expect(Number.isFinite(r.reward)).toBe(true);
  });

  it('clips actions to [-1, 1]', () => {
    const env = new TabletopEnv(scenario, { randomization: 'none' });
    env.reset({ seed: 2 });
    const r = env.step([5, -5, 0, 0, 3]);
    expect(Array.from(r.info.executedAction)).toEqual([1, -1, 0, 0, 1]);
  });

  it('delays actions by the sampled latency', () => {
    const env = new TabletopEnv(scenario, { randomization: 'heldout' }); // held-out latency is 3 steps
    const { info } = env.reset({ seed: 3 });
    expect(info.physics.actionLatency).toBe(3);
    const executed: number[] = [];
    for (let t = 0; t < 5; t++) executed.push(env.step([t === 0 ? 1 : 0, 0, 0, 0, -1]).info.executedAction[0]);
    // Held-out action noise (std <= 0.08) rides on whatever is executed.
    for (const t of [0, 1, 2]) expect(Math.abs(executed[t])).toBeLessThan(0.4);
    expect(executed[3]).toBeGreaterThan(0.6); // the first action arrives three steps late
  });

  it('moves the gripper the way the action says', () => {
    const env = new TabletopEnv(scenario, { randomization: 'none' });
    env.reset({ seed: 4 });
    const [x0, y0, z0] = env.tcp();
    for (let i = 0; i < 10; i++) env.step([1, 0, 0.5, 0, -1]);
    const [x1, y1, z1] = env.tcp();
    expect(x1 - x0).toBeGreaterThan(0.1);
    expect(Math.abs(y1 - y0)).toBeLessThan(0.005);
    expect(z1 - z0).toBeGreaterThan(0.05);
  });

  it('observes each block\'s yaw relative to the gripper\'s, which turning the gripper changes', () => {
    const env = new TabletopEnv(scenario, { randomization: 'none' });
    const names = env.observationSpace.names;
    const at = (obs: ArrayLike<number>, n: string) => obs[names.indexOf(n)];
    let obs = env.reset({ seed: 5 }).obs;
    const before = [at(obs, 'block0.sin4dyaw'), at(obs, 'block0.cos4dyaw'), at(obs, 'block0.sin4yaw')];
    for (let i = 0; i < 6; i++) obs = env.step([0, 0, 0, 1, -1]).obs;
    for (const b of ['block0', 'block1']) {
      const blockYaw = Math.atan2(at(obs, `${b}.sin4yaw`), at(obs, `${b}.cos4yaw`)); // 4ψ
      const gripperYaw = Math.atan2(at(obs, 'gripper.sin_yaw'), at(obs, 'gripper.cos_yaw'));
      expect(at(obs, `${b}.sin4dyaw`)).toBeCloseTo(Math.sin(blockYaw - 4 * gripperYaw), 5);
      expect(at(obs, `${b}.cos4dyaw`)).toBeCloseTo(Math.cos(blockYaw - 4 * gripperYaw), 5);
    }
    // The block did not turn; the gripper did, so only the relative angle moved.
    expect(at(obs, 'block0.sin4yaw')).toBeCloseTo(before[2], 3);
    expect(Math.hypot(at(obs, 'block0.sin4dyaw') - before[0], at(obs, 'block0.cos4dyaw') - before[1])).toBeGreaterThan(0.3);
  });

  it('marks exactly the position features of every task as positions (observation noise applies to those)', () => {
    const position = /\.(x|y|z|dx|dy|dz|size)$/;
    for (const file of ['stack-3', 'grasp-clutter', 'push', 'reach']) {
      const task = loadScenario(`scenarios/${file}.json`).task;
      const names = taskSpec(task).featureNames(task);
      const marked = new Set(taskSpec(task).positionFeatures(task));
      const expected = names.flatMap((n, i) => (position.test(n) ? [i] : []));
      expect([...marked].sort((a, b) => a - b).map((i) => names[i]), file).toEqual(expected.map((i) => names[i]));
    }
  });

  it('TimeLimit truncates at maxSteps; the bare env does not', () => {
    const env = new TimeLimit(new TabletopEnv(scenario), 5);
    env.reset({ seed: 1 });
    let r;
    for (let i = 0; i < 5; i++) r = env.step([0, 0, 0, 0, -1]);
    expect(r?.truncated).toBe(true);
    expect(r?.terminated).toBe(false);
    const bare = new TabletopEnv(scenario);
    bare.reset({ seed: 1 });
    for (let i = 0; i < 6; i++) expect(bare.step([0, 0, 0, 0, -1]).truncated).toBe(false);
  });

  it('samples held-out physics outside the training ranges and none at nominal', () => {
    const train = new TabletopEnv(scenario, { randomization: 'train' }).reset({ seed: 5 }).info.physics;
    const held = new TabletopEnv(scenario, { randomization: 'heldout' }).reset({ seed: 5 }).info.physics;
    const none = new TabletopEnv(scenario, { randomization: 'none' }).reset({ seed: 5 }).info.physics;
    for (const s of train.blockSize) expect(s >= 0.045 && s <= 0.055).toBe(true);
    for (const s of held.blockSize) expect(s < 0.045 || s > 0.055).toBe(true);
    expect(none.blockSize).toEqual([0.05, 0.05]);
    expect(none.actionLatency).toBe(0);
    expect(none.gravity).toEqual([0, 0, -9.81]);
  });

  it('reports the episode state as plain data with unique ids', () => {
    const env = new TabletopEnv(scenario);
    env.reset({ seed: 6 });
    const s = env.state();
    const ids = s.bodies.map((b) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(0);
    expect(s.bodies.filter((b) => b.kind === 'block').length).toBe(2);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
