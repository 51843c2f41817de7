/**
 * `simreal eval <model> <scenario>`: a saved model in closed loop on seeded episodes the model
 * never saw (seeds.ts), under the scenario's training, held-out or no randomization, in groups of
 * environments spread over worker threads.
 *
 * - state and visuomotor policies: success rate with a 95 % Wilson interval, per-stage rates
 *   (reached at some step, and held at the end), failure causes, episode lengths;
 * - pose estimators: position error (mean, median, 90th percentile, per block, in cm) of the
 *   estimate from each episode's first frame, rendered with the episode's look; on Grasp-v1
 *   scenarios also the success of the scripted grasp driven by that estimate.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BackendChoice, BackendName } from '../backend.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { PhysicsRandomization, Scenario } from '../../sim/scenario.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { PolicyInputError } from '../errors.ts';
import { MODEL_CARD, readModelCard } from '../model-card.ts';
import type { ModelCard, ModelKind } from '../model-card.ts';
import { checkCardFits } from './policies.ts';
import { executionNoiseOf, executionNoiseOption } from '../execution-noise.ts';
import { openGroupRunner } from './run-groups.ts';
import type { EvalMode, GroupJob, GroupResult } from './run-groups.ts';
import { seedGroups } from './rollout.ts';
import { DEFAULT_EVAL_SEED, evalSeeds } from './seeds.ts';
import { formatRate, median, quantile, wilson } from './stats.ts';
import type { EpisodeOutcome, Rate } from './stats.ts';

/** `modelDir` value that evaluates the scenario's scripted expert instead of a model (a baseline). */
export const EXPERT = 'expert';

export interface EvaluateOptions {
  /** A model folder, or `expert` for the scripted expert (unless a folder of that name holds a model). */
  modelDir: string;
  scenario: Scenario;
  /** How to name the scenario in messages (its path). */
  scenarioLabel?: string;
  episodes: number;
  randomization: RandomizationMode;
  /** Looks of rendered frames (default: as `randomization`). */
  looks?: RandomizationMode;
  /** A pose estimator (model folder) that feeds a state policy's block features from the camera. */
  perception?: string;
  /** σ of the execution noise (policy/execution-noise.ts); default: the model card's. */
  executionNoise?: number;
  /** Base of the evaluation seeds. */
  seed?: number;
  /** Worker threads; 0 runs in this thread. Default: available cores, at most one per group. */
  workers?: number;
  backend?: BackendName;
  /** Environments stepped together. Default 16 (4 for visuomotor, which renders each one). */
  group?: number;
  /** A backend already selected (inline only; tests). */
  choice?: BackendChoice;
  onEpisode?: (done: number, total: number, successes: number) => void;
  log?: (line: string) => void;
}

export interface PoseSummary {
  frames: number;
  /** Over every block of every frame, cm. */
  meanCm: number;
  medianCm: number;
  p90Cm: number;
  perBlockMeanCm: number[];
  /** Grasp-v1: the target's (block 0) error alone. */
  targetMeanCm?: number;
  targetMedianCm?: number;
}

export interface EvalResult {
  model: string;
  kind: ModelKind | 'expert';
  modelScenario: string;
  scenario: string;
  randomization: RandomizationMode;
  looks: RandomizationMode;
  /** The pose estimator that fed the policy, if one did. */
  perception: string | null;
  /** σ of the noise the policy's actions were executed with (policy/execution-noise.ts; 0: exactly). */
  executionNoise: number;
  backend: string;
  device: string;
  workers: number;
  seeds: { base: number; count: number; derivation: string; skippedAsTrainingSeeds: number; first: number[] };
  episodes: number;
  success: Rate | null;
  stages: Array<{ name: string; reached: Rate; heldAtEnd: Rate }>;
  failures: Record<string, number>;
  meanSteps: number | null;
  meanStepsSuccess: number | null;
  pose: PoseSummary | null;
  /** Every episode: seed, outcome, cause, steps (and pose errors in cm for pose estimators). */
  perEpisode: Array<{ seed: number; success: boolean; cause: string; steps: number; poseErrorsCm?: number[] }>;
  seconds: number;
}

function planMode(kind: ModelKind, scenario: Scenario): EvalMode {
  return kind === 'pose' && scenario.task.id !== 'Grasp-v1' ? 'pose-only' : 'rollout';
}

/** What an evaluation runs: the checked model (or expert), its job for the group runners, and the seeds in groups. */
export interface EvaluationPlan {
  job: GroupJob;
  /** The model's card (null for the scripted expert). */
  card: ModelCard | null;
  /** How results name what was evaluated. */
  label: string;
  kind: ModelKind | 'expert';
  modelScenario: string;
  base: number;
  seeds: number[];
  skipped: number;
  derivation: string;
  groups: number[][];
}

