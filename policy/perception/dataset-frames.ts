/**
 * Pose-estimator frames from a fixed dataset (`simreal generate --render`), for training on
 * frames rendered once elsewhere: each dataset image is rectified into the estimator's virtual
 * view with the calibration its camera had — recovered from the look the episode's seed fixes
 * (sim/render/scene-builder.ts, lookCameraFrame) — and given the same targets as a streamed
 * frame (block centres from `sim.block_poses`, yaws from their quaternions, sizes from the
 * observation's `.size` features). Frames come in a seeded order, reshuffled every epoch.
 */
import type { RandomizationMode } from '../../sim/randomization.ts';
import { cameraFromFrame } from '../../sim/camera/camera.ts';
import { project } from '../../sim/camera/projection.ts';
import { sampleLook, visualConfig } from '../../sim/render/look.ts';
import { lookCameraFrame } from '../../sim/render/scene-builder.ts';
import { isCameraName } from '../../sim/render/cameras.ts';
import { Rng, deriveSeed } from '../../sim/rng.ts';
import type { Scenario } from '../../sim/scenario.ts';
import type { Vec3 } from '../../sim/state.ts';
import type { FrameSet } from '../data/frames.ts';
import { PolicyInputError } from '../errors.ts';
import { augment } from './augment.ts';
import type { PoseFrame } from './frame-source.ts';
import type { StreamPosition } from './stream.ts';
import { DEFAULT_VIEW_JITTER, jitterCamera, rectify, rectifyMap, sourceDensity, virtualCamera } from './virtual-view.ts';
import type { VirtualViewOptions } from './virtual-view.ts';

const MODES: readonly string[] = ['train', 'heldout', 'none'];

/** The observation feature holding block b's edge length. */
function sizeFeature(scenario: Scenario, b: number): string {
  if (scenario.task.id === 'Grasp-v1') return b === 0 ? 'target.size' : `distractor${b - 1}.size`;
  return `block${b}.size`;
}

/** Everything needed to turn frame f of a dataset into a PoseFrame. */
export class DatasetPoseFrames {
  readonly set: FrameSet;
  readonly scenario: Scenario;
  readonly view: VirtualViewOptions;
  private readonly episodeOf: Int32Array;
  private readonly sizeCols: number[];
  private readonly mode: RandomizationMode;

  constructor(set: FrameSet, scenario: Scenario, view: VirtualViewOptions) {
    const where = set.source.path;
    if (!set.images) throw new PolicyInputError(`dataset ${where} holds no images, which the pose estimator needs (generate it with --render)`);
    if (!set.blockPoses || set.blockCount === 0) throw new PolicyInputError(`dataset ${where} holds no block poses (sim.block_poses), which the pose estimator needs`);
    if (!isCameraName(set.images.camera) || set.images.camera !== 'front') {
      throw new PolicyInputError(`dataset ${where}: the pose estimator learns from a world-mounted camera (front), not ${set.images.camera}; load its front camera`);
    }
    if (!set.source.randomization || !MODES.includes(set.source.randomization)) {
      throw new PolicyInputError(`dataset ${where} does not say which look ranges it was rendered with (randomization ${set.source.randomization ?? 'unknown'}): the camera of each frame cannot be recovered; train on one dataset per randomization mode`);
    }
    if (scenario.visual?.perStep?.camera) {
      throw new PolicyInputError(`scenario ${scenario.id} moves the camera every step (visual.perStep.camera); the pose estimator trains on such frames only from the renderer: simreal train pose ${scenario.id}.json`);
    }
    if (set.episodes.some((e) => e.seed === null)) throw new PolicyInputError(`dataset ${where} does not record every episode's seed, so the camera of its frames cannot be recovered`);
    this.set = set;
    this.scenario = scenario;
    this.view = view;
    this.mode = set.source.randomization as RandomizationMode;
    this.episodeOf = new Int32Array(set.frames);
    set.episodes.forEach((e, i) => this.episodeOf.fill(i, e.start, e.start + e.length));
    this.sizeCols = Array.from({ length: set.blockCount }, (_, b) => {
      const col = set.stateNames.indexOf(sizeFeature(scenario, b));
      if (col < 0) throw new PolicyInputError(`dataset ${where} does not observe ${sizeFeature(scenario, b)}, the size of block ${b}`);
      return col;
    });
  }

