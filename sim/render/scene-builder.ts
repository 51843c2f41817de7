/**
 * The one scene builder: SimState + Look → a three.js scene, updated in place every frame. The
 * headless renderer (sim/render/headless.ts) and the browser viewer both draw with it, so what
 * users watch is what policies are trained on. Browser-safe: three.js only, nothing from Node.
 *
 * - Bodies are mapped by id to Object3Ds, created the first time an id appears and removed when it
 *   disappears; `update(state)` copies poses into them and allocates nothing.
 * - Drawn besides the bodies: the floor (0.75 m below the table top), a room around everything as
 *   the background, an arm rod above the palm (segmentation id of the palm), goal markers, and
 *   the look's distractors.
 * - With `labels: true` every material also writes an `aux` colour attachment (rg32float):
 *   r = depth (z along the camera's optical axis, metres), g = segmentation id (see look.ts). The
 *   render target must then have two textures named `output` and `aux`.
 * - Surfaces are unlit three materials shaded by lighting.ts (albedo from the look's procedural
 *   texture × irradiance from 4 light slots and a hemisphere), so one shader serves every light
 *   set. Textures are uploaded as linear bytes, bilinear, without mipmaps (fast on lavapipe).
 * - `frameNoise(seed)` sets the per-pixel noise pattern of the next draw (option `noise`).
 * - `setPrint(print)` lays a printed sheet (a camera calibration board) into the scene; the default
 *   scene has none.
 * - Cylinders (SimState's and distractors') run along their local z axis.
 *
 * Units and axes follow SimState (metres, z up); cameras are described in cameras.ts.
 */
import {
  BackSide,
  BoxGeometry,
  CylinderGeometry,
  DataTexture,
  LinearFilter,
  LinearMipmapLinearFilter,
  Matrix4,
  Mesh,
  MeshBasicNodeMaterial,
  NoColorSpace,
  Object3D,
  PerspectiveCamera,
  PlaneGeometry,
  Quaternion,
  RepeatWrapping,
  Scene,
  SphereGeometry,
  Vector3,
} from 'three/webgpu';
import type { BufferGeometry, Node } from 'three/webgpu';
import {
  float, modelWorldMatrix, mrt, renderGroup, normalLocal, output, positionLocal, positionView, texture as textureNode,
  uniform, uv, varying, vec3, vec4, viewportCoordinate,
} from 'three/tsl';
import type { ShapeSpec, SimState } from '../state.ts';
import { CAMERA_MOUNTS, CAMERA_NAMES, cameraMount } from './cameras.ts';
import type { CameraFrame, CameraName } from './cameras.ts';
import { FLOOR_Z, ROOM_HALF } from './look.ts';
import type { Look, SurfaceLook } from './look.ts';
import { Lighting } from './lighting.ts';
import { generateTexture, TEXTURE_SIZE } from './textures.ts';

/**
 * A flat printed sheet, e.g. a camera calibration board (SceneBuilder.setPrint). The print frame is
 * OpenCV's board frame: origin at the image's top-left corner, x along its rows (to the right), y
 * down its columns, z into the sheet, so the printed side faces −z.
 */
export interface PrintSpec {
  /** The printed image, rows top-down, sRGB: gray (1 byte per pixel) or RGBA (4). */
  image: Uint8Array;
  width: number;
  height: number;
  /** Size of the whole image on the sheet (m): [along x, along y]. */
  size: [number, number];
  /** 4×4 row-major: print frame → world. */
  pose: readonly number[];
}

export interface SceneBuilderOptions {
  /** Write depth and segmentation to an `aux` attachment (render targets only). Default false. */
  labels?: boolean;
  /** Add the look's per-pixel image noise. Default true. */
  noise?: boolean;
  /**
   * Write sRGB-encoded colour from the shader (fastSrgb), for linear (rgba8unorm) render
   * targets: what the headless renderer uses, since lavapipe is much slower with sRGB formats.
   * Default false (a canvas or an sRGB target encodes by itself).
   */
  encodeSrgb?: boolean;
  /** Evaluate lighting per vertex (fast on CPUs) or per fragment. Default 'vertex'. */
  lighting?: 'vertex' | 'fragment';
  /** Texture edge in texels. Default 64. */
  textureSize?: number;
}

