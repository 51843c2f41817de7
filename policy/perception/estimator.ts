/**
 * The pose estimator at run time: a camera image and that camera's calibration in, the blocks'
 * positions (table frame), yaws and sizes out.
 *
 *   image ──rectify (calibration)──▶ virtual view ──network──▶ grid ──decode──▶ peaks
 *         ──lift (virtual camera, predicted height)──▶ table-frame blocks ──identities──▶ estimate
 *
 * Identities: the network finds blocks, not which is which. `assignIdentities` names them the
 * way the task does (policy/perception/identity.ts): by a visible rule on the first frame, then
 * by tracking from the previous estimate.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import type { Vec3 } from '../../sim/state.ts';
import { tryLiftToPlane } from '../../sim/camera/projection.ts';
import { PolicyInputError } from '../errors.ts';
import type { ModelCard } from '../model-card.ts';
import type { SavedModel } from '../saved-model.ts';
import type { CameraFile } from '../../sim/camera/camera-file.ts';
import { CHANNELS, decode, gridSize } from './heatmap.ts';
import type { Detection, GridSpec } from './heatmap.ts';
import { rectify, rectifyMap, sourceDensity, virtualCamera } from './virtual-view.ts';
import type { RectifyMap, VirtualViewOptions } from './virtual-view.ts';

export interface BlockEstimate {
  position: Vec3;
  yaw: number;
  size: number;
  /** Detection confidence (0…1). */
  score: number;
  /**
   * Where the block would be if it rested on the table (its image point lifted at half its
   * predicted edge): a block that is known to rest there is placed by this, not by the
   * network's height, whose error shifts the point along the camera's ray.
   */
  resting?: Vec3;
}

/** What a pose model's card says about how to use it (`perception` block). */
export interface PerceptionSpec {
  camera: string;
  view: VirtualViewOptions;
  grid: GridSpec;
  blockCount: number;
}

export function perceptionSpec(card: ModelCard): PerceptionSpec {
  const p = card.perception;
  if (!p) throw new Error(`model card of kind ${card.kind} has no perception block`);
  return { camera: p.camera, view: p.view, grid: p.grid, blockCount: card.scenario.blockCount };
}

export interface EstimatorView {
  /** The virtual view's pixels (size²·3). */
  rgb: Uint8Array;
  camera: CameraFile;
}

/** Rectification maps by calibration (a real camera's never changes; a simulated one's may per episode). */
class MapCache {
  private readonly maps = new Map<string, { camera: CameraFile; map: RectifyMap }>();
  get(source: CameraFile, view: VirtualViewOptions): { camera: CameraFile; map: RectifyMap } {
    const k = source.intrinsics;
    const key = [source.width, source.height, k.fx, k.fy, k.cx, k.cy, ...source.distortion, ...source.cameraToTable].join(',');
    let hit = this.maps.get(key);
    if (!hit) {
      const camera = virtualCamera(source, view);
      hit = { camera, map: rectifyMap(source, camera, sourceDensity(source, camera) > 1.5 ? 2 : 1) };
      if (this.maps.size > 64) this.maps.clear();
      this.maps.set(key, hit);
    }
    return hit;
  }
}

export class PoseEstimator {
  readonly spec: PerceptionSpec;
  private readonly tf: TF;
  private readonly model: LayersModel;
  private readonly maps = new MapCache();

  constructor(tf: TF, model: LayersModel, spec: PerceptionSpec) {
    this.tf = tf;
    this.model = model;
    this.spec = spec;
  }

  /** A full camera image (rows top-down, RGB) rectified into the estimator's virtual view. */
  view(rgb: Uint8Array, source: CameraFile): EstimatorView {
    if (rgb.length !== source.width * source.height * 3) {
      throw new RangeError(`an image of ${rgb.length} bytes does not match its calibration (${source.width}x${source.height} RGB = ${source.width * source.height * 3} bytes)`);
    }
    const { camera, map } = this.maps.get(source, this.spec.view);
    const out = new Uint8Array(this.spec.view.size * this.spec.view.size * 3);
    rectify(rgb, source.width, source.height, map, out);
    return { rgb: out, camera };
  }

  /** The strongest `count` detections (default: the scene's block count) in each view. */
  detect(views: EstimatorView[], count = this.spec.blockCount): Detection[][] {
    const n = views.length, s = this.spec.view.size, g = this.spec.grid;
    const G = gridSize(g);
    const x = new Float32Array(n * s * s * 3);
    views.forEach((v, k) => x.set(v.rgb, k * s * s * 3));
    const out = this.tf.tidy(() => (this.model.predict(this.tf.tensor4d(x, [n, s, s, 3])) as Tensor).dataSync() as Float32Array);
    return views.map((v, k) => decode(g, out, k * G * G * CHANNELS, count, v.camera));
  }

  /** Frees the graph (a model opened with openSavedModel is freed by its own dispose()). */
  dispose(): void {
    this.model.dispose();
  }
}

/** A detection as an estimate (a ray that misses the table plane is put at the plane's closest sensible point: under the camera). */
export function toEstimate(d: Detection, camera: CameraFile): BlockEstimate {
  const m = camera.cameraToTable;
  const resting = tryLiftToPlane(camera, d.u, d.v, Math.max(0, d.size) / 2);
  return { position: d.position ?? [m[3], m[7], d.height], yaw: d.yaw, size: d.size, score: d.score, ...(resting ? { resting } : {}) };
}

/** The pose estimator of a saved model opened with openSavedModel (refusing other kinds of model). */
export function poseEstimatorOf(saved: SavedModel): PoseEstimator {
  const { card, dir } = saved;
  if (card.kind !== 'pose') throw new PolicyInputError(`${dir} is a ${card.kind} model, not a pose estimator (simreal train pose)`);
  if (!card.perception) {
    throw new PolicyInputError(`${dir} is a pose estimator of an earlier kind (block positions regressed from the whole image); retrain it with \`simreal train pose <scenario.json> --out ${dir} --overwrite\``);
  }
  return new PoseEstimator(saved.tf, saved.graph, perceptionSpec(card));
}
