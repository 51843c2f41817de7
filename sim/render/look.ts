/**
 * Visual randomization: small pure functions from (the scenario's visual ranges, a seeded
 * generator) to a Look, the plain-data record of how one episode is drawn. The generator is the
 * episode's own `visual` stream (`new Rng(seed).fork('visual')`), so the look never shifts the
 * layout or the physics drawn for the same seed, and the other way round.
 *
 * Randomized: every body's texture (procedural, by generator seed), roughness and metalness; the
 * floor and background; 1–4 lights (kind, position, colour, intensity) plus an ambient
 * hemisphere; each camera's pose around its mount and its field of view; 0–10 distractor objects
 * on the table's rim (never on the front side, which faces the front camera) or on the floor, so
 * they never hide the workspace; per-pixel image noise. Mode 'none' gives the nominal look.
 *
 * Segmentation ids: SimState body ids as they are; distractors get DISTRACTOR_ID_BASE + k; floor,
 * background and goal markers are 0.
 */
import { Rng } from '../rng.ts';
import { sampleIntRange, sampleRange } from '../randomization.ts';
import type { RandomizationMode } from '../randomization.ts';
import type { Quat, ShapeSpec, Vec3 } from '../state.ts';
import { CAMERA_MOUNTS, CAMERA_NAMES } from './cameras.ts';
import type { CameraName } from './cameras.ts';
import { textureSpec } from './textures.ts';
import type { TextureSpec } from './textures.ts';
import { DEFAULT_VISUAL } from './visual-schema.ts';
import type { LightKind, VisualConfig, VisualRanges } from './visual-schema.ts';

/** Segmentation id of distractor k (SimState ids stay far below it). */
export const DISTRACTOR_ID_BASE = 1000;
/** Floor height below the table top (m): the table stands 0.75 m high. */
export const FLOOR_Z = -0.75;
/** Half size of the room drawn as the background (m). */
export const ROOM_HALF = 4;

export interface SurfaceLook {
  texture: TextureSpec;
}

export interface LightLook {
  kind: LightKind;
  /** World position (for directional lights: where the light comes from, at `distance`). */
  position: Vec3;
  /** Linear RGB in [0, 1]. */
  color: Vec3;
  /** Irradiance at 1 m (point, spot) or everywhere (directional); see lighting.ts. */
  intensity: number;
  /** Spot cone half-angle (degrees), spot lights only. */
  angleDeg?: number;
}

export interface CameraLook {
  /** Offset from the nominal mount position, in the mount's parent frame (m). */
  positionOffset: Vec3;
  /** Rotation about the camera's own x, y, z axes, applied in that order (degrees). */
  rotationDeg: Vec3;
  fovDeg: number;
}

export interface DistractorLook {
  /** Segmentation id: DISTRACTOR_ID_BASE + index. */
  id: number;
  shape: ShapeSpec;
  position: Vec3;
  quaternion: Quat;
  surface: SurfaceLook;
}

/** One episode's look: everything needed to draw it again, as plain data. */
export interface Look {
  mode: RandomizationMode;
  /** The episode seed the look was drawn from. */
  seed: number;
  /** By body name (`table`, `block0`…, `palm`, `finger_l`…) plus `floor` and `background`. */
  surfaces: Record<string, SurfaceLook>;
  ambient: { sky: Vec3; ground: Vec3; intensity: number };
  lights: LightLook[];
  cameras: Record<CameraName, CameraLook>;
  distractors: DistractorLook[];
  /** Colour of goal markers (linear RGB). */
  goalColor: Vec3;
  /** Std of per-pixel image noise (linear units). */
  imageNoise: number;
}

/** The visual config of a scenario (DEFAULT_VISUAL when it has none). */
export function visualConfig(visual: VisualConfig | undefined): VisualConfig {
  return visual ?? DEFAULT_VISUAL;
}

function hsv(h: number, s: number, v: number): Vec3 {
  const i = Math.floor(h * 6), f = h * 6 - i;
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const m = ((i % 6) + 6) % 6;
  return m === 0 ? [v, t, p] : m === 1 ? [q, v, p] : m === 2 ? [p, v, t] : m === 3 ? [p, q, v] : m === 4 ? [t, p, v] : [v, p, q];
}

function sampleSurface(rng: Rng, r: VisualRanges): SurfaceLook {
  return { texture: textureSpec(sampleIntRange(rng, r.textureSeeds)) };
}

