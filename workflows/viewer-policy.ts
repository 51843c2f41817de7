/**
 * A trained state policy (`simreal train bc`: observation vector → action) as the viewer's
 * driver, so `simreal view scenario --policy models/…` shows what the policy does. The model is
 * loaded with the policy package's loader and model card; each control step runs one predict on
 * the episode's (noisy) observation, as evaluation does. Image policies (pose, visuomotor) need
 * rendered frames and are refused with a clear message.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { selectBackend } from '../policy/backend.ts';
import type { BackendName } from '../policy/backend.ts';
import { PolicyInputError, listNames, namesMismatch } from '../policy/errors.ts';
import { readModelCard } from '../policy/model-card.ts';
import { loadLayersModel } from '../policy/model-io.ts';
import type { TabletopEnv } from '../sim/env.ts';
import { DriverError } from '../viewer/server/action-source.ts';
import type { ActionSource, Driver } from '../viewer/server/action-source.ts';

export interface PolicyDriverOptions {
  /** tfjs backend (default: the first of tfjs-node, wasm, cpu that works; one-sample inference gains nothing from a GPU). */
  backend?: BackendName;
  log?: (line: string) => void;
}

export async function loadPolicyDriver(modelDir: string, options: PolicyDriverOptions = {}): Promise<Driver> {
  try {
    const card = readModelCard(modelDir);
    if (card.kind !== 'bc' || !card.inputs.state) {
      throw new DriverError(`${modelDir} is a ${card.kind} model; the viewer drives the simulation with state policies (simreal train bc)`);
    }
    const want = card.inputs.state.names;
    const choice = await selectBackend({ ...(options.backend ? { backend: options.backend } : { candidates: ['tfjs-node', 'wasm', 'cpu'] }), model: 'mlp', log: options.log });
    const tf = choice.tf;
    const model: LayersModel = await loadLayersModel(tf, modelDir);
    const S = want.length;
    const input = new Float32Array(S);
    return {
      name: `policy:${modelDir}`,
      create(env: TabletopEnv): ActionSource {
        const have = env.observationSpace.names;
        const why = namesMismatch(want, have);
        if (why) {
          throw new DriverError(`model ${modelDir} reads ${want.length} observation features (trained on ${card.scenario.id}: ${listNames(want, 4)}), but ${env.scenario.id} gives ${have.length}: ${why}`);
        }
        return {
          stage: 'policy',
          act(obs: Float32Array) {
            input.set(obs.subarray(0, S));
            return tf.tidy(() => (model.predict(tf.tensor2d(input, [1, S])) as Tensor).dataSync().slice(0, 5));
          },
        };
      },
      dispose() {
        model.dispose();
        choice.dispose();
      },
    };
  } catch (e) {
    if (e instanceof PolicyInputError) throw new DriverError(e.message);
    throw e;
  }
}
