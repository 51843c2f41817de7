/**
 * The emulated robot's camera: the reality's own camera (`camera` in scenarios/reality/*.json)
 * drawn by sim/render's headless renderer, and the calibration the robot publishes with it.
 *
 * - Look: each episode's look is drawn from the scenario's held-out visual ranges (textures from
 *   the held-out seeds, lighting outside the training ranges, distractors, image noise) with the
 *   episode's seed, as the reality's physics lies outside the training physics. The camera itself
 *   does not move: it stays at the reality's fixed place near the front mount (`pose`), whatever
 *   the look would jitter.
 * - Timing: the next episode's look is drawn while the scene is reset (`prepare`), so frames keep
 *   their pace across episodes. The arm's control loop triggers it (`capture`, called each control step with the
 *   state the step's observation reports), every round(rate / fps)-th step, so a frame shows
 *   exactly the moment of one observation and carries its time as capture time. It renders one
 *   frame at a time: a step that comes while the previous frame is still drawing is skipped
 *   (counted). A rendered frame crosses the reality's network (its latency and jitter, drawn
 *   from the camera's own stream) before `onFrame` hears of it.
 * - Calibration: `realityCalibration` writes what a calibration of that camera would say — its
 *   true intrinsics and pose with the reality's deliberate `calibrationError` (a few millimetres,
 *   a fraction of a degree, half a per cent of focal length, half a pixel of principal point), as
 *   every real calibration is a little off — and the RMS pixel error that error makes on the
 *   workspace as `provenance.reprojectionErrorPx`. The file (`camera.calibration`, e.g.
 *   scenarios/reality/lab-camera.json) is what the robot publishes; the truth stays here.
 * - No WebGPU adapter: `openEmulatedCamera` returns null with one line saying so, and the robot
 *   runs without its camera.
 */
import { dirname, resolve } from 'node:path';
import { cameraFromFrame } from '../../../sim/camera/camera.ts';
import { CAMERA_FILE_VERSION } from '../../../sim/camera/camera-file.ts';
import type { CameraFile } from '../../../sim/camera/camera-file.ts';
import { readCameraFile, writeCameraFile } from '../../../sim/camera/io.ts';
import { project } from '../../../sim/camera/projection.ts';
import { NoGpuAdapterError } from '../../../sim/gpu/dawn.ts';
import type { HeadlessRenderer } from '../../../sim/render/headless.ts';
import { sampleLook, visualConfig } from '../../../sim/render/look.ts';
import type { Look } from '../../../sim/render/look.ts';
import type { SceneBuilder } from '../../../sim/render/scene-builder.ts';
import { Rng, deriveSeed } from '../../../sim/rng.ts';
import type { SimState } from '../../../sim/state.ts';
import type { FeatureSpec } from '../../protocol.ts';
import type { Reality, RealityConfig } from './reality.ts';

export type RealityCamera = NonNullable<RealityConfig['camera']>;

/**
 * Observations per control step when the robot has a camera: the controller acting on a frame
 * needs the robot's own state of the same step, so the robot's client polls the robot several
 * times a step instead of once (a frame and its step's observation then reach the bridge within a
 * few milliseconds of each other).
 */
export const OBSERVATIONS_PER_STEP_WITH_CAMERA = 4;

/** The reality's camera block, or an error saying the reality has none. */
export function cameraOf(reality: Reality): RealityCamera {
  const c = reality.config.camera;
  if (!c) throw new RangeError(`reality ${reality.config.id} (${reality.path}) has no camera block`);
  return c;
}

/** The calibration file's path (relative paths are relative to the reality file). */
export function calibrationPath(reality: Reality): string {
  return resolve(dirname(reality.path), cameraOf(reality).calibration);
}

/** Where the camera really is: the front mount moved to the reality's fixed pose. */
export function fixedPose(c: RealityCamera): Look['cameras']['front'] {
  return { positionOffset: [...c.pose.positionOffset], rotationDeg: [...c.pose.rotationDeg], fovDeg: c.pose.fovDeg };
}

/** The camera's exact calibration (an ideal pinhole at its true pose), from the renderer's own geometry. */
export async function realityCameraTruth(reality: Reality): Promise<CameraFile> {
  const c = cameraOf(reality);
  const { lookCameraFrame } = await import('../../../sim/render/scene-builder.ts');
  const { nominalLook } = await import('../../../sim/render/look.ts');
  const look = nominalLook(0, []);
  look.cameras.front = fixedPose(c);
  return { ...cameraFromFrame(lookCameraFrame(look, 'front', c.width, c.height)), name: `${reality.config.id}-${c.name}` };
}

/** Rotation about x, then y, then z (degrees), as a row-major 3×3. */
function rotationXYZ(deg: readonly number[]): number[] {
  const [a, b, g] = deg.map((d) => (d * Math.PI) / 180);
  const rx = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const ry = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)];
  const rz = [Math.cos(g), -Math.sin(g), 0, Math.sin(g), Math.cos(g), 0, 0, 0, 1];
  return mul3(mul3(rx, ry), rz);
}

