/**
 * What the bridge's traffic looks like in Foxglove's well-known schemas (@foxglove/schemas), so
 * its 3D and Image panels draw a recording or a live robot without any plug-in:
 *
 * - `/robots/<id>/tf` — `foxglove.FrameTransform`: `world` → `<id>/ee` (the end effector, from the
 *   pose feature the robot's action names, e.g. `ee.pose` [x, y, z, yaw, grip]) and `world` →
 *   `<id>/block<k>` for every block a state feature reports (`block<k>.x/.y/.z`, yaw from
 *   `block<k>.sin4yaw/.cos4yaw`), with each observation.
 * - `/robots/<id>/scene` — `foxglove.SceneUpdate`: the workspace box the hub enforces (translucent)
 *   and a cube per block (its `block<k>.size`), attached to the block's frame.
 * - `/robots/<id>/camera/<feature>` — `foxglove.RawImage`: every image frame (rgb8, rgba8, mono8;
 *   depth as 16UC1 millimetres or 32FC1 metres), pixels as they came.
 *
 * Messages are JSON (`json` encoding with the package's `jsonschema` schemas; bytes base64, as
 * those schemas say). The translator is pure: the recorder and the live endpoint feed it what the
 * hub handled and send on what it returns.
 */
import * as schemas from '@foxglove/schemas/jsonschema.js';
import type { Features, Frame, SafetyLimits } from '../protocol.ts';

export const FOXGLOVE_SCHEMAS = {
  'foxglove.FrameTransform': schemas.FrameTransform,
  'foxglove.SceneUpdate': schemas.SceneUpdate,
  'foxglove.RawImage': schemas.RawImage,
} as const;
export type FoxgloveSchemaName = keyof typeof FOXGLOVE_SCHEMAS;

/** The schema text a channel carries (`jsonschema` encoding): the package's own definition. */
export function foxgloveSchemaText(name: FoxgloveSchemaName): string {
  return JSON.stringify(FOXGLOVE_SCHEMAS[name]);
}

export interface FoxgloveMessage {
  topic: string;
  schema: FoxgloveSchemaName;
  /** ns since the Unix epoch. */
  timeNs: bigint;
  message: Record<string, unknown>;
}

export const WORLD_FRAME = 'world';

interface Time {
  sec: number;
  nsec: number;
}

function stamp(ms: number): Time {
  const ns = BigInt(Math.round(ms * 1e6));
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

function yawQuat(yaw: number): { x: number; y: number; z: number; w: number } {
  return { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) };
}

const IDENTITY = { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } };

interface BlockIndex {
  name: string;
  feature: string;
  x: number;
  y: number;
  z: number;
  sin: number;
  cos: number;
  size: number;
}

interface RobotLayout {
  /** State feature holding [x, y, z, yaw, …] of the end effector. */
  poseKey: string | null;
  blocks: BlockIndex[];
  /** Image feature keys. */
  images: Set<string>;
  /** Last block sizes sent in a scene update (so it is sent again only when they change). */
  sceneKey: string;
  workspace: SafetyLimits['workspace'] | null;
}

const BLOCK_COLOURS = [[0.9, 0.3, 0.2], [0.2, 0.6, 0.9], [0.3, 0.8, 0.3], [0.9, 0.8, 0.2], [0.7, 0.4, 0.9]];

