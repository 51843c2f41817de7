/**
 * `simreal bench bridge`: latency and robustness of the hub, measured the way it is used — the
 * hub in this thread (as its own process would be), robots, controllers and viewers as clients
 * in worker threads over loopback TCP.
 *
 * Phases:
 * 1. control_1khz: command → robot → ack round trip at 1 kHz for `seconds` (default 60);
 *    target p99 ≤ 1 ms and no missed deadline (an ack later than one period).
 * 2. robots_64: 64 robots, each leased by its own controller, commanded at 100 Hz; target p99 ≤ 5 ms.
 * 3. camera: a 640×480 RGB camera at 30 fps to 4 viewers while the 1 kHz loop runs on the same
 *    robot; target control p99 ≤ 2 ms.
 * 4. rosbridge_camera: phase 3 again through a rosbridge-style relay (JSON, base64 images).
 * 5. fuzz: the full hostile set (default 10,000 messages): everything answered or closed with a
 *    reason, hub still up, no command outside the limits.
 * 6. workspace: the robot driven into its box wall at full speed over a sweep of rates, transport
 *    latencies and observation rates (workspace.ts); target 0 mm beyond the box everywhere.
 * 7. cost: the hub's CPU time per message, by kind (command, ack, observation, frame, …) and stage
 *    (parse, validate, safety, fan-out, record), under 32 robots at 100 Hz with two viewers of
 *    everything, a camera and a recording.
 * 8. load_curve: p99 round trip against robots × 100 Hz (8, 16, 32, … robots) until it bends,
 *    with the hub's event-loop utilization at each point, and from those the messages per second
 *    one core of this machine handles when saturated.
 */
import { Worker } from 'node:worker_threads';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { startBridge } from '../hub/server.ts';
import type { RunningBridge, BridgeOptions } from '../hub/server.ts';
import { McapRecorder } from '../mcap/recorder.ts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { summarize } from './loop.ts';
import type { LatencySummary } from './loop.ts';
import { startRosbridgeRelay } from './rosbridge.ts';
import type { BenchTask } from './worker.ts';
import type { FuzzReport } from './fuzz.ts';
import { runWorkspaceSweep, fullWorkspaceSweep } from './workspace.ts';
import { measureHubCost } from './hub-cost.ts';

export const BENCH_PHASES = ['control_1khz', 'robots_64', 'camera', 'rosbridge_camera', 'fuzz', 'workspace', 'cost', 'load_curve'] as const;
export type BenchPhase = (typeof BENCH_PHASES)[number];

export interface BridgeBenchOptions {
  /** Length of each 1 kHz loop (default 60 s). */
  seconds?: number;
  /** Length of the 64-robot phase (default min(seconds, 20)). */
  multiSeconds?: number;
  fuzzMessages?: number;
  seed?: number;
  phases?: readonly BenchPhase[];
  log?: (line: string) => void;
}

interface TaskHandle {
  ready: Promise<void>;
  result: Promise<Record<string, unknown>>;
  stop(): void;
  reset(): void;
}

function startTask(task: BenchTask): TaskHandle {
  const execArgv: string[] = []; // process-wide flags (--input-type, --trace-gc) are not valid in workers
  const w = new Worker(new URL('./worker.ts', import.meta.url), { workerData: task, execArgv });
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    w.on('message', (m: { ready?: boolean; result?: Record<string, unknown>; error?: string }) => {
      if (m.ready) readyResolve();
      if (m.result) { resolve(m.result); void w.terminate(); }
      if (m.error) { const e = new Error(`${task.kind} worker: ${m.error}`); readyReject(e); reject(e); void w.terminate(); }
    });
    w.on('error', (e) => { readyReject(e); reject(e); });
    w.on('exit', (code) => { const e = new Error(`${task.kind} worker exited (${code})`); readyReject(e); reject(e); });
  });
  result.catch(() => {});
  ready.catch(() => {});
  return { ready, result, stop: () => w.postMessage('stop'), reset: () => w.postMessage('reset') };
}

export interface ControlStats extends LatencySummary {
  commands: number;
  missed_deadlines: number;
  late_ticks: number;
}

function controlStats(r: Record<string, unknown>): ControlStats {
  const rtts = r.rtt as Float64Array[];
  const all: number[] = [];
  let commands = 0;
  for (const a of rtts) {
    commands += a.length;
    for (const x of a) all.push(x);
  }
  return { ...summarize(all), commands, missed_deadlines: r.missed as number, late_ticks: r.lateTicks as number };
}

interface ViewerStats {
  fps: number[];
  mbps: number[];
  frame_latency: LatencySummary;
}

