/**
 * `simreal run`: sim-to-real end to end, the way a new user first meets simreal.
 *
 *   1. demonstrations   scripted expert, training randomization; a third clean, a third each with
 *                       DART noise σ and 2σ
 *   2. ablation data    the same without randomization
 *   3. train            the state BC policy on (1), and the ablation policy on (2)
 *   4. evaluate         BC under training, held-out and no randomization; the ablation on held-out
 *   5. reality          a bridge and an emulated-reality robot; the policy drives it through the bridge
 *   6. report           montage, trajectory, charts → runs/<time>/report.html + summary.json
 *
 * Every stage is cached by a content hash of its inputs and the code (cache.ts): re-running
 * reuses what is done, and a changed scenario or source file reruns only what it affects.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { startBridge } from '../../bridge/hub/server.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { EmulatedRobot } from '../../bridge/robots/emulated/emulated.ts';
import { loadReality } from '../../bridge/robots/emulated/reality.ts';
import { NoGpuAdapterError, openDawn } from '../../sim/gpu/dawn.ts';
import { openLeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import { TabletopEnv, TimeLimit } from '../../sim/env.ts';
import { generate } from '../../sim/generate/generate.ts';
import type { RenderSpec } from '../../sim/generate/job.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { taskSpec } from '../../sim/tasks/index.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { selectBackend } from '../backend.ts';
import type { BackendName } from '../backend.ts';
import { runPolicyOnBridge } from '../bridge-runner.ts';
import { evaluate } from '../eval/evaluate.ts';
import type { EvalResult } from '../eval/evaluate.ts';
import { DEFAULT_EVAL_SEED, evalSeeds } from '../eval/seeds.ts';
import { gitCommit, readModelCard } from '../model-card.ts';
import { loadLayersModel } from '../model-io.ts';
import { histogram, writeReport } from '../report/report.ts';
import type { EpochPoint, RunSummary, StageRecord, SuccessRow, TrajectoryPoint } from '../report/summary.ts';
import { trainBc } from '../train/bc.ts';
import { trainPose } from '../train/pose.ts';
import { readCheckpointState } from '../train/checkpoint.ts';
import type { TrainProgress } from '../train/trainer.ts';
import { StageCache, codeVersion, stageKey } from './cache.ts';

export const STAGES = ['demos', 'ablation-data', 'train', 'train-ablation', 'eval', 'pose', 'reality', 'montage'] as const;
export type StageName = (typeof STAGES)[number];

export interface RunOptions {
  scenarioPath: string;
  realityPath: string;
  /** Folder for this run's report and summary. */
  out: string;
  /** Folder for cached stage outputs, shared between runs. */
  cacheDir: string;
  /** Demonstrations per dataset (a third clean, a third each with DART noise σ and 2σ). */
  episodes: number;
  dartNoise: number;
  /** Training epochs (upper bound; early stopping may end sooner). */
  epochs: number;
  evalEpisodes: number;
  realityEpisodes: number;
  /**
   * The pose estimator (rendered frames → block positions, trained with and without visual
   * randomization, measured on held-out looks): `auto` trains it where the policy backend runs on a
   * GPU, `on` everywhere (slow on CPUs), `off` never.
   */
  pose: 'auto' | 'on' | 'off';
  /** Rendered episodes per pose dataset, and the pose estimator's most epochs. */
  poseEpisodes: number;
  poseEpochs: number;
  workers: number;
  seed: number;
  backend?: BackendName;
  skip: Set<StageName>;
  log: (line: string) => void;
  /** A progress bar for long stages (total, unit) → update/stop. */
  progress: (total: number, unit: string, fields?: Record<string, string>) => { update(value: number, fields?: Record<string, string>): void; stop(): void };
  signal?: AbortSignal;
}

/** Pose estimator input: front camera images of this many pixels square, and frames used per episode. */
const POSE_IMAGE = 128;
const POSE_FRAMES_PER_EPISODE = 8;
/**
 * Under visual randomization the CNN needs far more frames than without: on a CPU, 3,200 and
 * 8,000 randomized stack-2 frames gave no held-out progress (validation error flat at ~12 cm, the
 * training loss falling: textures memorized), while the same net on 3,200 unrandomized frames
 * reached 1.7 cm by epoch 7. So the stage renders 2,000 episodes by default (16,000 frames, meant
 * for a GPU) and waits longer than the default patience.
 */