/** Arm rod above the palm (m). */
const ROD_RADIUS = 0.012;
const ROD_LENGTH = 0.6;
const GOAL_RADIUS = 0.012;

/**
 * Linear → sRGB transfer, within 2/255 of the exact curve on [0, 1]: two square roots and a
 * quartic fitted in q = x^¼ (least squares), instead of the power, which is slow on lavapipe.
 */
export function fastSrgb(c: Node<'vec3'>): Node<'vec3'> {
  const q = c.clamp(0, 1).sqrt().sqrt();
  // -0.254722 q + 2.211081 q² - 1.434403 q³ + 0.478225 q⁴, in Horner form.
  return q.mul(q.mul(q.mul(q.mul(0.478225).sub(1.434403)).add(2.211081)).sub(0.254722)).max(0) as Node<'vec3'>;
}

/** sRGB byte → linear byte (textures are uploaded linear: sampling sRGB formats is slow on lavapipe). */
const SRGB_TO_LINEAR = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  SRGB_TO_LINEAR[i] = Math.round(255 * (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
}

// Hot-loop temporaries (never allocated per frame).
const _q = new Quaternion();
const _q2 = new Quaternion();
const _v = new Vector3();
const _v2 = new Vector3();
const _m = new Matrix4();
const _one = new Vector3(1, 1, 1);
/** Stands in for a camera while its mounted pose is worked out (lookAt with the camera convention). */
const _mount = new PerspectiveCamera();

interface Surface {
  material: MeshBasicNodeMaterial;
  texture: DataTexture;
  /** The texture spec currently in the texture ('' : none yet). */
  key: string;
  setId(id: number): void;
}

interface BodyView {
  mesh: Mesh;
  surface: Surface;
  shapeKey: number;
  seen: number;
}

function shapeKey(s: ShapeSpec): number {
  switch (s.type) {
    case 'box':
      return 1 + s.halfExtents[0] * 1e3 + s.halfExtents[1] * 1e6 + s.halfExtents[2] * 1e9;
    case 'sphere':
      return 2 + s.radius * 1e3;
    case 'cylinder':
      return 3 + s.radius * 1e3 + s.halfHeight * 1e6;
    default:
      return 4;
  }
}

/**
 * A camera's pose in its mount's parent frame (the world, or the palm for the wrist camera):
 * the nominal mount looking at its target, turned by the look's rotation jitter about the
 * camera's own x, y, z axes, moved by the look's offset. Written into `out` when given.
 */
export function mountedPose(
  name: CameraName, offset: readonly number[], rotationDeg: readonly number[],
  out: { position: Vector3; quaternion: Quaternion } = { position: new Vector3(), quaternion: new Quaternion() },
  robot: 'mount' | 'so101' = 'mount',
): { position: Vector3; quaternion: Quaternion } {
  const m = cameraMount(name, robot);
  // Nominal orientation in the parent frame (cameras look down their −z), then the jitter.
  _mount.up.set(m.up[0], m.up[1], m.up[2]);
  _mount.position.set(m.position[0], m.position[1], m.position[2]);
  _mount.quaternion.identity();
  _mount.lookAt(m.target[0], m.target[1], m.target[2]);
  const d = Math.PI / 180;
  _q.setFromAxisAngle(_v.set(1, 0, 0), rotationDeg[0] * d);
  _mount.quaternion.multiply(_q);
  _q.setFromAxisAngle(_v.set(0, 1, 0), rotationDeg[1] * d);
  _mount.quaternion.multiply(_q);
  _q.setFromAxisAngle(_v.set(0, 0, 1), rotationDeg[2] * d);
  _mount.quaternion.multiply(_q);
  out.quaternion.copy(_mount.quaternion);
  out.position.set(m.position[0] + offset[0], m.position[1] + offset[1], m.position[2] + offset[2]);
  return out;
}

/** CameraFrame of a camera whose three.js world matrix is `e` (column-major elements). */
function frameFromMatrix(name: string, e: ArrayLike<number>, fovDeg: number, width: number, height: number): CameraFrame {
  // three's camera axes (x right, y up, z back) → OpenCV (x right, y down, z forward): negate y and z columns.
  const c2w = [e[0], -e[4], -e[8], e[12], e[1], -e[5], -e[9], e[13], e[2], -e[6], -e[10], e[14], 0, 0, 0, 1];
  const fy = height / 2 / Math.tan((fovDeg * Math.PI) / 360);
  // World → camera is the rigid inverse.
  const w2c = new Array<number>(16).fill(0);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) w2c[i * 4 + j] = c2w[j * 4 + i];
    w2c[i * 4 + 3] = -(c2w[i] * c2w[3] + c2w[4 + i] * c2w[7] + c2w[8 + i] * c2w[11]);
  }
  w2c[15] = 1;
  return { name, width, height, fovDeg, K: [fy, 0, width / 2, 0, fy, height / 2, 0, 0, 1], cameraToWorld: c2w, worldToCamera: w2c };
}

