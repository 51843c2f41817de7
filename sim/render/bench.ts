/**
 * Rendering throughput: frames (views) per second at 64², 128² and 256², for RGB alone and for
 * RGB + depth + segmentation, on whatever adapter Dawn finds (lavapipe on a CPU machine).
 *
 * Workload: stack-3 episodes run by the scripted expert; every frame draws the next recorded
 * state of its environment, with that episode's randomized look (textures, 1–4 lights, camera
 * jitter, distractors, image noise); looks change every `lookEvery` frames. Each batch draws
 * `tiles` views (from `envs` environments) into one tiled target read back once; `inFlight`
 * batches are kept in flight; `processes` processes render at once (sum of their rates).
 *
 * Runs standalone as well, printing one JSON line:
 *   npx node sim/render/bench.ts [--sizes 64,128,256] [--modes rgb,rgbds] [--seconds 3]
 *     [--tiles 1] [--in-flight 8] [--processes <cores>] [--envs N] [--look-every 100] [--json]
 * and bundled into one file for a GPU machine (with Node and Dawn beside it), then
 *   bash .gpu/run bench.mjs --sizes 128 --tiles 64 --in-flight 4 --processes 8
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { adapterLabel } from '../gpu/dawn.ts';
import { TabletopEnv } from '../env.ts';
import { EXPERTS } from '../experts/index.ts';
import { parseScenario } from '../scenario.ts';
import type { Scenario } from '../scenario.ts';
import type { SimState } from '../state.ts';
import stack3 from '../../scenarios/stack-3.json' with { type: 'json' };
import { HeadlessRenderer } from './headless.ts';
import type { ViewImages, ViewRequest } from './headless.ts';
import { sampleLook, visualConfig } from './look.ts';
import type { Look } from './look.ts';
import { SceneBuilder } from './scene-builder.ts';

export type BenchMode = 'rgb' | 'rgbds';

export interface BenchRenderOptions {
  sizes?: number[];
  modes?: BenchMode[];
  /** Timed seconds per (size, mode). Default 3. */
  seconds?: number;
  /** Views per batch (tiled target). Default 1. */
  tiles?: number;
  /** Batches in flight. Default 8. */
  inFlight?: number;
  /** Rendering processes. Default: one per core (at most 16). */
  processes?: number;
  /** Environments drawn round-robin. Default: min(tiles, 16). */
  envs?: number;
  /** Frames per look (an episode's worth). Default 100. */
  lookEvery?: number;
  log?: (line: string) => void;
}

export interface BenchRenderResult {
  bench: 'render';
  device: string;
  software: boolean;
  processes: number;
  tiles: number;
  in_flight: number;
  envs: number;
  seconds: number;
  /** frames/s by `${mode}_${size}` (a frame is one camera view). */
  fps: Record<string, number>;
  /**
   * CPU milliseconds per frame (all threads: JavaScript, Dawn, lavapipe's rasterizer), by the same
   * keys: steadier than frames/s on a shared machine; cores × 1000 / this bounds frames/s.
   */
  cpu_ms_per_frame: Record<string, number>;
  targets: Record<string, { target: number; met: boolean }>;
  note: string;
}

/** Targets on the 2-core CPU machine (lavapipe) and on an H100 with tiling and several processes. */
export const TARGETS = { cpu: { rgb_128: 1000, rgbds_128: 600 }, gpu: { rgb_128: 5000 } } as const;

interface Workload {
  states: SimState[][];
  looks: Look[];
}

/** Expert trajectories (at most 4, shared round-robin by the environments) and a pool of looks. */
function workload(envs: number, looks: number, statesPerEpisode: number): Workload {
  const scenario: Scenario = parseScenario(stack3, 'scenarios/stack-3.json');
  const trajectories: SimState[][] = [];
  for (let e = 0; e < Math.min(envs, 4); e++) {
    const env = new TabletopEnv(scenario);
    env.reset({ seed: 1000 + e });
    const expert = EXPERTS[scenario.task.id](env);
    const s: SimState[] = [env.scene.snapshot()];
    for (let i = 1; i < statesPerEpisode; i++) {
      const r = env.step(expert.act());
      s.push(env.scene.snapshot());
      if (r.terminated || r.truncated) break;
    }
    trajectories.push(s);
  }
  const states = Array.from({ length: envs }, (_, e) => trajectories[e % trajectories.length]);
  const names = trajectories[0][0].bodies.map((b) => b.name);
  const pool: Look[] = [];
  for (let l = 0; l < looks; l++) pool.push(sampleLook(visualConfig(scenario.visual), 'train', 5000 + l, names));
  return { states, looks: pool };
}

interface Runner {
  renderer: HeadlessRenderer;
  builders: SceneBuilder[];
  work: Workload;
  frame: number;
}

