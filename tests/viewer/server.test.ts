import { describe, it, expect, afterEach } from 'vitest';
import * as http from 'node:http';
import { startViewerServer } from '../../viewer/server/server.ts';
import type { RunningViewer } from '../../viewer/server/server.ts';
import { SimSource } from '../../viewer/server/sim-source.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { POSE_COLUMNS, readPoseFrame } from '../../viewer/protocol.ts';
import { PageClient, until } from './helpers.ts';

let running: RunningViewer[] = [];
let clients: PageClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const v of running) await v.close();
  running = [];
  clients = [];
});

async function start(options: Partial<ConstructorParameters<typeof SimSource>[0]> = {}): Promise<{ viewer: RunningViewer; source: SimSource }> {
  const source = new SimSource({ scenario: 'scenarios/stack-3.json', seed: 3, paused: true, ...options });
  const viewer = await startViewerServer({ source });
  running.push(viewer);
  return { viewer, source };
}

async function page(viewer: RunningViewer, headers: Record<string, string> = {}): Promise<PageClient> {
  const c = await PageClient.open(viewer.url, headers);
  clients.push(c);
  await until(() => c.poseFrames > 0, 10_000, 'the first pose frame');
  return c;
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

/** The rows of a fresh reset of `scenario` at `seed` (what the server must show after a reset). */
function freshRows(scenario: string, seed: number): number[] {
  const env = new TabletopEnv(loadScenario(scenario));
  env.reset({ seed });
  const out: number[] = [];
  for (const b of env.state().bodies) out.push(b.id, ...b.position, ...b.quaternion);
  return out;
}

describe('viewer server: sim mode over a real socket', () => {
  it('serves the page and its bundle, and answers unknown paths with 404', async () => {
    const { viewer } = await start();
    const index = await get(viewer.url);
    expect(index.status).toBe(200);
    expect(index.type).toMatch(/text\/html/);
    expect(index.body).toContain('/main.js');
    const js = await get(`${viewer.url}main.js`);
    expect(js.status).toBe(200);
    expect(js.type).toMatch(/javascript/);
    expect(js.body.length).toBeGreaterThan(100_000);
    expect((await get(`${viewer.url}style.css`)).status).toBe(200);
    expect((await get(`${viewer.url}nope`)).status).toBe(404);
    expect((await get(viewer.url, { Host: 'evil.example:80' })).status).toBe(403);
  });

  it('greets a page with hello, the episode, the status and the exact state of a fresh reset', async () => {
    const { viewer } = await start();
    const c = await page(viewer);
    const hello = c.last('hello')!;
    expect(hello).toMatchObject({ mode: 'sim', protocol: 'simreal.viewer.v1', streamHz: 60, driver: 'expert' });
    expect(hello.scenarios.map((s) => s.id)).toEqual(expect.arrayContaining(['stack-2', 'stack-3', 'stack-5', 'push']));
    const ep = c.last('episode')!;
    expect(ep).toMatchObject({ episode: 0, seed: 3, taskId: 'StackBlocks-v1', scenario: { path: 'scenarios/stack-3.json', id: 'stack-3' } });
    expect(ep.state.bodies.filter((b) => b.kind === 'block')).toHaveLength(3);
    expect(c.last('status')).toMatchObject({ paused: true, speed: 1, autoReset: true, contacts: false });
    expect(c.moment).toMatchObject({ step: 0, paused: true, seed: 3, episode: 0 });
    expect(Array.from(c.rows!)).toEqual(freshRows('scenarios/stack-3.json', 3));
  });

  it('pause, step and reset change the state exactly as the environment does', async () => {
    const { viewer, source } = await start();
    const c = await page(viewer);
    c.send({ op: 'step', n: 3 });
    await until(() => c.moment.step === 3, 5000, 'step 3');
    const after3 = source.current();
    expect(after3).toMatchObject({ step: 3, paused: true });
    // The frame shows the exact post-step state (no interpolation while paused).
    const palm = after3.state.bodies.findIndex((b) => b.name === 'palm');
    expect(Array.from(c.rows!.subarray(palm * POSE_COLUMNS + 1, palm * POSE_COLUMNS + 4))).toEqual(after3.state.bodies[palm].position);

    c.send({ op: 'resume' });
    await until(() => c.moment.step >= 6 && !c.moment.paused, 10_000, 'running');
    c.send({ op: 'pause' });
    await until(() => c.last('status')?.paused === true && c.moment.paused, 5000, 'paused');
    const s = source.current().step;
    await new Promise((r) => setTimeout(r, 200));
    expect(source.current().step).toBe(s); // paused: nothing moves

    c.send({ op: 'reset', seed: 11 });
    await until(() => c.moment.seed === 11 && c.moment.step === 0, 5000, 'reset to seed 11');
    expect(c.last('episode')).toMatchObject({ episode: 1, seed: 11 });
    expect(Array.from(c.rows!)).toEqual(freshRows('scenarios/stack-3.json', 11));
  });

  it('switches scenarios only to ones it offers, and streams contacts on request', async () => {
    const { viewer } = await start();
    const c = await page(viewer);
    c.send({ op: 'scenario', path: 'scenarios/stack-5.json', seed: 2 });
    await until(() => c.last('episode')?.scenario.id === 'stack-5', 5000, 'stack-5');
    expect(c.last('episode')!.state.bodies.filter((b) => b.kind === 'block')).toHaveLength(5);
    expect(Array.from(c.rows!)).toEqual(freshRows('scenarios/stack-5.json', 2));
    c.send({ op: 'scenario', path: '/etc/passwd' });
    await until(() => c.last('notice') !== undefined, 5000, 'a refusal');
    expect(c.last('notice')!.message).toMatch(/not one this server offers/);
    c.send({ op: 'contacts', on: true });
    await until(() => c.frames.some((f) => f.channel === 1), 5000, 'a contact frame');
    const f = c.frames.filter((x) => x.channel === 1).at(-1)!;
    expect(f.shape[0]).toBeGreaterThan(1); // blocks resting on the table touch it
  });

  it('streams interpolated frames while running and keeps going after bad input', async () => {
    const { viewer } = await start({ paused: false, speed: 1 });
    const c = await page(viewer);
    c.ws.send('not json');
    c.ws.send('{"op":"reset","seed":-4}');
    c.ws.send(Buffer.from([1, 2, 3]));
    await until(() => c.count('notice') >= 3, 5000, 'three notices');
    const t0 = c.poseFrames;
    await until(() => c.poseFrames > t0 + 30, 10_000, 'frames');
    // Between control steps (20 Hz here) the stream (60 Hz) sends in-between moments: some
    // consecutive frames share a step and differ in time.
    const m = { ...c.moment };
    let prev: { step: number; time: number } | null = null;
    let between = 0;
    for (const f of c.frames.slice(-30)) {
      if (!readPoseFrame(f, m)) continue;
      if (prev && prev.step === m.step && m.time > prev.time) between++;
      prev = { step: m.step, time: m.time };
    }
    expect(between).toBeGreaterThan(0);
  });

  it('refuses WebSocket upgrades from another origin, and without the subprotocol', async () => {
    const { viewer } = await start();
    await expect(PageClient.open(viewer.url, { Origin: 'http://evil.example' })).rejects.toThrow(/403/);
    const ok = await PageClient.open(viewer.url, { Origin: viewer.url.replace(/\/$/, '') });
    clients.push(ok);
    const { WebSocket } = await import('ws');
    const bare = new WebSocket(viewer.url.replace('http', 'ws') + 'ws');
    await expect(new Promise((resolve, reject) => { bare.once('open', resolve); bare.once('unexpected-response', (_q, r) => reject(new Error(String(r.statusCode)))); bare.once('error', reject); })).rejects.toThrow(/400/);
  });
});