/** Checks the model against the scenario and lays out the seeds (shared by evaluate and sweeps). */
export function planEvaluation(o: EvaluateOptions): EvaluationPlan {
  const label = o.scenarioLabel ?? o.scenario.id;
  if (!(Number.isInteger(o.episodes) && o.episodes > 0)) throw new PolicyInputError(`--episodes must be a positive integer, got ${o.episodes}`);
  const isExpert = o.modelDir === EXPERT && !existsSync(join(o.modelDir, MODEL_CARD));
  const card = isExpert ? null : readModelCard(o.modelDir);
  if (card) checkCardFits(card, o.scenario, o.modelDir, label);
  if (o.perception) {
    if (card?.kind !== 'bc') throw new PolicyInputError(`--perception feeds a state policy (simreal train bc) from the camera; ${o.modelDir} is ${card ? `a ${card.kind} model` : 'the scripted expert'}`);
    const poseCard = readModelCard(o.perception);
    if (poseCard.kind !== 'pose') throw new PolicyInputError(`--perception ${o.perception} is a ${poseCard.kind} model, not a pose estimator (simreal train pose)`);
    checkCardFits(poseCard, o.scenario, o.perception, label);
  }
  const mode: EvalMode = card ? planMode(card.kind, o.scenario) : 'expert';
  const base = o.seed ?? DEFAULT_EVAL_SEED;
  const { seeds, skipped, derivation } = evalSeeds(o.episodes, base, card?.dataset.seeds ?? []);
  const group = o.group ?? (card?.kind === 'visuomotor' || o.perception ? 4 : mode === 'pose-only' ? 25 : 16);
  const looks = o.looks ?? o.randomization;
  if (o.executionNoise !== undefined && !(card && (card.kind === 'bc' || card.kind === 'visuomotor'))) {
    throw new PolicyInputError(`--execution-noise perturbs a trained policy's actions; ${card ? `${o.modelDir} is a ${card.kind} model` : 'the scripted expert is evaluated as it acts'} (leave it out)`);
  }
  const executionNoise = card && mode === 'rollout' ? executionNoiseOption(o.executionNoise, executionNoiseOf(card)) : 0;
  return {
    job: { modelDir: o.modelDir, scenario: o.scenario, scenarioLabel: label, randomization: o.randomization, looks, perception: o.perception, backend: o.backend, group, mode, executionNoise },
    card,
    label: isExpert ? 'scripted expert' : o.modelDir,
    kind: card?.kind ?? 'expert',
    modelScenario: card?.scenario.id ?? o.scenario.id,
    base, seeds, skipped, derivation,
    groups: seedGroups(seeds, group),
  };
}

/** One unit of work for a group runner: a group of seeds, optionally under physics ranges of its own (sweeps). */
export interface PlanTask {
  seeds: number[];
  ranges?: PhysicsRandomization;
}

export interface RunPlanOptions {
  /** Worker threads; 0 runs in this thread. Default: available cores, at most one per task. */
  workers?: number;
  /** A backend already selected (inline only). */
  choice?: BackendChoice;
  onEpisode?: (e: EpisodeOutcome) => void;
  /** Called with the number of seeds of each finished pose-only task (they have no episodes). */
  onPoseOnly?: (count: number) => void;
  log?: (line: string) => void;
}

/** Runs the tasks of a plan, inline or in a pool of worker threads; results come back in task order. */
export async function runPlan(job: GroupJob, tasks: PlanTask[], o: RunPlanOptions = {}): Promise<{ results: GroupResult[]; backend: string; device: string; workers: number }> {
  const workers = o.choice ? 0 : Math.max(0, Math.min(o.workers ?? availableParallelism(), tasks.length));
  const results: GroupResult[] = [];
  let backend = '', device = '';
  const onEpisode = o.onEpisode ?? (() => {});
  if (workers === 0) {
    const runner = await openGroupRunner(job, o.choice);
    backend = runner.backend;
    device = runner.device;
    o.log?.(`backend: ${backend} on ${device}`);
    try {
      for (let i = 0; i < tasks.length; i++) {
        const r = await runner.run(i, tasks[i].seeds, onEpisode, tasks[i].ranges);
        if (job.mode === 'pose-only') o.onPoseOnly?.(tasks[i].seeds.length);
        results.push(r);
      }
    } finally {
      await runner.dispose();
    }
  } else {
    ({ backend, device } = await runInWorkers(job, tasks, workers, onEpisode, results, (count) => o.onPoseOnly?.(count), o.log));
  }
  results.sort((a, b) => a.index - b.index);
  return { results, backend, device, workers };
}

