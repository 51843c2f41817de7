/**
 * The client side of `bench bridge`, one task per worker thread (the hub runs in the main
 * thread, as a user would run it in its own process): robots, control loops, viewers, their
 * rosbridge-style twins, and the fuzz set.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RobotClient } from '../robot-client.ts';
import { ControllerClient } from '../controller-client.ts';
import { MockRobot } from '../robots/mock.ts';
import type { SafetyLimits } from '../protocol.ts';
import { PeriodicLoop } from './loop.ts';
import { runFuzz } from './fuzz.ts';
import { robotToken } from '../hub/robot-credentials.ts';
import { openRos, rosImage } from './rosbridge.ts';

export type BenchTask =
  | { kind: 'robots'; url: string; robotKey: string; robots: Array<{ id: string; hz: number; camera?: { width: number; height: number } }> }
  | { kind: 'control'; url: string; token: string; loops: Array<{ robot: string; hz: number }>; seconds: number; precise: boolean }
  | { kind: 'viewers'; url: string; token: string; robot: string; count: number }
  | { kind: 'ros-robot'; url: string; robot: string; hz: number; camera: { width: number; height: number } }
  | { kind: 'ros-control'; url: string; robot: string; hz: number; seconds: number }
  | { kind: 'ros-viewers'; url: string; robot: string; count: number }
  | { kind: 'fuzz'; url: string; token: string; robotKey: string; messages: number; seed: number; limits: SafetyLimits };

const task = workerData as BenchTask;
const port = parentPort!;
const now = (): number => performance.timeOrigin + performance.now();
const stopped = new Promise<void>((resolve) => port.on('message', (m) => { if (m === 'stop') resolve(); }));

async function robots(t: Extract<BenchTask, { kind: 'robots' }>): Promise<object> {
  const clients: RobotClient[] = [];
  for (const r of t.robots) {
    const robot = new MockRobot({ controlHz: r.hz, log: false, ...(r.camera ? { camera: { ...r.camera, hz: r.hz } } : {}) });
    const c = new RobotClient({ url: t.url, token: robotToken(t.robotKey, r.id), id: r.id, robot, observationHz: r.hz, maxBufferedBytes: 16 << 20 });
    await c.start();
    clients.push(c);
  }
  await Promise.all(clients.map((c) => c.waitRegistered(20_000)));
  port.postMessage({ ready: true });
  await stopped;
  await Promise.all(clients.map((c) => c.stop()));
  return {};
}

async function control(t: Extract<BenchTask, { kind: 'control' }>): Promise<object> {
  const setups = await Promise.all(t.loops.map(async (l, i) => {
    const c = await ControllerClient.connect({ url: t.url, token: t.token, name: `bench-${i}`, timeoutMs: 20_000 });
    await c.waitForRobot(l.robot, 20_000);
    await c.lease(l.robot, { channels: [] });
    await new Promise<void>((resolve) => c.once('observation', () => resolve()));
    return c;
  }));
  port.postMessage({ ready: true });
  const results = await Promise.all(t.loops.map((l, i) => {
    const c = setups[i];
    const loop = new PeriodicLoop({
      hz: l.hz, seconds: t.seconds, precise: t.precise, startDelayMs: (i * 1000) / l.hz / t.loops.length,
      send: (seq) => c.send({ op: 'command', robot: l.robot, seq, action: [seq % 2 ? 0.05 : -0.05, 0, 0, 0, 0] }),
    });
    c.on('ack', (a) => loop.ack(a.seq));
    return loop.run();
  }));
  await Promise.all(setups.map((c) => c.close()));
  const rtt = results.map((r) => r.rtt);
  return { rtt, lateTicks: results.reduce((a, r) => a + r.lateTicks, 0), missed: results.reduce((a, r) => a + r.missed, 0) };
}

async function viewers(t: Extract<BenchTask, { kind: 'viewers' }>): Promise<object> {
  const stats = Array.from({ length: t.count }, () => ({ frames: 0, bytes: 0, latency: [] as number[] }));
  const vs = await Promise.all(stats.map(async (s, i) => {
    const v = await ControllerClient.connect({ url: t.url, token: t.token, role: 'viewer', name: `viewer-${i}` });
    if (t.robot !== '*') await v.waitForRobot(t.robot, 20_000);
    v.on('frame', (f) => {
      s.frames++;
      s.bytes += f.payload.byteLength;
      s.latency.push(now() - f.t);
    });
    await v.subscribe(t.robot);
    return v;
  }));
  port.postMessage({ ready: true });
  port.on('message', (m) => { if (m === 'reset') for (const s of stats) { s.frames = 0; s.bytes = 0; s.latency = []; } });
  await stopped;
  await Promise.all(vs.map((v) => v.close()));
  return { viewers: stats };
}

async function rosRobot(t: Extract<BenchTask, { kind: 'ros-robot' }>): Promise<object> {
  const ws = await openRos(t.url);
  ws.send(JSON.stringify({ op: 'advertise', topic: `/${t.robot}/camera/image_raw`, type: 'sensor_msgs/Image' }));
  ws.send(JSON.stringify({ op: 'subscribe', topic: `/${t.robot}/cmd` }));
  const rgb = new Uint8Array(t.camera.width * t.camera.height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7) & 0xff;
  ws.on('message', (data) => {
    const m = JSON.parse((data as Buffer).toString('utf8')) as { msg: { seq: number; action: number[] } };
    ws.send(JSON.stringify({ op: 'publish', topic: `/${t.robot}/cmd_ack`, msg: { seq: m.msg.seq, applied: m.msg.action } }));
  });
  let seq = 0;
  const timer = setInterval(() => {
    if (ws.bufferedAmount > 16 << 20) return;
    rgb[0] = seq & 0xff;
    ws.send(JSON.stringify({ op: 'publish', topic: `/${t.robot}/camera/image_raw`, msg: rosImage(seq++, now(), t.camera.width, t.camera.height, rgb) }));
  }, 1000 / t.hz);
  port.postMessage({ ready: true });
  await stopped;
  clearInterval(timer);
  ws.terminate();
  return {};
}

async function rosControl(t: Extract<BenchTask, { kind: 'ros-control' }>): Promise<object> {
  const ws = await openRos(t.url);
  ws.send(JSON.stringify({ op: 'subscribe', topic: `/${t.robot}/cmd_ack` }));
  await new Promise((r) => setTimeout(r, 100));
  port.postMessage({ ready: true });
  const loop = new PeriodicLoop({
    hz: t.hz, seconds: t.seconds, precise: true,
    send: (seq) => ws.send(JSON.stringify({ op: 'publish', topic: `/${t.robot}/cmd`, msg: { seq, action: [seq % 2 ? 0.05 : -0.05, 0, 0, 0, 0] } })),
  });
  ws.on('message', (data) => {
    const m = JSON.parse((data as Buffer).toString('utf8')) as { msg: { seq: number } };
    loop.ack(m.msg.seq);
  });
  const r = await loop.run();
  ws.terminate();
  return { rtt: [r.rtt], lateTicks: r.lateTicks, missed: r.missed };
}

async function rosViewers(t: Extract<BenchTask, { kind: 'ros-viewers' }>): Promise<object> {
  const stats = Array.from({ length: t.count }, () => ({ frames: 0, bytes: 0, latency: [] as number[] }));
  const wss = await Promise.all(stats.map(async (s) => {
    const ws = await openRos(t.url);
    ws.send(JSON.stringify({ op: 'subscribe', topic: `/${t.robot}/camera/image_raw` }));
    ws.on('message', (data) => {
      const m = JSON.parse((data as Buffer).toString('utf8')) as { msg: { data: string; header: { stamp: { sec: number; nanosec: number } } } };
      const px = Buffer.from(m.msg.data, 'base64');
      s.frames++;
      s.bytes += px.byteLength;
      s.latency.push(now() - (m.msg.header.stamp.sec * 1000 + m.msg.header.stamp.nanosec / 1e6));
    });
    return ws;
  }));
  port.postMessage({ ready: true });
  port.on('message', (m) => { if (m === 'reset') for (const s of stats) { s.frames = 0; s.bytes = 0; s.latency = []; } });
  await stopped;
  for (const ws of wss) ws.terminate();
  return { viewers: stats };
}

async function fuzz(t: Extract<BenchTask, { kind: 'fuzz' }>): Promise<object> {
  port.postMessage({ ready: true });
  return runFuzz({ url: t.url, token: t.token, robotToken: (id) => robotToken(t.robotKey, id), messages: t.messages, seed: t.seed, limits: t.limits });
}

const run: Record<BenchTask['kind'], (t: never) => Promise<object>> = {
  robots, control, viewers, 'ros-robot': rosRobot, 'ros-control': rosControl, 'ros-viewers': rosViewers, fuzz,
};
try {
  const result = await run[task.kind](task as never);
  port.postMessage({ result });
} catch (e) {
  port.postMessage({ error: (e as Error).stack ?? String(e) });
}