const POSE_PATIENCE = 12;

/**
 * How the demonstrations split: a third clean, a third with DART noise σ, a third with 2σ (the
 * executed action perturbed, the label clean), so the policy sees its own drift at two scales.
 */
export function demoParts(episodes: number, sigma: number): Array<[label: string, dart: number, count: number]> {
  const a = Math.ceil(episodes / 3), b = Math.ceil((episodes - a) / 2);
  const round = (x: number): number => Math.round(x * 1e6) / 1e6;
  return [['clean', 0, a], [`dart${round(sigma)}`, round(sigma), b], [`dart${round(2 * sigma)}`, round(2 * sigma), episodes - a - b]];
}

/** The numbers the defaults give on a 2-core machine are in README.md; `--episodes`, `--epochs` scale them. */
export const RUN_DEFAULTS = {
  scenario: 'scenarios/stack-2.json',
  reality: 'scenarios/reality/lab.json',
  episodes: 900,
  dartNoise: 0.1,
  epochs: 20,
  evalEpisodes: 200,
  realityEpisodes: 20,
  pose: 'auto' as const,
  poseEpisodes: 2000,
  poseEpochs: 40,
  seed: 0,
};

interface DataResult { dirs: string[]; episodes: number; frames: number; expertSuccess: number }
interface TrainResultLite { dir: string; epochs: EpochPoint[]; samplesPerSec: number; seconds: number; backend: string; device: string }

