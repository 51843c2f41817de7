/**
 * The viewer page in a real browser: Debian's Chromium, headless, driven by playwright-core.
 * WebGL 2 on SwiftShader draws the shared scene builder's scene; the tests read pixels back from
 * screenshots. Firefox is not available here: only Chromium is tested.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from 'fast-png';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../viewer/bench/chromium.ts';
import { startViewerServer } from '../../viewer/server/server.ts';
import type { RunningViewer } from '../../viewer/server/server.ts';
import { SimSource } from '../../viewer/server/sim-source.ts';
import { ReplaySource } from '../../viewer/server/replay-source.ts';
import { BridgeSource } from '../../viewer/server/bridge-source.ts';
import type { Moment } from '../../viewer/protocol.ts';
import type { ViewerSource } from '../../viewer/server/source.ts';
import { TabletopEnv } from '../../sim/env.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { nominalLook } from '../../sim/render/look.ts';
import { startBridge } from '../../bridge/hub/server.ts';
import type { RunningBridge } from '../../bridge/hub/server.ts';
import { McapRecorder } from '../../bridge/mcap/recorder.ts';
import { MockRobot } from '../../bridge/robots/mock.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { ControllerClient } from '../../bridge/controller-client.ts';
import { CameraClient } from '../../bridge/camera-client.ts';
import type { BlockEstimateMessage } from '../../bridge/protocol.ts';
import { cameraFromFrame } from '../../sim/camera/camera.ts';
import { project } from '../../sim/camera/projection.ts';
import { lookCameraFrame } from '../../sim/render/scene-builder.ts';
import { needs } from '../system-packages.ts';
import { until } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

const TOKEN = 'viewer-test-token-0123456789';
const VIEWER_TOKEN = 'viewer-read-only-token-0123456789';
const VIEWPORT = { width: 720, height: 450 };

/** What the page exposes as window.simrealViewer (the parts the tests read). */
interface PageView {
  ready: boolean;
  backend: string;
  mode: string;
  server: string;
  connected: boolean;
  hellos: number;
  episode: number;
  seed: number;
  scenario: string;
  moment: Moment;
  poseFrames: number;
  cameraFrames: number;
  stage: { frames: number; dirty: boolean; clean: { object(id: number): { position: { x: number; y: number; z: number } } | undefined } };
  project(x: number, y: number, z: number): { x: number; y: number; visible: boolean };
  bodyPosition(name: string): [number, number, number] | null;
  state(): { bodies: Array<{ id: number; name: string; kind: string; position: number[] }> } | null;
  pick(x: number, y: number): string;
  timeline: { startMs: number; endMs: number; t: number } | null;
  estimates: number;
  ghosts(): Array<{ name: string; position: [number, number, number]; yaw: number; size: number }>;
  cameras(): Array<{ robot: string; feature: string; frames: number; outlines: number; calibrated: boolean }>;
}
declare global {
  interface Window { simrealViewer: PageView }
}

let browser: Browser;
const servers: RunningViewer[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const v of servers.splice(0)) await v.close();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(source: ViewerSource, port = 0): Promise<RunningViewer> {
  const v = await startViewerServer({ source, port });
  servers.push(v);
  return v;
}

/** Opens the page and waits until it has drawn a streamed state; collects console errors. */
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: VIEWPORT });
  cleanups.push(() => page.close());
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  // Drawn since the first streamed state arrived (the page draws on demand).
  await page.waitForFunction(() => window.simrealViewer?.ready && window.simrealViewer.poseFrames > 0 && window.simrealViewer.stage.frames > 0 && !window.simrealViewer.stage.dirty, null, { timeout: 60_000 });
  return { page, errors };
}

function view<T>(page: Page, fn: (v: PageView) => T): Promise<T> {
  return page.evaluate(`(${fn.toString()})(window.simrealViewer)`) as Promise<T>;
}

async function waitView(page: Page, fn: (v: PageView) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  await until(() => view(page, fn), timeoutMs, what);
}