function viewerStats(r: Record<string, unknown>, seconds: number): ViewerStats {
  const vs = r.viewers as Array<{ frames: number; bytes: number; latency: number[] }>;
  const lat: number[] = [];
  for (const v of vs) lat.push(...v.latency);
  return {
    fps: vs.map((v) => Math.round((v.frames / seconds) * 10) / 10),
    mbps: vs.map((v) => Math.round((v.bytes / seconds / 1e6) * 10) / 10),
    frame_latency: summarize(lat),
  };
}

/** Starts measuring the hub thread's load; the function returned says what it was since. */
function measureHubLoad(b: RunningBridge): () => { messages_in_per_s: number; hub_thread_cpu_share: number; hub_thread_cpu_us_per_message_in: number } {
  const t0 = performance.now();
  const cpu0 = process.threadCpuUsage();
  const in0 = b.hub.stats.messagesIn;
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.threadCpuUsage(cpu0);
    const us = cpu.user + cpu.system;
    const n = b.hub.stats.messagesIn - in0;
    return { messages_in_per_s: Math.round(n / secs), hub_thread_cpu_share: Math.round((us / 1e6 / secs) * 1000) / 1000, hub_thread_cpu_us_per_message_in: Math.round((us / Math.max(1, n)) * 100) / 100 };
  };
}

async function withHub<T>(fn: (b: RunningBridge, token: string, robotKey: string) => Promise<T>, extra: Partial<BridgeOptions> = {}): Promise<T> {
  const token = randomBytes(24).toString('base64url');
  const robotKey = randomBytes(24).toString('base64url');
  const bridge = await startBridge({ port: 0, host: '127.0.0.1', token, robotKey, ...extra });
  try {
    return await fn(bridge, token, robotKey);
  } finally {
    await bridge.close();
  }
}