/**
 * The calibration a world-mounted camera (`front`) had in a look, without building a scene:
 * what `cameraFrame` gives once the builder is dressed in that look. Frames of a dataset get
 * their camera back this way, from the look its episode seed fixes.
 */
export function lookCameraFrame(look: Look, name: CameraName, width: number, height: number): CameraFrame {
  if (CAMERA_MOUNTS[name].parent !== 'world') throw new RangeError(`camera ${name} rides on the ${CAMERA_MOUNTS[name].parent}: its calibration depends on the robot's state, not on the look alone`);
  const c = look.cameras[name];
  const pose = mountedPose(name, c.positionOffset, c.rotationDeg);
  _m.compose(pose.position, pose.quaternion, _one);
  return frameFromMatrix(name, _m.elements, c.fovDeg, width, height);
}

export class SceneBuilder {
  readonly scene = new Scene();
  readonly cameras: Record<CameraName, PerspectiveCamera>;
  readonly labels: boolean;
  readonly noise: boolean;
  readonly encodeSrgb: boolean;
  readonly lightingMode: 'vertex' | 'fragment';
  readonly textureSize: number;
  /** The look being drawn (null until setLook). */
  look: Look | null = null;

  private readonly bodies = new Map<number, BodyView>();
  private readonly geometries: { box: BufferGeometry; fineBox: BufferGeometry; room: BufferGeometry; sphere: BufferGeometry; cylinder: BufferGeometry; plane: BufferGeometry };
  private readonly floor: Surface;
  private readonly background: Surface;
  private readonly rod: Mesh;
  private readonly rodSurface: Surface;
  private readonly goals: Mesh[] = [];
  private readonly goalMaterial: MeshBasicNodeMaterial;
  private readonly distractors: Array<{ mesh: Mesh; surface: Surface }> = [];
  private readonly lighting = new Lighting();
  /** Irradiance at the fragment (interpolated from the vertices in 'vertex' mode). */
  private readonly irradianceNode;
  // Per draw call, not per object: the render group is uploaded once per render().
  private readonly noiseStd = uniform(0).setGroup(renderGroup);
  private readonly noiseSeed = uniform(0, 'uint').setGroup(renderGroup);
  private generation = 0;
  private palmId = -1;
  /** The robot of the last state drawn (its wrist camera mount differs). */
  private robot: 'mount' | 'so101' = 'mount';
  /** Camera pose in its mount's parent frame, from the look. */
  private readonly mountPose: Record<CameraName, { position: Vector3; quaternion: Quaternion }>;
  private readonly textureScratch: Uint8Array;
  private print: { mesh: Mesh; surface: Surface } | null = null;

