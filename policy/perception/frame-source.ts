/**
 * Frames for the pose estimator, rendered on demand: each call runs one seeded episode of the
 * scenario's scripted expert (with DART action noise, so states off the expert's path appear
 * too), picks frames at random steps, draws each with its own randomized look (textures,
 * lights, camera pose and field of view, distractors, image noise) and resamples it into the
 * estimator's virtual view. With a fresh seed per call no frame is ever seen twice.
 *
 * What a frame carries besides its pixels: the true block centres (table frame), their pixel
 * coordinates in the virtual view, and the virtual camera itself — everything the training
 * targets and the error measurement need, and nothing the network reads at run time except
 * the image.
 */
import { TabletopEnv } from '../../sim/env.ts';
import { runEpisode } from '../../sim/episode.ts';
import { EXPERTS } from '../../sim/experts/index.ts';
import type { RandomizationMode } from '../../sim/randomization.ts';
import type { CameraName } from '../../sim/render/cameras.ts';
import { HeadlessRenderer } from '../../sim/render/headless.ts';
import type { ViewImages } from '../../sim/render/headless.ts';
import { sampleLook, visualConfig } from '../../sim/render/look.ts';
import type { CameraLook } from '../../sim/render/look.ts';
import { Rng, deriveSeed } from '../../sim/rng.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { SimState, Vec3 } from '../../sim/state.ts';
import { cameraFromFrame } from '../../sim/camera/camera.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { project } from '../../sim/camera/projection.ts';
import { augment } from './augment.ts';
import { DEFAULT_VIEW_JITTER, jitterCamera, rectify, rectifyIds, rectifyMap, rectifyValues, sourceDensity, virtualCamera } from './virtual-view.ts';
import type { VirtualViewOptions } from './virtual-view.ts';

export interface FrameSourceSpec {
  scenario: Scenario;
  /** Visual randomization of the looks: training ranges, held-out ranges, or the nominal look. */
  looks: RandomizationMode;
  /** Physics randomization of the episodes the frames come from. */
  physics: RandomizationMode;
  camera: CameraName;
  /** Edge of the rendered camera image (pixels). */
  renderSize: number;
  view: VirtualViewOptions;
  /** Frames taken from each episode. */
  framesPerEpisode: number;
  /** Largest DART noise σ of an episode (each draws σ uniformly in [0, dartNoise]). */
  dartNoise: number;
  /** Training frames: jitter the virtual view and apply camera effects (augment.ts). */
  augment?: boolean;
  /**
   * Training frames: up to this many extra cubes drawn on the table in each frame (no physics:
   * they are only seen), labelled as blocks. More blocks a frame, in more arrangements and
   * occlusions, for the same rendering and training cost. Default 0.
   */
  extraBlocks?: number;
  /**
   * Also render instance segmentation and depth: the coverage and surface-height targets of
   * training (heatmap.ts), and sorting the estimator's misses by what it saw.
   */
  labels?: boolean;
  /**
   * A camera that does not move: every frame is drawn from this pose (whatever the look would
   * jitter) and rectified through `calibration`, the camera file a calibration of it gives (a
   * little off the truth, as at run time), instead of the renderer's exact geometry. The frames
   * a robot's own camera sends (bridge/robots/emulated/camera.ts): the estimator sees them
   * exactly as `policy run --perception` would. `renderSize` must be the calibration's size.
   */
  fixedCamera?: { pose: CameraLook; calibration: CameraFile };
}

export interface PoseFrame {
  /** Virtual view, size·size·3 bytes, rows top-down. */
  rgb: Uint8Array;
  /** True block centres, table frame (m), in the scenario's block order. */
  blocks: Vec3[];
  /** Each block's yaw about the table's z axis (rad) and edge length (m). */
  yaws: number[];
  sizes: number[];
  /** Each block's id in the segmentation (the scenario's blocks first, then any extra cubes). */
  blockIds: number[];
  /** Pixel coordinates of each block centre in the virtual view. */
  pixels: Array<[number, number]>;
  /** The virtual camera the frame is drawn in. */
  camera: CameraFile;
  /** The rendered camera (calibration of the full frame). */
  source: CameraFile;
  seed: number;
  step: number;
  /** Instance ids in the virtual view (labels only; ids as in sim/render/look.ts). */
  segmentation?: Uint16Array;
  /** Height above the table (m) of the surface seen at each pixel of the virtual view (labels only). */
  surface?: Float32Array;
  /** What the robot knew of itself at that moment (tool centre point between the finger pads, finger opening and command). */
  robot: { tcp: Vec3; width: number; grip: number };
}

