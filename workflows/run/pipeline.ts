/**
 * `simreal run`: sim-to-real end to end, the way a new user first meets simreal.
 *
 *   1. demonstrations   scripted expert, training randomization; a third clean, a third each with
 *                       DART noise σ and 2σ
 *   2. ablation data    the same without randomization
 *   3. train            the state BC policy on (1), and the ablation policy on (2)
 *   4. evaluate         BC under training, held-out and no randomization; the ablation on held-out;
 *                       where it breaks: BC along each physics parameter, the others nominal
 *   5. reality          a bridge and an emulated-reality robot; the policy drives it through the bridge,
 *                       reading true state, and (with a pose estimator) again through the robot's
 *                       camera and the estimator
 *   6. report           montage, trajectory, charts → runs/<time>/report.html + summary.json
 *
 * The stages are the table in stages.ts; this file runs them in order, the lanes of each group
 * in CONCURRENT side by side. Every stage is cached by a content hash of its inputs and the code (cache.ts):
 * re-running reuses what is done, and a changed scenario or source file reruns only what it
 * affects. The machine's speed (policy/machine-speed.ts) is measured first, for the summary.
 */
import { ExecutionNoise, executionNoiseOf } from '../../policy/execution-noise.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { loadReality } from '../../bridge/robots/emulated/reality.ts';
import { selectBackend } from '../../policy/backend.ts';
import type { BackendName } from '../../policy/backend.ts';
import { DEFAULT_EVAL_SEED, evalSeeds } from '../../policy/eval/seeds.ts';
import { formatMachineSpeed, measureMachineSpeed } from '../../policy/machine-speed.ts';
import { gitCommit } from '../../policy/model-card.ts';
import { loadStatePolicy } from '../../policy/state-policy.ts';
import { TabletopEnv, TimeLimit } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { writeReport } from '../report/report.ts';
import type { RunSummary, StageRecord, TrajectoryPoint } from '../report/summary.ts';
import { StageCache, codeVersion, stageKey } from './cache.ts';
import { CONCURRENT, STAGES, demoParts } from './options.ts';
import type { RunOptions, StageName } from './options.ts';
import { STAGE_TABLE, poseBudget, resultOf } from './stages.ts';
import type { RunContext, RunReport, Stage, StageResults } from './stages.ts';