  constructor(options: SceneBuilderOptions = {}) {
    this.labels = options.labels ?? false;
    this.noise = options.noise ?? true;
    this.encodeSrgb = options.encodeSrgb ?? false;
    this.lightingMode = options.lighting ?? 'vertex';
    const Pw = modelWorldMatrix.mul(vec4(positionLocal, 1)).xyz;
    const Nw = modelWorldMatrix.mul(vec4(normalLocal, 0)).xyz.normalize();
    this.irradianceNode = this.lightingMode === 'vertex'
      ? varying(this.lighting.irradiance(Pw, Nw))
      : this.lighting.irradiance(varying(Pw), varying(Nw).normalize());
    this.textureSize = options.textureSize ?? TEXTURE_SIZE;
    this.textureScratch = new Uint8Array(this.textureSize * this.textureSize * 4);
    this.geometries = {
      box: new BoxGeometry(1, 1, 1),
      // Finer meshes where per-vertex lighting needs vertices: the table top, the room, the floor.
      fineBox: new BoxGeometry(1, 1, 1, 16, 16, 1),
      room: new BoxGeometry(1, 1, 1, 8, 8, 8),
      sphere: new SphereGeometry(1, 24, 16),
      // three's cylinders run along y; SimState cylinders (and ours) along local z.
      cylinder: new CylinderGeometry(1, 1, 1, 24).rotateX(Math.PI / 2),
      plane: new PlaneGeometry(1, 1, 16, 16),
    };
    this.scene.matrixWorldAutoUpdate = true;

    this.floor = this.makeSurface(0, 4);
    const floor = new Mesh(this.geometries.plane, this.floor.material);
    floor.scale.set(2 * ROOM_HALF, 2 * ROOM_HALF, 1);
    floor.position.set(0, 0, FLOOR_Z);
    this.scene.add(floor);

    this.background = this.makeSurface(0, 4);
    this.background.material.side = BackSide;
    const room = new Mesh(this.geometries.room, this.background.material);
    room.scale.set(2 * ROOM_HALF, 2 * ROOM_HALF, 2 * ROOM_HALF);
    room.position.set(0, 0, FLOOR_Z - 0.01 + ROOM_HALF);
    this.scene.add(room);

    this.rodSurface = this.makeSurface(0, 1);
    this.rod = new Mesh(this.geometries.cylinder, this.rodSurface.material);
    this.rod.scale.set(ROD_RADIUS, ROD_RADIUS, ROD_LENGTH);
    this.rod.visible = false;
    this.scene.add(this.rod);

    this.goalMaterial = new MeshBasicNodeMaterial({ color: 0xff3399 });
    if (this.labels) this.goalMaterial.mrtNode = mrt({ aux: vec4(positionView.z.negate(), float(0), 0, 1) });
    if (this.encodeSrgb) this.goalMaterial.outputNode = vec4(fastSrgb(output.rgb as Node<'vec3'>), 1);

    this.cameras = {} as Record<CameraName, PerspectiveCamera>;
    this.mountPose = {} as SceneBuilder['mountPose'];
    for (const name of CAMERA_NAMES) {
      const m = CAMERA_MOUNTS[name];
      const cam = new PerspectiveCamera(m.fovDeg, 1, m.near, m.far);
      cam.name = name;
      this.cameras[name] = cam;
      this.mountPose[name] = { position: new Vector3(), quaternion: new Quaternion() };
      this.setMount(name, [0, 0, 0], [0, 0, 0]);
    }
  }

  /** A textured, lit material with its own segmentation id and texture (default: a repeating one of textureSize², no mipmaps). */
  private makeSurface(id: number, repeat: number, texture?: DataTexture): Surface {
    if (!texture) {
      const data = new Uint8Array(this.textureSize * this.textureSize * 4).fill(160);
      texture = new DataTexture(data, this.textureSize, this.textureSize);
      // Linear data, bilinear, no mipmaps: the fast path on lavapipe (see SRGB_TO_LINEAR).
      texture.colorSpace = NoColorSpace;
      texture.wrapS = texture.wrapT = RepeatWrapping;
      texture.magFilter = LinearFilter;
      texture.minFilter = LinearFilter;
      texture.generateMipmaps = false;
      texture.needsUpdate = true;
    }
    const material = new MeshBasicNodeMaterial();
    const albedo = textureNode(texture, repeat === 1 ? uv() : uv().mul(repeat)).rgb;
    material.colorNode = vec4(albedo.mul(this.irradianceNode), 1);
    const idNode = uniform(id);
    if (this.labels) material.mrtNode = mrt({ aux: vec4(positionView.z.negate(), idNode, 0, 1) });
    let rgb = output.rgb as Node<'vec3'>;
    if (this.encodeSrgb) rgb = fastSrgb(rgb);
    if (this.noise) {
      // Image noise (in the output's units): a hash of the pixel within its view and the frame's seed.
      // One PCG hash per pixel, 10 bits per channel.
      const p = viewportCoordinate.x.toUint().add(viewportCoordinate.y.toUint().mul(8192)).bitXor(this.noiseSeed);
      const state = p.mul(747796405).add(2891336453);
      const word = state.shiftRight(state.shiftRight(28).add(4)).bitXor(state).mul(277803737);
      const h = word.shiftRight(22).bitXor(word);
      const bits = vec3(h.bitAnd(1023).toFloat(), h.shiftRight(10).bitAnd(1023).toFloat(), h.shiftRight(20).bitAnd(1023).toFloat());
      const n = bits.mul(1 / 1023).sub(0.5).mul(this.noiseStd.mul(Math.sqrt(12)));
      rgb = rgb.add(n).max(0);
    }
    if (this.encodeSrgb || this.noise) material.outputNode = vec4(rgb, 1);
    return { material, texture, key: '', setId: (v: number) => { idNode.value = v; } };
  }