export interface FrameSource {
  readonly spec: FrameSourceSpec;
  /** The frames of episode `seed` (framesPerEpisode of them, fewer if the episode is shorter). */
  episode(seed: number): Promise<PoseFrame[]>;
  dispose(): void;
}

/**
 * `count` states of one expert episode at distinct steps drawn uniformly over its length
 * (reservoir sampling: only the states kept are copied out of the simulator), in step order.
 */
function sampleStates(env: TabletopEnv, scenario: Scenario, seed: number, dartNoise: number, count: number, rng: Rng): SimState[] {
  const kept: Array<{ step: number; state: SimState }> = [];
  let seen = 0;
  // runEpisode hands over a fresh snapshot each step; the reservoir decides which to keep.
  runEpisode(env, EXPERTS[scenario.task.id], {
    index: 0, seed, dartNoise,
    onFrame: (s, step) => {
      seen++;
      if (kept.length < count) kept.push({ step, state: s });
      else {
        const j = rng.int(0, seen - 1);
        if (j < count) kept[j] = { step, state: s };
      }
    },
  });
  return kept.sort((a, b) => a.step - b.step).map((k) => k.state);
}

/**
 * Height above the table of the surface each pixel of a depth image sees (depth along the optical
 * axis, an undistorted camera): the table frame's z of the point, clamped to [0, 0.3] m (the floor
 * and far walls read 0, like the table: what matters is what stands on it).
 */
export function surfaceHeights(depth: Float32Array, cam: CameraFile): Float32Array {
  const { fx, fy, cx, cy } = cam.intrinsics;
  const m = cam.cameraToTable;
  const out = new Float32Array(depth.length);
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i];
    if (!(d > 0)) continue;
    const x = ((i % cam.width) + 0.5 - cx) / fx * d, y = (Math.floor(i / cam.width) + 0.5 - cy) / fy * d;
    const z = m[8] * x + m[9] * y + m[10] * d + m[11];
    out[i] = z < 0 ? 0 : z > 0.3 ? 0.3 : z;
  }
  return out;
}

/** The robot's own state in a snapshot: the tool centre point midway between the fingers, as Scene.tcp(). */
export function robotOf(state: SimState): PoseFrame['robot'] {
  const f = state.bodies.filter((b) => b.kind === 'finger');
  const tcp: Vec3 = f.length === 2
    ? [(f[0].position[0] + f[1].position[0]) / 2, (f[0].position[1] + f[1].position[1]) / 2, (f[0].position[2] + f[1].position[2]) / 2]
    : [...state.gripper.position];
  return { tcp, width: state.gripper.width, grip: state.gripper.grip };
}

/** Each block's centre (table frame), yaw about z, edge length and id, in the scenario's order. */
export function blockTruth(state: SimState): { blocks: Vec3[]; yaws: number[]; sizes: number[]; blockIds: number[] } {
  const blocks: Vec3[] = [], yaws: number[] = [], sizes: number[] = [], blockIds: number[] = [];
  for (const b of state.bodies) {
    if (b.kind !== 'block') continue;
    blockIds.push(b.id);
    blocks.push([b.position[0], b.position[1], b.position[2]]);
    const [x, y, z, w] = b.quaternion;
    yaws.push(Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)));
    sizes.push(b.shape.type === 'box' ? 2 * b.shape.halfExtents[0] : 0);
  }
  return { blocks, yaws, sizes, blockIds };
}

/** Segmentation id of extra cube k (between the scene's own ids and the distractors'). */
export const EXTRA_BLOCK_ID_BASE = 900;

/**
 * `state` with up to `max` extra cubes standing on the table inside `region`, clear of the blocks
 * there and of the gripper's footprint (sizes 4.2–5.8 cm, yaws within ±45°).
 */
