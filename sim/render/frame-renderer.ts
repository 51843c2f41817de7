/**
 * Per-episode frame rendering for dataset generation (see sim/generate/job.ts for the interface;
 * jobs name this module through frame-renderer-module.ts).
 *
 * beginEpisode() fixes the episode's look from its seed (`new Rng(seed).fork('visual')`, drawn
 * when the first state shows which bodies there are); renderFrame() draws every camera of one
 * state into one tiled target and encodes PNGs. Keys of the returned record: the camera name
 * (RGB), and with `spec.depth` / `spec.segmentation` also `<camera>_depth` (16-bit PNG,
 * millimetres along the optical axis) and `<camera>_segmentation` (16-bit PNG of ids).
 *
 * All GPU work of a renderFrame() call is submitted before it returns its promise, so a caller
 * may start several frames before awaiting the first (frames in flight).
 */
import type { EpisodeFrameRenderer, RenderSpec } from '../generate/job.ts';
import type { RandomizationMode } from '../randomization.ts';
import { deriveSeed } from '../rng.ts';
import type { Scenario } from '../scenario.ts';
import type { Quat, SimState, Vec3 } from '../state.ts';
import { CAMERA_NAMES, isCameraName } from './cameras.ts';
import type { CameraName } from './cameras.ts';
import { HeadlessRenderer } from './headless.ts';
import type { ViewImages } from './headless.ts';
import { lookAtStep, sampleLook, visualConfig } from './look.ts';
import type { Look } from './look.ts';
import { encodeDepthPng, encodeRgbPng, encodeSegmentationPng } from './png.ts';
import { SceneBuilder } from './scene-builder.ts';
import type { VisualConfig } from './visual-schema.ts';

export interface BlockPose {
  id: number;
  name: string;
  position: Vec3;
  quaternion: Quat;
}

/** One rendered moment: the images of every camera with their K and extrinsics, and ground truth. */
export interface RenderedFrame {
  step: number;
  views: ViewImages[];
  /** Ground-truth world poses of every block at this frame. */
  blocks: BlockPose[];
  /** The look this frame was drawn with. */
  look: Look;
}

export interface EpisodeRenderer extends EpisodeFrameRenderer {
  readonly renderer: HeadlessRenderer;
  /** The current episode's look (null before its first frame). */
  readonly look: Look | null;
  /** Raw images (RGB, depth, segmentation), camera frames and block poses of one state. */
  renderViews(state: SimState): Promise<RenderedFrame>;
}

/** Checks camera names against the cameras there are. */
export function parseCameras(names: readonly string[]): CameraName[] {
  if (names.length === 0) throw new RangeError(`name at least one camera (${CAMERA_NAMES.join(', ')})`);
  for (const n of names) {
    if (!isCameraName(n)) throw new RangeError(`unknown camera "${n}": the cameras are ${CAMERA_NAMES.join(', ')}`);
  }
  return [...new Set(names)] as CameraName[];
}

export function blockPoses(state: SimState): BlockPose[] {
  const out: BlockPose[] = [];
  for (const b of state.bodies) {
    if (b.kind === 'block') out.push({ id: b.id, name: b.name, position: [...b.position], quaternion: [...b.quaternion] });
  }
  return out;
}

export async function createEpisodeFrameRenderer(spec: RenderSpec): Promise<EpisodeRenderer> {
  const cameras = parseCameras(spec.cameras);
  const labels = !!(spec.depth || spec.segmentation);
  const renderer = await HeadlessRenderer.create({ width: spec.width, height: spec.height, tiles: cameras.length, labels });
  const builder = renderer.createBuilder();
  let visual: VisualConfig | null = null;
  let mode: RandomizationMode = 'train';
  let seed = 0;
  let look: Look | null = null;
  let stepLook: Look | null = null;

  function renderViews(state: SimState): Promise<RenderedFrame> {
    if (!visual) throw new Error('call beginEpisode() before renderFrame()');
    if (!look) {
      look = sampleLook(visual, mode, seed, state.bodies.map((b) => b.name));
      builder.setLook(look);
      stepLook = look;
    }
    const atStep = lookAtStep(look, visual, state.step);
    if (atStep !== stepLook) {
      builder.setLightsAndCameras(atStep);
      stepLook = atStep;
    }
    const views = cameras.map((camera, k) => ({ builder, camera, state: k === 0 ? state : undefined, noiseSeed: deriveSeed(seed, 'noise', state.step, k) }));
    const images = renderer.render(views, { depth: spec.depth, segmentation: spec.segmentation });
    const blocks = blockPoses(state);
    const frameLook = atStep;
    return images.then((v) => ({ step: state.step, views: v, blocks, look: frameLook }));
  }

  return {
    renderer,
    get look() {
      return look;
    },
    beginEpisode(scenario: Scenario, episodeSeed: number, randomization: RandomizationMode) {
      visual = visualConfig(scenario.visual);
      mode = randomization;
      seed = episodeSeed;
      look = null;
      stepLook = null;
    },
    renderViews,
    async renderFrame(state: SimState) {
      const frame = await renderViews(state);
      const out: Record<string, Uint8Array> = {};
      const { width: w, height: h } = spec;
      for (const v of frame.views) {
        if (v.rgb) out[v.camera] = encodeRgbPng(v.rgb, w, h);
        if (v.depth) out[`${v.camera}_depth`] = encodeDepthPng(v.depth, w, h);
        if (v.segmentation) out[`${v.camera}_segmentation`] = encodeSegmentationPng(v.segmentation, w, h);
      }
      return out;
    },
    async dispose() {
      builder.dispose();
      renderer.dispose();
    },
  };
}