export function sampleLights(rng: Rng, r: VisualRanges): { lights: LightLook[]; ambient: Look['ambient'] } {
  const L = r.lights;
  const n = sampleIntRange(rng, L.count);
  const lights: LightLook[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(L.kinds);
    const az = rng.uniform(0, 2 * Math.PI);
    const el = (sampleRange(rng, L.elevationDeg) * Math.PI) / 180;
    const d = sampleRange(rng, L.distance);
    const e = sampleRange(rng, L.illuminance);
    const color = hsv(rng.next(), sampleRange(rng, L.saturation), 1);
    const position: Vec3 = [d * Math.cos(el) * Math.cos(az), d * Math.cos(el) * Math.sin(az), d * Math.sin(el)];
    const light: LightLook = { kind, position, color, intensity: kind === 'directional' ? e : e * d * d };
    if (kind === 'spot') light.angleDeg = rng.uniform(20, 45);
    lights.push(light);
  }
  // Canonical order (by kind) so equal sets of kinds share compiled shaders.
  lights.sort((a, b) => L.kinds.indexOf(a.kind) - L.kinds.indexOf(b.kind) || a.kind.localeCompare(b.kind));
  const sat = sampleRange(rng, L.saturation);
  const ambient = { sky: hsv(rng.next(), sat, 1), ground: hsv(rng.next(), sat, 0.5), intensity: sampleRange(rng, L.ambient) };
  return { lights, ambient };
}

export function sampleCameras(rng: Rng, r: VisualRanges): Record<CameraName, CameraLook> {
  const out = {} as Record<CameraName, CameraLook>;
  for (const name of CAMERA_NAMES) {
    const c = r.cameras[name];
    const crng = rng.fork(name);
    out[name] = {
      positionOffset: [sampleRange(crng, c.position), sampleRange(crng, c.position), sampleRange(crng, c.position)],
      rotationDeg: [sampleRange(crng, c.rotationDeg), sampleRange(crng, c.rotationDeg), sampleRange(crng, c.rotationDeg)],
      fovDeg: sampleRange(crng, c.fovDeg),
    };
  }
  return out;
}

function sampleDistractors(rng: Rng, r: VisualRanges): DistractorLook[] {
  const n = sampleIntRange(rng, r.distractors.count);
  const out: DistractorLook[] = [];
  for (let k = 0; k < n; k++) {
    const s = sampleRange(rng, r.distractors.size);
    const type = rng.pick(['box', 'sphere', 'cylinder'] as const);
    const shape: ShapeSpec =
      type === 'box' ? { type, halfExtents: [s / 2, rng.uniform(0.4, 1) * s / 2, rng.uniform(0.4, 1) * s / 2] }
        : type === 'sphere' ? { type, radius: s / 2 }
          : { type, radius: rng.uniform(0.25, 0.5) * s, halfHeight: s / 2 };
    const half = type === 'box' ? (shape as { halfExtents: Vec3 }).halfExtents[2] : type === 'sphere' ? s / 2 : s / 2;
    const footprint = s / 2;
    const yaw = rng.uniform(-Math.PI, Math.PI);
    let position: Vec3;
    // The table's rim (0.32 m out from the centre, past the ±0.3 m workspace) on the back, left and
    // right sides, or the floor: neither is between the front camera and the workspace.
    const rimLo = 0.32 + footprint, rimHi = 0.4 - footprint;
    if (rng.bool(0.6) && rimLo <= rimHi) {
      const side = rng.int(0, 2);
      const along = rng.uniform(-0.4 + footprint, 0.4 - footprint);
      const out2 = rng.uniform(rimLo, rimHi);
      const xy: [number, number] = side === 0 ? [along, out2] : side === 1 ? [-out2, Math.max(along, -0.3)] : [out2, Math.max(along, -0.3)];
      position = [xy[0], xy[1], half];
    } else {
      const a = rng.uniform(0, 2 * Math.PI), rad = rng.uniform(0.7, 1.8);
      position = [rad * Math.cos(a), rad * Math.sin(a), FLOOR_Z + half];
    }
    out.push({
      id: DISTRACTOR_ID_BASE + k,
      shape,
      position,
      quaternion: [0, 0, Math.sin(yaw / 2), Math.cos(yaw / 2)],
      surface: sampleSurface(rng, r),
    });
  }
  return out;
}

/**
 * The look of one episode. `bodyNames` are the SimState bodies to dress (names fix each body's
 * surface, so adding a body never changes another's). `rng` is the episode's `visual` stream.
 */
