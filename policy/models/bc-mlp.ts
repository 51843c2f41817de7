/**
 * The state behaviour-cloning policy: observation vector → action [dx, dy, dz, dyaw, grip].
 * Inputs are normalized inside the model by a fixed first layer (training-set mean and std), so
 * the saved model takes the raw observation; outputs are the normalized action (the environment
 * clips to [−1, 1]). Hidden layers: dense + ReLU. With `target` (a stack observation's
 * TargetFeatureSpec), the target features (target-features.ts) are appended to the observation
 * before the normalizing layer, whose statistics then cover both.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import type { Rng } from '../../sim/rng.ts';
import { initializer, normalizeLayer } from './layers.ts';
import { applyTargetFeatures } from './target-features.ts';
import type { TargetFeatureSpec } from './target-features.ts';

export interface MlpArch {
  hidden: number[];
}

export const DEFAULT_MLP: MlpArch = { hidden: [256, 256, 256] };

export interface BcMlpOptions {
  inputSize: number;
  outputSize: number;
  arch: MlpArch;
  /** Statistics of the normalizing layer's inputs: the observation, then any target features. */
  mean: number[];
  std: number[];
  rng: Rng;
  target?: TargetFeatureSpec;
}

export function buildBcMlp(tf: TF, o: BcMlpOptions): LayersModel {
  const input = tf.input({ shape: [o.inputSize], name: 'observation_state' });
  const features = o.target ? applyTargetFeatures(tf, input, o.target) : input;
  let x = normalizeLayer(tf, 'normalize', o.mean, o.std).apply(features) as SymbolicTensor;
  o.arch.hidden.forEach((u, i) => {
    x = tf.layers.dense({ units: u, activation: 'relu', kernelInitializer: initializer(tf, o.rng), name: `hidden${i}` }).apply(x) as SymbolicTensor;
  });
  const out = tf.layers.dense({ units: o.outputSize, kernelInitializer: tf.initializers.glorotUniform({ seed: o.rng.int(1, 2 ** 30) }), name: 'action' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'bc_mlp' });
}