export function withExtraBlocks(state: SimState, max: number, region: VirtualViewOptions['region'], rng: Rng): SimState {
  const n = rng.int(0, max);
  if (n === 0) return state;
  const taken = state.bodies.filter((b) => b.kind === 'block').map((b) => ({ x: b.position[0], y: b.position[1], r: 0.045 }));
  const palm = state.gripper.position;
  const bodies = [...state.bodies];
  for (let k = 0, tries = 0; k < n && tries < 50; tries++) {
    const s = rng.uniform(0.042, 0.058);
    const x = rng.uniform(region.min[0] + 0.03, region.max[0] - 0.03), y = rng.uniform(region.min[1] + 0.03, region.max[1] - 0.03);
    if (Math.hypot(x - palm[0], y - palm[1]) < 0.07 || taken.some((t) => Math.hypot(t.x - x, t.y - y) < t.r + 0.75 * s + 0.01)) continue;
    const yaw = rng.uniform(-Math.PI / 4, Math.PI / 4);
    taken.push({ x, y, r: 0.75 * s });
    bodies.push({
      id: EXTRA_BLOCK_ID_BASE + k, name: `extra${k}`, kind: 'block', shape: { type: 'box', halfExtents: [s / 2, s / 2, s / 2] },
      position: [x, y, s / 2], quaternion: [0, 0, Math.sin(yaw / 2), Math.cos(yaw / 2)],
    });
    k++;
  }
  return { ...state, bodies };
}

export async function createFrameSource(spec: FrameSourceSpec): Promise<FrameSource> {
  const fixed = spec.fixedCamera;
  if (fixed && (fixed.calibration.width !== spec.renderSize || fixed.calibration.height !== spec.renderSize)) {
    throw new RangeError(`the fixed camera's calibration is ${fixed.calibration.width}x${fixed.calibration.height}; frames are rendered at ${spec.renderSize}x${spec.renderSize}`);
  }
  const renderer = await HeadlessRenderer.create({ width: spec.renderSize, height: spec.renderSize, labels: !!spec.labels });
  const builder = renderer.createBuilder();
  const env = new TabletopEnv(spec.scenario, { randomization: spec.physics });
  const visual = visualConfig(spec.scenario.visual);
  const size = spec.view.size;

  async function episode(seed: number): Promise<PoseFrame[]> {
    const rng = new Rng(deriveSeed(seed, 'pose-frames'));
    const states = sampleStates(env, spec.scenario, seed, rng.uniform(0, spec.dartNoise), spec.framesPerEpisode, rng.fork('steps'));
    if (spec.extraBlocks) {
      const extras = rng.fork('extra-blocks');
      states.forEach((s, k) => (states[k] = withExtraBlocks(s, spec.extraBlocks!, spec.view.region, extras)));
    }
    const pending: Array<Promise<ViewImages[]>> = [];
    for (const [k, state] of states.entries()) {
      const look = sampleLook(visual, spec.looks, deriveSeed(seed, 'look', k), state.bodies.map((b) => b.name));
      if (fixed) look.cameras[spec.camera] = { ...fixed.pose };
      builder.setLook(look);
      pending.push(renderer.render([{ builder, camera: spec.camera, state, noiseSeed: deriveSeed(seed, 'noise', k) }], { segmentation: !!spec.labels, depth: !!spec.labels }));
    }
    const out: PoseFrame[] = [];
    for (const [k, state] of states.entries()) {
      const [view] = await pending[k];
      const truth = cameraFromFrame(view.frame);
      const source = fixed ? fixed.calibration : truth;
      const frameRng = rng.fork(`frame:${k}`);
      const nominal = virtualCamera(source, spec.view);
      const camera = spec.augment ? jitterCamera(nominal, frameRng, DEFAULT_VIEW_JITTER) : nominal;
      const map = rectifyMap(source, camera, sourceDensity(source, camera) > 1.5 ? 2 : 1);
      const rgb = new Uint8Array(size * size * 3);
      rectify(view.rgb as Uint8Array, spec.renderSize, spec.renderSize, map, rgb);
      if (spec.augment) augment(rgb, size, size, frameRng);
      const { blocks, yaws, sizes, blockIds } = blockTruth(state);
      const pixels = blocks.map((p) => {
        const q = project(camera, p);
        return [q.u, q.v] as [number, number];
      });
      const frame: PoseFrame = { rgb, blocks, yaws, sizes, blockIds, pixels, camera, source, seed, step: state.step, robot: robotOf(state) };
      if (view.segmentation) frame.segmentation = rectifyIds(view.segmentation, spec.renderSize, spec.renderSize, map);
      if (view.depth) frame.surface = rectifyValues(surfaceHeights(view.depth, truth), spec.renderSize, spec.renderSize, map);
      out.push(frame);
    }
    return out;
  }

  return {
    spec,
    episode,
    dispose() {
      builder.dispose();
      renderer.dispose();
    },
  };
}