export async function runPipeline(o: RunOptions): Promise<{ summary: RunSummary; reportPath: string }> {
  const t0 = performance.now();
  const scenario = loadScenario(o.scenarioPath);
  const reality = loadReality(o.realityPath);
  const cache = new StageCache(o.cacheDir);
  mkdirSync(o.out, { recursive: true });

  const speed = o.machineSpeedSeconds === 0 ? null : await measureMachineSpeed(o.machineSpeedSeconds);
  if (speed) o.log(`machine speed: ${formatMachineSpeed(speed.mlpWasmSamplesPerSec)}`);
  const choice = await selectBackend({ backend: o.backend, model: 'mlp', log: (l) => o.log(l) });
  const backend = { name: choice.name, device: choice.device };
  choice.dispose();

  const c: RunContext = {
    o,
    scenario,
    reality,
    realityHere: { ...reality, scenario: { ...scenario, randomization: reality.config.physics } },
    scenarioInput: { scenario, reality: reality.config },
    parts: demoParts(o.episodes, o.dartNoise),
    backend,
    // A CPU backend trains on one core: two trainings in two workers use two.
    trainInWorkers: (backend.name === 'wasm' || backend.name === 'cpu') && availableParallelism() > 1,
    results: {},
  };
  const stages: StageRecord[] = [];
  const report: RunReport = { success: [], training: [], pose: null, sweep: null, bridge: null, perception: null, montage: null, cameraFrames: null, notes: [] };
  const started = new Set<StageName>();
  for (const name of STAGES) {
    if (started.has(name)) continue;
    const group = CONCURRENT.find((g) => g.lanes.some((l) => l.includes(name)) && (!g.cpuOnly || c.trainInWorkers));
    const lanes = group ? group.lanes : [[name]];
    for (const lane of lanes) for (const n of lane) started.add(n);
    await runStages(lanes, c, cache, stages, report);
  }

  // A top-down trajectory of one held-out episode driven by the policy.
  const bc = resultOf(c, 'train');
  const trajectory = bc ? await recordTrajectory(bc.dir, scenario, o.backend) : null;

  const sp = o.scenarioPath;
  const parts = c.parts;
  // The frames the pose stage trained on in this run (its budget: --perception).
  const poseFrames = poseBudget(c).frames;
  const hiddenFlag = o.hidden ? ` --hidden ${o.hidden.join(',')}` : '';
  const summary: RunSummary = {
    format: 'simreal-run-summary',
    version: 1,
    scenario: { id: scenario.id, path: o.scenarioPath, task: scenario.task.id },
    reality: { id: reality.config.id, path: o.realityPath },
    created: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
    codeVersion: codeVersion(),
    gitCommit: gitCommit(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version, mlpWasmSamplesPerSec: speed?.mlpWasmSamplesPerSec ?? null },
    backend: bc ? { name: bc.backend, device: bc.device } : backend,
    stages,
    success: report.success,
    training: report.training,
    pose: report.pose,
    sweep: report.sweep,
    bridge: report.bridge,
    perception: report.perception,
    montage: report.montage,
    cameraFrames: report.cameraFrames,
    trajectory,
    commands: [
      ...parts.map(([label, dart, count], k) => `npx simreal generate ${sp} --episodes ${count} --seed ${o.seed + k}${dart ? ` --dart-noise ${dart}` : ''} --out data/demos-${label}`),
      ...parts.map(([label, dart, count], k) => `npx simreal generate ${sp} --episodes ${count} --seed ${o.seed + 7919 + k} --randomization none${dart ? ` --dart-noise ${dart}` : ''} --out data/none-${label}`),
      `npx simreal train bc ${parts.map(([l]) => `data/demos-${l}`).join(' ')} --epochs ${o.epochs}${hiddenFlag} --seed ${o.seed} --out models/bc`,
      `npx simreal train bc ${parts.map(([l]) => `data/none-${l}`).join(' ')} --epochs ${o.epochs}${hiddenFlag} --seed ${o.seed} --out models/bc-none`,
      ...(['train', 'heldout', 'none'] as const).map((m) => `npx simreal eval models/bc ${sp} --episodes ${o.evalEpisodes} --randomization ${m}`),
      `npx simreal eval models/bc-none ${sp} --episodes ${o.evalEpisodes} --randomization heldout`,
      `npx simreal eval models/bc ${sp} --sweep all --points ${o.sweepPoints} --episodes ${o.sweepEpisodes}`,
      'npx simreal bridge --port 8765 --token-file ~/.config/simreal/token &',
      `npx simreal robot emulate --bridge ws://localhost:8765 --reality ${o.realityPath} &`,
      `npx simreal policy run models/bc --bridge ws://localhost:8765 --robot emu-1 --episodes ${o.realityEpisodes}`,
      ...(resultOf(c, 'reality-camera') ? [
        `npx simreal train pose ${sp} --frames ${poseFrames} --eval-every ${Math.max(16, Math.ceil(poseFrames / 8))} --seed ${o.seed} --out models/pose`,
        `npx simreal policy run models/bc --perception models/pose --bridge ws://localhost:8765 --robot emu-1 --episodes ${o.cameraEpisodes}`,
      ] : []),
      `npx simreal render preview ${sp} --seed ${o.seed} --n 16 --out montage.png`,
    ],
    notes: report.notes,
  };
  if (o.skip.size) report.notes.push(`Skipped stages: ${[...o.skip].join(', ')}.`);
  writeFileSync(join(o.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const reportPath = writeReport(o.out, summary);
  return { summary, reportPath };
}

/**
 * Stages of the table in lanes side by side (a lane's stages one after the other; lanes must not
 * need each other's results, a lane's later stages may need its earlier ones): each left out or
 * skipped as its gate and `--skip` say, reused when the cache holds it finished under the same
 * key, else run into a fresh folder and cached. Their lines go into `stages`, their results into
 * `c.results` (null when one did not run) and, through each stage's `report`, into the summary,
 * all in table order, so the summary does not depend on which finished first. If one fails, the
 * others are stopped (and not cached) before the error is thrown.
 */
async function runStages(lanes: ReadonlyArray<readonly StageName[]>, c: RunContext, cache: StageCache, stages: StageRecord[], report: RunReport): Promise<void> {
  const together = lanes.length > 1;
  const stop = new AbortController();
  const outer = c.o.signal;
  const onOuter = (): void => stop.abort();
  outer?.addEventListener('abort', onOuter, { once: true });
  if (outer?.aborted) stop.abort();
  // Shares c.results, so a lane's later stage sees its earlier ones.
  const here: RunContext = together ? { ...c, o: { ...c.o, signal: stop.signal } } : c;
  const names = lanes.flat();
  const records = new Map(names.map((n) => [n, { stages: [] as StageRecord[], notes: [] as string[], done: [] as string[] }]));
  const settled = await Promise.allSettled(lanes.map(async (lane) => {
    try {
      for (const name of lane) {
        const rec = records.get(name)!;
        const result = await stageResult(STAGE_TABLE[name], here, cache, rec.stages, rec.notes, together ? rec.done : null);
        (c.results as Record<StageName, unknown>)[name] = result;
      }
    } catch (err) {
      stop.abort();
      throw err;
    }
  }));
  outer?.removeEventListener('abort', onOuter);
  // The first failure that is not just the others being stopped because of it.
  const failed = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
  if (failed.length) throw failed.find((e) => e.message !== 'interrupted') ?? failed[0];
  for (const name of STAGES.filter((n) => records.has(n))) {
    const rec = records.get(name)!;
    // Written after the group, so no line lands between the bars of the stages still running.
    for (const line of rec.done) c.o.log(line);
    stages.push(...rec.stages);
    report.notes.push(...rec.notes);
    const result = (c.results as Record<StageName, unknown>)[name] ?? null;
    if (result !== null) (STAGE_TABLE[name] as Stage<StageName>).report?.(c, result as never, report);
  }
}

async function stageResult<K extends StageName>(stage: Stage<K>, c: RunContext, cache: StageCache, stages: StageRecord[], notes: string[], doneLines: string[] | null): Promise<StageResults[K] | null> {
  const { o } = c;
  const { name } = stage;
  const skipped = (): void => void stages.push({ name, seconds: 0, cached: false, output: '-', skipped: true });
  const gate = stage.gate ? await stage.gate(c) : 'run';
  if (gate === 'absent') return null;
  if (gate !== 'run') {
    skipped();
    notes.push(gate.skip);
    if (gate.log) o.log(gate.log);
    return null;
  }
  const title = stage.title(c);
  const key = stageKey(name, stage.inputs(c));
  const dir = cache.path(name, key);
  if (o.skip.has(name)) {
    skipped();
    o.log(`· ${title}: skipped`);
    return null;
  }
  const done = cache.done<StageResults[K]>(name, key);
  if (done) {
    stages.push({ name, seconds: 0, cached: true, output: dir });
    o.log(`· ${title}: reusing ${dir}`);
    return done.result;
  }
  if (o.signal?.aborted) throw new Error('interrupted');
  o.log(`▶ ${title}`);
  const s0 = performance.now();
  const out = cache.fresh(name, key);
  const result = await stage.run(c, out);
  // A stage cut short by Ctrl-C (training returns its best epoch so far) is not a finished stage:
  // it must not be cached as one, so the next run does it again.
  if (o.signal?.aborted) throw new Error('interrupted');
  const seconds = (performance.now() - s0) / 1000;
  cache.finish(name, key, seconds, result);
  stages.push({ name, seconds, cached: false, output: out });
  if (doneLines) doneLines.push(`  ${title}: done in ${seconds.toFixed(1)} s`);
  else o.log(`  done in ${seconds.toFixed(1)} s`);
  return result;
}

/** Runs one held-out evaluation episode with the BC model and records positions each step. */
async function recordTrajectory(modelDir: string, scenario: Scenario, backend?: BackendName): Promise<RunSummary['trajectory']> {
  const policy = await loadStatePolicy(modelDir, { backend, purpose: 'the run draws the trajectory of its state policy' });
  try {
    const seed = evalSeeds(1, DEFAULT_EVAL_SEED, policy.card.dataset.seeds).seeds[0];
    const env = new TimeLimit(new TabletopEnv(scenario, { randomization: 'heldout' }));
    const noise = new ExecutionNoise(executionNoiseOf(policy.card), seed);
    let { obs } = env.reset({ seed });
    const points: TrajectoryPoint[] = [];
    let success = false;
    for (;;) {
      const scene = env.env.scene;
      points.push({ t: scene.time, tcp: env.env.tcp(), blocks: scene.blocks.map((b) => [b.position.x, b.position.y, b.position.z]) });
      const r = env.step(noise.apply(policy.act(obs)));
      obs = r.obs;
      if (r.terminated || r.truncated) {
        success = r.info.success;
        break;
      }
    }
    return { label: 'BC policy, held-out randomization', seed, success, points };
  } finally {
    policy.dispose();
  }
}