function blocksOf(features: Features): BlockIndex[] {
  const found = new Map<string, Partial<BlockIndex>>();
  for (const [key, spec] of Object.entries(features.observation)) {
    if (spec.kind !== 'state' || !Array.isArray(spec.names)) continue;
    spec.names.forEach((n, i) => {
      const m = /^(block\d+)\.(x|y|z|sin4yaw|cos4yaw|size)$/.exec(n);
      if (!m) return;
      const b = found.get(`${key}\u0000${m[1]}`) ?? { name: m[1], feature: key };
      const field = ({ sin4yaw: 'sin', cos4yaw: 'cos' } as Record<string, string>)[m[2]] ?? m[2];
      (b as Record<string, unknown>)[field] = i;
      found.set(`${key}\u0000${m[1]}`, b);
    });
  }
  const out: BlockIndex[] = [];
  for (const b of found.values()) {
    if (b.x === undefined || b.y === undefined || b.z === undefined) continue;
    out.push({ name: b.name!, feature: b.feature!, x: b.x, y: b.y, z: b.z, sin: b.sin ?? -1, cos: b.cos ?? -1, size: b.size ?? -1 });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

export function cameraTopic(robot: string, feature: string): string {
  return `/robots/${robot}/camera/${feature}`;
}

/** Topics and schemas a robot with these features produces (to advertise channels up front). */
export function robotTopics(robot: string, features: Features): Array<{ topic: string; schema: FoxgloveSchemaName }> {
  const out: Array<{ topic: string; schema: FoxgloveSchemaName }> = [
    { topic: `/robots/${robot}/tf`, schema: 'foxglove.FrameTransform' },
    { topic: `/robots/${robot}/scene`, schema: 'foxglove.SceneUpdate' },
  ];
  for (const [key, spec] of Object.entries(features.observation)) if (spec.kind === 'image') out.push({ topic: cameraTopic(robot, key), schema: 'foxglove.RawImage' });
  return out;
}

const IMAGE_ENCODINGS: Record<string, { encoding: string; bytesPerPixel: number }> = {
  rgb8: { encoding: 'rgb8', bytesPerPixel: 3 },
  rgba8: { encoding: 'rgba8', bytesPerPixel: 4 },
  mono8: { encoding: 'mono8', bytesPerPixel: 1 },
  depth16mm: { encoding: '16UC1', bytesPerPixel: 2 },
  depth32f: { encoding: '32FC1', bytesPerPixel: 4 },
};

export class FoxgloveTranslator {
  private readonly robots = new Map<string, RobotLayout>();

  /** A robot's features and limits (register, or a viewer's robot list). Returns the workspace scene. */
  robot(id: string, features: Features, limits: SafetyLimits | undefined, tMs: number): FoxgloveMessage[] {
    const prev = this.robots.get(id);
    const layout: RobotLayout = {
      poseKey: features.action.poseKey ?? ('ee.pose' in features.observation ? 'ee.pose' : null),
      blocks: blocksOf(features),
      images: new Set(Object.entries(features.observation).filter(([, s]) => s.kind === 'image').map(([k]) => k)),
      sceneKey: '',
      workspace: limits?.workspace ?? prev?.workspace ?? null,
    };
    this.robots.set(id, layout);
    return limits ? this.limits(id, limits, tMs) : [];
  }

  forget(id: string): void {
    this.robots.delete(id);
  }

  /** The workspace box the hub enforces for a robot. */
  limits(id: string, limits: SafetyLimits, tMs: number): FoxgloveMessage[] {
    const layout = this.robots.get(id);
    if (layout) layout.workspace = limits.workspace;
    const { min, max } = limits.workspace;
    const entity = {
      timestamp: stamp(tMs), frame_id: WORLD_FRAME, id: `${id}/workspace`, lifetime: { sec: 0, nsec: 0 }, frame_locked: false,
      metadata: [{ key: 'robot', value: id }],
      arrows: [], spheres: [], cylinders: [], lines: [], triangles: [], texts: [], models: [],
      cubes: [{
        pose: { position: { x: (min[0] + max[0]) / 2, y: (min[1] + max[1]) / 2, z: (min[2] + max[2]) / 2 }, orientation: IDENTITY.orientation },
        size: { x: max[0] - min[0], y: max[1] - min[1], z: max[2] - min[2] },
        color: { r: 0.3, g: 0.7, b: 1, a: 0.08 },
      }],
    };
    return [{ topic: `/robots/${id}/scene`, schema: 'foxglove.SceneUpdate', timeNs: BigInt(Math.round(tMs * 1e6)), message: { deletions: [], entities: [entity] } }];
  }

  /** Transforms (and, when the blocks change, their cubes) from an observation's state. */
  observation(id: string, state: Record<string, ArrayLike<number>>, tMs: number): FoxgloveMessage[] {
    const layout = this.robots.get(id);
    if (!layout) return [];
    const out: FoxgloveMessage[] = [];
    const timeNs = BigInt(Math.round(tMs * 1e6));
    const timestamp = stamp(tMs);
    const tf = (child: string, x: number, y: number, z: number, yaw: number): void => {
      out.push({
        topic: `/robots/${id}/tf`, schema: 'foxglove.FrameTransform', timeNs,
        message: { timestamp, parent_frame_id: WORLD_FRAME, child_frame_id: child, translation: { x, y, z }, rotation: yawQuat(yaw) },
      });
    };
    const pose = layout.poseKey ? state[layout.poseKey] : undefined;
    if (pose && pose.length >= 3) tf(`${id}/ee`, pose[0], pose[1], pose[2], pose.length >= 4 ? pose[3] : 0);
    const sizes: number[] = [];
    for (const b of layout.blocks) {
      const v = state[b.feature];
      if (!v) continue;
      const yaw = b.sin >= 0 && b.cos >= 0 ? Math.atan2(v[b.sin], v[b.cos]) / 4 : 0;
      tf(`${id}/${b.name}`, v[b.x], v[b.y], v[b.z], yaw);
      sizes.push(b.size >= 0 ? v[b.size] : 0.05);
    }
    const key = sizes.map((s) => s.toFixed(4)).join(',');
    if (sizes.length && key !== layout.sceneKey) {
      layout.sceneKey = key;
      const entities = layout.blocks.map((b, i) => {
        const c = BLOCK_COLOURS[i % BLOCK_COLOURS.length];
        return {
          timestamp, frame_id: `${id}/${b.name}`, id: `${id}/${b.name}`, lifetime: { sec: 0, nsec: 0 }, frame_locked: true,
          metadata: [{ key: 'robot', value: id }],
          arrows: [], spheres: [], cylinders: [], lines: [], triangles: [], texts: [], models: [],
          cubes: [{ pose: IDENTITY, size: { x: sizes[i], y: sizes[i], z: sizes[i] }, color: { r: c[0], g: c[1], b: c[2], a: 1 } }],
        };
      });
      out.push({ topic: `/robots/${id}/scene`, schema: 'foxglove.SceneUpdate', timeNs, message: { deletions: [], entities } });
    }
    return out;
  }

  /** A camera frame as a RawImage (tensor frames and unknown formats give nothing). */
  frame(id: string, feature: string, frame: Frame): FoxgloveMessage[] {
    if (frame.kind !== 'image' || !frame.format) return [];
    const enc = IMAGE_ENCODINGS[frame.format];
    if (!enc) return [];
    const [height, width] = frame.shape;
    const data = Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength).toString('base64');
    return [{
      topic: cameraTopic(id, feature), schema: 'foxglove.RawImage', timeNs: BigInt(Math.round(frame.t * 1e6)),
      message: { timestamp: stamp(frame.t), frame_id: `${id}/${feature}`, width, height, encoding: enc.encoding, step: width * enc.bytesPerPixel, data },
    }];
  }
}
