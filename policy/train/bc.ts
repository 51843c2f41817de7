/**
 * `simreal train bc`: the state behaviour-cloning MLP (observation → expert action), trained on
 * expert episodes, typically a mix of clean runs and DART runs (executed actions perturbed by
 * Gaussian noise, labels clean) so the policy has seen, and learned to correct, the states its
 * own small errors lead to.
 */
import type { Scalar } from '@tensorflow/tfjs';
import { buildBcMlp, DEFAULT_MLP } from '../models/bc-mlp.ts';
import { columnStats } from '../data/split.ts';
import type { Recipe, TrainOptions, TrainResult } from './run.ts';
import { runTraining } from './run.ts';

export const bcRecipe: Recipe = {
  kind: 'bc',
  purpose: 'the state policy',
  model: 'mlp',
  defaults: { epochs: 60, batchSize: 256, learningRate: 1e-3, patience: 8, valFraction: 0.1 },
  load: () => ({}),
  architecture: (o) => ({ hidden: o.hidden ?? DEFAULT_MLP.hidden }),
  prepare(tf, set, split, _scenario, o, rng) {
    const S = set.stateNames.length, A = set.actionNames.length;
    const { mean, std } = columnStats(set.state, S, split.trainFrames);
    const hidden = o.hidden ?? DEFAULT_MLP.hidden;
    const model = buildBcMlp(tf, { inputSize: S, outputSize: A, arch: { hidden }, mean, std, rng });
    return {
      train: model,
      save: model,
      loss: (y, p) => tf.losses.meanSquaredError(y, p) as Scalar,
      makeBatch(idx) {
        const x = new Float32Array(idx.length * S), y = new Float32Array(idx.length * A);
        for (let k = 0; k < idx.length; k++) {
          x.set(set.state.subarray(idx[k] * S, (idx[k] + 1) * S), k * S);
          y.set(set.action.subarray(idx[k] * A, (idx[k] + 1) * A), k * A);
        }
        return { xs: tf.tensor2d(x, [idx.length, S]), ys: tf.tensor2d(y, [idx.length, A]), size: idx.length };
      },
      card: {
        inputs: { state: { key: 'observation.state', names: set.stateNames, size: S } },
        outputs: { key: 'action', names: set.actionNames, size: A },
        normalization: { mean, std },
        architecture: { type: 'mlp', hidden, activation: 'relu', inputNormalization: 'baked (layer normalize)' },
      },
    };
  },
};

export function trainBc(o: TrainOptions): Promise<TrainResult> {
  return runTraining(bcRecipe, o);
}