export async function evaluate(o: EvaluateOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const plan = planEvaluation(o);
  const { job, card, seeds, groups } = plan;
  let done = 0, ok = 0;
  const tick = (success: boolean): void => {
    done++;
    if (success) ok++;
    o.onEpisode?.(done, seeds.length, ok);
  };
  const run = await runPlan(job, groups.map((g) => ({ seeds: g })), {
    workers: o.workers, choice: o.choice, log: o.log,
    onEpisode: (e) => tick(e.success),
    onPoseOnly: (count) => { for (let k = 0; k < count; k++) tick(false); },
  });
  const outcomes = run.results.flatMap((r) => r.outcomes);
  const poseErrors = run.results.flatMap((r) => r.poseErrors);
  const stageNames = new TabletopEnv(o.scenario, { randomization: 'none' }).task.stageNames(o.scenario.task);
  return {
    model: plan.label,
    kind: plan.kind,
    modelScenario: plan.modelScenario,
    scenario: o.scenario.id,
    randomization: o.randomization,
    looks: job.looks ?? o.randomization,
    perception: o.perception ?? null,
    executionNoise: job.executionNoise ?? 0,
    backend: run.backend,
    device: run.device,
    workers: run.workers,
    seeds: { base: plan.base, count: seeds.length, derivation: plan.derivation, skippedAsTrainingSeeds: plan.skipped, first: seeds.slice(0, 5) },
    episodes: seeds.length,
    ...summarizeOutcomes(outcomes, stageNames),
    pose: card?.kind === 'pose' || o.perception ? summarizePose(poseErrors.map(([, e]) => e), o.scenario.task.id === 'Grasp-v1') : null,
    perEpisode: perEpisode(seeds, outcomes, poseErrors),
    seconds: (performance.now() - t0) / 1000,
  };
}

function runInWorkers(
  job: GroupJob,
  tasks: PlanTask[],
  n: number,
  onEpisode: (e: EpisodeOutcome) => void,
  results: GroupResult[],
  onPoseOnly: (count: number) => void,
  log?: (line: string) => void,
): Promise<{ backend: string; device: string }> {
  return new Promise((resolve, reject) => {
    let next = 0, busy = 0, failed = false, backend = '', device = '';
    const workers: Worker[] = [];
    const stop = (err: Error | null): void => {
      if (failed) return;
      if (err) failed = true;
      for (const w of workers) void w.terminate();
      if (err) reject(err);
      else resolve({ backend, device });
    };
    const dispatch = (w: Worker): void => {
      if (failed) return;
      if (next >= tasks.length) {
        if (busy === 0) stop(null);
        return;
      }
      busy++;
      const index = next++;
      w.postMessage({ index, seeds: tasks[index].seeds, ranges: tasks[index].ranges });
    };
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL('./worker.ts', import.meta.url), { workerData: job });
      workers.push(w);
      w.on('message', (msg: { ready?: boolean; backend?: string; device?: string; episode?: EpisodeOutcome; result?: GroupResult; error?: string; userError?: boolean }) => {
        if (msg.ready) {
          if (!backend) {
            backend = msg.backend as string;
            device = msg.device as string;
            log?.(`backend: ${backend} on ${device} (in each of ${n} worker threads)`);
          }
          dispatch(w);
        } else if (msg.episode) {
          onEpisode(msg.episode);
        } else if (msg.result) {
          busy--;
          results.push(msg.result);
          if (job.mode === 'pose-only') onPoseOnly(msg.result.poseErrors.length);
          dispatch(w);
        } else if (msg.error) {
          stop(msg.userError ? new PolicyInputError(msg.error) : new Error(`evaluation worker failed:\n${msg.error}`));
        }
      });
      w.on('error', (err) => stop(err));
      w.on('exit', (code) => {
        if (code !== 0 && !failed && next < tasks.length) stop(new Error(`an evaluation worker exited with code ${code}`));
      });
    }
  });
}

function perEpisode(seeds: number[], outcomes: EpisodeOutcome[], poseErrors: Array<[number, number[]]>): EvalResult['perEpisode'] {
  const bySeed = new Map(outcomes.map((e) => [e.seed, e]));
  const pose = new Map(poseErrors);
  return seeds.map((seed) => {
    const e = bySeed.get(seed);
    const p = pose.get(seed);
    return {
      seed,
      success: e?.success ?? false,
      cause: e?.cause ?? 'not run (pose only)',
      steps: e?.steps ?? 0,
      ...(p ? { poseErrorsCm: p.map((x) => Math.round(1e4 * x) / 100) } : {}),
    };
  });
}

