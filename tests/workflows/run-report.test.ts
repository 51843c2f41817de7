import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { trainBc } from '../../policy/train/bc.ts';
import { demoParts } from '../../workflows/run/options.ts';
import { runPipeline } from '../../workflows/run/pipeline.ts';
import { poseBudget } from '../../workflows/run/stages.ts';
import { ESTIMATE_COLOUR, TRUTH_COLOUR } from '../../workflows/report/camera-frames.ts';
import { decode as decodePng } from 'fast-png';
import type { RunSummary } from '../../workflows/report/summary.ts';
import { launchChromium } from '../../viewer/bench/chromium.ts';
import { hasSystemPackage, needs } from '../system-packages.ts';
import { startBridge } from '../../bridge/hub/server.ts';
import { RobotClient } from '../../bridge/robot-client.ts';
import { OBSERVATIONS_PER_STEP_WITH_CAMERA } from '../../bridge/robots/emulated/camera.ts';
import type { EmulatedCamera } from '../../bridge/robots/emulated/camera.ts';
import { EmulatedRobot } from '../../bridge/robots/emulated/emulated.ts';
import { loadReality } from '../../bridge/robots/emulated/reality.ts';
import { loadScenario } from '../../sim/scenario.ts';
import { runPerceptionOnBridge } from '../../workflows/perception-on-bridge.ts';
import { driveInWorker } from '../../workflows/run/reality-thread.ts';

/** Whether this run found a WebGPU adapter: then the pose, camera and montage stages must render. */
const RENDERS = hasSystemPackage('webgpu');

const dir = mkdtempSync(join(tmpdir(), 'simreal-run-'));
const out = join(dir, 'report');
const cache = join(dir, 'cache');
let summary: RunSummary;
let reportPath: string;
const logs: string[] = [];

async function smallRun(over: Partial<Parameters<typeof runPipeline>[0]> = {}): Promise<{ summary: RunSummary; reportPath: string }> {
  return runPipeline({
    // stack-2 (blocks for the pose estimator to locate) at a tiny scale.
    scenarioPath: 'scenarios/stack-2.json',
    realityPath: 'scenarios/reality/lab.json',
    out,
    cacheDir: cache,
    episodes: 8,
    dartNoise: 0.1,
    epochs: 2,
    hidden: [64, 64],
    evalEpisodes: 6,
    sweepPoints: 2,
    sweepEpisodes: 2,
    realityEpisodes: 1,
    cameraEpisodes: 1,
    // The pose estimator's plumbing on a tiny scale where a WebGPU adapter renders (CI: lavapipe).
    pose: 'on',
    // The full budget (the estimator and its ablation) on a tiny scale.
    perception: 'full',
    poseFrames: 32,
    workers: 0,
    seed: 3,
    machineSpeedSeconds: 0.5,
    backend: 'wasm',
    skip: new Set(),
    log: (l) => logs.push(l),
    progress: () => ({ update() {}, stop() {} }),
    ...over,
  });
}

beforeAll(async () => {
  ({ summary, reportPath } = await smallRun());
}, 360_000);

