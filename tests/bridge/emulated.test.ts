import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RobotClient } from '../../bridge/robot-client.ts';
import { EmulatedRobot } from '../../bridge/robots/emulated/emulated.ts';
import { loadReality } from '../../bridge/robots/emulated/reality.ts';
import type { RunningBridge } from '../../bridge/hub/server.ts';
import { selectBackend } from '../../policy/backend.ts';
import { runPolicyOnBridge } from '../../workflows/policy-on-bridge.ts';
import { PolicyInputError } from '../../policy/errors.ts';
import { writeModelCard } from '../../policy/model-card.ts';
import type { ModelCard } from '../../policy/model-card.ts';
import { saveLayersModel } from '../../policy/model-io.ts';
import { MAX_DELTA, TabletopEnv } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { connectController, leaseReady, startTestBridge, TOKEN } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'simreal-emu-'));

/** A reality around the reach task: a different arm and blocks, 5 ms ± 2 ms of network. */
function realityFile(scenario: string): string {
  const lab = JSON.parse(JSON.stringify((loadReality('scenarios/reality/lab.json')).config));
  lab.scenario = resolve(`scenarios/${scenario}.json`);
  lab.transport = { latencyMs: 5, jitterMs: 2 };
  lab.resetPauseMs = 50;
  const file = join(dir, `${scenario}-reality.json`);
  writeFileSync(file, JSON.stringify(lab));
  return file;
}

/**
 * A hand-made state policy for Reach-v1: action = 0.6 · (goal − tcp) / MAX_DELTA, a single linear
 * layer over the observation, saved in the tfjs layers format with a model card.
 */
async function reachPolicy(names: string[], scenarioId: string): Promise<string> {
  const choice = await selectBackend({ backend: 'cpu' });
  const tf = choice.tf;
  const W = new Float32Array(names.length * 5);
  ['goal.dx', 'goal.dy', 'goal.dz'].forEach((n, axis) => {
    W[names.indexOf(n) * 5 + axis] = 0.6 / MAX_DELTA;
  });
  W[names.indexOf('gripper.command') * 5 + 4] = 1;
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 5, inputShape: [names.length], useBias: false, weights: [tf.tensor2d(W, [names.length, 5])] })] });
  const out = join(dir, `model-${scenarioId}`);
  mkdirSync(out, { recursive: true });
  await saveLayersModel(tf, model, out);
  const card: ModelCard = {
    format: 'simreal-model-card', version: 1, kind: 'bc', created: new Date(0).toISOString(), gitCommit: null,
    inputs: { state: { key: 'observation.state', names, size: names.length } },
    outputs: { key: 'action', names: ['dx', 'dy', 'dz', 'dyaw', 'grip'], size: 5 },
    dataset: { path: '-', format: 'none', episodes: 0, frames: 0, trainEpisodes: 0, valEpisodes: 0, trainFrames: 0, valFrames: 0, successOnly: false, randomization: null, dartNoise: [], fps: 20, seeds: [] },
    scenario: { id: scenarioId, task: {}, blockCount: 0 },
    training: { backend: 'cpu', device: 'cpu', seed: 0, epochs: 0, bestEpoch: 0, batchSize: 1, learningRate: 0, stoppedBy: 'max-epochs', seconds: 0, samplesPerSec: 0, architecture: { hand: 'made' } },
    metrics: {},
  };
  writeModelCard(out, card);
  model.dispose();
  return out;
}

let bridge: RunningBridge | null = null;
let client: RobotClient | null = null;
afterEach(async () => {
  await client?.stop();
  await bridge?.close();
  client = null;
  bridge = null;
});

async function emulate(scenario: string, speed: number): Promise<EmulatedRobot> {
  bridge = await startTestBridge();
  const robot = new EmulatedRobot(loadReality(realityFile(scenario)), { speed });
  client = new RobotClient({ url: bridge.url, token: bridge.robotToken('emu-1'), id: 'emu-1', robot, backoff: { initialMs: 20, maxMs: 200 } });
  await client.start();
  await client.waitRegistered(5000);
  return robot;
}

