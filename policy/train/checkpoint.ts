/**
 * Training checkpoints in `<out>/checkpoint/`: one folder per saved epoch holding the model
 * (model.json + weights.bin, the tfjs layers format) and the optimizer's state (optimizer.json +
 * optimizer.bin), and `state.json`, the commit point: it is replaced atomically after a folder
 * is complete and names the last and the best epoch's folders. A crash at any moment leaves the
 * previous state.json and the folders it names intact; folders it does not name are removed.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import { loadLayersModel, saveLayersModel } from '../model-io.ts';
import { PolicyInputError } from '../errors.ts';

export const CHECKPOINT_DIR = 'checkpoint';

export interface EpochRecord {
  epoch: number;
  loss: number;
  valLoss: number;
  learningRate: number;
  seconds: number;
  metrics?: Record<string, number>;
}

export interface CheckpointState {
  version: 1;
  /** What the run is (data, model, options): a resumed run must match. */
  fingerprint: Record<string, unknown>;
  epoch: number;
  lastDir: string;
  bestDir: string;
  bestEpoch: number;
  bestValLoss: number;
  /** Best closed-loop selection score, when the run selects by one. */
  bestScore?: number;
  epochsWithoutImprovement: number;
  learningRate: number;
  finished: null | 'max-epochs' | 'early-stopping';
  samples: number;
  seconds: number;
  history: EpochRecord[];
  /** Streamed training (train pose from a scenario): where the frame stream stands. */
  stream?: { episode: number; frame: number };
}

function writeJsonAtomic(path: string, data: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(data, null, 1)}\n`);
  renameSync(`${path}.tmp`, path);
}

export function checkpointDir(out: string): string {
  return join(out, CHECKPOINT_DIR);
}

export function readCheckpointState(out: string): CheckpointState | null {
  const path = join(checkpointDir(out), 'state.json');
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CheckpointState;
  } catch (err) {
    throw new PolicyInputError(`${path} is not valid JSON (${(err as Error).message}); delete ${checkpointDir(out)} to start over`);
  }
}

/** Saves the model and optimizer of epoch `state.epoch` and commits `state` (whose lastDir/bestDir are filled in here). */
export async function saveCheckpoint(
  tf: TF,
  out: string,
  model: LayersModel,
  optimizer: Optimizer,
  state: Omit<CheckpointState, 'lastDir' | 'bestDir'> & { improved: boolean; previous: CheckpointState | null },
): Promise<CheckpointState> {
  const root = checkpointDir(out);
  mkdirSync(root, { recursive: true });
  const name = `epoch-${String(state.epoch).padStart(4, '0')}`;
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  await saveLayersModel(tf, model, dir);
  const weights = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(weights);
  writeFileSync(join(dir, 'optimizer.bin'), new Uint8Array(data));
  writeFileSync(join(dir, 'optimizer.json'), JSON.stringify({ order: weights.map((w) => w.name), specs }));
  const { improved, previous, ...rest } = state;
  const committed: CheckpointState = { ...rest, lastDir: name, bestDir: improved || !previous ? name : previous.bestDir };
  writeJsonAtomic(join(root, 'state.json'), committed);
  for (const entry of readdirSync(root)) {
    if (entry !== 'state.json' && entry !== committed.lastDir && entry !== committed.bestDir) rmSync(join(root, entry), { recursive: true, force: true });
  }
  return committed;
}

/** Copies the weights saved in checkpoint folder `name` into `model`. */
export async function restoreWeights(tf: TF, out: string, name: string, model: LayersModel): Promise<void> {
  const saved = await loadLayersModel(tf, join(checkpointDir(out), name));
  const values = saved.getWeights();
  const mine = model.getWeights();
  if (values.length !== mine.length || values.some((v, i) => v.shape.join() !== mine[i].shape.join())) {
    saved.dispose();
    throw new PolicyInputError(`checkpoint ${join(checkpointDir(out), name)} holds a model of another shape; delete ${checkpointDir(out)} or use the options it was trained with`);
  }
  model.setWeights(values);
  saved.dispose();
}

/** Restores the optimizer's moments and step count saved in checkpoint folder `name`. */
export async function restoreOptimizer(tf: TF, out: string, name: string, optimizer: Optimizer): Promise<void> {
  const dir = join(checkpointDir(out), name);
  const meta = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as { order: string[]; specs: Parameters<TF['io']['decodeWeights']>[1] };
  const buf = readFileSync(join(dir, 'optimizer.bin'));
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, meta.specs);
  const named: Array<{ name: string; tensor: Tensor }> = meta.order.map((n) => ({ name: n, tensor: map[n] }));
  await optimizer.setWeights(named);
}
