/**
 * The 3D stage: the shared scene builder (sim/render/scene-builder.ts) drawn by three's
 * WebGPURenderer (WebGPU where the browser has it, WebGL 2 otherwise), an orbit camera, and the
 * viewer's overlays (contact points, the training camera's frustum, and ghost boxes: the blocks
 * where a controller's pose estimator put them, beside the true ones).
 *
 * Two scene builders hold the same bodies: one in the clean nominal look, one in the episode's
 * randomized look (what the training camera saw when the data was generated). With the
 * randomized view on, the canvas is split: clean view with the orbit camera on the left, the
 * `front` training camera in the randomized look on the right.
 *
 * Per frame nothing is allocated: pose rows are copied into the SimState the builders already
 * hold (body id → row index is resolved once per episode) and `SceneBuilder.update` copies them
 * into the Object3Ds.
 */
import {
  BoxGeometry,
  CameraHelper,
  Mesh,
  Raycaster,
  Vector2,
  Color,
  InstancedMesh,
  Matrix4,
  MeshBasicNodeMaterial,
  PerspectiveCamera,
  Quaternion,
  SphereGeometry,
  Vector3,
  WebGPURenderer,
} from 'three/webgpu';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { SceneBuilder } from '../../sim/render/scene-builder.ts';
import { lookAtStep, nominalLook, sampleLook, visualConfig } from '../../sim/render/look.ts';
import type { Look } from '../../sim/render/look.ts';
import { deriveSeed } from '../../sim/rng.ts';
import type { VisualConfig } from '../../sim/render/visual-schema.ts';
import type { SimState } from '../../sim/state.ts';
import { CONTACT_COLUMNS, POSE_COLUMNS } from '../protocol.ts';

const MAX_CONTACTS = 256;
/** Most estimated blocks drawn as ghosts. */
const MAX_GHOSTS = 32;
/** Width / height of the training camera's images. */
const TRAINING_ASPECT = 1;
const CONTACT_RADIUS = 0.004;

// Per-frame temporaries.
const _m = new Matrix4();
const _p = new Vector3();
const _q = new Quaternion();
const _s = new Vector3(1, 1, 1);
const _v = new Vector3();
const _gq = new Quaternion();
const _gs = new Vector3();
const _z = new Vector3(0, 0, 1);

export class Stage {
  readonly renderer: WebGPURenderer;
  readonly clean = new SceneBuilder();
  readonly randomized = new SceneBuilder();
  readonly camera: PerspectiveCamera;
  readonly controls: OrbitControls;
  /** The SimState both builders draw; updated in place. */
  state: SimState | null = null;
  /** Row of a pose frame → index into state.bodies (-1: unknown id). */
  private rowToBody = new Int32Array(0);
  private readonly contacts: InstancedMesh;
  /** Estimated blocks: translucent boxes (`setGhosts`). */
  private readonly ghosts: InstancedMesh;
  /** The ghosts as last set: name, centre, yaw, edge. */
  ghostBlocks: Array<{ name: string; position: [number, number, number]; yaw: number; size: number }> = [];
  /** Stand-ins for the training cameras with a short far plane, so their frustums fit the table. */
  private readonly frustumCams: PerspectiveCamera[];
  private readonly frustums: CameraHelper[];
  private readonly canvas: HTMLCanvasElement;
  private visual: VisualConfig | undefined;
  /** The randomized look of the episode and the one drawn at the current step (per-step lights/cameras). */
  private look: Look | null = null;
  private stepLook: Look | null = null;
  private lookStep = -1;
  private seed = 0;
  lookSeed = 0;
  showRandomized = false;
  showFrustum = false;
  showContacts = false;
  /** Frames drawn since the page opened. */
  frames = 0;
  /** Something changed since the last draw (the page draws on demand, not every frame). */
  dirty = true;
  private width = 0;
  private height = 0;

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    this.renderer = new WebGPURenderer({ canvas, antialias: true });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.camera = new PerspectiveCamera(45, 1, 0.01, 50);
    this.camera.up.set(0, 0, 1);
    this.camera.position.set(0.55, -0.85, 0.55);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.target.set(0, 0, 0.05);
    this.controls.enableDamping = true;
    this.controls.update();
    this.controls.addEventListener('change', () => { this.dirty = true; });

    const marker = new MeshBasicNodeMaterial({ color: new Color(1, 0.85, 0.1), depthTest: false, transparent: true, opacity: 0.95 });
    this.contacts = new InstancedMesh(new SphereGeometry(CONTACT_RADIUS, 8, 6), marker, MAX_CONTACTS);
    this.contacts.count = 0;
    this.contacts.frustumCulled = false;
    this.contacts.renderOrder = 10;
    this.contacts.visible = false;
    this.clean.scene.add(this.contacts);

    const ghost = new MeshBasicNodeMaterial({ color: new Color(0.2, 0.85, 1), transparent: true, opacity: 0.45, depthWrite: false });
    this.ghosts = new InstancedMesh(new BoxGeometry(1, 1, 1), ghost, MAX_GHOSTS);
    this.ghosts.name = 'ghosts';
    this.ghosts.count = 0;
    this.ghosts.frustumCulled = false;
    this.ghosts.renderOrder = 5;
    this.clean.scene.add(this.ghosts);