describe('simreal run (a small run of the main job)', () => {
  it('runs every stage and writes summary.json and report.html', () => {
    expect(summary.stages.map((s) => s.name)).toEqual(['demos', 'ablation-data', 'train', 'train-ablation', 'eval', 'sweep', 'pose', 'reality', 'reality-camera', 'montage']);
    // Without a WebGPU adapter the rendering stages are left out (see 'without a WebGPU adapter'),
    // and with no pose estimator the robot cannot be driven through its camera.
    expect(summary.stages.filter((s) => s.skipped).map((s) => s.name)).toEqual(RENDERS ? [] : ['pose', 'reality-camera', 'montage']);
    expect(summary.stages.every((s) => !s.cached)).toBe(true);
    // The machine's speed, measured at the start as `bench train` measures its MLP row on wasm.
    expect(summary.machine.mlpWasmSamplesPerSec).toBeGreaterThan(100);
    expect(logs[0]).toMatch(/^machine speed: [\d,]+ MLP samples\/s \(bench train, wasm\)$/);
    expect(readFileSync(reportPath, 'utf8')).toMatch(/ s on a machine that trains [\d,]+ MLP samples\/s \(bench train, wasm\)/);
    if (RENDERS) {
      // Errors in cm on held-out looks for both estimators, on as many frames as evaluation episodes.
      expect(summary.pose?.frames).toBe(6);
      expect(summary.pose?.meanCm).toBeGreaterThan(0);
      expect(summary.pose?.ablationMeanCm).toBeGreaterThan(0);
      expect(readFileSync(reportPath, 'utf8')).toContain('Pose estimator');
    }
    const keys = summary.success.map((r) => r.key);
    expect(keys).toEqual(['train', 'heldout', 'none', 'ablation-heldout', 'reality', ...(RENDERS ? ['reality-camera'] : [])]);
    for (const r of summary.success) {
      expect(r.rate.trials).toBe(r.key.startsWith('reality') ? 1 : 6);
      expect(r.rate.low).toBeLessThanOrEqual(r.rate.rate);
      expect(r.rate.high).toBeGreaterThanOrEqual(r.rate.rate);
    }
    expect(summary.training.length).toBe(2);
    // Where it breaks: every physics parameter, two values each, with its ranges.
    expect(summary.sweep?.sweeps.map((p) => p.parameter)).toEqual(Object.keys(JSON.parse(readFileSync('scenarios/stack-2.json', 'utf8')).randomization));
    for (const p of summary.sweep!.sweeps) {
      expect(p.points.length).toBe(2);
      for (const x of p.points) expect(x.success.trials).toBe(2);
    }
    expect(summary.sweep?.sweeps.find((p) => p.parameter === 'friction')?.train).toEqual([[0.6, 1]]);
    expect(readFileSync(reportPath, 'utf8')).toContain('Where it breaks');
    expect(summary.bridge?.commands).toBeGreaterThan(0);
    // The policy's grip goes out as the simulator executes it (clipped to ±1): the hub has none to clip.
    expect(summary.bridge?.clampReasons.grip_range ?? 0).toBe(0);
    expect(summary.trajectory?.points.length).toBeGreaterThan(1);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(summary);
    expect(existsSync(reportPath)).toBe(true);
  });

  it('drives the emulated robot through its camera and the pose estimator where it renders, else says why not and how', () => {
    const report = readFileSync(reportPath, 'utf8');
    const note = summary.notes.filter((n) => n.startsWith('No run through the camera: '));
    if (!RENDERS) {
      expect(summary.perception).toBeNull();
      expect(note).toHaveLength(1);
      expect(note[0]).toMatch(/trained none \(the pose estimator's note says why\)\. Train it in the run with --pose on, or by hand: npx simreal train pose scenarios\/stack-2\.json --out models\/pose, then npx simreal policy run models\/bc --perception models\/pose /);
      expect(logs.filter((l) => l.startsWith('· BC through the camera: left out'))).toHaveLength(1);
      expect(report).toContain('<p class="muted" id="perception">No run through the camera: ');
      return;
    }
    expect(note).toEqual([]);
    const row = summary.success.find((r) => r.key === 'reality-camera');
    expect(row?.label).toBe('BC through the camera and the pose estimator on the emulated robot (lab)');
    expect(row?.rate.trials).toBe(1);
    // The camera path's own figures: the lab camera, latency from frame capture to command sent, stale steps.
    const p = summary.perception!;
    expect(p.camera).toBe('camera.front');
    expect(p.calibration).toMatch(/ 128x128$/);
    expect(p.steps).toBeGreaterThan(0);
    expect(p.commands).toBe(p.steps);
    expect(p.staleSteps).toBeGreaterThanOrEqual(0);
    expect(p.staleSteps).toBeLessThanOrEqual(p.steps);
    expect(p.frames.received).toBeGreaterThan(0);
    expect(p.frames.estimated).toBeGreaterThan(0);
    // At least the reality's network latency (15 ± 5 ms) lies between a frame's capture and its action.
    expect(p.cameraToActionMs.p50).toBeGreaterThanOrEqual(10);
    expect(p.cameraToActionMs.p99).toBeGreaterThanOrEqual(p.cameraToActionMs.p50);
    expect(p.cameraToActionMs.max).toBeGreaterThanOrEqual(p.cameraToActionMs.p99);
    expect(p.estimateMs.p50).toBeGreaterThan(0);
    expect(report).toContain(`<p id="perception">Through camera.front`);
    // A frame the policy acted on, enlarged 3x, with the estimated and the true blocks drawn on it.
    expect(summary.cameraFrames).toBe('camera-frames.png');
    const png = decodePng(readFileSync(join(out, 'camera-frames.png')));
    expect([png.width, png.height]).toEqual([384, 384]);
    const px = png.data as Uint8Array;
    const has = (c: readonly number[]) => { for (let i = 0; i < px.length; i += png.channels) if (px[i] === c[0] && px[i + 1] === c[1] && px[i + 2] === c[2]) return true; return false; };
    expect(has(ESTIMATE_COLOUR)).toBe(true);
    expect(has(TRUTH_COLOUR)).toBe(true);
    expect(report).toContain('<figure id="camera-frames"><img class="montage" alt="camera frames with the estimated blocks" src="data:image/png;base64,');
    expect(report).toContain(`camera to action (frame capture → command sent) p50 ${p.cameraToActionMs.p50.toFixed(1)} ms, p99 ${p.cameraToActionMs.p99.toFixed(1)} ms`);
    expect(report).toContain(`${p.staleSteps} of ${p.steps} steps stale`);
    expect(logs.some((l) => /^ {2}camera to action p50 [\d.]+ ms, p99 [\d.]+ ms; \d+ of \d+ steps stale/.test(l))).toBe(true);
    expect(summary.commands.some((c) => c.includes('--perception models/pose'))).toBe(true);
  });

  it("holds the robot when its camera goes quiet, saying why, and acts again when frames come back", { ...needs('webgpu'), timeout: 60_000 }, async () => {
    // The run's own policy and estimator, the lab robot, and a camera that stops for 20 steps.
    const byName = Object.fromEntries(summary.stages.map((st) => [st.name, st.output]));
    const reality = loadReality('scenarios/reality/lab.json');
    const here = { ...reality, scenario: { ...loadScenario('scenarios/stack-2.json'), randomization: reality.config.physics } };
    const calibration = JSON.parse(readFileSync('scenarios/reality/lab-camera.json', 'utf8'));
    // Quiet for 20 control steps from the 30th step the policy acted on.
    let captures = 0, quietFrom = -1, actedWhenBack = -1, listener: ((rgb: Uint8Array, t: number) => void) | null = null;
    const acted: number[] = [];
    const quiet = (): boolean => {
      if (quietFrom < 0 && acted.length >= 30) quietFrom = captures;
      const q = quietFrom >= 0 && captures < quietFrom + 20;
      if (!q && quietFrom >= 0 && actedWhenBack < 0) actedWhenBack = acted.length;
      return q;
    };
    const grey = new Uint8Array(128 * 128 * 3).fill(120);
    const camera = {
      key: 'camera.front', calibration,
      spec: { kind: 'image', dtype: 'uint8', shape: [128, 128, 3], format: 'rgb8', hz: 20, calibration },
      prepare() {},
      capture(_state: unknown, t: number) {
        captures++;
        if (!quiet()) listener?.(grey, t);
      },
    };
    const token = 'camera-quiet-test-token-0123456789';
    const bridge = await startBridge({ port: 0, host: '127.0.0.1', token });
    const robot = new EmulatedRobot(here, { camera: camera as unknown as EmulatedCamera });
    const client = new RobotClient({ url: bridge.url, token: bridge.robotToken('emu-1'), id: 'emu-1', robot, model: 'emulated:lab', observationHz: 20 * OBSERVATIONS_PER_STEP_WITH_CAMERA });
    listener = (rgb, t) => client.sendFrame('camera.front', rgb, t);
    const lines: string[] = [];
    try {
      await client.start();
      await client.waitRegistered(10_000);
      const r = await runPerceptionOnBridge({
        modelDir: byName.train, perceptionDir: join(byName.pose, 'model-train'), url: bridge.url, token, robot: 'emu-1', episodes: 1, backend: 'wasm',
        log: (l) => lines.push(l), onAct: (_inputs, obs) => acted.push(obs.state.episode[1]),
      });
      expect(r.episodes).toHaveLength(1);
      const p = r.perception!;
      expect(p.cameraHolds.length).toBeGreaterThanOrEqual(1);
      expect(p.cameraHolds[0]).toMatch(/^camera\.front sent no frame for \d+ control steps \(\d+ ms\): nothing to see the blocks by$/);
      expect(lines.some((l) => l.startsWith('holding emu-1: camera.front sent no frame'))).toBe(true);
      expect(lines).toContain('camera.front sends again; acting again');
      // While the camera was quiet nothing was acted on after the few steps that tell it is
      // (at most 3 at 20 frames/s), and the policy acted again once frames came back.
      expect(actedWhenBack).toBeGreaterThanOrEqual(30);
      expect(actedWhenBack).toBeLessThanOrEqual(33);
      expect(acted.length).toBeGreaterThan(actedWhenBack + 20);
    } finally {
      await client.stop();
      await bridge.close();
    }
  });

  it('sizes the pose estimator for the machine: a short training without ablation on a CPU backend, the full one on a GPU', () => {
    const o = { poseFrames: 60_000, poseFramesShort: 6_000 } as Parameters<typeof poseBudget>[0]['o'];
    const on = (name: string, perception?: 'auto' | 'short' | 'full') => poseBudget({ o: { ...o, perception }, backend: { name, device: '' } });
    expect(on('wasm')).toEqual({ budget: 'short', frames: 6_000, looks: ['train'] });
    expect(on('tfjs-node')).toEqual({ budget: 'short', frames: 6_000, looks: ['train'] });
    expect(on('tfjs-node-gpu')).toEqual({ budget: 'full', frames: 60_000, looks: ['train', 'none'] });
    expect(on('webgpu', 'auto')).toEqual({ budget: 'full', frames: 60_000, looks: ['train', 'none'] });
    expect(on('wasm', 'full')).toEqual({ budget: 'full', frames: 60_000, looks: ['train', 'none'] });
    expect(on('tfjs-node-gpu', 'short')).toEqual({ budget: 'short', frames: 6_000, looks: ['train'] });
  });

  it('renders the montage and trains the pose estimator', needs('webgpu'), () => {
    expect(summary.montage).toBe('montage.png');
    // Errors in cm on held-out looks for both estimators, over the first frame of each episode.
    expect(summary.pose?.frames).toBe(6);
    expect(summary.pose?.meanCm).toBeGreaterThan(0);
    expect(summary.pose?.ablationMeanCm).toBeGreaterThan(0);
    expect(readFileSync(reportPath, 'utf8')).toContain('Pose estimator');
  });

  it('trains the policy and its ablation side by side in worker threads, to the weights training in this thread gives', async () => {
    // Both started before either finished; each says when it is done.
    const started = logs.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('▶ train the '));
    const done = logs.findIndex((l) => /^ {2}train the .*: done in [\d.]+ s$/.test(l));
    expect(started.map(([l]) => l)).toEqual(['▶ train the state policy (BC with DART data, 2 epochs max)', '▶ train the ablation policy on non-randomized data']);
    expect(started[1][1]).toBeLessThan(done);
    expect(logs.filter((l) => /^ {2}train the .*: done in/.test(l))).toHaveLength(2);
    expect(summary.training.map((t) => t.model)).toEqual(['BC (randomized data)', 'BC (no randomization)']);
    const byName = Object.fromEntries(summary.stages.map((st) => [st.name, st.output]));
    for (const [stage, data] of [['train', 'demos'], ['train-ablation', 'ablation-data']] as const) {
      const here = join(dir, `in-process-${stage}`);
      const datasets = demoParts(8, 0.1).map(([label]) => join(byName[data], label));
      await trainBc({ datasets, out: here, epochs: 2, hidden: [64, 64], seed: 3, backend: 'wasm', overwrite: true });
      // The run's --hidden reached both networks.
      expect(JSON.parse(readFileSync(join(byName[stage], 'model-card.json'), 'utf8')).training.architecture.hidden).toEqual([64, 64]);
      expect(readFileSync(join(byName[stage], 'weights.bin')).equals(readFileSync(join(here, 'weights.bin'))), stage).toBe(true);
    }
  }, 180_000);

  it('drives the emulated robot on its true state while the evaluations and the pose estimator run, and through its camera only after them', () => {
    const at = (re: RegExp): number => logs.findIndex((l) => re.test(l));
    const robot = at(/^▶ drive the emulated robot \(lab\) through the bridge/);
    const evalStart = at(/^▶ evaluate in closed loop/);
    const laneDone = [/^ {2}evaluate in closed loop.*: done in/, /^ {2}where it breaks.*: done in/, /^ {2}drive the emulated robot \(lab\) through the bridge.*: done in/].map(at);
    expect(robot).toBeGreaterThan(evalStart);
    // Started before any stage of the group finished: the group's "done" lines come after both starts.
    for (const d of laneDone) expect(d).toBeGreaterThan(robot);
    // The summary lists the stages in table order whichever finished first.
    expect(summary.stages.map((s) => s.name).slice(4, 8)).toEqual(['eval', 'sweep', 'pose', 'reality']);
    if (RENDERS) {
      const camera = at(/^▶ drive the emulated robot \(lab\) through its camera/);
      expect(camera).toBeGreaterThan(Math.max(...laneDone, at(/^ {2}pose estimator.*: done in/)));
    }
  });

  it('drives the emulated robot in a thread of its own, which Ctrl-C ends mid-run', async () => {
    const byName = Object.fromEntries(summary.stages.map((st) => [st.name, st.output]));
    const reality = loadReality('scenarios/reality/lab.json');
    const job = { reality: { ...reality, scenario: { ...loadScenario('scenarios/stack-2.json'), randomization: reality.config.physics } }, modelDir: byName.train, episodes: 50, backend: 'wasm' as const };
    const stop = new AbortController();
    let episodes = 0;
    await expect(driveInWorker(job, { signal: stop.signal, onEpisode: () => { episodes++; stop.abort(); } })).rejects.toThrow(/^interrupted$/);
    expect(episodes).toBe(1);
  }, 60_000);

  it('reuses completed stages on a second run', async () => {
    const again = await smallRun();
    expect(again.summary.stages.filter((s) => !s.skipped && (s.name !== 'montage' || summary.montage)).every((s) => s.cached)).toBe(true);
    expect(again.summary.pose).toEqual(summary.pose);
    expect(again.summary.success.map((r) => r.rate)).toEqual(summary.success.map((r) => r.rate));
  }, 120_000);
});

describe('Ctrl-C during a stage', () => {
  it('keeps the stages done before it and does not cache the one it cut short', async () => {
    const cacheDir = join(dir, 'cache-interrupted');
    const stop = new AbortController();
    const lines: string[] = [];
    const progress = (_total: number, unit: string) => ({
      update(_value: number, fields?: Record<string, string>) {
        // Interrupt the first training in its second epoch, as a user's Ctrl-C would: it returns
        // its best epoch so far, which must not pass for a finished stage.
        if (unit === 'samples (policy)' && fields?.epoch?.startsWith('2/')) stop.abort();
      },
      stop() {},
    });
    const run = (signal?: AbortSignal) => smallRun({ cacheDir, out: join(dir, 'interrupted'), pose: 'off', signal, progress, log: (l) => lines.push(l) });
    await expect(run(stop.signal)).rejects.toThrow(/interrupted/);
    lines.length = 0;
    const again = await run();
    const byName = Object.fromEntries(again.summary.stages.map((st) => [st.name, st]));
    expect(byName.demos.cached).toBe(true);
    expect(byName['ablation-data'].cached).toBe(true);
    expect(byName.train.cached).toBe(false);
    expect(lines.some((l) => l.startsWith('▶ train the state policy'))).toBe(true);
    // --pose off: no estimator, so no run through the camera, said once with how to get one.
    expect(byName['reality-camera'].skipped).toBe(true);
    expect(again.summary.notes.filter((n) => n.startsWith('No run through the camera: '))).toEqual([
      expect.stringMatching(/trained none \(--pose off\)\. Train it in the run with --pose on, or by hand: npx simreal train pose /),
    ]);
    expect(lines.filter((l) => /through the camera/.test(l))).toEqual(['· BC through the camera: left out (no pose estimator; --pose on trains one)']);
  }, 180_000);
});

describe('without a WebGPU adapter', () => {
  it('leaves the montage and the pose estimator out, one line each naming the rendering packages, and no Dawn output', async () => {
    // The Vulkan loader finds no driver, as on a machine without lavapipe.
    const saved = { icd: process.env.VK_ICD_FILENAMES, drivers: process.env.VK_DRIVER_FILES };
    process.env.VK_ICD_FILENAMES = process.env.VK_DRIVER_FILES = '/nonexistent/icd.json';
    const lines: string[] = [];
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      stderr.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const r = await smallRun({
        cacheDir: join(dir, 'cache-no-adapter'), out: join(dir, 'no-adapter'), pose: 'on', log: (l) => lines.push(l), machineSpeedSeconds: 0,
        skip: new Set(['demos', 'ablation-data', 'train', 'train-ablation', 'eval', 'reality']),
      });
      expect(r.summary.stages.filter((s) => !s.skipped)).toEqual([]);
      expect(r.summary.montage).toBeNull();
      expect(r.summary.pose).toBeNull();
      const needsPackages = /needs? a WebGPU adapter, and none opened here .*mesa-vulkan-drivers and libvulkan1 from bookworm-backports.*`npm run setup:system` \(as root/;
      const montage = lines.filter((l) => /montage/.test(l));
      expect(montage).toHaveLength(1);
      expect(montage[0]).toMatch(/^· montage of randomized frames: left out; it needs a WebGPU adapter/);
      expect(montage[0]).toMatch(needsPackages);
      const pose = lines.filter((l) => /pose/.test(l));
      expect(pose).toHaveLength(1);
      expect(pose[0]).toMatch(/^· pose estimator: left out; it learns from rendered frames, which need a WebGPU adapter/);
      expect(pose[0]).toMatch(needsPackages);
      expect(r.summary.notes.filter((n) => needsPackages.test(n))).toHaveLength(2);
      expect(readFileSync(r.reportPath, 'utf8')).toMatch(/<p class="muted">No montage: it needs a WebGPU adapter/);
      expect(stderr.join('')).not.toMatch(/Vulkan|vkCreateInstance|\.cpp:/);
    } finally {
      process.stderr.write = write;
      if (saved.icd === undefined) delete process.env.VK_ICD_FILENAMES;
      else process.env.VK_ICD_FILENAMES = saved.icd;
      if (saved.drivers === undefined) delete process.env.VK_DRIVER_FILES;
      else process.env.VK_DRIVER_FILES = saved.drivers;
    }
  }, 120_000);
});

describe('the report in Chromium', needs('chromium'), () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('draws its charts and images with no console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(reportPath).href);
    for (const id of ['chart-success', 'chart-training', 'chart-trajectory', 'chart-latency', 'sweep-friction', 'sweep-actionLatency']) {
      const paths = await page.locator(`#${id} svg path`).count();
      expect(paths, id).toBeGreaterThan(3);
      const box = await page.locator(`#${id} svg`).boundingBox();
      expect(box?.width ?? 0, id).toBeGreaterThan(200);
    }
    // One bar per success row in the success chart.
    expect(await page.locator('table').first().locator('tbody tr').count()).toBe(summary.success.length);
    if (RENDERS) {
      const w = await page.locator('img[alt="randomized training frames"]').evaluate((img: HTMLImageElement) => img.naturalWidth);
      expect(w).toBeGreaterThan(100);
      // The camera frames, estimates drawn: decoded by the browser at their size (one 128x128 frame, 3x).
      const cam = await page.locator('#camera-frames img').evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
      expect(cam).toEqual([384, 384]);
    }
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
