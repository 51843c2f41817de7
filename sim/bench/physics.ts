/**
 * `simreal bench physics`: how fast and how stable simreal's physics is, against MuJoCo measured
 * in the same run.
 *
 * - speed: physics steps/s on the stack-3 sweep (sweep.ts) for simreal and MuJoCo, one thread
 *   each, and the ratio; control steps/s (12 substeps each); and whole-environment control
 *   steps/s with the scripted expert, observations and rewards included.
 * - stability: a 5-block tower resting 60 s (top block drift) in simreal, cannon-es defaults and
 *   MuJoCo; a grasped block lifted 20 cm and carried 45 cm at 0.3 m/s (slip).
 * - scaling: the sweep in 1 worker thread vs 2 at once.
 * - memory: resident memory per stack-3 environment.
 */
import { availableParallelism, cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { TabletopEnv, TimeLimit } from '../env.ts';
import { EXPERTS } from '../experts/index.ts';
import { loadScenario } from '../scenario.ts';
import { SWEEP_SUBSTEPS, sweepMujoco, sweepSimreal } from './sweep.ts';
import type { SweepResult } from './sweep.ts';
import { graspSlip, stackDrift } from './stability.ts';
import { compareWithMount, sweepSo101, towerBesideArm } from './so101.ts';

export interface PhysicsBenchOptions {
  /** Timed physics steps per engine. Default 60,000. */
  steps?: number;
  /** Seconds the resting tower is simulated. Default 60. */
  stackSeconds?: number;
  /** Scenario file for the environment measurement. */
  scenario?: string;
  log?: (line: string) => void;
}

async function sweepInWorkers(workers: number, steps: number): Promise<number> {
  const url = new URL('./sweep-worker.ts', import.meta.url);
  const start = performance.now();
  const results = await Promise.all(
    Array.from({ length: workers }, () => new Promise<SweepResult>((resolve, reject) => {
      const w = new Worker(url, { workerData: { steps } });
      w.once('message', (r: SweepResult) => {
        resolve(r);
        void w.terminate();
      });
      w.once('error', reject);
    })),
  );
  const wall = (performance.now() - start) / 1000;
  void wall;
  // Aggregate throughput: every worker's steps over the slowest worker's stepping time.
  const slowest = Math.max(...results.map((r) => r.seconds));
  return (workers * steps) / slowest;
}

function envControlSteps(scenarioPath: string, episodes: number): { controlStepsPerSecond: number; episodesPerSecond: number; success: number } {
  const scenario = loadScenario(scenarioPath);
  const env = new TabletopEnv(scenario);
  const limited = new TimeLimit(env);
  let steps = 0, ok = 0;
  const t0 = performance.now();
  for (let e = 0; e < episodes; e++) {
    limited.reset({ seed: 1000 + e });
    const expert = EXPERTS[scenario.task.id](env);
    for (;;) {
      const r = limited.step(expert.act());
      steps++;
      if (r.terminated || r.truncated) {
        if (r.info.success) ok++;
        break;
      }
    }
  }
  const s = (performance.now() - t0) / 1000;
  return { controlStepsPerSecond: steps / s, episodesPerSecond: episodes / s, success: ok / episodes };
}

/** A garbage collection on demand (V8's gc, exposed at run time), or a no-op where unavailable. */
function collector(): () => void {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (() => void) | undefined;
    if (typeof gc === 'function') return gc;
  } catch {
    // fall through
  }
  return () => {};
}

function memoryPerEnv(scenarioPath: string, count: number): { rssPerEnvMb: number; heapPerEnvMb: number } {
  const scenario = loadScenario(scenarioPath);
  const gc = collector();
  gc();
  const before = process.memoryUsage();
  const envs: TabletopEnv[] = [];
  for (let i = 0; i < count; i++) {
    const env = new TabletopEnv(scenario);
    env.reset({ seed: i });
    for (let s = 0; s < 5; s++) env.step([0, 0, 0, 0, -1]);
    envs.push(env);
  }
  gc();
  const after = process.memoryUsage();
  const r = { rssPerEnvMb: (after.rss - before.rss) / count / 2 ** 20, heapPerEnvMb: (after.heapUsed - before.heapUsed) / count / 2 ** 20 };
  envs.length = 0;
  return r;
}

const round = (v: number, d = 1): number => Math.round(v * 10 ** d) / 10 ** d;