export async function runPipeline(o: RunOptions): Promise<{ summary: RunSummary; reportPath: string }> {
  const t0 = performance.now();
  const log = o.log;
  const scenario = loadScenario(o.scenarioPath);
  const reality = loadReality(o.realityPath);
  // The reality's physics, network and camera, around this run's task.
  const realityHere = { ...reality, scenario: { ...scenario, randomization: reality.config.physics } };
  const cache = new StageCache(o.cacheDir);
  mkdirSync(o.out, { recursive: true });
  const stages: StageRecord[] = [];
  const notes: string[] = [];
  const scenarioInput = { scenario, reality: reality.config };

  const choice = await selectBackend({ backend: o.backend, model: 'mlp', log: (l) => log(l) });
  const backend = { name: choice.name, device: choice.device };
  choice.dispose();

  function skipped(name: StageName): void {
    stages.push({ name, seconds: 0, cached: false, output: '-', skipped: true });
  }

  async function stage<R>(name: StageName, title: string, inputs: unknown, fn: (dir: string) => Promise<R>): Promise<R | null> {
    const key = stageKey(name, inputs);
    const dir = cache.path(name, key);
    if (o.skip.has(name)) {
      skipped(name);
      log(`· ${title}: skipped`);
      return null;
    }
    const done = cache.done<R>(name, key);
    if (done) {
      stages.push({ name, seconds: 0, cached: true, output: dir });
      log(`· ${title}: reusing ${dir}`);
      return done.result;
    }
    if (o.signal?.aborted) throw new Error('interrupted');
    log(`▶ ${title}`);
    const s0 = performance.now();
    const out = cache.fresh(name, key);
    const result = await fn(out);
    // A stage cut short by Ctrl-C (training returns its best epoch so far) is not a finished stage:
    // it must not be cached as one, so the next run does it again.
    if (o.signal?.aborted) throw new Error('interrupted');
    const seconds = (performance.now() - s0) / 1000;
    cache.finish(name, key, seconds, result);
    stages.push({ name, seconds, cached: false, output: out });
    log(`  done in ${seconds.toFixed(1)} s`);
    return result;
  }

  // Demonstrations and ablation data come in the same parts (seeds baseSeed + part index).
  const parts = demoParts(o.episodes, o.dartNoise);

  async function generateData(dir: string, mode: RandomizationMode, baseSeed: number, dataParts = parts, render?: RenderSpec): Promise<DataResult> {
    const dirs: string[] = [];
    let frames = 0, ok = 0, n = 0;
    for (const [k, [label, dart, count]] of dataParts.entries()) {
      if (count <= 0) continue;
      const out = join(dir, label);
      mkdirSync(out, { recursive: true });
      const seedHere = baseSeed + k;
      const sink = await openLeRobotSink(out, { scenario, scenarioPath: resolve(o.scenarioPath), randomization: mode, baseSeed: seedHere, dartNoise: dart, firstIndex: 0, episodes: count,
        cameras: render ? { names: render.cameras, width: render.width, height: render.height } : undefined }, false);
      const bar = o.progress(count, `episodes (${label}${dart ? `, DART σ=${dart}` : ''})`, { success: '-' });
      let good = 0;
      const r = await generate({
        job: { scenario, randomization: mode, dartNoise: dart, render }, sink, baseSeed: seedHere, first: 0, count, workers: o.workers, signal: o.signal,
        onEpisode: (ep, done) => {
          frames += ep.length;
          if (ep.success) good++;
          bar.update(done, { success: `${((100 * good) / done).toFixed(0)}%` });
        },
      });
      bar.stop();
      await sink.close();
      if (r.stopped) throw new Error('interrupted');
      dirs.push(out);
      ok += good;
      n += r.written;
    }
    return { dirs, episodes: n, frames, expertSuccess: n ? ok / n : 0 };
  }

  async function train(dir: string, data: DataResult): Promise<TrainResultLite> {
    let bar: ReturnType<RunOptions['progress']> | null = null;
    const fmt = (v: number | null): string => (v === null || !Number.isFinite(v) ? '-' : v.toPrecision(4));
    const r = await trainBc({
      datasets: data.dirs, out: dir, epochs: o.epochs, seed: o.seed, backend: o.backend, overwrite: true,
      log: () => {}, signal: o.signal,
      onProgress: (p: TrainProgress) => {
        bar ??= o.progress(p.samplesTotal, 'samples', { epoch: '-', loss: '-', 'val loss': '-' });
        bar.update(p.samplesDone, { epoch: `${p.epoch}/${p.epochs}`, loss: fmt(p.loss), 'val loss': fmt(p.valLoss) });
      },
    });
    (bar as ReturnType<RunOptions['progress']> | null)?.stop();
    const state = readCheckpointState(dir);
    return {
      dir,
      epochs: (state?.history ?? []).map((h) => ({ epoch: h.epoch, loss: h.loss, valLoss: h.valLoss })),
      samplesPerSec: r.card.training.samplesPerSec,
      seconds: r.card.training.seconds,
      backend: r.card.training.backend,
      device: r.card.training.device,
    };
  }

  // 1–2. Data.
  const demos = await stage('demos', `demonstrations: ${o.episodes} expert episodes of ${scenario.id}, training randomization`, { ...scenarioInput, episodes: o.episodes, dart: o.dartNoise, seed: o.seed }, (dir) => generateData(dir, 'train', o.seed));
  const ablationData = await stage('ablation-data', `ablation data: ${o.episodes} episodes without randomization`, { ...scenarioInput, episodes: o.episodes, dart: o.dartNoise, seed: o.seed }, (dir) => generateData(dir, 'none', o.seed + 7919));

  // 3. Training.
  const bc = demos ? await stage('train', `train the state policy (BC with DART data, ${o.epochs} epochs max)`, { demos, epochs: o.epochs, seed: o.seed, backend: o.backend ?? null }, (dir) => train(dir, demos)) : null;
  const ablation = ablationData ? await stage('train-ablation', 'train the ablation policy on non-randomized data', { ablationData, epochs: o.epochs, seed: o.seed, backend: o.backend ?? null }, (dir) => train(dir, ablationData)) : null;

  // 4. Evaluation.
  const success: SuccessRow[] = [];
  type EvalSet = Record<string, EvalResult>;
  const evals = bc || ablation ? await stage('eval', `evaluate in closed loop, ${o.evalEpisodes} seeded episodes per condition`, { bc, ablation, episodes: o.evalEpisodes, scenario }, async () => {
    const out: EvalSet = {};
    const runs: Array<[string, string, RandomizationMode]> = [];
    if (bc) runs.push(['train', bc.dir, 'train'], ['heldout', bc.dir, 'heldout'], ['none', bc.dir, 'none']);
    if (ablation) runs.push(['ablation-heldout', ablation.dir, 'heldout']);
    for (const [key, modelDir, mode] of runs) {
      const bar = o.progress(o.evalEpisodes, `episodes (${key})`, { success: '-' });
      out[key] = await evaluate({
        modelDir, scenario, scenarioLabel: o.scenarioPath, episodes: o.evalEpisodes, randomization: mode, workers: o.workers, backend: o.backend,
        onEpisode: (done, _total, ok) => bar.update(done, { success: `${((100 * ok) / Math.max(done, 1)).toFixed(0)}%` }),
      });
      bar.stop();
      log(`  ${key}: ${(100 * (out[key].success?.rate ?? NaN)).toFixed(1)} %`);
    }
    return out;
  }) : null;
  const label: Record<string, string> = {
    train: 'BC, training randomization',
    heldout: 'BC, held-out randomization',
    none: 'BC, no randomization',
    'ablation-heldout': 'BC trained without randomization, held-out',
  };
  for (const [key, r] of Object.entries(evals ?? {})) {
    if (!r.success) continue;
    success.push({
      key, label: label[key] ?? key, rate: r.success,
      stages: Object.fromEntries(r.stages.map((s) => [s.name, s.reached.rate])),
      causes: r.failures,
    });
  }

  // 4b. Pose estimator: rendered frames under training randomization (and, as its ablation, under
  // none), trained on the policy's backend, measured on held-out looks. Rendering and CNN training
  // want a GPU; on CPUs `auto` leaves it out and says how to run it.
  const gpu = backend.name === 'tfjs-node-gpu' || backend.name === 'webgpu';
  let pose: RunSummary['pose'] = null;
  const blocks = taskSpec(scenario.task).blockCount(scenario.task);
  const renderCheck = blocks > 0 && (o.pose === 'on' || (o.pose === 'auto' && gpu)) ? await canRender() : null;
  if (blocks === 0 && o.pose !== 'off') {
    skipped('pose');
    notes.push(`No pose estimator: ${scenario.id} has no blocks to locate.`);
  } else if (renderCheck !== null && renderCheck !== true) {
    skipped('pose');
    notes.push(`No pose estimator: it learns from rendered frames and ${renderCheck}`);
    log(`· pose estimator: left out (${renderCheck})`);
  } else if (renderCheck === true) {
    pose = await stage('pose', `pose estimator: ${o.poseEpisodes} rendered episodes per look, ${o.poseEpochs} epochs max, held-out error`, { ...scenarioInput, episodes: o.poseEpisodes, epochs: o.poseEpochs, seed: o.seed, backend: o.backend ?? null, size: POSE_IMAGE }, async (dir) => {
      const render: RenderSpec = { cameras: ['front'], width: POSE_IMAGE, height: POSE_IMAGE };
      const errors: Record<string, { meanCm: number; medianCm: number; frames: number }> = {};
      for (const [k, mode] of (['train', 'none'] as const).entries()) {
        const data = await generateData(join(dir, `data-${mode}`), mode, o.seed + 104_729 + k, [['frames', 0, o.poseEpisodes]], render);
        const modelDir = join(dir, `model-${mode}`);
        let bar: ReturnType<RunOptions['progress']> | null = null;
        await trainPose({
          datasets: data.dirs, out: modelDir, epochs: o.poseEpochs, seed: o.seed, backend: o.backend, overwrite: true, framesPerEpisode: POSE_FRAMES_PER_EPISODE, patience: POSE_PATIENCE,
          log: () => {}, signal: o.signal,
          onProgress: (p: TrainProgress) => {
            bar ??= o.progress(p.samplesTotal, `frames (pose, ${mode === 'train' ? 'randomized' : 'no randomization'})`, { epoch: '-' });
            bar.update(p.samplesDone, { epoch: `${p.epoch}/${p.epochs}` });
          },
        });
        (bar as ReturnType<RunOptions['progress']> | null)?.stop();
        if (o.signal?.aborted) throw new Error('interrupted');
        const r = await evaluate({ modelDir, scenario, scenarioLabel: o.scenarioPath, episodes: o.evalEpisodes, randomization: 'heldout', workers: o.workers, backend: o.backend });
        if (!r.pose) throw new Error(`the pose evaluation of ${modelDir} returned no pose errors`);
        errors[mode] = { meanCm: r.pose.meanCm, medianCm: r.pose.medianCm, frames: r.pose.frames };
        log(`  pose error on held-out looks (${mode === 'train' ? 'randomized training' : 'trained without randomization'}): mean ${r.pose.meanCm.toFixed(2)} cm`);
      }
      return { meanCm: errors.train.meanCm, medianCm: errors.train.medianCm, ablationMeanCm: errors.none.meanCm, frames: errors.train.frames };
    });
  } else if (o.pose === 'auto') {
    skipped('pose');
    notes.push(`No pose estimator: the policy backend (${backend.name}, ${backend.device}) is not a GPU. Train it anyway with --pose on, or by hand: npx simreal generate ${o.scenarioPath} --episodes ${o.poseEpisodes} --render ${POSE_IMAGE} --out data/pose && npx simreal train pose data/pose --frames-per-episode ${POSE_FRAMES_PER_EPISODE} --out models/pose && npx simreal eval models/pose ${o.scenarioPath} --randomization heldout`);
    log('· pose estimator: left out (no GPU backend; --pose on trains it anyway)');
  }

  // 5. Reality through the bridge.
  const realityResult = bc ? await stage('reality', `drive the emulated robot (${reality.config.id}) through the bridge, ${o.realityEpisodes} episodes`, { bc, reality: reality.config, episodes: o.realityEpisodes }, async () => {
    const token = randomBytes(24).toString('hex');
    const bridge = await startBridge({ port: 0, host: '127.0.0.1', token });
    const robot = new EmulatedRobot(realityHere);
    const client = new RobotClient({ url: bridge.url, token: bridge.robotToken('emu-1'), id: 'emu-1', robot, model: `emulated:${reality.config.id}` });
    try {
      await client.start();
      await client.waitRegistered(10_000);
      const bar = o.progress(o.realityEpisodes, 'episodes (emulated reality)', { success: '-' });
      let ok = 0;
      const r = await runPolicyOnBridge({
        modelDir: bc.dir, url: bridge.url, token, robot: 'emu-1', episodes: o.realityEpisodes, backend: o.backend,
        onEpisode: (e, n) => {
          if (e.success) ok++;
          bar.update(n, { success: `${((100 * ok) / n).toFixed(0)}%` });
        },
      });
      bar.stop();
      return r;
    } finally {
      await client.stop();
      await bridge.close();
    }
  }) : null;
  if (realityResult) success.push({ key: 'reality', label: `BC on the emulated robot (${reality.config.id}) through the bridge`, rate: realityResult.success });

  // 6. Montage of randomized frames (needs a WebGPU adapter).
  const montage = await stage('montage', 'render a montage of randomized training frames', { scenario, seed: o.seed }, async (dir) => {
    try {
      const { renderPreview } = await import('../../sim/render/preview.ts');
      const p = await renderPreview({ scenario, seed: o.seed, n: 16, size: 96, cameras: ['front', 'wrist'] });
      writeFileSync(join(dir, 'montage.png'), p.png);
      return { file: join(dir, 'montage.png'), adapter: p.adapter };
    } catch (err) {
      return { file: null, adapter: null, error: (err as Error).message };
    }
  });
  let montageName: string | null = null;
  if (montage?.file) {
    montageName = 'montage.png';
    copyFileSync(montage.file, join(o.out, montageName));
  } else if (montage && 'error' in montage) notes.push(`No montage: ${montage.error}`);

  // A top-down trajectory of one held-out episode driven by the policy.
  const trajectory = bc ? await recordTrajectory(bc.dir, scenario, o.backend) : null;

  const rt = realityResult ? [...realityResult.roundTripMs].sort((a, b) => a - b) : [];
  const q = (p: number): number => (rt.length ? rt[Math.min(rt.length - 1, Math.floor(p * rt.length))] : NaN);
  const trainingRows = [bc && { model: 'BC (randomized data)', ...bc }, ablation && { model: 'BC (no randomization)', ...ablation }]
    .filter((x): x is TrainResultLite & { model: string } => !!x)
    .map((t) => ({ model: t.model, epochs: t.epochs, samplesPerSec: t.samplesPerSec, seconds: t.seconds }));
  const sp = o.scenarioPath;
  const summary: RunSummary = {
    format: 'simreal-run-summary',
    version: 1,
    scenario: { id: scenario.id, path: o.scenarioPath, task: scenario.task.id },
    reality: { id: reality.config.id, path: o.realityPath },
    created: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
    codeVersion: codeVersion(),
    gitCommit: gitCommit(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version },
    backend: bc ? { name: bc.backend, device: bc.device } : backend,
    stages,
    success,
    training: trainingRows,
    pose,
    bridge: realityResult ? {
      commands: realityResult.commands,
      clamped: realityResult.clamped,
      clampReasons: realityResult.clampReasons ?? {},
      roundTripMs: { p50: q(0.5), p99: q(0.99), max: rt[rt.length - 1] ?? NaN },
      histogram: histogram(realityResult.roundTripMs),
    } : null,
    montage: montageName,
    trajectory,
    commands: [
      ...parts.map(([label, dart, count], k) => `npx simreal generate ${sp} --episodes ${count} --seed ${o.seed + k}${dart ? ` --dart-noise ${dart}` : ''} --out data/demos-${label}`),
      ...parts.map(([label, dart, count], k) => `npx simreal generate ${sp} --episodes ${count} --seed ${o.seed + 7919 + k} --randomization none${dart ? ` --dart-noise ${dart}` : ''} --out data/none-${label}`),
      `npx simreal train bc ${parts.map(([l]) => `data/demos-${l}`).join(' ')} --epochs ${o.epochs} --seed ${o.seed} --out models/bc`,
      `npx simreal train bc ${parts.map(([l]) => `data/none-${l}`).join(' ')} --epochs ${o.epochs} --seed ${o.seed} --out models/bc-none`,
      ...(['train', 'heldout', 'none'] as const).map((m) => `npx simreal eval models/bc ${sp} --episodes ${o.evalEpisodes} --randomization ${m}`),
      `npx simreal eval models/bc-none ${sp} --episodes ${o.evalEpisodes} --randomization heldout`,
      'npx simreal bridge --port 8765 --token-file ~/.config/simreal/token &',
      `npx simreal robot emulate --bridge ws://localhost:8765 --reality ${o.realityPath} &`,
      `npx simreal policy run models/bc --bridge ws://localhost:8765 --robot emu-1 --episodes ${o.realityEpisodes}`,
      `npx simreal render preview ${sp} --seed ${o.seed} --n 16 --out montage.png`,
    ],
    notes,
  };
  if (o.skip.size) notes.push(`Skipped stages: ${[...o.skip].join(', ')}.`);
  writeFileSync(join(o.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const reportPath = writeReport(o.out, summary);
  return { summary, reportPath };
}

/** True when a WebGPU adapter renders here, else what is missing and how to install it. */
async function canRender(): Promise<true | string> {
  try {
    const dawn = await openDawn();
    dawn.release();
    return true;
  } catch (err) {
    if (err instanceof NoGpuAdapterError) return err.message;
    throw err;
  }
}

/** Runs one held-out evaluation episode with the BC model and records positions each step. */
async function recordTrajectory(modelDir: string, scenario: Scenario, backend?: BackendName): Promise<RunSummary['trajectory']> {
  const choice = await selectBackend({ backend, model: 'mlp' });
  const tf = choice.tf;
  let model: LayersModel | null = null;
  try {
    model = await loadLayersModel(tf, modelDir);
    const card = readModelCard(modelDir);
    const seed = evalSeeds(1, DEFAULT_EVAL_SEED, card.dataset.seeds).seeds[0];
    const env = new TimeLimit(new TabletopEnv(scenario, { randomization: 'heldout' }));
    let { obs } = env.reset({ seed });
    const points: TrajectoryPoint[] = [];
    const S = obs.length;
    let success = false;
    for (;;) {
      const scene = env.env.scene;
      points.push({ t: scene.time, tcp: env.env.tcp(), blocks: scene.blocks.map((b) => [b.position.x, b.position.y, b.position.z]) });
      const net = model;
      const a = tf.tidy(() => Array.from((net.predict(tf.tensor2d(obs, [1, S])) as Tensor).dataSync()));
      const r = env.step(a);
      obs = r.obs;
      if (r.terminated || r.truncated) {
        success = r.info.success;
        break;
      }
    }
    return { label: 'BC policy, held-out randomization', seed, success, points };
  } finally {
    model?.dispose();
    choice.dispose();
  }
}
