/**
 * The stages of `simreal run`, as a table the runner (pipeline.ts), the cache (cache.ts) and the
 * report (summary.json) all read. A stage says:
 *
 * - `title`: what it does, as the log shows it when it starts, is reused or skipped;
 * - `inputs`: what its cache key hashes, besides its name and the code version (cache.ts); a
 *   stage that reads another's result hashes that result, so a rerun upstream reruns it;
 * - `gate`: whether it takes part in this run at all (`absent`: a stage it needs did not run, and
 *   it is left out of the table; a `skip` note: reported as skipped, with the reason in the notes);
 * - `run`: the work, into a fresh cache folder;
 * - `report`: what its result adds to the summary (success rows, training curves, bridge timing…).
 *
 * `--skip <stage>` skips a stage that would run; what needs its result is then absent.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startBridge } from '../../bridge/hub/server.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { OBSERVATIONS_PER_STEP_WITH_CAMERA, calibrationPath, openEmulatedCamera } from '../../bridge/robots/emulated/camera.ts';
import type { EmulatedCamera } from '../../bridge/robots/emulated/camera.ts';
import { EmulatedRobot } from '../../bridge/robots/emulated/emulated.ts';
import type { Reality } from '../../bridge/robots/emulated/reality.ts';
import { evaluate } from '../../policy/eval/evaluate.ts';
import type { EvalResult } from '../../policy/eval/evaluate.ts';
import { sweep } from '../../policy/eval/sweep.ts';
import type { SweepResult } from '../../policy/eval/sweep.ts';
import { SWEEP_PARAMETERS } from '../../sim/robustness.ts';
import { trainBc } from '../../policy/train/bc.ts';
import { readCheckpointState } from '../../policy/train/checkpoint.ts';
import { trainInWorker } from '../../policy/train/in-worker.ts';
import { trainPoseStream } from '../../policy/train/pose-stream.ts';
import { evaluatePoseFrames } from '../../policy/eval/pose-frames.ts';
import type { TrainProgress } from '../../policy/train/trainer.ts';
import { openLeRobotSink } from '../../sim/dataset/lerobot-sink.ts';
import { generate } from '../../sim/generate/generate.ts';
import { RENDER_PACKAGES, probeWebGpuAdapter } from '../../sim/gpu/probe.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { taskSpec } from '../../sim/tasks/index.ts';
import { histogram } from '../report/report.ts';
import type { EpochPoint, RunSummary, SuccessRow } from '../report/summary.ts';
import { spread } from '../bridge-run.ts';
import { cameraFramesPng } from '../report/camera-frames.ts';
import { blockName } from '../../policy/perception/identity.ts';
import type { CameraFrameView, DrawnBlock } from '../report/camera-frames.ts';
import type { Vec3 } from '../../sim/state.ts';
import { runPerceptionOnBridge } from '../perception-on-bridge.ts';
import { driveInWorker } from './reality-thread.ts';
import type { BridgeRunResult } from '../policy-on-bridge.ts';
import type { ProgressFactory, RunOptions, StageName } from './options.ts';
import type { demoParts } from './options.ts';


export interface DataResult { dirs: string[]; episodes: number; frames: number; expertSuccess: number }
export interface TrainResultLite { dir: string; epochs: EpochPoint[]; samplesPerSec: number; seconds: number; backend: string; device: string }
export type MontageResult = { file: string; adapter: string } | { file: null; adapter: null; error: string };

/** What each stage returns (and the cache keeps in its marker). */
export interface StageResults {
  demos: DataResult;
  'ablation-data': DataResult;
  train: TrainResultLite;
  'train-ablation': TrainResultLite;
  eval: Record<string, EvalResult>;
  sweep: SweepResult;
  /** The estimator's errors, and where the randomized model (the one the camera run uses) lies. */
  pose: NonNullable<RunSummary['pose']> & { modelDir: string };
  reality: BridgeRunResult;
  /** With `cameraFrames`: a PNG of a few frames the policy acted on, estimates and truth drawn (null: none seen). */
  'reality-camera': BridgeRunResult & { cameraFrames: string | null };
  montage: MontageResult;
}

