/**
 * `simreal train bc`: the state behaviour-cloning MLP (observation → expert action), trained on
 * expert episodes, typically a mix of clean runs and DART runs (executed actions perturbed by
 * Gaussian noise, labels clean) so the policy has seen, and learned to correct, the states its
 * own small errors lead to. The best epoch is chosen by closed-loop success on selection seeds
 * (training randomization), not by validation loss alone.
 */
import type { Scalar } from '@tensorflow/tfjs';
import { buildBcMlp, DEFAULT_MLP } from '../models/bc-mlp.ts';
import { targetFeatureSpec, withTargetFeatures } from '../models/target-features.ts';
import { columnStats } from '../data/split.ts';
import { statePolicy } from '../eval/policies.ts';
import { statePredictor } from '../state-policy.ts';
import { rollout } from '../eval/rollout.ts';
import { selectionSeeds } from '../eval/seeds.ts';
import { executionNoiseOption } from '../execution-noise.ts';
import type { Recipe, TrainOptions, TrainResult } from './run.ts';
import { runTraining } from './run.ts';

export const bcRecipe: Recipe = {
  kind: 'bc',
  purpose: 'the state policy',
  model: 'mlp',
  defaults: { epochs: 60, batchSize: 256, learningRate: 1e-3, patience: 8, valFraction: 0.1 },
  load: () => ({}),
  score(tf, scenario, o, seed) {
    const n = o.selectEpisodes ?? DEFAULT_SELECT_EPISODES;
    if (n <= 0) return undefined;
    const seeds = selectionSeeds(n, seed);
    // Selected as it will run: with the execution noise its card will carry.
    const executionNoise = executionNoiseOption(o.executionNoise);
    return async (model) => {
      const S = model.inputs[0].shape[1] as number, A = model.outputs[0].shape[1] as number;
      const outcomes = await rollout(statePolicy(statePredictor(tf, model, S, A)), seeds, { scenario, randomization: 'train', executionNoise });
      const ok = outcomes.filter((e) => e.success).length;
      return { score: ok / n, metrics: { selectSuccess: ok / n } };
    };
  },
  architecture: (o) => ({ hidden: o.hidden ?? DEFAULT_MLP.hidden, ...(o.targetFeatures ? { targetFeatures: true } : {}) }),
  /**
   * The warm model's weights under the new data's input normalization, computing the same
   * function: the first hidden layer absorbs the change (W' = W·diag(s'/s), b' = b + W·(m' − m)/s).
   * Keeping the old statistics instead would feed states far from the first data (DAgger's
   * rollouts) to the network as inputs tens of standard deviations wide.
   */
  warmStart(tf, prepared, warm, warmCard) {
    const old = warmCard.normalization, now = prepared.card.normalization;
    if (!old || !now) throw new Error('a state policy card records its input normalization');
    const model = prepared.save;
    const norm = model.getLayer('normalize').getWeights().map((t) => ({ data: Float32Array.from(t.dataSync()), shape: t.shape }));
    model.setWeights(warm.getWeights());
    const [kernel, bias] = warm.getLayer('hidden0').getWeights();
    const [S, H] = kernel.shape as [number, number];
    const k = kernel.dataSync() as Float32Array;
    const k2 = new Float32Array(S * H), b2 = Float32Array.from(bias.dataSync());
    for (let i = 0; i < S; i++) {
      const scale = now.std[i] / old.std[i], shift = (now.mean[i] - old.mean[i]) / old.std[i];
      for (let h = 0; h < H; h++) {
        k2[i * H + h] = k[i * H + h] * scale;
        b2[h] += k[i * H + h] * shift;
      }
    }
    const t = [tf.tensor(norm[0].data, norm[0].shape), tf.tensor(norm[1].data, norm[1].shape), tf.tensor2d(k2, [S, H]), tf.tensor1d(b2)];
    model.getLayer('normalize').setWeights([t[0], t[1]]);
    model.getLayer('hidden0').setWeights([t[2], t[3]]);
    tf.dispose(t);
  },

  prepare(tf, set, split, _scenario, o, rng) {
    const S = set.stateNames.length, A = set.actionNames.length;
    const target = o.targetFeatures ? targetFeatureSpec(set.stateNames) : undefined;
    // The normalizing layer's statistics: over the observation, or over it with its target features.
    const { mean, std } = target
      ? columnStats(withTargetFeatures(tf, target, set.state, S, split.trainFrames), S + target.names.length, Array.from(split.trainFrames, (_, k) => k))
      : columnStats(set.state, S, split.trainFrames);
    const hidden = o.hidden ?? DEFAULT_MLP.hidden;
    const model = buildBcMlp(tf, { inputSize: S, outputSize: A, arch: { hidden }, mean, std, rng, target });
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
        architecture: {
          type: 'mlp', hidden, activation: 'relu', inputNormalization: 'baked (layer normalize)',
          ...(target ? { targetFeatures: true, targetFeatureNames: target.names } : {}),
        },
      },
    };
  },
};

/** Default closed-loop selection episodes for BC (see TrainOptions.selectEpisodes). */
export const DEFAULT_SELECT_EPISODES = 40;

export function trainBc(o: TrainOptions): Promise<TrainResult> {
  return runTraining(bcRecipe, o);
}
