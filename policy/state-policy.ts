/**
 * A trained state policy (`simreal train bc`: observation vector → action) ready to act: one step
 * (`act`, for a robot on the bridge or the viewer's simulation) or a batch of observations
 * (`actBatch`, for evaluation's groups of environments stepped in lockstep). Each call is one
 * predict of the graph, whose first layer normalizes the raw observation.
 *
 * Before acting on a new source of observations, `checkInputs` refuses feature names that differ
 * from the model's (names and order), naming both sides.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from './backend.ts';
import { PolicyInputError, listNames, namesMismatch } from './errors.ts';
import type { ModelCard } from './model-card.ts';
import { openSavedModel } from './saved-model.ts';
import type { OpenModelOptions, SavedModel } from './saved-model.ts';

/** A graph from observation (`inputs` features) to action (`outputs` values). */
export interface StatePredictor {
  readonly inputs: number;
  readonly outputs: number;
  /** The action for one observation (its first `inputs` values are read). */
  act(obs: ArrayLike<number>): Float32Array;
  /** The actions for several observations, in one predict. */
  actBatch(rows: readonly Float32Array[]): Float32Array[];
}

export interface StatePolicy extends StatePredictor {
  readonly dir: string;
  readonly card: ModelCard;
  /** The observation features the model reads, in order. */
  readonly names: readonly string[];
  readonly backend: string;
  readonly device: string;
  /**
   * Throws a PolicyInputError when `names` (what a source observes) differ from the model's
   * inputs. `observer` says who, with its verb: `robot emu-1 observes`, `stack-5 gives`.
   */
  checkInputs(names: readonly string[], observer: string): void;
  dispose(): void;
}

export interface LoadStatePolicyOptions extends Omit<OpenModelOptions, 'accept'> {
  /** Why a state policy is needed, said when a model of another kind is refused. */
  purpose: string;
}

/** Predictions of `graph` one observation or one batch at a time (also for a model still in training). */
export function statePredictor(tf: TF, graph: LayersModel, inputs: number, outputs: number): StatePredictor {
  const one = new Float32Array(inputs);
  return {
    inputs,
    outputs,
    act(obs) {
      for (let i = 0; i < inputs; i++) one[i] = obs[i];
      return tf.tidy(() => Float32Array.from((graph.predict(tf.tensor2d(one, [1, inputs])) as Tensor).dataSync()));
    },
    actBatch(rows) {
      const x = new Float32Array(rows.length * inputs);
      rows.forEach((o, k) => x.set(o, k * inputs));
      return tf.tidy(() => {
        const flat = (graph.predict(tf.tensor2d(x, [rows.length, inputs])) as Tensor).dataSync() as Float32Array;
        return Array.from({ length: rows.length }, (_, i) => flat.slice(i * outputs, (i + 1) * outputs));
      });
    },
  };
}

/** A state policy over a model opened with openSavedModel (its card must describe a state input). */
export function asStatePolicy(model: SavedModel): StatePolicy {
  const { card, dir } = model;
  if (!card.inputs.state) throw new PolicyInputError(`${dir} is a ${card.kind} model without a state input; a state policy needs one (simreal train bc)`);
  const want = card.inputs.state.names;
  return {
    ...statePredictor(model.tf, model.graph, card.inputs.state.size, card.outputs.size),
    dir,
    card,
    names: want,
    backend: model.backend,
    device: model.device,
    checkInputs(names, observer) {
      const why = namesMismatch(want, names);
      if (why) {
        throw new PolicyInputError(`model ${dir} reads ${want.length} observation features (trained on ${card.scenario.id}: ${listNames(want, 4)}), but ${observer} ${names.length} (${listNames(names, 4)}): ${why}`);
      }
    },
    dispose: () => model.dispose(),
  };
}

/** Opens the state policy saved in `dir`; a model of another kind is refused, saying `purpose`. */
export async function loadStatePolicy(dir: string, o: LoadStatePolicyOptions): Promise<StatePolicy> {
  const { purpose, ...open } = o;
  const model = await openSavedModel(dir, {
    ...open,
    accept(card) {
      if (card.kind !== 'bc' || !card.inputs.state) throw new PolicyInputError(`${dir} is a ${card.kind} model; ${purpose}`);
    },
  });
  return asStatePolicy(model);
}
