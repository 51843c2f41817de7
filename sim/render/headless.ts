/**
 * Headless rendering in Node: three.js `WebGPURenderer` on Dawn (npm `webgpu`): Vulkan on NVIDIA
 * GPUs, lavapipe (Mesa ≥ 24) on CPUs. Node-only (the viewer draws with SceneBuilder itself).
 *
 * Throughput
 * - A batch of views (any scenes, states and cameras) is drawn into one tiled render target,
 *   tile k at column k % cols, row ⌊k / cols⌋, and read back with one copy and one map.
 * - `render()` submits all GPU work before it returns its promise, so callers keep several
 *   batches in flight by calling it again before awaiting (readback buffers are pooled).
 *
 * Outputs per view: RGB (uint8, sRGB, rows top-down), and with `labels`: depth (float32, metres,
 * z along the optical axis, see cameras.ts) and segmentation (uint16 ids, see look.ts), plus the
 * camera's intrinsics and extrinsics.
 *
 * Setup details: Dawn's adapter is requested first, so a machine
 * without one gets NoGpuAdapterError naming what to install instead of three's WebGL fallback;
 * three is handed the device; `self` and a requestAnimationFrame stub (ticked per batch) stand in
 * for the browser; the colour target is a linear format holding sRGB-encoded bytes (SceneBuilder's
 * `encodeSrgb`), which lavapipe writes several times faster than an sRGB format.
 */
import { FloatType, NoColorSpace, RenderTarget, RGFormat, WebGPURenderer } from 'three/webgpu';
import { mrt, output } from 'three/tsl';
import { openDawn } from '../gpu/dawn.ts';
import type { DawnGpu, GpuAdapterSummary } from '../gpu/dawn.ts';
import type { SimState } from '../state.ts';
import type { CameraFrame, CameraName } from './cameras.ts';
import { SceneBuilder } from './scene-builder.ts';
import type { SceneBuilderOptions } from './scene-builder.ts';

export { NoGpuAdapterError } from '../gpu/dawn.ts';

export interface HeadlessOptions {
  /** Size of one view in pixels. */
  width: number;
  height: number;
  /** Views per render target (one readback per batch). Default 1. */
  tiles?: number;
  /** Also render depth and segmentation. Default true. */
  labels?: boolean;
}

export interface ViewRequest {
  builder: SceneBuilder;
  camera: CameraName;
  /** Applied with builder.update() right before this view is drawn (omit if already applied). */
  state?: SimState;
  /** Image-noise pattern of this view (default: from the batch position). */
  noiseSeed?: number;
}

export interface ReadbackChannels {
  /** Default true. */
  rgb?: boolean;
  /** Default false. Needs `labels`. */
  depth?: boolean;
  segmentation?: boolean;
}

export interface ViewImages {
  camera: CameraName;
  /** width·height·3 bytes, sRGB, rows top-down. */
  rgb?: Uint8Array;
  /** width·height metres (z along the optical axis). */
  depth?: Float32Array;
  /** width·height ids (0 background, SimState ids, distractors from DISTRACTOR_ID_BASE). */
  segmentation?: Uint16Array;
  frame: CameraFrame;
}

interface Readback {
  buffer: GPUBuffer;
  size: number;
}

let globalsInstalled = false;
let rafQueue: FrameRequestCallback[] = [];

/** `self` and a requestAnimationFrame stub for three's animation loop (ticked by `tick()`). */
function installBrowserGlobals(): void {
  if (globalsInstalled) return;
  globalsInstalled = true;
  const g = globalThis as unknown as Record<string, unknown>;
  if (g.self === undefined) g.self = globalThis;
  if (typeof g.requestAnimationFrame !== 'function') {
    g.requestAnimationFrame = (cb: FrameRequestCallback) => rafQueue.push(cb);
    g.cancelAnimationFrame = () => {};
  }
}

function tick(): void {
  if (rafQueue.length === 0) return;
  const q = rafQueue;
  rafQueue = [];
  const now = performance.now();
  for (const cb of q) cb(now);
}

/** A canvas that is never drawn to (three wants one at construction). */
function stubCanvas(): HTMLCanvasElement {
  return {
    width: 1,
    height: 1,
    style: {},
    addEventListener() {},
    removeEventListener() {},
    getContext() {
      return null;
    },
  } as unknown as HTMLCanvasElement;
}

export class HeadlessRenderer {
  width: number;
  height: number;
  readonly tiles: number;
  readonly cols: number;
  readonly rows: number;
  readonly labels: boolean;
  readonly adapter: GpuAdapterSummary;
  readonly renderer: WebGPURenderer;
  private target: RenderTarget;
  private readonly device: GPUDevice;
  private readonly dawn: DawnGpu;
  private readonly pool: Readback[] = [];
  private disposed = false;