/** Screenshot pixels (RGBA or RGB rows) and a reader for one CSS pixel of the canvas. */
async function canvasPixels(page: Page): Promise<{ at(x: number, y: number): [number, number, number]; png: Buffer; box: { x: number; y: number; width: number; height: number } }> {
  const box = (await page.locator('#view').boundingBox())!;
  const png = await page.screenshot();
  const img = decode(png);
  const ch = img.channels;
  return {
    png,
    box,
    at(x: number, y: number) {
      const px = Math.round(box.x + x), py = Math.round(box.y + y);
      const i = (py * img.width + px) * ch;
      return [img.data[i], img.data[i + 1], img.data[i + 2]] as [number, number, number];
    },
  };
}

function chroma(c: readonly number[]): [number, number, number] {
  const s = c[0] + c[1] + c[2] || 1;
  return [c[0] / s, c[1] / s, c[2] / s];
}

function freshState(scenario: string, seed: number) {
  const env = new TabletopEnv(loadScenario(scenario));
  env.reset({ seed });
  return env.state();
}

describe('viewer page in Chromium', needs('chromium'), () => {
  it('loads without console errors, draws a non-blank canvas, and draws each block where the server says it is', async () => {
    const source = new SimSource({ scenario: 'scenarios/stack-3.json', seed: 3, paused: true });
    const viewer = await serve(source);
    const { page, errors } = await openPage(viewer.url);
    expect(await view(page, (v) => [v.mode, v.backend, v.seed, v.moment.step])).toEqual(['sim', expect.stringMatching(/WebGL2|WebGPU/), 3, 0]);

    const shot = await canvasPixels(page);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'viewer.png'), shot.png);
    // Not blank: many distinct colours across the canvas.
    const colours = new Set<number>();
    for (let y = 5; y < shot.box.height; y += 7) for (let x = 5; x < shot.box.width; x += 7) {
      const [r, g, b] = shot.at(x, y);
      colours.add((r >> 3) * 1024 + (g >> 3) * 32 + (b >> 3));
    }
    expect(colours.size).toBeGreaterThan(30);

    // Each block: project the server's position with the page's camera, and find the block's
    // own colour there (by chromaticity, nearest among every nominal colour in the scene).
    const state = source.current().state;
    const names = state.bodies.map((b) => b.name);
    const look = nominalLook(3, names);
    const palette = Object.entries(look.surfaces).map(([name, s]) => ({ name, c: chroma(s.texture.colors[0]) }));
    const hud = (await page.locator('#hud').boundingBox())!;
    let checked = 0;
    for (const b of state.bodies.filter((x) => x.kind === 'block')) {
      const p = await view(page, new Function('v', `return v.project(${b.position.join(',')})`) as (v: PageView) => { x: number; y: number; visible: boolean });
      expect(p.visible).toBe(true);
      const underHud = shot.box.x + p.x < hud.x + hud.width + 4 && shot.box.y + p.y < hud.y + hud.height + 4;
      const hit = await view(page, new Function('v', `return v.pick(${p.x}, ${p.y})`) as (v: PageView) => string);
      if (underHud || hit !== b.name) continue; // covered by the HUD or by another body
      const c = chroma(shot.at(p.x, p.y));
      const nearest = palette.reduce((best, e) => {
        const d = Math.hypot(e.c[0] - c[0], e.c[1] - c[1], e.c[2] - c[2]);
        return d < best.d ? { name: e.name, d } : best;
      }, { name: '', d: Infinity });
      expect(nearest.name, `pixel ${shot.at(p.x, p.y)} at block ${b.name}`).toBe(b.name);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(2);

    // The randomized look beside the clean view, with contact points and the camera frustums.
    await page.check('#toggle-randomized');
    await page.check('#toggle-contacts');
    await page.check('#toggle-frustum');
    await waitView(page, (v) => (v as unknown as { contactFrames: number }).contactFrames > 0, 'contact points');
    await waitView(page, (v) => !v.stage.dirty, 'a draw with the split view');
    fs.writeFileSync(path.join(ARTIFACTS, 'viewer-randomized.png'), await page.screenshot());
    expect(errors).toEqual([]);
  });

  it('draws the SO-101 arm from the same scene builder: every link where the server says, no mount rod', async () => {
    const source = new SimSource({ scenario: 'scenarios/so101-stack-2.json', seed: 5, paused: true });
    const viewer = await serve(source);
    const { page, errors } = await openPage(viewer.url);
    // Let the expert bring the arm down to the first block.
    for (let k = 0; k < 12; k++) {
      await page.click('#step');
      await waitView(page, (v) => v.moment.step >= 1, 'a step');
    }
    await waitView(page, (v) => v.moment.step === 12 && !v.stage.dirty, 'step 12 drawn');
    const state = source.current().state;
    expect(state.robot).toBe('so101');
    const arm = state.bodies.filter((b) => b.kind === 'link' || b.kind === 'palm' || b.kind === 'finger');
    expect(arm.map((b) => b.name).sort()).toEqual(['arm_base', 'arm_lower', 'arm_shoulder', 'arm_upper', 'arm_wrist', 'finger_l', 'finger_r', 'palm', 'riser']);
    for (const b of arm) {
      const drawn = await view(page, new Function('v', `return v.bodyPosition(${JSON.stringify(b.name)})`) as (v: PageView) => number[]);
      for (let k = 0; k < 3; k++) expect(drawn[k], b.name).toBeCloseTo(b.position[k], 4);
    }
    // The links are visible in the picture: picking the projected centre of the forearm finds an arm part.
    const lower = arm.find((b) => b.name === 'arm_lower')!;
    const p = await view(page, new Function('v', `return v.project(${lower.position.join(',')})`) as (v: PageView) => { x: number; y: number; visible: boolean });
    expect(p.visible).toBe(true);
    const hit = await view(page, new Function('v', `return v.pick(${p.x}, ${p.y})`) as (v: PageView) => string);
    expect(hit).toMatch(/^(arm_|palm|finger)/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'viewer-so101.png'), await page.screenshot());
    await page.check('#toggle-randomized');
    await waitView(page, (v) => !v.stage.dirty, 'a draw with the split view');
    fs.writeFileSync(path.join(ARTIFACTS, 'viewer-so101-randomized.png'), await page.screenshot());
    expect(errors).toEqual([]);
  });

  it('pause, step, reset and the scenario picker change the state as the server does', async () => {
    const source = new SimSource({ scenario: 'scenarios/stack-3.json', seed: 3, paused: true });
    const viewer = await serve(source);
    const { page, errors } = await openPage(viewer.url);

    await page.click('#step');
    await waitView(page, (v) => v.moment.step === 1, 'step 1');
    const s1 = source.current();
    expect(s1.step).toBe(1);
    for (const b of s1.state.bodies) {
      const drawn = await view(page, new Function('v', `return v.bodyPosition(${JSON.stringify(b.name)})`) as (v: PageView) => number[]);
      expect(drawn, b.name).toEqual(b.position);
    }

    await page.click('#resume');
    await waitView(page, (v) => !v.moment.paused && v.moment.step > 2, 'running');
    await page.click('#pause');
    await waitView(page, (v) => v.moment.paused, 'paused');
    const paused = source.current();
    expect(paused.paused).toBe(true);
    await page.waitForTimeout(300);
    expect(source.current().step).toBe(paused.step);
    expect(await view(page, (v) => v.moment.step)).toBe(paused.step);

    // A new seed from the seed box: the page shows that seed's initial state exactly.
    await page.fill('#seed', '7');
    await page.press('#seed', 'Tab');
    await waitView(page, (v) => v.seed === 7 && v.moment.step === 0 && v.episode === 1, 'seed 7');
    const fresh7 = freshState('scenarios/stack-3.json', 7);
    for (const b of fresh7.bodies) {
      const drawn = await view(page, new Function('v', `return v.bodyPosition(${JSON.stringify(b.name)})`) as (v: PageView) => number[]);
      expect(drawn, b.name).toEqual(b.position);
    }
    // Reset after stepping returns to the same start.
    await page.click('#step');
    await waitView(page, (v) => v.moment.step === 1, 'step after reset');
    await page.click('#reset');
    await waitView(page, (v) => v.moment.step === 0 && v.episode === 2, 'reset');
    expect(await view(page, (v) => v.bodyPosition('block0'))).toEqual(fresh7.bodies.find((b) => b.name === 'block0')!.position);

    await page.selectOption('#scenario', 'scenarios/stack-5.json');
    await waitView(page, (v) => v.scenario === 'scenarios/stack-5.json' && (v.state()?.bodies.filter((b) => b.kind === 'block').length ?? 0) === 5, 'stack-5');
    expect(source.current().scenario).toBe('scenarios/stack-5.json');
    expect(errors).toEqual([]);
  });

  it('reconnects by itself after the server restarts, with a banner while it is down', async () => {
    const first = await serve(new SimSource({ scenario: 'scenarios/stack-3.json', seed: 3, paused: true }));
    const { page, errors } = await openPage(first.url);
    const port = first.port;
    const id = await view(page, (v) => v.server);
    expect(await page.locator('#banner').isVisible()).toBe(false);

    await first.close();
    await waitView(page, (v) => !v.connected, 'the page to notice');
    await page.locator('#banner').waitFor({ state: 'visible' });
    expect(await page.locator('#banner').textContent()).toMatch(/Disconnected/);

    await serve(new SimSource({ scenario: 'scenarios/stack-3.json', seed: 9, paused: true }), port);
    await waitView(page, (v) => v.connected && v.hellos === 2 && v.seed === 9, 'the page to reconnect');
    await page.locator('#banner').waitFor({ state: 'hidden' });
    expect(await view(page, (v) => v.server)).not.toBe(id);
    expect(await view(page, (v) => v.bodyPosition('block0'))).toEqual(freshState('scenarios/stack-3.json', 9).bodies.find((b) => b.name === 'block0')!.position);
    // Connection refusals while the server was down are the browser's own log lines, not the page's errors.
    expect(errors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
  });

  it('replay: the timeline scrubber moves the scene to the recorded poses', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-viewer-'));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'session.mcap');
    const recorder = await McapRecorder.open(file);
    const bridge = await startBridge({ port: 0, token: TOKEN, recorder, config: { heartbeatMs: 0 } });
    const robot = new MockRobot({ camera: { width: 32, height: 24 }, initialPose: [-0.1, 0.05, 0.2, 0, -1] });
    const client = new RobotClient({ url: bridge.url, token: bridge.robotToken('arm'), id: 'arm', robot, observationHz: 50, backoff: { initialMs: 20, maxMs: 200 } });
    await client.start();
    await client.waitRegistered(5000);
    const ctl = await ControllerClient.connect({ url: bridge.url, token: TOKEN, name: 'ctl' });
    await ctl.lease('arm');
    await new Promise<void>((resolve) => ctl.once('observation', () => resolve()));
    for (let i = 0; i < 10; i++) {
      await ctl.command('arm', [1, 0, 0, 0, 1]);
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 100));
    await ctl.close();
    await client.stop();
    await bridge.close();
    const end = robot.pose;
    expect(end[0]).toBeCloseTo(0.1, 9);

    const source = new ReplaySource({ file, play: false });
    const viewer = await serve(source);
    const { page, errors } = await openPage(viewer.url);
    await waitView(page, (v) => v.mode === 'replay' && v.timeline !== null, 'the timeline');
    expect(await page.locator('#timeline').isVisible()).toBe(true);
    await page.locator('.robot[data-robot="arm"] canvas').waitFor();

    const palmId = await view(page, (v) => v.state()!.bodies.find((b) => b.name === 'palm')!.id);
    const drawnPalm = (): Promise<number[]> => view(page, new Function('v', `const p = v.stage.clean.object(${palmId}).position; return [p.x, p.y, p.z]`) as (v: PageView) => number[]);
    const max = await page.locator('#tl-range').getAttribute('max');
    await page.locator('#tl-range').fill(max!);
    await waitView(page, (v) => Math.abs((v.bodyPosition('palm') ?? [9])[0] - 0.1) < 1e-9, 'the end pose');
    const atEnd = await drawnPalm();
    expect(atEnd[0]).toBeCloseTo(0.1, 9);
    expect(atEnd[1]).toBeCloseTo(0.05, 9);
    await waitView(page, (v) => v.cameraFrames > 0, 'a camera frame');
    const t = await view(page, (v) => v.timeline!.t - v.timeline!.startMs);
    expect(t).toBeGreaterThan(200);
    await page.locator('#tl-range').fill('0');
    await waitView(page, (v) => Math.abs((v.bodyPosition('palm') ?? [9])[0] + 0.1) < 1e-9, 'the start pose');
    const atStart = await drawnPalm();
    expect(atStart[0]).toBeCloseTo(-0.1, 9);
    // The scene moved on screen too: the palm projects elsewhere.
    const p0 = await view(page, new Function('v', `return v.project(${atStart.join(',')})`) as (v: PageView) => { x: number });
    const p1 = await view(page, new Function('v', `return v.project(${atEnd.join(',')})`) as (v: PageView) => { x: number });
    expect(Math.abs(p1.x - p0.x)).toBeGreaterThan(20);
    expect(errors).toEqual([]);
  });

  it('bridge: a robot\'s state and camera live; e-stop works with the main token and is disabled read-only', async () => {
    const bridge: RunningBridge = await startBridge({ port: 0, token: TOKEN, viewerToken: VIEWER_TOKEN, config: { heartbeatMs: 0 } });
    cleanups.push(() => bridge.close());
    const robot = new MockRobot({ camera: { width: 32, height: 24 }, initialPose: [0.05, -0.05, 0.15, 0.3, -1] });
    const client = new RobotClient({ url: bridge.url, token: bridge.robotToken('emu'), id: 'emu', robot, observationHz: 30, backoff: { initialMs: 20, maxMs: 200 } });
    await client.start();
    cleanups.push(() => client.stop());
    await client.waitRegistered(5000);

    const readOnly = await serve(new BridgeSource({ url: bridge.url, token: VIEWER_TOKEN }));
    const ro = await openPage(readOnly.url);
    await ro.page.locator('.robot[data-robot="emu"] .estop').waitFor();
    await waitView(ro.page, (v) => v.cameraFrames > 0, 'camera frames (read-only)');
    expect(await ro.page.locator('.robot[data-robot="emu"] .estop').isDisabled()).toBe(true);

    const control = await serve(new BridgeSource({ url: bridge.url, token: TOKEN }));
    const { page, errors } = await openPage(control.url);
    expect(await view(page, (v) => v.mode)).toBe('bridge');
    await waitView(page, (v) => v.cameraFrames > 0 && v.bodyPosition('palm') !== null, 'camera and pose');
    const palm = (await view(page, (v) => v.bodyPosition('palm')))!;
    expect(palm[0]).toBeCloseTo(0.05, 9);
    expect(palm[1]).toBeCloseTo(-0.05, 9);
    expect(palm[2]).toBeCloseTo(0.15, 9);
    const button = page.locator('.robot[data-robot="emu"] .estop');
    await until(async () => !(await button.isDisabled()), 10_000, 'the e-stop button to enable');
    await button.click();
    await until(() => robot.estopped, 10_000, 'the robot to be e-stopped');
    expect(robot.estops.at(-1)?.reason).toBe('viewer e-stop');
    await page.locator('.robot[data-robot="emu"] .status.estopped').waitFor();
    await ro.page.locator('.robot[data-robot="emu"] .status.estopped').waitFor();
    expect(errors).toEqual([]);
    expect(ro.errors).toEqual([]);
  });
  it('bridge: a controller\'s estimates drawn as ghost boxes on the robot in 3D and as outlines in its calibrated camera; an uncalibrated camera draws none', async () => {
    const bridge: RunningBridge = await startBridge({ port: 0, token: TOKEN, config: { heartbeatMs: 0 } });
    cleanups.push(() => bridge.close());
    // The front camera of the nominal look at 64x48: an ideal pinhole looking at the table from the front and above.
    const calibration = cameraFromFrame(lookCameraFrame(nominalLook(0, []), 'front', 64, 48));
    const robots = { cal: new MockRobot({ camera: { width: 64, height: 48, calibration }, initialPose: [0, 0.1, 0.2, 0, -1] }), plain: new MockRobot({ camera: { width: 32, height: 24 } }) };
    for (const [id, robot] of Object.entries(robots)) {
      const client = new RobotClient({ url: bridge.url, token: bridge.robotToken(id), id, robot, observationHz: 30, backoff: { initialMs: 20, maxMs: 200 } });
      await client.start();
      cleanups.push(() => client.stop());
      await client.waitRegistered(5000);
    }
    // Two blocks in view and one under the camera, out of its field of view.
    const blocks: BlockEstimateMessage[] = [
      { name: 'block0', position: [0.02, 0.01, 0.025], yaw: 0.3, size: 0.05, score: 0.9 },
      { name: 'block1', position: [-0.1, -0.08, 0.02], yaw: -0.2, size: 0.04 },
      { name: 'block2', position: [0, -0.76, 0.02], yaw: 0, size: 0.04 },
    ];
    const inView = (b: BlockEstimateMessage): boolean => {
      const p = project(calibration, b.position);
      return p.depth > 0 && p.u > 0 && p.u < 64 && p.v > 0 && p.v < 48;
    };
    expect(blocks.map(inView)).toEqual([true, true, false]);
    const other: BlockEstimateMessage[] = [{ name: 'block0', position: [0.1, 0.1, 0.025], yaw: 0, size: 0.05 }];

    const viewer = await serve(new BridgeSource({ url: bridge.url, token: TOKEN, robot: 'cal' }));
    const { page, errors } = await openPage(viewer.url);
    await waitView(page, (v) => v.scenario === 'robot:cal' && v.cameras().filter((c) => c.frames > 0).length === 2, 'both cameras streaming, robot cal drawn in 3D');

    // A calibrated camera attached to a robot the page already shows gets its own panel.
    const top = new CameraClient({ url: bridge.url, token: bridge.robotToken('plain'), robot: 'plain', key: 'camera.top', spec: { kind: 'image', dtype: 'uint8', shape: [24, 32, 3], format: 'rgb8', calibration: { ...calibration, width: 32, height: 24, intrinsics: { fx: calibration.intrinsics.fx / 2, fy: calibration.intrinsics.fy / 2, cx: 16, cy: 12 } } } });
    await top.start();
    cleanups.push(() => top.stop());
    const gray = new Uint8Array(32 * 24 * 3).fill(90);
    const topTimer = setInterval(() => top.send(gray, performance.timeOrigin + performance.now()), 50);
    cleanups.push(async () => clearInterval(topTimer));
    await waitView(page, (v) => v.cameras().some((c) => c.robot === 'plain' && c.feature === 'camera.top' && c.calibrated && c.frames > 0), 'the attached camera\'s frames');

    // A controller publishing estimates of both robots, as a perception loop does at its frame rate.
    const ctl = await ControllerClient.connect({ url: bridge.url, token: TOKEN, name: 'estimator' });
    cleanups.push(() => ctl.close());
    const hubErrors: string[] = [];
    ctl.on('hubError', (e) => hubErrors.push(e.message));
    // The hub relays estimates to the robot's subscribers, this controller included.
    await ctl.subscribe('cal', []);
    const relayed: Array<{ robot: string; by: string | undefined; blocks: BlockEstimateMessage[] }> = [];
    ctl.on('estimate', (m) => relayed.push({ robot: m.robot, by: m.by.name, blocks: m.blocks }));
    const publish = (): void => {
      const t = performance.timeOrigin + performance.now();
      ctl.estimate('cal', { t, camera: 'camera.front', blocks });
      ctl.estimate('plain', { t, camera: 'camera.front', blocks: other });
    };
    publish();
    const timer = setInterval(publish, 50);
    cleanups.push(async () => clearInterval(timer));

    await waitView(page, (v) => v.estimates > 0 && v.cameras().some((c) => c.robot === 'cal' && c.outlines > 0), 'the estimate drawn');
    await until(() => relayed.length > 0, 5000, 'the relayed estimate');
    expect(relayed[0]).toEqual({ robot: 'cal', by: 'estimator', blocks });
    expect(relayed.every((m) => m.robot === 'cal')).toBe(true);
    const ghost = (b: BlockEstimateMessage) => ({ name: b.name, position: b.position, yaw: b.yaw, size: b.size });
    // Only the drawn robot's estimates become ghosts, however the two robots' estimates interleave.
    for (let k = 0; k < 5; k++) {
      expect(await view(page, (v) => v.ghosts())).toEqual(blocks.map(ghost));
      await new Promise((r) => setTimeout(r, 60));
    }
    const cams = await view(page, (v) => v.cameras());
    expect(cams.find((c) => c.robot === 'cal')).toMatchObject({ feature: 'camera.front', calibrated: true, outlines: 2 });
    expect(cams.find((c) => c.robot === 'plain' && c.feature === 'camera.front')).toMatchObject({ calibrated: false, outlines: 0 });
    // Calibrated, but the estimates come from another camera.
    expect(cams.find((c) => c.robot === 'plain' && c.feature === 'camera.top')).toMatchObject({ calibrated: true, outlines: 0 });

    const caption = (robot: string) => page.locator(`.robot[data-robot="${robot}"] figure.camera[data-feature="camera.front"] figcaption`);
    await until(async () => /2 estimated blocks from estimator/.test((await caption('cal').textContent()) ?? ''), 10_000, 'the calibrated camera\'s caption');
    expect(await caption('cal').textContent()).toMatch(/^camera\.front · 64x48 · \d+ fps · calibrated · /);
    expect(await caption('plain').textContent()).toMatch(/^camera\.front · 32x24 · .*no calibration/);

    // The outlines are in the image where the calibration puts the blocks: ghost-coloured pixels
    // (cyan over the mock's pattern, where g - r and b - r never exceed 14) lie only near them.
    const cyan = (robot: string): Promise<Array<[number, number]>> => page.evaluate((sel) => {
      const c = document.querySelector<HTMLCanvasElement>(sel)!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const out: Array<[number, number]> = [];
      for (let i = 0; i < c.width * c.height; i++) if (i > 0 && d[i * 4 + 1] - d[i * 4] > 50 && d[i * 4 + 2] - d[i * 4] > 50) out.push([i % c.width, Math.floor(i / c.width)]);
      return out;
    }, `.robot[data-robot="${robot}"] canvas[data-feature="camera.front"]`);
    const boxes = blocks.filter(inView).map((b) => {
      const us: number[] = [], vs: number[] = [];
      for (const dx of [-1, 1]) for (const dy of [-1, 1]) for (const dz of [-1, 1]) {
        const p = project(calibration, [b.position[0] + (dx * b.size) / 2, b.position[1] + (dy * b.size) / 2, b.position[2] + (dz * b.size) / 2]);
        us.push(p.u);
        vs.push(p.v);
      }
      // Rotated by its yaw the cube stays within √2 of its half edge: a margin of 3 px covers that and the line width.
      return { u0: Math.min(...us) - 3, u1: Math.max(...us) + 3, v0: Math.min(...vs) - 3, v1: Math.max(...vs) + 3 };
    });
    const drawn = await cyan('cal');
    expect(drawn.length).toBeGreaterThanOrEqual(10);
    for (const [x, y] of drawn) expect(boxes.some((b) => x + 1 > b.u0 && x < b.u1 && y + 1 > b.v0 && y < b.v1), `outline pixel (${x}, ${y}) away from every block`).toBe(true);
    for (const b of boxes) expect(drawn.some(([x, y]) => x + 1 > b.u0 && x < b.u1 && y + 1 > b.v0 && y < b.v1)).toBe(true);
    expect(await cyan('plain')).toEqual([]);

    // The controller stops: the ghosts and the outlines go.
    clearInterval(timer);
    await waitView(page, (v) => v.ghosts().length === 0 && v.cameras().every((c) => c.outlines === 0), 'stale estimates to go', 15_000);
    expect(hubErrors).toEqual([]);
    expect(errors).toEqual([]);
  });
});
