import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '../../policy/backend.ts';
import { saveLayersModel } from '../../policy/model-io.ts';
import { writeModelCard } from '../../policy/model-card.ts';
import type { ModelCard } from '../../policy/model-card.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { loadPolicyDriver } from '../../workflows/viewer-policy.ts';
import { DriverError } from '../../viewer/server/action-source.ts';
import { SimSource } from '../../viewer/server/sim-source.ts';

/** A bc model whose action is always `bias` (zero kernel), saved with its card. */
async function constantPolicy(dir: string, names: string[], bias: number[], kind: ModelCard['kind'] = 'bc'): Promise<void> {
  const { tf } = await selectBackend({ backend: 'cpu' });
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [names.length], units: 5, kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: 0 }) })] });
  model.layers[0].setWeights([tf.zeros([names.length, 5]), tf.tensor1d(bias)]);
  await saveLayersModel(tf, model, dir);
  writeModelCard(dir, {
    format: 'simreal-model-card', version: 1, kind, created: '2026-01-01T00:00:00Z', gitCommit: null,
    inputs: { state: { key: 'observation.state', names, size: names.length } },
    outputs: { key: 'action', names: ['dx', 'dy', 'dz', 'dyaw', 'grip'], size: 5 },
    dataset: { path: 'x', format: 'lerobot', episodes: 0, frames: 0, trainEpisodes: 0, valEpisodes: 0, trainFrames: 0, valFrames: 0, successOnly: true, randomization: 'train', dartNoise: [], fps: 20, seeds: [] },
    scenario: { id: 'stack-3', task: { id: 'StackBlocks-v1', blocks: 3 }, blockCount: 3 },
    training: { backend: 'cpu', device: 'cpu', seed: 0, epochs: 0, bestEpoch: 0, batchSize: 1, learningRate: 0, stoppedBy: 'max-epochs', seconds: 0, samplesPerSec: 0, architecture: {} },
    metrics: {},
  });
}

describe('viewer: a trained state policy drives the simulation', () => {
  it('acts with the model on each observation, and refuses scenarios and models it cannot drive', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-policy-'));
    try {
      const names = new TabletopEnv(loadScenario('scenarios/stack-3.json')).observationSpace.names;
      await constantPolicy(dir, names, [0, 0, 1, 0, -1]); // always up, fingers open
      const driver = await loadPolicyDriver(dir, { backend: 'cpu' });
      expect(driver.name).toBe(`policy:${dir}`);

      const source = new SimSource({ scenario: 'scenarios/stack-3.json', seed: 4, paused: true, driver });
      await source.start();
      const z0 = source.current().state.gripper.position[2];
      const page = { send: () => {}, sendText: () => {}, sendFrame: () => {} };
      source.handle(page, { op: 'step', n: 3 });
      const z3 = source.current().state.gripper.position[2];
      expect(z3).toBeGreaterThan(z0 + 0.01); // the expert would have gone down to a block
      expect(source.hello().driver).toBe(`policy:${dir}`);
      // stack-5 observes more features than the model reads: the switch is refused, nothing changes.
      const notices: string[] = [];
      source.handle({ ...page, send: (m) => { if (m.op === 'notice') notices.push(m.message); } }, { op: 'scenario', path: 'scenarios/stack-5.json' });
      expect(notices[0]).toMatch(/reads \d+ observation features/);
      expect(source.current().scenario).toBe('scenarios/stack-3.json');
      await source.close();

      const stack5 = new TabletopEnv(loadScenario('scenarios/stack-5.json'));
      stack5.reset({ seed: 0 });
      const again = await loadPolicyDriver(dir, { backend: 'cpu' });
      expect(() => again.create(stack5)).toThrow(DriverError);
      again.dispose?.();

      await constantPolicy(dir, names, [0, 0, 0, 0, 0], 'visuomotor');
      await expect(loadPolicyDriver(dir, { backend: 'cpu' })).rejects.toThrow(/visuomotor model; the viewer drives the simulation with state policies/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