  private constructor(dawn: DawnGpu, device: GPUDevice, renderer: WebGPURenderer, o: Required<HeadlessOptions>) {
    this.dawn = dawn;
    this.device = device;
    this.renderer = renderer;
    this.adapter = dawn.info;
    this.width = o.width;
    this.height = o.height;
    this.tiles = o.tiles;
    this.labels = o.labels;
    this.cols = Math.ceil(Math.sqrt(o.tiles));
    this.rows = Math.ceil(o.tiles / this.cols);
    this.target = this.makeTarget();
    if (o.labels) renderer.setMRT(mrt({ output }));
    renderer.setRenderTarget(this.target);
  }

  private makeTarget(): RenderTarget {
    const rt = new RenderTarget(this.cols * this.width, this.rows * this.height, { count: this.labels ? 2 : 1, depthBuffer: true });
    rt.textures[0].name = 'output';
    // A linear rgba8unorm target holding sRGB-encoded bytes (builders made with encodeSrgb):
    // sRGB formats are several times slower on lavapipe.
    rt.texture.colorSpace = NoColorSpace;
    if (this.labels) {
      const aux = rt.textures[1];
      aux.name = 'aux';
      aux.type = FloatType;
      aux.format = RGFormat;
      aux.colorSpace = NoColorSpace;
    }
    return rt;
  }

  /** Changes the view size (compiled shaders are kept). Await every render() first. */
  resize(width: number, height: number): void {
    if (width === this.width && height === this.height) return;
    const max = this.device.limits.maxTextureDimension2D;
    if (this.cols * width > max || this.rows * height > max) throw new RangeError(`${this.tiles} tiles of ${width}x${height} exceed this device's ${max}x${max} textures`);
    this.width = width;
    this.height = height;
    this.target.dispose();
    this.target = this.makeTarget();
    this.renderer.setRenderTarget(this.target);
    for (const rb of this.pool) rb.buffer.destroy();
    this.pool.length = 0;
  }

  /** Opens Dawn (NoGpuAdapterError without an adapter) and a renderer for views of width×height. */
  static async create(options: HeadlessOptions): Promise<HeadlessRenderer> {
    const o: Required<HeadlessOptions> = { tiles: 1, labels: true, ...options };
    for (const k of ['width', 'height', 'tiles'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`${k} must be a positive integer, got ${o[k]}`);
    }
    installBrowserGlobals();
    const dawn = await openDawn();
    let device: GPUDevice;
    try {
      const features: GPUFeatureName[] = [];
      for (const f of dawn.adapter.features) features.push(f as GPUFeatureName);
      device = await dawn.adapter.requestDevice({ requiredFeatures: features });
    } catch (err) {
      dawn.release();
      throw new Error(`the WebGPU adapter (${dawn.info.description}) refused a device: ${(err as Error).message}`);
    }
    const cols = Math.ceil(Math.sqrt(o.tiles)), rows = Math.ceil(o.tiles / cols);
    const max = device.limits.maxTextureDimension2D;
    if (cols * o.width > max || rows * o.height > max) {
      device.destroy();
      dawn.release();
      throw new RangeError(`${o.tiles} tiles of ${o.width}x${o.height} need a ${cols * o.width}x${rows * o.height} target; this device allows ${max}x${max}`);
    }
    const renderer = new WebGPURenderer({ device, canvas: stubCanvas(), antialias: false, alpha: false } as ConstructorParameters<typeof WebGPURenderer>[0]);
    await renderer.init();
    return new HeadlessRenderer(dawn, device, renderer, o);
  }

  /** A scene builder this renderer can draw (labels as the renderer's, sRGB encoded in the shader). */
  createBuilder(options: Omit<SceneBuilderOptions, 'labels' | 'encodeSrgb'> = {}): SceneBuilder {
    return new SceneBuilder({ ...options, labels: this.labels, encodeSrgb: true });
  }

  /** Tile origin (pixels from the top-left) of view k in a batch. */
  tileOrigin(k: number): { x: number; y: number } {
    return { x: (k % this.cols) * this.width, y: Math.floor(k / this.cols) * this.height };
  }