  private paint(surface: Surface, look: SurfaceLook | undefined): void {
    if (!look) return;
    const key = JSON.stringify(look.texture);
    if (surface.key === key) return;
    surface.key = key;
    const data = surface.texture.image.data as Uint8Array;
    generateTexture(look.texture, this.textureSize, data);
    for (let i = 0; i < data.length; i++) if ((i & 3) !== 3) data[i] = SRGB_TO_LINEAR[data[i]];
    surface.texture.needsUpdate = true;
  }

  private setMount(name: CameraName, offset: readonly number[], rotationDeg: readonly number[]): void {
    const pose = mountedPose(name, offset, rotationDeg, this.mountPose[name], this.robot);
    const cam = this.cameras[name];
    cam.quaternion.copy(pose.quaternion);
    cam.position.copy(pose.position);
  }

  /** Dresses the scene in `look` (textures are regenerated only where the seed changed). */
  setLook(look: Look): void {
    this.look = look;
    this.paint(this.floor, look.surfaces.floor);
    this.paint(this.background, look.surfaces.background);
    for (const view of this.bodies.values()) this.paint(view.surface, look.surfaces[view.mesh.name]);
    if (look.surfaces.palm) this.paint(this.rodSurface, look.surfaces.palm);
    this.setLights(look);
    this.setCameras(look);
    this.goalMaterial.color.setRGB(look.goalColor[0], look.goalColor[1], look.goalColor[2]);
    this.setDistractors(look);
    this.noiseStd.value = look.imageNoise;
  }

  /** Each camera's mount offset and field of view from the look. */
  private setCameras(look: Look): void {
    for (const name of CAMERA_NAMES) {
      const c = look.cameras[name];
      this.setMount(name, c.positionOffset, c.rotationDeg);
      const cam = this.cameras[name];
      if (cam.fov !== c.fovDeg) {
        cam.fov = c.fovDeg;
        cam.updateProjectionMatrix();
      }
    }
  }

  /** Lights and camera poses only (for per-step randomization); textures stay. */
  setLightsAndCameras(look: Look): void {
    const textures = this.look;
    this.look = textures ? { ...textures, lights: look.lights, ambient: look.ambient, cameras: look.cameras } : look;
    this.setLights(look);
    this.setCameras(look);
  }

  private setLights(look: Look): void {
    this.lighting.set(look);
  }

  private setDistractors(look: Look): void {
    for (let k = 0; k < look.distractors.length; k++) {
      const d = look.distractors[k];
      let slot = this.distractors[k];
      if (!slot) {
        const surface = this.makeSurface(d.id, 1);
        const mesh = new Mesh(this.geometries.box, surface.material);
        this.scene.add(mesh);
        slot = { mesh, surface };
        this.distractors.push(slot);
      }
      slot.surface.setId(d.id);
      slot.mesh.visible = true;
      this.shapeMesh(slot.mesh, d.shape);
      slot.mesh.position.set(d.position[0], d.position[1], d.position[2]);
      slot.mesh.quaternion.set(d.quaternion[0], d.quaternion[1], d.quaternion[2], d.quaternion[3]);
      this.paint(slot.surface, d.surface);
    }
    for (let k = look.distractors.length; k < this.distractors.length; k++) this.distractors[k].mesh.visible = false;
  }