export async function benchPhysics(options: PhysicsBenchOptions = {}) {
  const steps = options.steps ?? 60_000;
  const stackSeconds = options.stackSeconds ?? 60;
  const scenario = options.scenario ?? new URL('../../scenarios/stack-3.json', import.meta.url).pathname;
  const log = options.log ?? (() => {});

  log('warming up…');
  sweepSimreal(4800);
  await sweepMujoco(4800);
  log(`simreal sweep, ${steps} steps…`);
  const simreal = sweepSimreal(steps);
  log(`MuJoCo sweep, ${steps} steps…`);
  const mujoco = await sweepMujoco(steps);
  log(`SO-101 sweep and the mount's again, alternating, ${steps} steps each…`);
  sweepSo101(2400);
  const so101 = compareWithMount(steps);
  log('whole environment with the expert…');
  const env = envControlSteps(scenario, 20);
  log(`resting 5-block towers, ${stackSeconds} s each…`);
  const towers = {
    simreal: await stackDrift(5, stackSeconds, 'simreal'),
    cannonDefaults: await stackDrift(5, stackSeconds, 'cannon-defaults'),
    mujoco: await stackDrift(5, stackSeconds, 'mujoco'),
  };
  log(`a 5-block tower beside the SO-101, ${stackSeconds} s…`);
  const towerSo101 = towerBesideArm(5, stackSeconds);
  log('grasp and carry…');
  const grasp = graspSlip();
  log('worker scaling…');
  const perWorker = Math.max(12_000, Math.round(steps / 2));
  const one = await sweepInWorkers(1, perWorker);
  const two = await sweepInWorkers(2, perWorker);
  log('memory per environment…');
  const memory = memoryPerEnv(scenario, 500);

  const drift = (r: { topDriftMm: number; maxDriftMm: number; collapsedAt: number | null }) => ({
    top_drift_mm: round(r.topDriftMm, 3),
    max_drift_mm: round(r.maxDriftMm, 3),
    collapsed_at_s: r.collapsedAt === null ? null : round(r.collapsedAt, 2),
  });
  return {
    bench: 'physics',
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} x${availableParallelism()}`,
    scene: 'stack-3: three 5 cm 0.1 kg blocks, gripper sweeping through them; dt 1/240 s, 12 substeps per 20 Hz control step',
    simreal: {
      physics_steps_per_s: round(simreal.stepsPerSecond, 0),
      control_steps_per_s: round(simreal.stepsPerSecond / SWEEP_SUBSTEPS, 0),
      env_control_steps_per_s_with_expert: round(env.controlStepsPerSecond, 0),
      env_expert_success: env.success,
    },
    mujoco: {
      build: 'mujoco-js (official WebAssembly), default solver (Newton, 100 iterations), implicitfast',
      physics_steps_per_s: round(mujoco.stepsPerSecond, 0),
      control_steps_per_s: round(mujoco.stepsPerSecond / SWEEP_SUBSTEPS, 0),
    },
    ratio_vs_mujoco: round(simreal.stepsPerSecond / mujoco.stepsPerSecond, 2),
    so101: {
      scene: 'the same three blocks, the SO-101 (links, servos, jaws) sweeping through them: the sweep scaled into its reach, commanded through its inverse kinematics',
      physics_steps_per_s: round(so101.so101.stepsPerSecond, 0),
      mount_physics_steps_per_s_alternating: round(so101.mount.stepsPerSecond, 0),
      ratio_vs_mount: round(so101.ratio, 2),
      target_ratio_vs_mount: 0.7,
      tower_beside_arm: { what: `5 blocks of 5 cm resting ${stackSeconds} s 17 cm beside the arm, which holds still; target top drift <= 2 mm`, ...drift(towerSo101) },
    },
    stability: {
      tower: `5 blocks of 5 cm resting ${stackSeconds} s; target top drift <= 2 mm`,
      simreal: drift(towers.simreal),
      cannon_defaults: drift(towers.cannonDefaults),
      mujoco: drift(towers.mujoco),
      grasp: {
        what: '5 cm 0.1 kg block lifted 0.2 m, carried 0.45 m at 0.3 m/s; target slip <= 5 mm',
        slip_mm: round(grasp.slipMm, 3),
        final_block_z_m: round(grasp.finalBlockZ, 3),
      },
    },
    workers: {
      one_physics_steps_per_s: round(one, 0),
      two_physics_steps_per_s: round(two, 0),
      scaling: round(two / one, 2),
      target_scaling: 1.8,
    },
    memory: {
      rss_per_env_mb: round(memory.rssPerEnvMb, 3),
      heap_per_env_mb: round(memory.heapPerEnvMb, 3),
    },
  };
}

export type PhysicsBenchResult = Awaited<ReturnType<typeof benchPhysics>>;

if (import.meta.main) {
  const r = await benchPhysics({ log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