export function summarizeOutcomes(outcomes: EpisodeOutcome[], stageNames: string[]): Pick<EvalResult, 'success' | 'stages' | 'failures' | 'meanSteps' | 'meanStepsSuccess'> {
  if (outcomes.length === 0) return { success: null, stages: [], failures: {}, meanSteps: null, meanStepsSuccess: null };
  const n = outcomes.length;
  const k = outcomes.filter((e) => e.success).length;
  const stages = stageNames.map((name, i) => ({
    name,
    reached: wilson(outcomes.filter((e) => e.stagesReached[i]).length, n),
    heldAtEnd: wilson(outcomes.filter((e) => e.stagesAtEnd[i]).length, n),
  }));
  const failures: Record<string, number> = {};
  for (const e of outcomes) if (!e.success) failures[e.cause] = (failures[e.cause] ?? 0) + 1;
  const sorted = Object.fromEntries(Object.entries(failures).sort((a, b) => b[1] - a[1]));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    success: wilson(k, n),
    stages,
    failures: sorted,
    meanSteps: mean(outcomes.map((e) => e.steps)),
    meanStepsSuccess: mean(outcomes.filter((e) => e.success).map((e) => e.steps)),
  };
}

export function summarizePose(perFrame: number[][], hasTarget: boolean): PoseSummary {
  const all = perFrame.flat().map((e) => 100 * e);
  const blocks = perFrame[0]?.length ?? 0;
  const perBlockMeanCm = Array.from({ length: blocks }, (_, b) => (100 * perFrame.reduce((s, f) => s + f[b], 0)) / Math.max(1, perFrame.length));
  const out: PoseSummary = {
    frames: perFrame.length,
    meanCm: all.reduce((a, b) => a + b, 0) / Math.max(1, all.length),
    medianCm: median(all),
    p90Cm: quantile(all, 0.9),
    perBlockMeanCm,
  };
  if (hasTarget) {
    const t = perFrame.map((f) => 100 * f[0]);
    out.targetMeanCm = t.reduce((a, b) => a + b, 0) / Math.max(1, t.length);
    out.targetMedianCm = median(t);
  }
  return out;
}

export function formatEvalResult(r: EvalResult): string {
  const lines: string[] = [];
  lines.push(`${r.model}${r.kind === 'expert' ? '' : ` (${r.kind}, trained on ${r.modelScenario})`}${r.perception ? `, blocks seen through ${r.perception}` : ''} on ${r.scenario}, ${r.randomization} randomization${r.looks !== r.randomization ? `, ${r.looks} looks` : ''}${r.executionNoise ? `, actions executed with noise σ ${r.executionNoise}` : ''}, ${r.episodes} episodes (${r.backend}, ${r.workers} worker${r.workers === 1 ? '' : 's'}, ${r.seconds.toFixed(1)} s)`);
  lines.push(`seeds: ${r.seeds.derivation}; ${r.seeds.skippedAsTrainingSeeds} skipped`);
  if (r.success) {
    lines.push(`success: ${formatRate(r.success)}`);
    for (const s of r.stages) lines.push(`  stage "${s.name}" reached in ${formatRate(s.reached)}; held at the end in ${(100 * s.heldAtEnd.rate).toFixed(1)}%`);
    const f = Object.entries(r.failures);
    if (f.length) {
      lines.push('failures:');
      for (const [cause, count] of f) lines.push(`  ${count} × ${cause}`);
    }
    if (r.meanSteps !== null) lines.push(`steps: mean ${r.meanSteps.toFixed(1)}${r.meanStepsSuccess !== null ? `, ${r.meanStepsSuccess.toFixed(1)} in successful episodes` : ''}`);
  }
  if (r.pose) {
    const p = r.pose;
    lines.push(`pose error over ${p.frames} first frames: mean ${p.meanCm.toFixed(2)} cm, median ${p.medianCm.toFixed(2)} cm, 90th percentile ${p.p90Cm.toFixed(2)} cm`);
    lines.push(`  per block (mean cm): ${p.perBlockMeanCm.map((e) => e.toFixed(2)).join(', ')}`);
    if (p.targetMeanCm !== undefined) lines.push(`  target: mean ${p.targetMeanCm.toFixed(2)} cm, median ${p.targetMedianCm?.toFixed(2)} cm`);
  }
  return lines.join('\n');
}