  get count(): number {
    return this.set.frames;
  }

  /** Frame f as the estimator sees it (augmented with the frame's own generator when asked). */
  frame(f: number, rng: Rng | null): PoseFrame {
    const set = this.set, img = set.images!;
    const ep = set.episodes[this.episodeOf[f]];
    const seed = ep.seed as number;
    const look = sampleLook(visualConfig(this.scenario.visual), this.mode, seed, []);
    const source = cameraFromFrame(lookCameraFrame(look, 'front', img.width, img.height));
    const nominal = virtualCamera(source, this.view);
    const camera = rng ? jitterCamera(nominal, rng, DEFAULT_VIEW_JITTER) : nominal;
    const size = this.view.size;
    const rgb = new Uint8Array(size * size * 3);
    const n = img.width * img.height * 3;
    rectify(img.data.subarray(f * n, (f + 1) * n), img.width, img.height, rectifyMap(source, camera, sourceDensity(source, camera) > 1.5 ? 2 : 1), rgb);
    if (rng) augment(rgb, size, size, rng);
    const B = set.blockCount, poses = set.blockPoses!;
    const blocks: Vec3[] = [], yaws: number[] = [], sizes: number[] = [];
    for (let b = 0; b < B; b++) {
      const o = (f * B + b) * 7;
      blocks.push([poses[o], poses[o + 1], poses[o + 2]]);
      const [x, y, z, w] = [poses[o + 3], poses[o + 4], poses[o + 5], poses[o + 6]];
      yaws.push(Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)));
      sizes.push(set.state[f * set.stateNames.length + this.sizeCols[b]]);
    }
    const pixels = blocks.map((p) => {
      const q = project(camera, p);
      return [q.u, q.v] as [number, number];
    });
    const st = set.state, S = set.stateNames.length, col = (n: string) => st[f * S + set.stateNames.indexOf(n)];
    const robot = { tcp: [col('tcp.x'), col('tcp.y'), col('tcp.z')] as Vec3, width: col('gripper.width'), grip: col('gripper.command') };
    return { rgb, blocks, yaws, sizes, blockIds: blocks.map((_, b) => 2 + b), pixels, camera, source, seed, step: f - ep.start, robot };
  }
}

/**
 * Training frames of a dataset, epoch after epoch, each epoch in its own seeded order, with
 * camera effects drawn per frame and epoch: the same interface as the rendered stream.
 */
export class DatasetFrameProvider {
  private readonly frames: DatasetPoseFrames;
  private readonly train: Int32Array;
  private readonly seed: number;
  private readonly augment: boolean;
  private epoch: number;
  private index: number;
  private order: Int32Array;
  readonly stats = { episodes: 0, frames: 0, renderMs: 0 };

  constructor(frames: DatasetPoseFrames, train: Int32Array, o: { seed: number; augment: boolean; start?: StreamPosition }) {
    if (train.length === 0) throw new PolicyInputError(`dataset ${frames.set.source.path} leaves no frames to train on`);
    this.frames = frames;
    this.train = train;
    this.seed = o.seed;
    this.augment = o.augment;
    this.epoch = o.start?.episode ?? 0;
    this.index = o.start?.frame ?? 0;
    this.order = this.shuffle(this.epoch);
  }

  private shuffle(epoch: number): Int32Array {
    return Int32Array.from(new Rng(deriveSeed(this.seed, 'pose-dataset-epoch', epoch)).shuffle([...this.train]));
  }

  /** Where the next frame comes from: epoch (as `episode`) and position in its order. */
  get position(): StreamPosition {
    return { episode: this.epoch, frame: this.index };
  }

  async next(): Promise<PoseFrame> {
    if (this.index >= this.order.length) {
      this.epoch++;
      this.index = 0;
      this.order = this.shuffle(this.epoch);
    }
    const f = this.order[this.index++];
    const t0 = performance.now();
    const rng = this.augment ? new Rng(deriveSeed(this.seed, 'pose-dataset-frame', this.epoch, f)) : null;
    const frame = this.frames.frame(f, rng);
    this.stats.frames++;
    this.stats.renderMs += performance.now() - t0;
    return frame;
  }

  async close(): Promise<void> {}
}