/** What the stages of one run share. */
export interface RunContext {
  o: RunOptions;
  scenario: Scenario;
  reality: Reality;
  /** The reality's physics, network and camera, around this run's task. */
  realityHere: Reality;
  /** Scenario and reality: what every data stage's key hashes. */
  scenarioInput: { scenario: Scenario; reality: Reality['config'] };
  /** Demonstrations and ablation data come in the same parts (seeds baseSeed + part index). */
  parts: ReturnType<typeof demoParts>;
  /** The policy backend of this run (the pose stage asks whether it is a GPU). */
  backend: { name: string; device: string };
  /** Whether BC trainings run in worker threads (CPU backends on several cores), so two can run side by side. */
  trainInWorkers: boolean;
  /** Whether a WebGPU adapter opens here (true) or what rendering needs (asked once per run, when a stage wants to know). */
  rendering?: Promise<true | string>;
  /** The result of every stage so far; null where a stage was skipped or absent. */
  results: { [K in StageName]?: StageResults[K] | null };
}

/** What the stages add to the summary, besides the stage table. */
export interface RunReport {
  success: SuccessRow[];
  training: RunSummary['training'];
  pose: RunSummary['pose'];
  sweep: RunSummary['sweep'];
  bridge: RunSummary['bridge'];
  perception: RunSummary['perception'];
  montage: string | null;
  cameraFrames: string | null;
  notes: string[];
}

/** Whether a stage takes part: it runs, it is left out (what it needs did not run), or it is reported as skipped and why. */
export type Gate = 'run' | 'absent' | { skip: string; log?: string };

export interface Stage<K extends StageName> {
  name: K;
  title(c: RunContext): string;
  inputs(c: RunContext): unknown;
  gate?(c: RunContext): Gate | Promise<Gate>;
  run(c: RunContext, dir: string): Promise<StageResults[K]>;
  report?(c: RunContext, result: StageResults[K], r: RunReport): void;
}

/** Stage `name`'s result in this run, or null. */
export function resultOf<K extends StageName>(c: RunContext, name: K): StageResults[K] | null {
  return c.results[name] ?? null;
}