  private shapeMesh(mesh: Mesh, s: ShapeSpec): void {
    switch (s.type) {
      case 'box':
        mesh.geometry = this.geometries.box;
        mesh.scale.set(2 * s.halfExtents[0], 2 * s.halfExtents[1], 2 * s.halfExtents[2]);
        break;
      case 'sphere':
        mesh.geometry = this.geometries.sphere;
        mesh.scale.setScalar(s.radius);
        break;
      case 'cylinder':
        mesh.geometry = this.geometries.cylinder;
        mesh.scale.set(s.radius, s.radius, 2 * s.halfHeight);
        break;
      case 'plane':
        mesh.geometry = this.geometries.plane;
        mesh.scale.set(2 * ROOM_HALF, 2 * ROOM_HALF, 1);
        break;
    }
  }

  /** Copies a SimState into the scene (creates meshes for new ids, hides vanished ones). */
  update(state: SimState): void {
    const gen = ++this.generation;
    const robot = state.robot ?? 'mount';
    if (robot !== this.robot) {
      this.robot = robot;
      const c = this.look?.cameras.wrist;
      this.setMount('wrist', c?.positionOffset ?? [0, 0, 0], c?.rotationDeg ?? [0, 0, 0]);
    }
    let palm = -1;
    for (let i = 0; i < state.bodies.length; i++) {
      const b = state.bodies[i];
      const key = shapeKey(b.shape);
      let view = this.bodies.get(b.id);
      if (!view || view.mesh.name !== b.name) {
        if (view) this.removeBody(b.id, view);
        const surface = this.makeSurface(b.id, b.kind === 'table' ? 2 : 1);
        const mesh = new Mesh(this.geometries.box, surface.material);
        mesh.name = b.name;
        this.scene.add(mesh);
        view = { mesh, surface, shapeKey: NaN, seen: gen };
        this.bodies.set(b.id, view);
        if (this.look) this.paint(surface, this.look.surfaces[b.name]);
      }
      if (view.shapeKey !== key) {
        this.shapeMesh(view.mesh, b.shape);
        if (b.kind === 'table' && b.shape.type === 'box') view.mesh.geometry = this.geometries.fineBox;
        view.shapeKey = key;
      }
      view.seen = gen;
      const p = b.position, q = b.quaternion;
      view.mesh.position.set(p[0], p[1], p[2]);
      view.mesh.quaternion.set(q[0], q[1], q[2], q[3]);
      if (b.kind === 'palm') palm = i;
    }
    for (const [id, view] of this.bodies) if (view.seen !== gen) this.removeBody(id, view);

    // The arm rod (the mount's; the SO-101 draws its own links) and the wrist camera ride on the palm.
    if (palm >= 0) {
      const b = state.bodies[palm];
      if (this.palmId !== b.id) {
        this.palmId = b.id;
        this.rodSurface.setId(b.id);
        if (this.look) this.paint(this.rodSurface, this.look.surfaces.palm);
      }
      _q2.set(b.quaternion[0], b.quaternion[1], b.quaternion[2], b.quaternion[3]);
      _v2.set(b.position[0], b.position[1], b.position[2]);
      const top = (b.shape.type === 'box' ? b.shape.halfExtents[2] : 0.01) + ROD_LENGTH / 2;
      this.rod.visible = robot === 'mount';
      this.rod.quaternion.copy(_q2);
      this.rod.position.copy(_v.set(0, 0, top).applyQuaternion(_q2).add(_v2));
      const cam = this.cameras.wrist, pose = this.mountPose.wrist;
      cam.quaternion.copy(_q2).multiply(pose.quaternion);
      cam.position.copy(pose.position).applyQuaternion(_q2).add(_v2);
    } else {
      this.rod.visible = false;
    }

    // Goal markers.
    for (let g = 0; g < state.goals.length; g++) {
      let mesh = this.goals[g];
      if (!mesh) {
        mesh = new Mesh(this.geometries.sphere, this.goalMaterial);
        mesh.scale.setScalar(GOAL_RADIUS);
        this.goals.push(mesh);
        this.scene.add(mesh);
      }
      const p = state.goals[g];
      mesh.visible = true;
      mesh.position.set(p[0], p[1], p[2]);
    }
    for (let g = state.goals.length; g < this.goals.length; g++) this.goals[g].visible = false;
  }