  /**
   * Draws up to `tiles` views into one target and reads them back once. All GPU work is submitted
   * before this returns, so several calls may be in flight.
   */
  render(views: readonly ViewRequest[], channels: ReadbackChannels = {}): Promise<ViewImages[]> {
    if (this.disposed) throw new Error('HeadlessRenderer used after dispose()');
    if (views.length === 0) return Promise.resolve([]);
    if (views.length > this.tiles) throw new RangeError(`a batch holds at most ${this.tiles} views (tiles), got ${views.length}`);
    const wantRgb = channels.rgb ?? true;
    const wantDepth = channels.depth ?? false, wantSeg = channels.segmentation ?? false;
    if ((wantDepth || wantSeg) && !this.labels) throw new Error('depth and segmentation need a renderer created with labels: true');
    const renderer = this.renderer, rt = this.target;
    const frames: CameraFrame[] = [];
    rt.scissorTest = true;
    for (let k = 0; k < views.length; k++) {
      const v = views[k];
      if (!v.builder.encodeSrgb) throw new Error('the headless renderer draws SceneBuilders made with { encodeSrgb: true }');
      if (v.builder.labels !== this.labels) throw new Error(`this renderer has labels: ${this.labels} but a SceneBuilder has labels: ${v.builder.labels}`);
      if (v.state) v.builder.update(v.state);
      v.builder.frameNoise(v.noiseSeed ?? k * 0x9e3779b1);
      const { x, y } = this.tileOrigin(k);
      rt.viewport.set(x, y, this.width, this.height);
      rt.scissor.set(x, y, this.width, this.height);
      const cam = v.builder.cameras[v.camera];
      if (cam.aspect !== this.width / this.height) {
        cam.aspect = this.width / this.height;
        cam.updateProjectionMatrix();
      }
      // One clear per batch: tiles never overlap and every view covers its tile.
      renderer.autoClear = k === 0;
      renderer.render(v.builder.scene, cam);
      frames.push(v.builder.cameraFrame(v.camera, this.width, this.height));
    }
    renderer.autoClear = true;
    tick();
    return this.readback(views, frames, wantRgb, wantDepth || wantSeg, wantDepth, wantSeg);
  }

  private gpuTexture(index: number): GPUTexture {
    const backend = this.renderer.backend as unknown as { get(o: object): { texture: GPUTexture } };
    return backend.get(this.target.textures[index]).texture;
  }

  private async readback(
    views: readonly ViewRequest[], frames: CameraFrame[], rgb: boolean, aux: boolean, depth: boolean, seg: boolean,
  ): Promise<ViewImages[]> {
    const usedRows = Math.ceil(views.length / this.cols);
    const W = this.cols * this.width, H = usedRows * this.height;
    const colorRow = Math.ceil((W * 4) / 256) * 256, auxRow = Math.ceil((W * 8) / 256) * 256;
    const colorBytes = rgb ? colorRow * H : 0, auxBytes = aux ? auxRow * H : 0;
    const size = colorBytes + auxBytes;
    let rb = this.pool.pop();
    if (rb && rb.size < size) {
      rb.buffer.destroy();
      rb = undefined;
    }
    if (!rb) {
      const full = Math.ceil((this.cols * this.width * 4) / 256) * 256 * this.rows * this.height + (this.labels ? Math.ceil((this.cols * this.width * 8) / 256) * 256 * this.rows * this.height : 0);
      const bytes = Math.max(size, full);
      rb = { buffer: this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ }), size: bytes };
    }
    const enc = this.device.createCommandEncoder();
    if (rgb) enc.copyTextureToBuffer({ texture: this.gpuTexture(0) }, { buffer: rb.buffer, bytesPerRow: colorRow, offset: 0 }, { width: W, height: H });
    if (aux) enc.copyTextureToBuffer({ texture: this.gpuTexture(1) }, { buffer: rb.buffer, bytesPerRow: auxRow, offset: colorBytes }, { width: W, height: H });
    this.device.queue.submit([enc.finish()]);
    await rb.buffer.mapAsync(GPUMapMode.READ, 0, size);
    const mapped = rb.buffer.getMappedRange(0, size);
    const bytes = new Uint8Array(mapped);
    const floats = aux ? new Float32Array(mapped, colorBytes, auxBytes / 4) : null;
    const w = this.width, h = this.height;
    const out: ViewImages[] = [];
    for (let k = 0; k < views.length; k++) {
      const { x, y } = this.tileOrigin(k);
      const img: ViewImages = { camera: views[k].camera, frame: frames[k] };
      if (rgb) {
        const dst = new Uint8Array(w * h * 3);
        let o = 0;
        for (let r = 0; r < h; r++) {
          let s = (y + r) * colorRow + x * 4;
          for (let c = 0; c < w; c++, s += 4) {
            dst[o++] = bytes[s];
            dst[o++] = bytes[s + 1];
            dst[o++] = bytes[s + 2];
          }
        }
        img.rgb = dst;
      }
      if (floats) {
        const d = depth ? new Float32Array(w * h) : null;
        const sg = seg ? new Uint16Array(w * h) : null;
        const rowF = auxRow / 4;
        let o = 0;
        for (let r = 0; r < h; r++) {
          let s = (y + r) * rowF + x * 2;
          for (let c = 0; c < w; c++, s += 2, o++) {
            if (d) d[o] = floats[s];
            if (sg) sg[o] = floats[s + 1];
          }
        }
        if (d) img.depth = d;
        if (sg) img.segmentation = sg;
      }
      out.push(img);
    }
    rb.buffer.unmap();
    if (this.disposed) rb.buffer.destroy();
    else this.pool.push(rb);
    return out;
  }

  /** Frees the GPU resources and lets Node exit. Await every render() first. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const rb of this.pool) rb.buffer.destroy();
    this.pool.length = 0;
    this.target.dispose();
    this.renderer.dispose();
    this.device.destroy();
    this.dawn.release();
  }
}
