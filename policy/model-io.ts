/**
 * The tfjs layers format on disk, without tfjs-node: `model.json` (topology and weights
 * manifest) and `weights.bin` (one shard), exactly what `tf.loadLayersModel('…/model.json')`
 * fetches in a browser. Saving goes through a custom IOHandler (`tf.io.withSaveHandler`);
 * loading reads both files and hands them to `tf.io.fromMemory`. Files are written to a
 * temporary name and renamed, so a crash never leaves a half-written model.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { TF } from './backend.ts';
import { PolicyInputError } from './errors.ts';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Saves `model` into `dir` (which must exist) as model.json + weights.bin. */
export async function saveLayersModel(tf: TF, model: LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      writeAtomic(join(dir, WEIGHTS_BIN), new Uint8Array(weightData));
      writeAtomic(join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
    }),
  );
}

/** Loads a model saved by saveLayersModel (or any single-shard tfjs layers model). */
export async function loadLayersModel(tf: TF, dir: string): Promise<LayersModel> {
  const jsonPath = join(dir, MODEL_JSON);
  if (!existsSync(dir)) throw new PolicyInputError(`model folder ${dir} does not exist; train one with \`simreal train … --out ${dir}\``);
  if (!existsSync(jsonPath)) throw new PolicyInputError(`${jsonPath} is missing: ${dir} is not a saved model (expected ${MODEL_JSON} and ${WEIGHTS_BIN} from \`simreal train\`)`);
  let json: { modelTopology?: object; weightsManifest?: Array<{ paths: string[]; weights: unknown[] }> };
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (err) {
    throw new PolicyInputError(`${jsonPath} is not valid JSON (${(err as Error).message}); retrain or restore the model`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new PolicyInputError(`${jsonPath} is not a tfjs layers model (no modelTopology or weightsManifest)`);
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights) as Parameters<TF['io']['fromMemory']>[1];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const path = join(dir, p);
      if (!existsSync(path)) throw new PolicyInputError(`${path} is missing: ${jsonPath} lists it as a weights file`);
      const b = readFileSync(path);
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
  }
  const weightData = tf.io.CompositeArrayBuffer.join(buffers);
  const expected = (specs ?? []).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weightData.byteLength !== expected) {
    throw new PolicyInputError(`${join(dir, WEIGHTS_BIN)} holds ${weightData.byteLength} bytes but ${jsonPath} describes ${expected}; the files come from different saves`);
  }
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

/** Whether `dir` holds a saved model. */
export function hasSavedModel(dir: string): boolean {
  return existsSync(join(dir, MODEL_JSON)) && existsSync(join(dir, WEIGHTS_BIN));
}