  private removeBody(id: number, view: BodyView): void {
    this.scene.remove(view.mesh);
    view.surface.material.dispose();
    view.surface.texture.dispose();
    this.bodies.delete(id);
  }

  /**
   * Lays a printed sheet into the scene (segmentation id 0), or removes it (null). Its texture is
   * mipmapped, so a fine pattern seen from afar stays free of aliasing.
   */
  setPrint(print: PrintSpec | null): void {
    if (this.print) {
      this.scene.remove(this.print.mesh);
      this.print.surface.material.dispose();
      this.print.surface.texture.dispose();
      this.print = null;
    }
    if (!print) return;
    const { image, width, height, size, pose } = print;
    const channels = image.length / (width * height);
    if (channels !== 1 && channels !== 4) throw new RangeError(`a print's image must hold ${width}x${height} gray or RGBA pixels, got ${image.length} bytes`);
    // RGBA, linear bytes, bottom row first: the plane's v runs up the sheet.
    const data = new Uint8Array(width * height * 4);
    for (let r = 0; r < height; r++) {
      const src = (height - 1 - r) * width;
      for (let c = 0; c < width; c++) {
        const o = (r * width + c) * 4, i = (src + c) * channels;
        data[o] = SRGB_TO_LINEAR[image[i]];
        data[o + 1] = SRGB_TO_LINEAR[image[channels === 1 ? i : i + 1]];
        data[o + 2] = SRGB_TO_LINEAR[image[channels === 1 ? i : i + 2]];
        data[o + 3] = 255;
      }
    }
    const texture = new DataTexture(data, width, height);
    texture.colorSpace = NoColorSpace;
    texture.magFilter = LinearFilter;
    texture.minFilter = LinearMipmapLinearFilter;
    texture.generateMipmaps = true;
    texture.needsUpdate = true;
    const surface = this.makeSurface(0, 1, texture);
    // A sheet lying on the table shares its depth: pull it forward so it always wins.
    surface.material.polygonOffset = true;
    surface.material.polygonOffsetFactor = -1;
    surface.material.polygonOffsetUnits = -4;
    const mesh = new Mesh(this.geometries.plane, surface.material);
    // Plane axes from the print frame: x, −y (up the sheet), −z (out of the printed side); centred on the image.
    const [w, h] = size;
    _m.set(
      pose[0] * w, -pose[1] * h, -pose[2], pose[3] + (pose[0] * w + pose[1] * h) / 2,
      pose[4] * w, -pose[5] * h, -pose[6], pose[7] + (pose[4] * w + pose[5] * h) / 2,
      pose[8] * w, -pose[9] * h, -pose[10], pose[11] + (pose[8] * w + pose[9] * h) / 2,
      0, 0, 0, 1,
    );
    _m.decompose(mesh.position, mesh.quaternion, mesh.scale);
    this.scene.add(mesh);
    this.print = { mesh, surface };
  }

  /** Noise pattern of the next draw (any 32-bit integer). */
  frameNoise(seed: number): void {
    this.noiseSeed.value = seed >>> 0;
  }

  /** The body object drawn for a SimState id (undefined if none). */
  object(id: number): Object3D | undefined {
    return this.bodies.get(id)?.mesh;
  }

  /** Intrinsics and extrinsics of a camera for a `width`×`height` image, as of the last update. */
  cameraFrame(name: CameraName, width: number, height: number): CameraFrame {
    const cam = this.cameras[name];
    cam.updateMatrixWorld();
    return frameFromMatrix(name, cam.matrixWorld.elements, cam.fov, width, height);
  }

  /** Frees geometries, materials and textures. */
  dispose(): void {
    this.setPrint(null);
    for (const [id, view] of this.bodies) this.removeBody(id, view);
    for (const d of this.distractors) {
      d.surface.material.dispose();
      d.surface.texture.dispose();
    }
    for (const s of [this.floor, this.background]) {
      s.material.dispose();
      s.texture.dispose();
    }
    this.rodSurface.material.dispose();
    this.rodSurface.texture.dispose();
    this.goalMaterial.dispose();
    for (const g of Object.values(this.geometries)) g.dispose();
  }
}
