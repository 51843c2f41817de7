/**
 * A saved model opened for inference: its card (model-card.json), a TensorFlow.js backend and its
 * graph (model.json + weights.bin), checked against each other. Everything that runs a trained
 * model opens it here and wraps it for what it does: the state policy (state-policy.ts), and the
 * image models evaluation rolls out (eval/policies.ts).
 *
 * The card is read first, so a model of the wrong kind or for another scenario is refused
 * (`accept`) before a backend starts or a weight is read.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { selectBackend } from './backend.ts';
import type { BackendChoice, BackendName, TF } from './backend.ts';
import { PolicyInputError } from './errors.ts';
import { readModelCard } from './model-card.ts';
import type { ModelCard } from './model-card.ts';
import { loadLayersModel } from './model-io.ts';

export interface OpenModelOptions {
  /** A backend by name (no fallback); default: the first that starts among `candidates`. */
  backend?: BackendName;
  /** Without `backend`: the backends to try, in backendNames order (default: all). */
  candidates?: readonly BackendName[];
  /** A backend already selected: the model runs on it and dispose() leaves it to its owner. */
  choice?: BackendChoice;
  /** Checks the card before anything else is loaded; throws (a PolicyInputError) to refuse the model. */
  accept?: (card: ModelCard) => void;
  /** Where the backend choice is reported (default: nowhere). */
  log?: (line: string) => void;
}

export interface SavedModel {
  readonly dir: string;
  readonly card: ModelCard;
  /** The tfjs module, with the model's backend active. */
  readonly tf: TF;
  readonly graph: LayersModel;
  /** The backend it runs on, and what runs the math there. */
  readonly backend: BackendName;
  readonly device: string;
  /** Frees the graph, and the backend unless it was passed in as `choice`. */
  dispose(): void;
}

/** Opens the model saved in `dir` (see the header for the order of checks). */
export async function openSavedModel(dir: string, o: OpenModelOptions = {}): Promise<SavedModel> {
  const card = readModelCard(dir);
  o.accept?.(card);
  const choice = o.choice ?? (await selectBackend({ backend: o.backend, candidates: o.candidates, model: card.kind === 'bc' ? 'mlp' : 'conv', log: o.log }));
  let graph: LayersModel | null = null;
  try {
    graph = await loadLayersModel(choice.tf, dir);
    checkGraphFits(card, graph, dir);
  } catch (err) {
    graph?.dispose();
    if (!o.choice) choice.dispose();
    throw err;
  }
  const loaded = graph;
  return {
    dir,
    card,
    tf: choice.tf,
    graph: loaded,
    backend: choice.name,
    device: choice.device,
    dispose() {
      loaded.dispose();
      if (!o.choice) choice.dispose();
    },
  };
}

/** Checks that the loaded graph takes the inputs its card describes. */
export function checkGraphFits(card: ModelCard, model: LayersModel, modelDir: string): void {
  const shapes = model.inputs.map((i) => i.shape.slice(1).join('x'));
  const expected: string[] = [];
  if (card.inputs.image) expected.push(`${card.inputs.image.height}x${card.inputs.image.width}x3`);
  if (card.inputs.state) expected.push(String(card.inputs.state.size));
  if (shapes.join(',') !== expected.join(',')) {
    throw new PolicyInputError(`${modelDir}/model.json takes inputs [${shapes.join(', ')}] but its model-card.json describes [${expected.join(', ')}]; the files come from different models`);
  }
}