describe('emulated robot on its own', () => {
  it('executes every delta it is sent, one per control period, in order (none dropped for a newer one)', async () => {
    const lab = loadReality(realityFile('reach'));
    const reality = { ...lab, config: { ...lab.config, transport: { latencyMs: 0, jitterMs: 0 } }, scenario: { ...lab.scenario, randomization: { ...lab.scenario.randomization, actionNoise: [0, 0] as [number, number] } } };
    const robot = new EmulatedRobot(reality);
    await robot.connect();
    try {
      const palm = (): number => (robot as unknown as { env: TabletopEnv }).env.scene.gripper.state().position[0];
      await new Promise((r) => setTimeout(r, 120));
      const x0 = palm();
      // Three steps of +x sent at once: they arrive in the same control period.
      for (let i = 0; i < 3; i++) await robot.sendAction([1, 0, 0, 0, -1]);
      await new Promise((r) => setTimeout(r, 400));
      const obs = await robot.getObservation();
      expect(obs.actions).toBe(3);
      // One step moves the palm well under MAX_DELTA (it trails its setpoint); three move it further than one could.
      expect(palm() - x0).toBeGreaterThan(MAX_DELTA);
    } finally {
      await robot.disconnect();
    }
  });
});

describe('emulated robot through the bridge', () => {
  it('a state policy reaches its goals on the emulated robot, episode after episode', async () => {
    const robot = await emulate('reach', 2);
    const names = new TabletopEnv(loadScenario('scenarios/reach.json')).observationSpace.names;
    const model = await reachPolicy(names, 'reach');
    const r = await runPolicyOnBridge({ modelDir: model, url: (bridge as RunningBridge).url, token: TOKEN, robot: 'emu-1', episodes: 4, backend: 'cpu' });
    expect(r.episodes.length).toBe(4);
    expect(r.success.successes).toBeGreaterThanOrEqual(3);
    expect(r.commands).toBeGreaterThan(20);
    expect(r.roundTripMs.length).toBeGreaterThan(10);
    // The robot's own record agrees with what the controller counted.
    const own = robot.results.filter((e) => r.episodes.some((x) => x.index === e.index));
    expect(own.map((e) => e.success)).toEqual(r.episodes.map((e) => e.success));
  });

  it('refuses a model trained on another task, naming both sides', async () => {
    await emulate('reach', 1);
    const stackNames = new TabletopEnv(loadScenario('scenarios/stack-2.json')).observationSpace.names;
    const model = await reachPolicy([...stackNames.slice(0, 10), 'goal.dx', 'goal.dy', 'goal.dz'], 'stack-2');
    await expect(runPolicyOnBridge({ modelDir: model, url: (bridge as RunningBridge).url, token: TOKEN, robot: 'emu-1', episodes: 1, backend: 'cpu' }))
      .rejects.toThrow(PolicyInputError);
    await expect(runPolicyOnBridge({ modelDir: model, url: (bridge as RunningBridge).url, token: TOKEN, robot: 'emu-1', episodes: 1, backend: 'cpu' }))
      .rejects.toThrow(/trained on stack-2.*robot emu-1 observes/);
  });

  it('stops moving on e-stop and ignores commands until the lease holder resets', async () => {
    const robot = await emulate('reach', 1);
    const ctl = await connectController(bridge as RunningBridge);
    await leaseReady(ctl, 'emu-1');
    const palm = (): number[] => {
      return (robot as unknown as { env: TabletopEnv }).env.scene.gripper.state().position;
    };
    for (let i = 0; i < 6; i++) {
      await ctl.command('emu-1', [1, 0, 0, 0, -1], { form: 'ee_delta_normalized' });
      await new Promise((r) => setTimeout(r, 50));
    }
    await ctl.estop('emu-1', 'test');
    await new Promise((r) => setTimeout(r, 150));
    const stopped = palm();
    await expect(ctl.command('emu-1', [1, 0, 0, 0, -1], { form: 'ee_delta_normalized' })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 250));
    const after = palm();
    expect(Math.hypot(after[0] - stopped[0], after[1] - stopped[1], after[2] - stopped[2])).toBeLessThan(1e-6);
    await ctl.reset('emu-1');
    await ctl.close();
  });
});
