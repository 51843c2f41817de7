/**
 * model-card.json: what a saved model is, beside its model.json. It says what the model reads and
 * writes (feature names and sizes, image shape), how inputs are normalized, the data it learned
 * from (path, format, scenario, randomization, DART noise, the episode seeds it saw, so evaluation
 * can prove its seeds are disjoint), how it was trained (backend, device, seed, epochs, losses)
 * and the git commit of the code. Evaluation reads it to check a scenario fits the model.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PolicyInputError } from './errors.ts';

export const MODEL_CARD = 'model-card.json';

export const MODEL_KINDS = ['bc', 'pose', 'visuomotor'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

const Normalization = z.object({ mean: z.array(z.number()), std: z.array(z.number()) });

const VectorFeature = z.object({ names: z.array(z.string()), size: z.int().nonnegative() });

const ImageFeature = z.object({
  /** Dataset feature key, e.g. observation.images.front. */
  key: z.string(),
  camera: z.string(),
  height: z.int().positive(),
  width: z.int().positive(),
  channels: z.literal(3),
});

const Vec3 = z.tuple([z.number(), z.number(), z.number()]);

/** How a pose estimator sees (policy/perception): camera, virtual view, output grid, what it learned from. */
const Perception = z.object({
  method: z.literal('centre-heatmap'),
  camera: z.string(),
  view: z.object({ size: z.int().positive(), region: z.object({ min: Vec3, max: Vec3 }), lookAt: Vec3.optional(), margin: z.number().optional() }),
  grid: z.object({ size: z.int().positive(), stride: z.int().positive(), sigma: z.number().positive() }),
  /** Edge of the camera images it was trained on (pixels, before rectification). */
  renderSize: z.int().positive(),
  /** Visual randomization of the training frames, and whether camera effects were added. */
  looks: z.enum(['train', 'heldout', 'none']),
  augment: z.boolean(),
  /** Held-out error (cm) as training went on. */
  learningCurve: z.array(z.object({ frames: z.int().nonnegative(), seconds: z.number(), meanCm: z.number(), medianCm: z.number(), p90Cm: z.number() })),
});
export type PerceptionCard = z.infer<typeof Perception>;

/** DAgger runs (policy/train/dagger.ts): the schedule, and per round what was collected and how the learner did. */
const Dagger = z.object({
  algorithm: z.string(),
  beta: z.object({ initial: z.number(), decay: z.number(), schedule: z.string() }),
  /** Each round starts from the previous round's weights. */
  warmStart: z.boolean(),
  episodesPerRound: z.int().nonnegative(),
  /** Steps a rollout ran at most. */
  horizon: z.int().positive(),
  roundEpochs: z.int().nonnegative(),
  /** Expert labels (frames: an observation with the expert's action), counted alike for demonstrations and rollouts. */
  labels: z.object({ demonstrations: z.int().nonnegative(), rollouts: z.int().nonnegative(), total: z.int().nonnegative() }),
  rounds: z.array(z.object({
    round: z.int().nonnegative(),
    /** Probability that a rollout step executed the expert's action (1 in round 0: demonstrations). */
    beta: z.number(),
    episodes: z.int().nonnegative(),
    /** Labels this round added, and all labels trained on after it. */
    labels: z.int().nonnegative(),
    totalLabels: z.int().nonnegative(),
    /** Success of this round's mixed rollouts (null in round 0). */
    rolloutSuccess: z.number().nullable(),
    /** The retrained learner's closed-loop success on the selection seeds (null when not measured). */
    selectSuccess: z.number().nullable(),
    valLoss: z.number(),
    epochs: z.int().nonnegative(),
    seconds: z.number(),
  })),
  /** The round whose model was saved. */
  bestRound: z.int().nonnegative(),
});
export type DaggerRecord = z.infer<typeof Dagger>;

export const ModelCardSchema = z.object({
  format: z.literal('simreal-model-card'),
  version: z.literal(1),
  kind: z.enum(MODEL_KINDS),
  created: z.string(),
  /** The commit the code was at, with `-dirty` when the tree had changes; null outside git. */
  gitCommit: z.string().nullable(),
  /** What the model reads, in input order: a state vector, an image, or both. */
  inputs: z.object({
    state: VectorFeature.extend({ key: z.string() }).optional(),
    image: ImageFeature.optional(),
  }),
  /** What it writes. */
  outputs: VectorFeature.extend({ key: z.string() }),
  /** Per-feature input normalization baked into the model's first layer (kept here for reference). */
  normalization: Normalization.optional(),
  /** Output scaling: prediction = raw × std + mean (baked into the model's last layer). */
  outputScaling: Normalization.optional(),
  dataset: z.object({
    path: z.string(),
    format: z.string(),
    episodes: z.int().nonnegative(),
    frames: z.int().nonnegative(),
    trainEpisodes: z.int().nonnegative(),
    valEpisodes: z.int().nonnegative(),
    trainFrames: z.int().nonnegative(),
    valFrames: z.int().nonnegative(),
    successOnly: z.boolean(),
    randomization: z.string().nullable(),
    dartNoise: z.array(z.number()),
    fps: z.number().nullable(),
    /** Seeds of every episode the model saw (training and validation). */
    seeds: z.array(z.number()),
  }),
  scenario: z.object({
    id: z.string(),
    task: z.record(z.string(), z.unknown()),
    /** Blocks in the scene (pose estimators output one position per block). */
    blockCount: z.int().nonnegative(),
  }),
  training: z.object({
    backend: z.string(),
    device: z.string(),
    seed: z.int(),
    epochs: z.int().nonnegative(),
    bestEpoch: z.int().nonnegative(),
    batchSize: z.int().positive(),
    learningRate: z.number(),
    /** The learning-rate schedule (absent on cards written before there was a choice: `plateau`). */
    lrSchedule: z.enum(['plateau', 'cosine']).optional(),
    stoppedBy: z.enum(['max-epochs', 'early-stopping', 'interrupted']),
    seconds: z.number(),
    samplesPerSec: z.number(),
    architecture: z.record(z.string(), z.unknown()),
  }),
  metrics: z.record(z.string(), z.number()),
  /**
   * Policies: σ of the seeded Gaussian noise added to every action before it is executed
   * (policy/execution-noise.ts); absent on cards written before it existed (executed exactly).
   */
  execution: z.object({ actionNoise: z.number().nonnegative() }).optional(),
  /** State policies trained with DAgger: rounds, β and labels (absent otherwise). */
  dagger: Dagger.optional(),
  /** Pose estimators: how to use the model (absent on the other kinds). */
  perception: Perception.optional(),
});
export type ModelCard = z.infer<typeof ModelCardSchema>;

/** The commit HEAD is at (plus `-dirty` if tracked files changed), or null outside a git checkout. */
export function gitCommit(cwd = process.cwd()): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}

export function writeModelCard(dir: string, card: ModelCard): void {
  const path = join(dir, MODEL_CARD);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(card, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

export function readModelCard(dir: string): ModelCard {
  const path = join(dir, MODEL_CARD);
  if (!existsSync(dir)) throw new PolicyInputError(`model folder ${dir} does not exist; train one with \`simreal train … --out ${dir}\``);
  if (!existsSync(path)) throw new PolicyInputError(`${path} is missing: ${dir} is not a model saved by \`simreal train\` (expected model.json, weights.bin and ${MODEL_CARD})`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new PolicyInputError(`${path} is not valid JSON (${(err as Error).message})`);
  }
  const r = ModelCardSchema.safeParse(data);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new PolicyInputError(`${path} is not a simreal model card: ${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  return r.data;
}