export async function runBridgeBench(o: BridgeBenchOptions = {}): Promise<Record<string, unknown>> {
  const seconds = o.seconds ?? 60;
  const multi = o.multiSeconds ?? Math.min(seconds, 20);
  const phases = new Set(o.phases ?? BENCH_PHASES);
  const log = o.log ?? (() => {});
  const out: Record<string, unknown> = {
    bench: 'bridge',
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    seconds,
  };
  const passes: boolean[] = [];

  if (phases.has('control_1khz')) {
    log(`control_1khz: 1 robot, 1 controller, 1000 Hz for ${seconds} s`);
    out.control_1khz = await withHub(async (b, token, robotKey) => {
      const robots = startTask({ kind: 'robots', url: b.url, robotKey, robots: [{ id: 'arm', hz: 100 }] });
      await robots.ready;
      const ctl = startTask({ kind: 'control', url: b.url, token, loops: [{ robot: 'arm', hz: 1000 }], seconds, precise: true });
      await ctl.ready;
      const hubLoad = measureHubLoad(b);
      const s = controlStats(await ctl.result);
      const load = hubLoad();
      robots.stop();
      await robots.result;
      const pass = s.p99_ms <= 1 && s.missed_deadlines === 0;
      passes.push(pass);
      return { ...s, ...load, target: { p99_ms: 1, missed_deadlines: 0 }, pass };
    });
  }

  if (phases.has('robots_64')) {
    log(`robots_64: 64 robots at 100 Hz for ${multi} s`);
    out.robots_64 = await withHub(async (b, token, robotKey) => {
      const ids = Array.from({ length: 64 }, (_, i) => `arm-${i}`);
      const robots = startTask({ kind: 'robots', url: b.url, robotKey, robots: ids.map((id) => ({ id, hz: 100 })) });
      await robots.ready;
      const ctl = startTask({ kind: 'control', url: b.url, token, loops: ids.map((robot) => ({ robot, hz: 100 })), seconds: multi, precise: false });
      await ctl.ready;
      const hubLoad = measureHubLoad(b);
      const s = controlStats(await ctl.result);
      const load = hubLoad();
      robots.stop();
      await robots.result;
      const pass = s.p99_ms <= 5;
      passes.push(pass);
      return { robots: 64, hz: 100, seconds: multi, ...s, ...load, target: { p99_ms: 5 }, pass };
    });
  }

  const camera = { width: 640, height: 480 };
  if (phases.has('camera')) {
    log(`camera: 640x480 rgb8 at 30 fps to 4 viewers, 1 kHz control for ${seconds} s`);
    out.camera = await withHub(async (b, token, robotKey) => {
      const robots = startTask({ kind: 'robots', url: b.url, robotKey, robots: [{ id: 'cam', hz: 30, camera }] });
      await robots.ready;
      const viewers = startTask({ kind: 'viewers', url: b.url, token, robot: 'cam', count: 4 });
      await viewers.ready;
      const ctl = startTask({ kind: 'control', url: b.url, token, loops: [{ robot: 'cam', hz: 1000 }], seconds, precise: true });
      await ctl.ready;
      viewers.reset();
      const c = controlStats(await ctl.result);
      viewers.stop();
      const v = viewerStats(await viewers.result, seconds);
      robots.stop();
      await robots.result;
      const pass = c.p99_ms <= 2;
      passes.push(pass);
      return { camera: '640x480 rgb8 @ 30 fps', viewers: 4, encoding: 'binary frames (48-byte header)', control: c, ...v, hub_frames_dropped: b.hub.stats.framesDropped, target: { control_p99_ms: 2 }, pass };
    });
  }

  if (phases.has('rosbridge_camera')) {
    log(`rosbridge_camera: the same through a rosbridge-style relay (JSON + base64) for ${seconds} s`);
    const relay = await startRosbridgeRelay();
    try {
      const robot = startTask({ kind: 'ros-robot', url: relay.url, robot: 'cam', hz: 30, camera });
      await robot.ready;
      const viewers = startTask({ kind: 'ros-viewers', url: relay.url, robot: 'cam', count: 4 });
      await viewers.ready;
      const ctl = startTask({ kind: 'ros-control', url: relay.url, robot: 'cam', hz: 1000, seconds });
      await ctl.ready;
      viewers.reset();
      const c = controlStats(await ctl.result);
      viewers.stop();
      const v = viewerStats(await viewers.result, seconds);
      robot.stop();
      await robot.result;
      out.rosbridge_camera = { camera: '640x480 rgb8 @ 30 fps', viewers: 4, encoding: 'rosbridge-style JSON, sensor_msgs/Image with base64 data', control: c, ...v, relay_frames_dropped: relay.stats.dropped, note: 'no validation or safety layer in the relay: it does less work per message than the hub' };
    } finally {
      await relay.close();
    }
  }

  if (phases.has('fuzz')) {
    const messages = o.fuzzMessages ?? 10_000;
    log(`fuzz: ${messages} hostile messages`);
    out.fuzz = await withHub(async (b, token, robotKey) => {
      const f = startTask({ kind: 'fuzz', url: b.url, token, robotKey, messages, seed: o.seed ?? 1, limits: b.hub.config.limits });
      const r = (await f.result) as unknown as FuzzReport;
      const pass = r.unanswered === 0 && r.hubUp && r.violations.length === 0 && r.messages >= messages;
      passes.push(pass);
      return { ...r, violations: r.violations.slice(0, 20), violation_count: r.violations.length, hub_stats: b.hub.stats, pass };
    });
  }

  if (phases.has('workspace')) {
    const conditions = fullWorkspaceSweep();
    log(`workspace: ${conditions.length} conditions, each driving into the box wall for 3 s`);
    const w = await runWorkspaceSweep({ conditions, seconds: 3, log });
    // The target is for the whole system; conditions with the robot's own guard off show one layer.
    const full = w.conditions.filter((c) => c.robotGuard !== false);
    const maxFull = Math.max(0, ...full.map((c) => c.excursion_mm));
    const pass = maxFull === 0;
    passes.push(pass);
    out.workspace = { ...w, max_excursion_mm: maxFull, max_excursion_hub_only_emulated_mm: Math.max(0, ...w.conditions.filter((c) => c.robotGuard === false).map((c) => c.excursion_mm)), target: { max_excursion_mm: 0 }, pass };
  }

  if (phases.has('cost')) {
    const n = 32;
    log(`cost: hub CPU per message, ${n} robots at 100 Hz, 2 viewers of everything, a 320x240 camera at 30 fps, recording; ${multi} s`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-bench-'));
    const file = path.join(dir, 'cost.mcap');
    const recorder = await McapRecorder.open(file);
    try {
      out.cost = await withHub(async (b, token, robotKey) => {
        const ids = Array.from({ length: n }, (_, i) => `arm-${i}`);
        const robots = startTask({ kind: 'robots', url: b.url, robotKey, robots: [...ids.map((id) => ({ id, hz: 100 })), { id: 'cam', hz: 30, camera: { width: 320, height: 240 } }] });
        await robots.ready;
        const viewers = startTask({ kind: 'viewers', url: b.url, token, robot: '*', count: 2 });
        await viewers.ready;
        const ctl = startTask({ kind: 'control', url: b.url, token, loops: ids.map((robot) => ({ robot, hz: 100 })), seconds: multi, precise: false });
        await ctl.ready;
        const prof = b.hub.profile!;
        const base = { in: b.hub.stats.messagesIn, out: b.hub.stats.messagesOut, elu: performance.eventLoopUtilization(), t: performance.now(), cpu: process.threadCpuUsage() };
        prof.reset();
        const c = controlStats(await ctl.result);
        const elu = performance.eventLoopUtilization(base.elu);
        const secs = (performance.now() - base.t) / 1000;
        const cpu = process.threadCpuUsage(base.cpu);
        const cpuUs = cpu.user + cpu.system;
        const msgsIn = b.hub.stats.messagesIn - base.in;
        const msgsOut = b.hub.stats.messagesOut - base.out;
        viewers.stop();
        await viewers.result;
        robots.stop();
        await robots.result;
        return {
          robots: n, hz: 100, seconds: multi, control: c,
          messages_in_per_s: Math.round(msgsIn / secs), messages_out_per_s: Math.round(msgsOut / secs),
          hub_event_loop_utilization: Math.round(elu.utilization * 1000) / 1000,
          /** CPU time of the hub's thread (sockets, ws framing, everything) per message received. */
          hub_thread_cpu_us_per_message_in: Math.round((cpuUs / Math.max(1, msgsIn)) * 100) / 100,
          /** The hub's own work per message by kind and stage (wall time inside the handlers; sockets' kernel time not included). */
          per_message_us: prof.report(),
          /** Without sockets: the hub's code alone, stand-in sockets, CPU per message (hub-cost.ts). */
          hub_code_only: measureHubCost({ robots: 16, cycles: 2000 }),
        };
      }, { profile: true, recorder });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  if (phases.has('load_curve')) {
    const points: Array<Record<string, unknown>> = [];
    let firstP99 = 0;
    let bentAt: number | null = null;
    for (const n of [8, 16, 32, 64, 96, 128, 192]) {
      log(`load_curve: ${n} robots at 100 Hz for ${Math.min(multi, 5)} s`);
      const point = await withHub(async (b, token, robotKey) => {
        const ids = Array.from({ length: n }, (_, i) => `arm-${i}`);
        const robots = startTask({ kind: 'robots', url: b.url, robotKey, robots: ids.map((id) => ({ id, hz: 100 })) });
        await robots.ready;
        const ctl = startTask({ kind: 'control', url: b.url, token, loops: ids.map((robot) => ({ robot, hz: 100 })), seconds: Math.min(multi, 5), precise: false });
        await ctl.ready;
        const base = { in: b.hub.stats.messagesIn, out: b.hub.stats.messagesOut, elu: performance.eventLoopUtilization(), t: performance.now(), cpu: process.threadCpuUsage() };
        const c = controlStats(await ctl.result);
        const elu = performance.eventLoopUtilization(base.elu).utilization;
        const secs = (performance.now() - base.t) / 1000;
        const cpu = process.threadCpuUsage(base.cpu);
        const cpuS = (cpu.user + cpu.system) / 1e6;
        robots.stop();
        await robots.result;
        const msgs = b.hub.stats.messagesIn - base.in + b.hub.stats.messagesOut - base.out;
        return {
          robots: n, hz: 100, p50_ms: c.p50_ms, p99_ms: c.p99_ms, missed_deadlines: c.missed_deadlines, commands: c.commands,
          messages_in_per_s: Math.round((b.hub.stats.messagesIn - base.in) / secs), messages_out_per_s: Math.round((b.hub.stats.messagesOut - base.out) / secs),
          hub_event_loop_utilization: Math.round(elu * 1000) / 1000,
          hub_thread_cpu_share: Math.round((cpuS / secs) * 1000) / 1000,
          /** Messages (in + out) per second of the hub thread's CPU: what one core of this machine handles when saturated. */
          messages_per_cpu_second: cpuS > 0 ? Math.round(msgs / cpuS) : null,
        };
      });
      points.push(point);
      if (!firstP99) firstP99 = point.p99_ms as number;
      // Bent: p99 five times the lightest load's (and past 5 ms), or a tenth of the deadlines missed.
      if (((point.p99_ms as number) > 5 * firstP99 && (point.p99_ms as number) > 5) || (point.missed_deadlines as number) > 0.1 * (point.commands as number)) {
        bentAt = n;
        break;
      }
    }
    const perCore = points.map((p) => p.messages_per_cpu_second).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
    out.load_curve = {
      points,
      /** The first load whose p99 was five times the lightest's (and past 5 ms) or that missed a tenth of its deadlines; null: none up to 192 robots. */
      bend_at_robots: bentAt,
      saturation_messages_per_s_per_core: perCore.length ? perCore[Math.floor(perCore.length / 2)] : null,
      note: 'messages in + out handled per second of the hub thread\'s CPU time (process.threadCpuUsage), median over the points: the rate at which one core of this machine saturates. CPU time, not wall time, so other work on the machine changes it less than it changes latencies',
    };
  }

  out.pass = passes.every(Boolean);
  return out;
}