function mul3(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return out;
}

/** RMS pixel distance between where two calibrations put the same table points (the workspace, on the table and 10 cm up). */
export function reprojectionRms(a: CameraFile, b: CameraFile): number {
  let sum = 0, n = 0;
  for (let i = 0; i <= 8; i++) {
    for (let j = 0; j <= 8; j++) {
      for (const z of [0, 0.1]) {
        const p = [-0.2 + 0.05 * i, -0.2 + 0.05 * j, z];
        const pa = project(a, p), pb = project(b, p);
        sum += (pa.u - pb.u) ** 2 + (pa.v - pb.v) ** 2;
        n++;
      }
    }
  }
  return Math.sqrt(sum / n);
}

/** What a calibration of the reality's camera says: the truth with the reality's deliberate calibration error. */
export async function realityCalibration(reality: Reality): Promise<CameraFile> {
  const c = cameraOf(reality);
  const truth = await realityCameraTruth(reality);
  const e = c.calibrationError;
  const m = truth.cameraToTable;
  const R = [m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]];
  // An error about the camera's own axes: camera → table is R · R_err.
  const Re = mul3(R, rotationXYZ(e.rotationDeg));
  const round = (v: number) => Math.round(v * 1e9) / 1e9;
  const cameraToTable = [
    Re[0], Re[1], Re[2], m[3] + e.positionM[0],
    Re[3], Re[4], Re[5], m[7] + e.positionM[1],
    Re[6], Re[7], Re[8], m[11] + e.positionM[2],
    0, 0, 0, 1,
  ].map(round);
  const k = truth.intrinsics, f = 1 + e.focalPct / 100;
  const cal: CameraFile = {
    schemaVersion: CAMERA_FILE_VERSION,
    name: truth.name,
    width: truth.width,
    height: truth.height,
    intrinsics: { fx: round(k.fx * f), fy: round(k.fy * f), cx: round(k.cx + e.principalPointPx[0]), cy: round(k.cy + e.principalPointPx[1]) },
    distortion: [0, 0, 0, 0, 0],
    cameraToTable,
  };
  return {
    ...cal,
    provenance: {
      source: 'calibration',
      reprojectionErrorPx: Math.round(reprojectionRms(truth, cal) * 1e4) / 1e4,
      board: `none: written from the emulated reality ${reality.config.id}'s camera with its calibrationError (bridge/robots/emulated/camera.ts)`,
    },
  };
}

/** Writes the calibration file the reality names; returns its path. */
export async function writeRealityCalibration(reality: Reality): Promise<string> {
  const path = calibrationPath(reality);
  writeCameraFile(path, await realityCalibration(reality));
  return path;
}

export interface EmulatedCameraStats {
  /** Control steps that asked for a frame. */
  triggered: number;
  rendered: number;
  /** Triggers that came while a frame was still drawing. */
  skipped: number;
  /** Mean time to draw and read back one frame (ms). */
  meanRenderMs: number;
  /** Looks drawn (one per episode), the time their textures took and their first (unseen) frames (ms, in all). */
  looks: number;
  lookMs: number;
  warmUpMs: number;
  /** Longest time to draw and read back one frame (ms). */
  maxRenderMs: number;
}

/** The emulated robot's camera (see the header). Make it with `openEmulatedCamera`. */
export class EmulatedCamera {
  readonly key: string;
  readonly spec: FeatureSpec;
  readonly calibration: CameraFile;
  readonly stats: EmulatedCameraStats = { triggered: 0, rendered: 0, skipped: 0, meanRenderMs: 0, looks: 0, lookMs: 0, warmUpMs: 0, maxRenderMs: 0 };
  private readonly reality: Reality;
  private readonly config: RealityCamera;
  private readonly renderer: HeadlessRenderer;
  private readonly builder: SceneBuilder;
  private readonly transport: Rng;
  private readonly every: number;
  private look: { seed: number; look: Look } | null = null;
  private busy = false;
  /** The frame (or warm-up) being drawn. */
  private inflight: Promise<void> = Promise.resolve();
  private steps = 0;
  private renderMs = 0;
  private listener: ((rgb: Uint8Array, t: number) => void) | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(reality: Reality, renderer: HeadlessRenderer, calibration: CameraFile, controlHz: number) {
    this.reality = reality;
    this.config = cameraOf(reality);
    this.renderer = renderer;
    this.builder = renderer.createBuilder();
    this.calibration = calibration;
    this.key = `camera.${this.config.name}`;
    this.every = Math.max(1, Math.round(controlHz / this.config.fps));
    this.spec = { kind: 'image', dtype: 'uint8', shape: [this.config.height, this.config.width, 3], format: 'rgb8', hz: controlHz / this.every, calibration };
    this.transport = new Rng(deriveSeed(reality.config.seed, 'camera-transport'));
  }