/** Generates `dataParts` (label, DART σ, count) into `dir`/<label>, as LeRobot datasets. */
async function generateData(c: RunContext, dir: string, mode: RandomizationMode, baseSeed: number, dataParts = c.parts): Promise<DataResult> {
  const { o, scenario } = c;
  const dirs: string[] = [];
  let frames = 0, ok = 0, n = 0;
  for (const [k, [label, dart, count]] of dataParts.entries()) {
    if (count <= 0) continue;
    const out = join(dir, label);
    mkdirSync(out, { recursive: true });
    const seedHere = baseSeed + k;
    const sink = await openLeRobotSink(out, { scenario, scenarioPath: resolve(o.scenarioPath), randomization: mode, baseSeed: seedHere, dartNoise: dart, firstIndex: 0, episodes: count }, false);
    const bar = o.progress(count, `episodes (${label}${dart ? `, DART σ=${dart}` : ''})`, { success: '-' });
    let good = 0;
    const r = await generate({
      job: { scenario, randomization: mode, dartNoise: dart }, sink, baseSeed: seedHere, first: 0, count, workers: o.workers, signal: o.signal,
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

/**
 * Trains the state BC policy on `data` into `dir`, with a progress bar labelled `what`: in a worker
 * thread when `inWorker` (the same result, bit for bit, as in this thread).
 */
async function trainPolicy(o: RunOptions, dir: string, data: DataResult, what: string, inWorker: boolean): Promise<TrainResultLite> {
  let bar: ReturnType<ProgressFactory> | null = null;
  const fmt = (v: number | null): string => (v === null || !Number.isFinite(v) ? '-' : v.toPrecision(4));
  const options = {
    datasets: data.dirs, out: dir, epochs: o.epochs, hidden: o.hidden, seed: o.seed, backend: o.backend, overwrite: true,
    log: () => {}, signal: o.signal,
    onProgress: (p: TrainProgress) => {
      bar ??= o.progress(p.samplesTotal, `samples (${what})`, { epoch: '-', loss: '-', 'val loss': '-' });
      bar.update(p.samplesDone, { epoch: `${p.epoch}/${p.epochs}`, loss: fmt(p.loss), 'val loss': fmt(p.valLoss) });
    },
  };
  const r = inWorker ? await trainInWorker('bc', options) : await trainBc(options);
  (bar as ReturnType<ProgressFactory> | null)?.stop();
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

/**
 * True when a WebGPU adapter opens here, else what rendering needs ("… needs <this>") and how to
 * install it. Asked of a child process (sim/gpu/probe.ts), so Dawn's own warnings stay out of the
 * terminal; once per run.
 */
function canRender(c: RunContext): Promise<true | string> {
  c.rendering ??= probeWebGpuAdapter().then((r) => {
    if (r.ok) return true;
    const dawn = r.dawnLog.split('\n').find((l) => l.startsWith('Warning: '))?.slice('Warning: '.length);
    return `a WebGPU adapter, and none opened here${dawn ? ` (Dawn: ${dawn})` : ''}; on a CPU-only machine install ${RENDER_PACKAGES} with \`npm run setup:system\` (as root; README.md, "System packages")`;
  });
  return c.rendering;
}

const EVAL_LABELS: Record<string, string> = {
  train: 'BC, training randomization',
  heldout: 'BC, held-out randomization',
  none: 'BC, no randomization',
  'ablation-heldout': 'BC trained without randomization, held-out',
};

const demos: Stage<'demos'> = {
  name: 'demos',
  title: ({ o, scenario }) => `demonstrations: ${o.episodes} expert episodes of ${scenario.id}, training randomization`,
  inputs: ({ o, scenarioInput }) => ({ ...scenarioInput, episodes: o.episodes, dart: o.dartNoise, seed: o.seed }),
  run: (c, dir) => generateData(c, dir, 'train', c.o.seed),
};

const ablationData: Stage<'ablation-data'> = {
  name: 'ablation-data',
  title: ({ o }) => `ablation data: ${o.episodes} episodes without randomization`,
  inputs: ({ o, scenarioInput }) => ({ ...scenarioInput, episodes: o.episodes, dart: o.dartNoise, seed: o.seed }),
  run: (c, dir) => generateData(c, dir, 'none', c.o.seed + 7919),
};

/**
 * A BC training stage on the data of `data` (its key hashes that result under `dataKey`), whose
 * training curve the report shows as `model`.
 */
function trainStage<K extends 'train' | 'train-ablation'>(name: K, data: 'demos' | 'ablation-data', dataKey: string, model: string, what: string, title: (c: RunContext) => string): Stage<K> {
  return {
    name,
    title,
    gate: (c) => (resultOf(c, data) ? 'run' : 'absent'),
    inputs: (c) => ({ [dataKey]: resultOf(c, data), epochs: c.o.epochs, hidden: c.o.hidden ?? null, seed: c.o.seed, backend: c.o.backend ?? null }),
    run: (c, dir) => trainPolicy(c.o, dir, resultOf(c, data) as DataResult, what, c.trainInWorkers),
    report: (_c, t, r) => void r.training.push({ model, epochs: t.epochs, samplesPerSec: t.samplesPerSec, seconds: t.seconds }),
  };
}

const train = trainStage('train', 'demos', 'demos', 'BC (randomized data)', 'policy', ({ o }) => `train the state policy (BC with DART data, ${o.epochs} epochs max)`);
const trainAblation = trainStage('train-ablation', 'ablation-data', 'ablationData', 'BC (no randomization)', 'ablation', () => 'train the ablation policy on non-randomized data');

const evalStage: Stage<'eval'> = {
  name: 'eval',
  title: ({ o }) => `evaluate in closed loop, ${o.evalEpisodes} seeded episodes per condition`,
  gate: (c) => (resultOf(c, 'train') || resultOf(c, 'train-ablation') ? 'run' : 'absent'),
  inputs: (c) => ({ bc: resultOf(c, 'train'), ablation: resultOf(c, 'train-ablation'), episodes: c.o.evalEpisodes, scenario: c.scenario }),
  async run(c) {
    const { o, scenario } = c;
    const bc = resultOf(c, 'train'), ablation = resultOf(c, 'train-ablation');
    const out: Record<string, EvalResult> = {};
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
      o.log(`  ${key}: ${(100 * (out[key].success?.rate ?? NaN)).toFixed(1)} %`);
    }
    return out;
  },
  report(_c, evals, r) {
    for (const [key, e] of Object.entries(evals)) {
      if (!e.success) continue;
      r.success.push({
        key, label: EVAL_LABELS[key] ?? key, rate: e.success,
        stages: Object.fromEntries(e.stages.map((s) => [s.name, s.reached.rate])),
        causes: e.failures,
      });
    }
  },
};

/** Where it breaks: the state policy swept along every physics parameter, the others nominal. */
const sweepStage: Stage<'sweep'> = {
  name: 'sweep',
  title: ({ o }) => `where it breaks: every physics parameter at ${o.sweepPoints} values, ${o.sweepEpisodes} episodes each`,
  gate: (c) => (resultOf(c, 'train') ? 'run' : 'absent'),
  inputs: (c) => ({ bc: resultOf(c, 'train'), points: c.o.sweepPoints, episodes: c.o.sweepEpisodes, scenario: c.scenario }),
  async run(c) {
    const { o, scenario } = c;
    const bc = resultOf(c, 'train') as TrainResultLite;
    let bar: ReturnType<ProgressFactory> | null = null;
    const r = await sweep({
      modelDir: bc.dir, scenario, scenarioLabel: o.scenarioPath, parameters: [...SWEEP_PARAMETERS], points: o.sweepPoints, episodes: o.sweepEpisodes,
      workers: o.workers, backend: o.backend,
      onEpisode: (done, total) => {
        bar ??= o.progress(total, 'episodes (sweep)');
        bar.update(done);
      },
    });
    (bar as ReturnType<ProgressFactory> | null)?.stop();
    return r;
  },
  report: (_c, result, r) => {
    r.sweep = result;
  },
};

/** The pose estimator's budget in this run (RunOptions.perception): frames, and whether its ablation trains. */
export function poseBudget(c: Pick<RunContext, 'o' | 'backend'>): { budget: 'short' | 'full'; frames: number; looks: Array<'train' | 'none'> } {
  const gpu = c.backend.name === 'tfjs-node-gpu' || c.backend.name === 'webgpu';
  const budget = (c.o.perception ?? 'auto') === 'auto' ? (gpu ? 'full' : 'short') : (c.o.perception as 'short' | 'full');
  return budget === 'full'
    ? { budget, frames: c.o.poseFrames, looks: ['train', 'none'] }
    : { budget, frames: c.o.poseFramesShort ?? c.o.poseFrames, looks: ['train'] };
}

/**
 * Pose estimator: trained straight from the renderer (policy/train/pose-stream.ts) on freshly
 * randomized frames and measured on frames of held-out looks and physics
 * (policy/eval/pose-frames.ts). At `--perception full` (the default on a GPU) its ablation trains
 * on frames of the nominal look with the same budget; at `short` (the default on a CPU, where
 * rendering and training share two cores) it trains on few frames and leaves the ablation out,
 * saying so. Without a WebGPU adapter to render with, it is left out, naming the packages.
 */
const pose: Stage<'pose'> = {
  name: 'pose',
  title: (c) => {
    const b = poseBudget(c);
    return `pose estimator (--perception ${b.budget}): ${b.frames} freshly rendered frames${b.looks.length > 1 ? ' (and as many for its ablation)' : ''}, held-out error`;
  },
  async gate(c) {
    const { o, scenario } = c;
    if (o.pose === 'off') return 'absent';
    const blocks = taskSpec(scenario.task).blockCount(scenario.task);
    if (blocks === 0) return { skip: `No pose estimator: ${scenario.id} has no blocks to locate.` };
    if (o.skip.has('pose')) return 'run';
    const why = await canRender(c);
    if (why !== true) return { skip: `No pose estimator: it learns from rendered frames, which need ${why}`, log: `· pose estimator: left out; it learns from rendered frames, which need ${why}` };
    return 'run';
  },
  inputs: (c) => {
    const b = poseBudget(c);
    return { ...c.scenarioInput, frames: b.frames, looks: b.looks, seed: c.o.seed, backend: c.o.backend ?? null };
  },
  async run(c, dir) {
    const { o, scenario } = c;
    const b = poseBudget(c);
    const errors: Record<string, { meanCm: number; medianCm: number; frames: number }> = {};
    for (const looks of b.looks) {
      const modelDir = join(dir, `model-${looks}`);
      let bar: ReturnType<ProgressFactory> | null = null;
      await trainPoseStream({
        scenario, scenarioPath: o.scenarioPath, out: modelDir, frames: b.frames, looks, seed: o.seed, backend: o.backend, overwrite: true,
        evalEvery: Math.max(16, Math.ceil(b.frames / 8)),
        log: () => {}, signal: o.signal,
        onProgress: (p) => {
          bar ??= o.progress(p.framesTotal, `frames (pose, ${looks === 'train' ? 'randomized' : 'no randomization'})`, { 'held-out': '-' });
          bar.update(p.frames, { 'held-out': p.last ? `${p.last.meanCm.toFixed(1)} cm` : '-' });
        },
      });
      (bar as ReturnType<ProgressFactory> | null)?.stop();
      if (o.signal?.aborted) throw new Error('interrupted');
      const r = await evaluatePoseFrames({ modelDir, scenario, scenarioLabel: o.scenarioPath, frames: o.evalEpisodes, looks: 'heldout', physics: 'heldout', backend: o.backend });
      errors[looks] = { meanCm: r.all.meanCm.value, medianCm: r.all.medianCm.value, frames: r.frames };
      o.log(`  pose error on held-out looks (${looks === 'train' ? 'randomized training' : 'trained without randomization'}): mean ${r.all.meanCm.value.toFixed(2)} cm`);
    }
    return { meanCm: errors.train.meanCm, medianCm: errors.train.medianCm, ablationMeanCm: errors.none?.meanCm ?? null, frames: errors.train.frames, modelDir: join(dir, 'model-train') };
  },
  report: (c, { modelDir: _dir, ...errors }, r) => {
    r.pose = errors;
    const b = poseBudget(c);
    if (b.budget === 'short') {
      r.notes.push(
        `Pose estimator: a short training (--perception short, the default without a GPU backend): ${b.frames} frames and no ablation, far from what the full budget reaches; ` +
          `--perception full trains ${c.o.poseFrames} frames and its ablation without randomization (hours on a CPU, minutes on a GPU: npx simreal train pose ${c.o.scenarioPath} --frames ${c.o.poseFrames} --out models/pose).`,
      );
    }
  },
};

/** A bridge and an emulated-reality robot on this machine; the BC policy drives the robot through the bridge. */
const reality: Stage<'reality'> = {
  name: 'reality',
  title: ({ o, reality: re }) => `drive the emulated robot (${re.config.id}) through the bridge, ${o.realityEpisodes} episodes`,
  gate: (c) => (resultOf(c, 'train') ? 'run' : 'absent'),
  inputs: (c) => ({ bc: resultOf(c, 'train'), reality: c.reality.config, episodes: c.o.realityEpisodes }),
  async run(c) {
    const { o } = c;
    const bc = resultOf(c, 'train') as TrainResultLite;
    const bar = o.progress(o.realityEpisodes, 'episodes (emulated reality)', { success: '-' });
    let ok = 0;
    try {
      // Its own thread: it runs in real time beside the evaluations and the pose training (CONCURRENT).
      return await driveInWorker({ reality: c.realityHere, modelDir: bc.dir, episodes: o.realityEpisodes, backend: o.backend }, {
        signal: o.signal,
        onEpisode: (success, n) => {
          if (success) ok++;
          bar.update(n, { success: `${((100 * ok) / n).toFixed(0)}%` });
        },
      });
    } finally {
      bar.stop();
    }
  },
  report(c, result, r) {
    r.success.push({ key: 'reality', label: `BC on the emulated robot (${c.reality.config.id}) through the bridge`, rate: result.success });
    const rt = spread(result.roundTripMs);
    r.bridge = {
      commands: result.commands,
      clamped: result.clamped,
      clampReasons: result.clampReasons ?? {},
      roundTripMs: { p50: rt.p50, p99: rt.p99, max: rt.max },
      histogram: histogram(result.roundTripMs),
    };
  },
};

/**
 * The emulated robot of the `reality` stage again, now with its camera (the reality's own look,
 * from its held-out ranges, and its deliberately imperfect calibration): the BC policy sees the
 * blocks only through that camera and the pose estimator the `pose` stage trained
 * (workflows/perception-on-bridge.ts), the arm's own state from the robot. Without an estimator
 * (the pose stage left out or skipped) it is reported as skipped, saying how to get one.
 */
const realityCamera: Stage<'reality-camera'> = {
  name: 'reality-camera',
  title: ({ o, reality: re }) => `drive the emulated robot (${re.config.id}) through its camera and the pose estimator, ${o.cameraEpisodes} episodes`,
  async gate(c) {
    const { o, reality: re } = c;
    if (!resultOf(c, 'train')) return 'absent';
    if (!re.config.camera) {
      return {
        skip: `No run through the camera: the reality ${re.config.id} (${o.realityPath}) has no camera block (scenarios/reality/lab.json has one).`,
        log: `· BC through the camera: left out; the reality ${re.config.id} has no camera`,
      };
    }
    if (!resultOf(c, 'pose')) {
      return {
        skip: `No run through the camera: the policy sees the blocks through the pose estimator, and this run trained none${o.skip.has('pose') ? ' (--skip pose)' : o.pose === 'off' ? ' (--pose off)' : ' (the pose estimator\'s note says why)'}. ` +
          `Train it in the run with --pose on, or by hand: npx simreal train pose ${o.scenarioPath} --out models/pose, then npx simreal policy run models/bc --perception models/pose --bridge ws://localhost:8765 --robot emu-1 --episodes ${o.cameraEpisodes} (with npx simreal robot emulate --reality ${o.realityPath} on that bridge)`,
        log: '· BC through the camera: left out (no pose estimator; --pose on trains one)',
      };
    }
    if (o.skip.has('reality-camera')) return 'run';
    const why = await canRender(c);
    return why === true ? 'run' : { skip: `No run through the camera: the emulated robot's camera needs ${why}`, log: `· BC through the camera: left out; the emulated robot's camera needs ${why}` };
  },
  inputs: (c) => ({
    bc: resultOf(c, 'train'), pose: resultOf(c, 'pose'), reality: c.reality.config, episodes: c.o.cameraEpisodes,
    // The calibration the robot publishes lives in its own file, beside the reality.
    calibration: c.reality.config.camera ? readFileSync(calibrationPath(c.reality), 'utf8') : null,
  }),
  async run(c, dir) {
    const { o } = c;
    const bc = resultOf(c, 'train') as TrainResultLite;
    const pose = resultOf(c, 'pose') as StageResults['pose'];
    const seen = new Map<number, CameraFrameView>();
    const controlHz = c.realityHere.scenario.control.rateHz;
    const token = randomBytes(24).toString('hex');
    const bridge = await startBridge({ port: 0, host: '127.0.0.1', token });
    let camera: EmulatedCamera | null = null;
    let client: RobotClient | null = null;
    try {
      camera = await openEmulatedCamera(c.realityHere, controlHz, o.log);
      // The gate saw an adapter open; one that does not open now is a fault, not a skip.
      if (!camera) throw new Error(`the emulated robot's camera did not open (no WebGPU adapter), though one opened earlier in this run`);
      const cam = camera;
      const robot = new EmulatedRobot(c.realityHere, { camera: cam });
      const cl = new RobotClient({
        url: bridge.url, token: bridge.robotToken('emu-1'), id: 'emu-1', robot, model: `emulated:${c.reality.config.id}`,
        observationHz: controlHz * OBSERVATIONS_PER_STEP_WITH_CAMERA,
      });
      client = cl;
      cam.onFrame((rgb, t) => cl.sendFrame(cam.key, rgb, t));
      await cl.start();
      await cl.waitRegistered(10_000);
      const bar = o.progress(o.cameraEpisodes, 'episodes (emulated reality, through its camera)', { success: '-' });
      let ok = 0;
      const truthOf = blockTruth(c.realityHere, robot);
      const r = await runPerceptionOnBridge({
        modelDir: bc.dir, perceptionDir: pose.modelDir, url: bridge.url, token, robot: 'emu-1', episodes: o.cameraEpisodes, backend: o.backend,
        // The report's frames: one per episode of the first few, once the arm is on its way.
        onSeen: (f) => {
          if (f.episode >= CAMERA_FRAMES || f.step < CAMERA_FRAME_STEP || seen.has(f.episode)) return;
          seen.set(f.episode, { rgb: Uint8Array.from(f.rgb), calibration: f.calibration, estimates: f.blocks, truth: truthOf(f.obs), label: `episode ${f.episode + 1}, step ${f.step}` });
        },
        onEpisode: (e, n) => {
          if (e.success) ok++;
          bar.update(n, { success: `${((100 * ok) / n).toFixed(0)}%` });
        },
      });
      bar.stop();
      const p = r.perception;
      if (p) {
        const lat = spread(p.cameraToActionMs);
        o.log(`  camera to action p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms; ${p.staleSteps} of ${p.steps} steps stale; camera: ${cam.stats.rendered} frames drawn, ${cam.stats.skipped} skipped while one was drawing`);
      }
      const frames = [...seen.keys()].sort((a, b) => a - b).map((k) => seen.get(k)!);
      const file = frames.length ? join(dir, 'camera-frames.png') : null;
      if (file) writeFileSync(file, cameraFramesPng(frames));
      return { ...r, cameraFrames: file };
    } finally {
      try {
        await client?.stop();
      } finally {
        try {
          await camera?.close();
        } finally {
          await bridge.close();
        }
      }
    }
  },
  report(c, result, r) {
    r.success.push({ key: 'reality-camera', label: `BC through the camera and the pose estimator on the emulated robot (${c.reality.config.id})`, rate: result.success });
    if (result.cameraFrames) {
      r.cameraFrames = 'camera-frames.png';
      copyFileSync(result.cameraFrames, join(c.o.out, r.cameraFrames));
    }
    const p = result.perception;
    if (!p) return;
    const lat = spread(p.cameraToActionMs), est = spread(p.estimateMs);
    r.perception = {
      camera: p.camera,
      calibration: p.calibration,
      commands: result.commands,
      cameraToActionMs: { p50: lat.p50, p99: lat.p99, max: lat.max },
      estimateMs: { p50: est.p50, p99: est.p99 },
      steps: p.steps,
      staleSteps: p.staleSteps,
      waitedOut: p.waitedOut,
      frames: { received: p.framesReceived, estimated: p.framesEstimated, superseded: p.framesSuperseded },
      cameraHolds: p.cameraHolds,
    };
  },
};

/** Episodes of the camera run the report shows a frame of, and the step from which one is taken. */
const CAMERA_FRAMES = 4;
const CAMERA_FRAME_STEP = 30;

/** The true blocks in an emulated robot's observation (its `policy.state`, which the camera run never acts on). */
function blockTruth(reality: Reality, robot: EmulatedRobot): (obs: { state: Record<string, number[]> }) => DrawnBlock[] {
  // The names of the `policy.state` the robot publishes.
  const names = robot.features.observation['policy.state']?.names ?? [];
  const blocks = taskSpec(reality.scenario.task).blockCount(reality.scenario.task);
  const prefixes = Array.from({ length: blocks }, (_, k) => blockName(reality.scenario.task, k));
  const at = (prefix: string, what: string): number => names.indexOf(`${prefix}.${what}`);
  return (obs) => {
    const s = obs.state['policy.state'];
    if (!s || s.length !== names.length) return [];
    return prefixes.flatMap((p) => {
      const i = ['x', 'y', 'z', 'sin4yaw', 'cos4yaw', 'size'].map((w) => at(p, w));
      if (i.some((k) => k < 0)) return [];
      return [{ position: [s[i[0]], s[i[1]], s[i[2]]] as Vec3, yaw: Math.atan2(s[i[3]], s[i[4]]) / 4, size: s[i[5]] }];
    });
  };
}

/**
 * A montage of randomized training frames. It needs a WebGPU adapter: without one it is skipped
 * with one line naming the packages (and nothing is cached, so it renders once they are there).
 */
const montage: Stage<'montage'> = {
  name: 'montage',
  title: () => 'render a montage of randomized training frames',
  async gate(c) {
    if (c.o.skip.has('montage')) return 'run';
    const why = await canRender(c);
    return why === true ? 'run' : { skip: `No montage: it needs ${why}`, log: `· montage of randomized frames: left out; it needs ${why}` };
  },
  inputs: ({ scenario, o }) => ({ scenario, seed: o.seed }),
  async run({ scenario, o }, dir) {
    try {
      const { renderPreview } = await import('../../sim/render/preview.ts');
      const p = await renderPreview({ scenario, seed: o.seed, n: 16, size: 96, cameras: ['front', 'wrist'] });
      writeFileSync(join(dir, 'montage.png'), p.png);
      return { file: join(dir, 'montage.png'), adapter: p.adapter };
    } catch (err) {
      return { file: null, adapter: null, error: (err as Error).message };
    }
  },
  report({ o }, result, r) {
    if (result.file) {
      r.montage = 'montage.png';
      copyFileSync(result.file, join(o.out, r.montage));
    } else if ('error' in result) r.notes.push(`No montage: ${result.error}`);
  },
};

/** Every stage, in the order they run (the order of STAGES). */
export const STAGE_TABLE: { [K in StageName]: Stage<K> } = {
  demos,
  'ablation-data': ablationData,
  train,
  'train-ablation': trainAblation,
  eval: evalStage,
  sweep: sweepStage,
  pose,
  reality,
  'reality-camera': realityCamera,
  montage,
};