function batch(r: Runner, tiles: number, lookEvery: number): ViewRequest[] {
  const views: ViewRequest[] = [];
  for (let k = 0; k < tiles; k++) {
    const f = r.frame++;
    const e = f % r.builders.length;
    const n = Math.floor(f / r.builders.length);
    const b = r.builders[e];
    if (n % lookEvery === 0) b.setLook(r.work.looks[(e + Math.floor(n / lookEvery)) % r.work.looks.length]);
    const s = r.work.states[e];
    views.push({ builder: b, camera: 'front', state: s[n % s.length], noiseSeed: f });
  }
  return views;
}

/** Renders for `seconds` with `inFlight` batches outstanding; returns views drawn and time taken. */
async function timed(r: Runner, mode: BenchMode, seconds: number, tiles: number, inFlight: number, lookEvery: number): Promise<{ frames: number; seconds: number; cpuSeconds: number }> {
  const channels = mode === 'rgb' ? { rgb: true } : { rgb: true, depth: true, segmentation: true };
  const pending: Array<Promise<ViewImages[]>> = [];
  let frames = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    pending.push(r.renderer.render(batch(r, tiles, lookEvery), channels));
    if (pending.length >= inFlight) frames += (await (pending.shift() as Promise<ViewImages[]>)).length;
  }
  for (const p of pending) frames += (await p).length;
  const cpu = process.cpuUsage(cpu0);
  return { frames, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function makeRunner(size: number, mode: BenchMode, tiles: number, envs: number): Promise<Runner> {
  const labels = mode === 'rgbds';
  const renderer = await HeadlessRenderer.create({ width: size, height: size, tiles, labels });
  const builders = Array.from({ length: envs }, () => renderer.createBuilder());
  const work = workload(envs, 8, 120);
  return { renderer, builders, work, frame: 0 };
}

function disposeRunner(r: Runner): void {
  for (const b of r.builders) b.dispose();
  r.renderer.dispose();
}

/** Draws every look once so that their shaders are compiled before timing. */
async function warm(r: Runner, mode: BenchMode, tiles: number): Promise<void> {
  for (const look of r.work.looks) {
    for (const b of r.builders) b.setLook(look);
    await r.renderer.render(r.builders.slice(0, tiles).map((b, k) => ({ builder: b, camera: 'front', state: r.work.states[k % r.work.states.length][0] })), mode === 'rgb' ? {} : { depth: true, segmentation: true });
  }
  r.frame = 0;
}

interface Measured {
  fps: number;
  /** CPU time of the whole process (JavaScript, Dawn and, on lavapipe, the rasterizer threads) per frame. */
  cpuMsPerFrame: number;
  device: string;
  software: boolean;
}

/** One process's measurement of one (size, mode). */
async function measureOne(size: number, mode: BenchMode, o: Required<Omit<BenchRenderOptions, 'log' | 'sizes' | 'modes' | 'processes'>>, ready?: () => Promise<void>): Promise<Measured> {
  const r = await makeRunner(size, mode, o.tiles, o.envs);
  try {
    await warm(r, mode, o.tiles);
    await timed(r, mode, Math.min(1.5, Math.max(0.2, o.seconds / 2)), o.tiles, o.inFlight, o.lookEvery);
    if (ready) await ready();
    const t = await timed(r, mode, o.seconds, o.tiles, o.inFlight, o.lookEvery);
    return { fps: t.frames / t.seconds, cpuMsPerFrame: (1000 * t.cpuSeconds) / t.frames, device: adapterLabel(r.renderer.adapter), software: r.renderer.adapter.software };
  } finally {
    disposeRunner(r);
  }
}

const WORKER_FLAG = '--render-bench-worker';

/** Where this module is, to fork workers of it (its .ts file, or the bundle it was packed into). */
function selfPath(): string {
  return fileURLToPath(import.meta.url);
}

async function measureProcesses(size: number, mode: BenchMode, processes: number, o: Required<Omit<BenchRenderOptions, 'log' | 'sizes' | 'modes' | 'processes'>>): Promise<Measured> {
  const children: ChildProcess[] = [];
  const results: Array<Promise<Measured>> = [];
  const readies: Array<Promise<void>> = [];
  for (let p = 0; p < processes; p++) {
    const child = fork(selfPath(), [WORKER_FLAG, JSON.stringify({ size, mode, o })], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(child);
    readies.push(new Promise((res, rej) => {
      child.once('error', rej);
      child.on('message', (m: { type: string }) => { if (m.type === 'ready') res(); });
    }));
    results.push(new Promise((res, rej) => {
      child.on('message', (m: { type: string; result?: Measured; error?: string }) => {
        if (m.type === 'result') res(m.result as Measured);
        if (m.type === 'error') rej(new Error(m.error));
      });
      child.once('exit', (code) => rej(new Error(`render bench worker exited with code ${code}`)));
    }));
  }
  try {
    await Promise.all(readies);
    for (const c of children) c.send({ type: 'go' });
    const all = await Promise.all(results);
    const fps = all.reduce((a, r) => a + r.fps, 0);
    // Frame-weighted mean over the processes.
    const cpuMsPerFrame = all.reduce((a, r) => a + r.cpuMsPerFrame * r.fps, 0) / fps;
    return { fps, cpuMsPerFrame, device: all[0].device, software: all[0].software };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
  }
}

export async function benchRender(options: BenchRenderOptions = {}): Promise<BenchRenderResult> {
  const sizes = options.sizes ?? [64, 128, 256];
  const modes = options.modes ?? ['rgb', 'rgbds'];
  const processes = options.processes ?? Math.min(availableParallelism(), 16);
  const tiles = options.tiles ?? 1;
  const o = {
    seconds: options.seconds ?? 3,
    tiles,
    inFlight: options.inFlight ?? 8,
    envs: options.envs ?? Math.min(tiles, 16),
    lookEvery: options.lookEvery ?? 100,
  };
  const log = options.log ?? (() => {});
  const fps: Record<string, number> = {};
  const cpu: Record<string, number> = {};
  let device = '', software = true;
  for (const size of sizes) {
    for (const mode of modes) {
      const r = processes > 1 ? await measureProcesses(size, mode, processes, o) : await measureOne(size, mode, o);
      fps[`${mode}_${size}`] = Math.round(r.fps);
      cpu[`${mode}_${size}`] = Math.round(r.cpuMsPerFrame * 1000) / 1000;
      device = r.device;
      software = r.software;
      log(`${mode.padEnd(5)} ${size}x${size}: ${Math.round(r.fps)} frames/s, ${r.cpuMsPerFrame.toFixed(3)} CPU ms/frame (${processes} process${processes > 1 ? 'es' : ''}, ${tiles} tile${tiles > 1 ? 's' : ''}, ${o.inFlight} in flight) on ${r.device}`);
    }
  }
  const targets: BenchRenderResult['targets'] = {};
  const t: Record<string, number> = software ? TARGETS.cpu : TARGETS.gpu;
  for (const [k, v] of Object.entries(t)) if (k in fps) targets[k] = { target: v, met: fps[k] >= v };
  return {
    bench: 'render',
    device,
    software,
    processes,
    tiles,
    in_flight: o.inFlight,
    envs: o.envs,
    seconds: o.seconds,
    fps,
    cpu_ms_per_frame: cpu,
    targets,
    note: 'a frame is one randomized stack-3 view from the front camera; rgbds adds depth and segmentation to the same pass and readback',
  };
}

/** Parses the standalone flags (same names as `simreal bench render`). */
export function parseBenchArgs(argv: readonly string[]): BenchRenderOptions & { json: boolean } {
  const o: BenchRenderOptions & { json: boolean } = { json: false };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new RangeError(`${flag} expects a number >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--json': o.json = true; continue;
      case '--sizes': o.sizes = (v ?? '').split(',').map((s) => Math.round(num('--sizes', s, 8))); break;
      case '--modes': o.modes = (v ?? '').split(',').map((m) => {
        if (m !== 'rgb' && m !== 'rgbds') throw new RangeError(`--modes takes rgb and/or rgbds, got ${m}`);
        return m;
      }); break;
      case '--seconds': o.seconds = num(a, v, 0.1); break;
      case '--tiles': o.tiles = Math.round(num(a, v, 1)); break;
      case '--in-flight': o.inFlight = Math.round(num(a, v, 1)); break;
      case '--processes': o.processes = Math.round(num(a, v, 1)); break;
      case '--envs': o.envs = Math.round(num(a, v, 1)); break;
      case '--look-every': o.lookEvery = Math.round(num(a, v, 1)); break;
      default: throw new RangeError(`unknown flag ${a}`);
    }
    i++;
  }
  return o;
}

function isMain(): boolean {
  const meta = import.meta as ImportMeta & { main?: boolean };
  if (typeof meta.main === 'boolean') return meta.main;
  try {
    return !!process.argv[1] && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isMain()) {
  if (process.argv[2] === WORKER_FLAG) {
    const { size, mode, o } = JSON.parse(process.argv[3]);
    const send = (m: object): Promise<void> => new Promise((res) => process.send?.(m, () => res()));
    try {
      const result = await measureOne(size, mode, o, async () => {
        const go = new Promise<void>((res) => process.on('message', (m: { type: string }) => { if (m.type === 'go') res(); }));
        await send({ type: 'ready' });
        await go;
      });
      await send({ type: 'result', result });
    } catch (err) {
      await send({ type: 'error', error: (err as Error).message });
    }
    process.exit(0);
  } else {
    const opts = parseBenchArgs(process.argv.slice(2));
    const r = await benchRender({ ...opts, log: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  }
}