  /** Where frames go once they have crossed the network. */
  onFrame(listener: (rgb: Uint8Array, t: number) => void): void {
    this.listener = listener;
  }

  /**
   * Dresses the scene in the look of the episode of `episodeSeed` (its textures are drawn now, which
   * takes a while on a CPU): the robot calls it while the scene is being reset between episodes, so
   * that the first frames of the next one come on time.
   */
  prepare(episodeSeed: number, bodyNames: readonly string[], warmUp?: SimState): void {
    if (this.closed || this.look?.seed === episodeSeed) return;
    const t0 = performance.now();
    const look = sampleLook(visualConfig(this.reality.scenario.visual), this.config.looks, episodeSeed, bodyNames);
    look.cameras.front = fixedPose(this.config);
    this.builder.setLook(look);
    this.look = { seed: episodeSeed, look };
    this.stats.looks++;
    this.stats.lookMs += performance.now() - t0;
    // A first frame in a new look uploads its textures and may compile shaders for its set of
    // lights: drawn now, unseen, that time falls into the reset pause instead of the next episode.
    if (!warmUp) return;
    const warm = async (): Promise<void> => {
      if (this.closed) return;
      this.busy = true;
      const t1 = performance.now();
      try {
        await this.renderer.render([{ builder: this.builder, camera: 'front', state: warmUp }]);
        this.stats.warmUpMs += performance.now() - t1;
      } finally {
        this.busy = false;
      }
    };
    this.inflight = this.inflight.then(warm, warm).catch(() => {});
  }

  /**
   * One control step's moment: `state` as the step's observation reports it, taken at `t` (ms since
   * the Unix epoch), in the episode of `episodeSeed`. Renders it if this step is one the camera
   * fires on and no frame is still drawing.
   */
  capture(state: SimState, t: number, episodeSeed: number): void {
    if (this.closed || this.steps++ % this.every !== 0) return;
    this.stats.triggered++;
    if (this.busy) {
      this.stats.skipped++;
      return;
    }
    this.busy = true;
    this.prepare(episodeSeed, state.bodies.map((b) => b.name));
    const t0 = performance.now();
    this.inflight = this.renderer
      .render([{ builder: this.builder, camera: 'front', state, noiseSeed: deriveSeed(episodeSeed, 'camera-noise', state.step) }])
      .then(
        ([view]) => {
          const ms = performance.now() - t0;
          this.stats.rendered++;
          this.renderMs += ms;
          this.stats.meanRenderMs = this.renderMs / this.stats.rendered;
          this.stats.maxRenderMs = Math.max(this.stats.maxRenderMs, ms);
          this.busy = false;
          if (!view.rgb || this.closed) return;
          const { latencyMs, jitterMs } = this.reality.config.transport;
          const delay = Math.max(0, latencyMs + this.transport.uniform(-jitterMs, jitterMs));
          const rgb = view.rgb;
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            if (!this.closed) this.listener?.(rgb, t);
          }, delay);
          this.timers.add(timer);
        },
        () => {
          this.busy = false;
        },
      );
  }

  /** Stops sending and frees the renderer (waits for a frame still drawing). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (let i = 0; i < 200 && this.busy; i++) await new Promise((r) => setTimeout(r, 10));
    this.builder.dispose();
    this.renderer.dispose();
  }
}

/**
 * The calibration the reality's camera publishes, read from its file (CameraFileError where it is
 * missing or malformed), refused with a RangeError where it calibrates another image size.
 */
export function publishedCalibration(reality: Reality): CameraFile {
  const c = cameraOf(reality);
  const calibration = readCameraFile(calibrationPath(reality));
  if (calibration.width !== c.width || calibration.height !== c.height) {
    throw new RangeError(`${calibrationPath(reality)} is a calibration for ${calibration.width}x${calibration.height}, the reality's camera is ${c.width}x${c.height}: write it again with simreal robot emulate --reality ${reality.path} --write-calibration`);
  }
  return calibration;
}

/**
 * The reality's camera, ready to render, with the calibration it publishes (read from its file);
 * null, after saying so in one line, where no WebGPU adapter opens.
 */
export async function openEmulatedCamera(reality: Reality, controlHz: number, log: (line: string) => void): Promise<EmulatedCamera | null> {
  const c = cameraOf(reality);
  const calibration = publishedCalibration(reality);
  let renderer: HeadlessRenderer;
  try {
    const { HeadlessRenderer } = await import('../../../sim/render/headless.ts');
    renderer = await HeadlessRenderer.create({ width: c.width, height: c.height, tiles: 1, labels: false });
  } catch (err) {
    if (err instanceof NoGpuAdapterError || (err as Error).name === 'NoGpuAdapterError') {
      log(`no camera: the emulated robot runs without camera.${c.name}, since rendering it needs a WebGPU adapter (Debian: mesa-vulkan-drivers libvulkan1 from bookworm-backports)`);
      return null;
    }
    throw err;
  }
  return new EmulatedCamera(reality, renderer, calibration, controlHz);
}