export function sampleLook(visual: VisualConfig, mode: RandomizationMode, seed: number, bodyNames: readonly string[]): Look {
  if (mode === 'none') return nominalLook(seed, bodyNames);
  const r = mode === 'heldout' ? visual.heldout : visual.randomization;
  const rng = new Rng(seed).fork('visual');
  const surfaces: Record<string, SurfaceLook> = {};
  for (const name of ['floor', 'background', ...bodyNames]) surfaces[name] = sampleSurface(rng.fork(`surface:${name}`), r);
  // The two fingers are one part made twice.
  if (surfaces.finger_l && surfaces.finger_r) surfaces.finger_r = surfaces.finger_l;
  const { lights, ambient } = sampleLights(rng.fork('lights'), r);
  const grng = rng.fork('goal');
  return {
    mode,
    seed,
    surfaces,
    ambient,
    lights,
    cameras: sampleCameras(rng.fork('cameras'), r),
    distractors: sampleDistractors(rng.fork('distractors'), r),
    goalColor: hsv(grng.next(), grng.uniform(0.6, 1), 1),
    imageNoise: sampleRange(rng.fork('noise'), r.imageNoise),
  };
}

/**
 * The look at control step `step`: the episode's look, with lights and/or camera poses drawn
 * afresh for this step when the scenario's `perStep` asks for it (else `look` itself).
 */
export function lookAtStep(look: Look, visual: VisualConfig, step: number): Look {
  const per = visual.perStep;
  if (look.mode === 'none' || !per || (!per.lights && !per.camera)) return look;
  const r = look.mode === 'heldout' ? visual.heldout : visual.randomization;
  const rng = new Rng(look.seed).fork('visual').fork(`step:${step}`);
  const out = { ...look };
  if (per.lights) Object.assign(out, sampleLights(rng.fork('lights'), r));
  if (per.camera) out.cameras = sampleCameras(rng.fork('cameras'), r);
  return out;
}

const NOMINAL_COLORS: Record<string, [number, number, number]> = {
  table: [164, 128, 92],
  floor: [96, 96, 100],
  background: [200, 208, 218],
  palm: [60, 62, 70],
  finger: [90, 92, 100],
  // The SO-101's printed parts (its URDF's "3d_printed" material, rgba 1.0 0.82 0.12) and its stand.
  arm: [255, 209, 31],
  riser: [120, 110, 100],
};
const BLOCK_COLORS: Array<[number, number, number]> = [
  [210, 50, 45], [50, 160, 70], [45, 90, 200], [230, 190, 40], [160, 70, 190], [40, 180, 190], [230, 120, 40], [120, 120, 120],
];

function flat(seed: number, c: [number, number, number]): SurfaceLook {
  return { texture: { seed, kind: 'flat', colors: [c, c], scale: 1, angle: 0, softness: 0, grain: 0.03 } };
}

/** The nominal look (randomization 'none'): plain colours, two lights, cameras on their mounts. */
export function nominalLook(seed: number, bodyNames: readonly string[]): Look {
  const surfaces: Record<string, SurfaceLook> = {
    floor: flat(1, NOMINAL_COLORS.floor),
    background: flat(2, NOMINAL_COLORS.background),
  };
  let b = 0;
  for (const name of bodyNames) {
    if (name === 'table') surfaces[name] = flat(3, NOMINAL_COLORS.table);
    else if (name === 'palm') surfaces[name] = flat(4, NOMINAL_COLORS.palm);
    else if (name.startsWith('finger')) surfaces[name] = flat(5, NOMINAL_COLORS.finger);
    else if (name.startsWith('arm_')) surfaces[name] = flat(6, NOMINAL_COLORS.arm);
    else if (name === 'riser') surfaces[name] = flat(7, NOMINAL_COLORS.riser);
    else surfaces[name] = flat(10 + b, BLOCK_COLORS[b++ % BLOCK_COLORS.length]);
  }
  const cameras = {} as Record<CameraName, CameraLook>;
  for (const name of CAMERA_NAMES) cameras[name] = { positionOffset: [0, 0, 0], rotationDeg: [0, 0, 0], fovDeg: CAMERA_MOUNTS[name].fovDeg };
  return {
    mode: 'none',
    seed,
    surfaces,
    ambient: { sky: [1, 1, 1], ground: [0.45, 0.42, 0.4], intensity: 0.3 },
    lights: [
      { kind: 'point', position: [-1, 0.5, 1.5], color: [0.9, 0.95, 1], intensity: 1.2 },
      { kind: 'directional', position: [0.8, -1.2, 2], color: [1, 0.98, 0.95], intensity: 0.6 },
    ],
    cameras,
    distractors: [],
    goalColor: [1, 0.2, 0.6],
    imageNoise: 0,
  };
}