    this.frustumCams = [new PerspectiveCamera(45, 1, 0.05, 0.9), new PerspectiveCamera(75, 1, 0.005, 0.12)];
    this.frustums = this.frustumCams.map((c) => {
      const h = new CameraHelper(c);
      h.visible = false;
      this.clean.scene.add(h);
      return h;
    });
  }

  async init(): Promise<void> {
    await this.renderer.init();
  }

  /** Which backend draws: `WebGPU` or `WebGL2`. */
  get backendName(): string {
    const b = (this.renderer as unknown as { backend?: { isWebGPUBackend?: boolean } }).backend;
    return b?.isWebGPUBackend ? 'WebGPU' : 'WebGL2';
  }

  /** A new episode: bodies, looks and the row map (ghosts of the last one go). */
  setEpisode(state: SimState, seed: number, visual: unknown): void {
    this.state = state;
    this.setGhosts([]);
    this.seed = seed;
    this.lookSeed = seed;
    this.visual = visual as VisualConfig | undefined;
    const names = state.bodies.map((b) => b.name);
    this.clean.setLook(nominalLook(seed, names));
    this.clean.update(state);
    this.applyRandomLook();
    this.rowToBody = new Int32Array(state.bodies.length);
    for (let i = 0; i < state.bodies.length; i++) this.rowToBody[i] = i;
    this.dirty = true;
  }

  /** Draws another randomized look (cycles the look's seed). */
  nextLook(): void {
    this.lookSeed = (this.lookSeed + 1) >>> 0;
    this.applyRandomLook();
  }

  private applyRandomLook(): void {
    if (!this.state) return;
    const names = this.state.bodies.map((b) => b.name);
    this.look = sampleLook(visualConfig(this.visual), 'train', this.lookSeed, names);
    this.stepLook = this.look;
    this.lookStep = -1;
    this.randomized.setLook(this.look);
    this.updateRandomized(this.state);
    this.dirty = true;
  }

  /** Copies pose rows `[id, p, q] × n` into the state and both scenes. */
  applyPoses(rows: Float64Array, time: number, step: number): void {
    const state = this.state;
    if (!state) return;
    const bodies = state.bodies;
    const n = Math.min(rows.length / POSE_COLUMNS, bodies.length);
    for (let r = 0; r < n; r++) {
      const o = r * POSE_COLUMNS;
      let i = this.rowToBody[r];
      if (i < 0 || i >= bodies.length || bodies[i].id !== rows[o]) {
        i = this.findBody(rows[o]);
        this.rowToBody[r] = i;
        if (i < 0) continue;
      }
      const b = bodies[i];
      b.position[0] = rows[o + 1]; b.position[1] = rows[o + 2]; b.position[2] = rows[o + 3];
      b.quaternion[0] = rows[o + 4]; b.quaternion[1] = rows[o + 5]; b.quaternion[2] = rows[o + 6]; b.quaternion[3] = rows[o + 7];
    }
    state.time = time;
    state.step = step;
    this.clean.update(state);
    // The randomized builder also carries the training cameras the frustums follow.
    if (this.showRandomized || this.showFrustum) this.updateRandomized(state);
    this.dirty = true;
  }

  /**
   * The randomized scene at the state's step, as the data generator draws it: lights and camera
   * poses re-sampled per step where the scenario asks for it, and that step's image-noise pattern.
   */
  private updateRandomized(state: SimState): void {
    if (this.look && state.step !== this.lookStep) {
      this.lookStep = state.step;
      const atStep = lookAtStep(this.look, visualConfig(this.visual), state.step);
      if (atStep !== this.stepLook) {
        this.randomized.setLightsAndCameras(atStep);
        this.stepLook = atStep;
      }
      this.randomized.frameNoise(deriveSeed(this.lookSeed, 'noise', state.step, 0));
    }
    this.randomized.update(state);
  }

  private findBody(id: number): number {
    const bodies = this.state!.bodies;
    for (let i = 0; i < bodies.length; i++) if (bodies[i].id === id) return i;
    return -1;
  }

  /** Contact points `[p, n] × count` as small markers. */
  applyContacts(points: Float32Array): void {
    const n = Math.min(MAX_CONTACTS, Math.floor(points.length / CONTACT_COLUMNS));
    for (let k = 0; k < n; k++) {
      const o = k * CONTACT_COLUMNS;
      _p.set(points[o], points[o + 1], points[o + 2]);
      _m.compose(_p, _q, _s);
      this.contacts.setMatrixAt(k, _m);
    }
    this.contacts.count = n;
    this.contacts.instanceMatrix.needsUpdate = true;
    this.dirty = true;
  }

  /** Estimated blocks as ghost boxes (an empty list removes them). */
  setGhosts(blocks: ReadonlyArray<{ name: string; position: readonly number[]; yaw: number; size: number }>): void {
    const n = Math.min(MAX_GHOSTS, blocks.length);
    this.ghostBlocks = [];
    for (let k = 0; k < n; k++) {
      const b = blocks[k];
      _p.set(b.position[0], b.position[1], b.position[2]);
      _gq.setFromAxisAngle(_z, b.yaw);
      _gs.set(b.size, b.size, b.size);
      _m.compose(_p, _gq, _gs);
      this.ghosts.setMatrixAt(k, _m);
      this.ghostBlocks.push({ name: b.name, position: [b.position[0], b.position[1], b.position[2]], yaw: b.yaw, size: b.size });
    }
    this.ghosts.count = n;
    this.ghosts.instanceMatrix.needsUpdate = true;
    this.dirty = true;
  }

  setContactsVisible(on: boolean): void {
    this.showContacts = on;
    this.contacts.visible = on;
    if (!on) this.contacts.count = 0;
    this.dirty = true;
  }

  setFrustumVisible(on: boolean): void {
    this.showFrustum = on;
    for (const h of this.frustums) h.visible = on;
    if (on && this.state) this.updateRandomized(this.state);
    this.dirty = true;
  }

  /** Moves the frustum stand-ins onto the training cameras (front, wrist) of the randomized look. */
  private placeFrustums(): void {
    const src = [this.randomized.cameras.front, this.randomized.cameras.wrist];
    for (let i = 0; i < 2; i++) {
      const c = this.frustumCams[i], s = src[i];
      c.position.copy(s.position);
      c.quaternion.copy(s.quaternion);
      if (c.fov !== s.fov) {
        c.fov = s.fov;
        c.updateProjectionMatrix();
      }
      c.updateMatrixWorld();
      this.frustums[i].update();
    }
  }

  setRandomized(on: boolean): void {
    this.showRandomized = on;
    if (on && this.state) this.updateRandomized(this.state);
    this.width = 0; // re-layout
    this.dirty = true;
  }

  private layout(): void {
    const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    if (w === this.width && h === this.height) return;
    this.width = w;
    this.height = h;
    this.renderer.setSize(w, h, false);
    const left = this.showRandomized ? Math.floor(w / 2) : w;
    this.camera.aspect = left / Math.max(1, h);
    this.camera.updateProjectionMatrix();
    // Training images are square: the randomized view is drawn square, letterboxed.
    const front = this.randomized.cameras.front;
    front.aspect = TRAINING_ASPECT;
    front.updateProjectionMatrix();
  }

  /** Draws if anything changed (state, camera, size, toggles); returns whether it drew. */
  render(): boolean {
    // OrbitControls.update() is true while the camera moves (dragging, or damping after it).
    if (this.controls.update()) this.dirty = true;
    if (this.canvas.clientWidth !== this.width || this.canvas.clientHeight !== this.height) this.dirty = true;
    if (!this.dirty) return false;
    this.dirty = false;
    this.layout();
    if (this.showFrustum) this.placeFrustums();
    const w = this.width, h = this.height, r = this.renderer;
    if (!this.showRandomized) {
      r.setScissorTest(false);
      r.setViewport(0, 0, w, h);
      r.render(this.clean.scene, this.camera);
    } else {
      const left = Math.floor(w / 2);
      r.setScissorTest(true);
      r.setViewport(0, 0, left, h);
      r.setScissor(0, 0, left, h);
      r.render(this.clean.scene, this.camera);
      r.setViewport(left, 0, w - left, h);
      r.setScissor(left, 0, w - left, h);
      r.clear();
      const side = Math.min(w - left, h);
      const x = left + Math.floor((w - left - side) / 2), y = Math.floor((h - side) / 2);
      r.setViewport(x, y, side, side);
      r.setScissor(x, y, side, side);
      r.render(this.randomized.scene, this.randomized.cameras.front);
      r.setScissorTest(false);
    }
    this.frames++;
    return true;
  }

  /**
   * Where a world point appears on the canvas in the clean view (CSS pixels from the canvas's
   * top-left) and whether it is in front of the camera. For tests and tools.
   */
  project(x: number, y: number, z: number): { x: number; y: number; visible: boolean } {
    this.camera.updateMatrixWorld();
    _v.set(x, y, z).project(this.camera);
    const left = this.showRandomized ? Math.floor(this.width / 2) : this.width;
    return { x: ((_v.x + 1) / 2) * left, y: ((1 - _v.y) / 2) * this.height, visible: _v.z > -1 && _v.z < 1 };
  }

  /** Name of the first body under a canvas point in the clean view ('' for none). For tests and tools. */
  pick(x: number, y: number): string {
    const left = this.showRandomized ? Math.floor(this.width / 2) : this.width;
    const ray = new Raycaster();
    ray.setFromCamera(new Vector2((x / left) * 2 - 1, 1 - (y / this.height) * 2), this.camera);
    const meshes = this.clean.scene.children.filter((o): o is Mesh => o instanceof Mesh && o.visible && o !== this.contacts && o !== this.ghosts);
    const hit = ray.intersectObjects(meshes, false)[0];
    return hit ? hit.object.name : '';
  }

  /** Seed the episode was reset with. */
  get episodeSeed(): number {
    return this.seed;
  }
}
