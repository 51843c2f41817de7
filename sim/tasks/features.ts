/**
 * Observation features shared by the tasks: the robot's own state, and a block's pose relative to
 * the world and to the gripper. Cubes look the same every 90°, so a block's yaw is observed as
 * sin 4ψ, cos 4ψ (continuous across that symmetry), and also relative to the gripper's yaw
 * (sin 4(ψ − ψ_gripper), cos 4(ψ − ψ_gripper)): the experts turn the gripper to the nearest face
 * pair, a relative angle, which a policy given only absolute angles must learn to subtract — and
 * an MLP does so poorly wherever the turn is large (policy/README.md, "DAgger against BC").
 */
import { Vec3 } from 'cannon-es';
import type { Body } from 'cannon-es';
import { Scene, TABLE_HALF_EXTENT } from '../scene.ts';

/** The robot's state, first in every observation. */
export const ROBOT_FEATURES = [
  'tcp.x', 'tcp.y', 'tcp.z', 'gripper.sin_yaw', 'gripper.cos_yaw', 'gripper.width',
  'tcp.vx', 'tcp.vy', 'tcp.vz', 'gripper.command',
];
/** Indices of ROBOT_FEATURES that are positions (observation noise applies). */
export const ROBOT_POSITION_FEATURES = [0, 1, 2, 5];

const _tcp = new Vec3();
const _vel = new Vec3();

export function observeRobot(scene: Scene, out: Float32Array, offset: number): number {
  const g = scene.gripper;
  const t = scene.tcp(_tcp);
  const v = g.velocity(_vel);
  out[offset] = t.x; out[offset + 1] = t.y; out[offset + 2] = t.z;
  out[offset + 3] = Math.sin(g.yaw); out[offset + 4] = Math.cos(g.yaw);
  out[offset + 5] = g.width();
  out[offset + 6] = v.x; out[offset + 7] = v.y; out[offset + 8] = v.z;
  out[offset + 9] = g.grip;
  return offset + ROBOT_FEATURES.length;
}

export const BLOCK_FEATURE_SUFFIXES = ['x', 'y', 'z', 'dx', 'dy', 'dz', 'sin4yaw', 'cos4yaw', 'size', 'sin4dyaw', 'cos4dyaw'] as const;
/** Offsets within one block's features that are positions. */
const BLOCK_POSITION_OFFSETS = [0, 1, 2, 3, 4, 5, 8];

export function blockFeatureNames(prefix: string): string[] {
  return BLOCK_FEATURE_SUFFIXES.map((s) => `${prefix}.${s}`);
}

/** Indices of block `block`'s position features within a task's features, which begin with its blocks' (one `observeBlock` each). */
export function blockPositionIndices(block: number): number[] {
  return BLOCK_POSITION_OFFSETS.map((o) => block * BLOCK_FEATURE_SUFFIXES.length + o);
}

/** Writes one block's features; `dx..dz` are the block relative to the tool centre point. */
export function observeBlock(scene: Scene, block: Body, size: number, out: Float32Array, offset: number): number {
  const p = block.position;
  const t = scene.tcp(_tcp);
  const yaw = Scene.yawOf(block.quaternion);
  out[offset] = p.x; out[offset + 1] = p.y; out[offset + 2] = p.z;
  out[offset + 3] = p.x - t.x; out[offset + 4] = p.y - t.y; out[offset + 5] = p.z - t.z;
  out[offset + 6] = Math.sin(4 * yaw); out[offset + 7] = Math.cos(4 * yaw);
  out[offset + 8] = size;
  const d = yaw - scene.gripper.yaw;
  out[offset + 9] = Math.sin(4 * d); out[offset + 10] = Math.cos(4 * d);
  return offset + BLOCK_FEATURE_SUFFIXES.length;
}

/** Distance from the tool centre point to a point. */
export function tcpDistance(scene: Scene, x: number, y: number, z: number): number {
  const t = scene.tcp(_tcp);
  return Math.hypot(t.x - x, t.y - y, t.z - z);
}

/**
 * Whether the fingers hold `block`: both fingers touch it. Contact is read from the solver's
 * current contact list (no extra collision queries).
 */
export function isGrasped(scene: Scene, block: Body): boolean {
  const [l, r] = scene.gripper.fingers;
  let left = false, right = false;
  for (const c of scene.tabletop.world.contacts) {
    if (c.multiplier <= 1e-6) continue;
    const a = c.bi, b = c.bj;
    if ((a === block && b === l) || (a === l && b === block)) left = true;
    if ((a === block && b === r) || (a === r && b === block)) right = true;
    if (left && right) return true;
  }
  return false;
}

/** Largest speed among the blocks (m/s). */
export function maxBlockSpeed(scene: Scene): number {
  let m = 0;
  for (const b of scene.blocks) m = Math.max(m, b.velocity.length());
  return m;
}

/** True if any block has left the table top (the physics plane is unbounded; the table is not). */
export function anyFellOff(scene: Scene): boolean {
  for (const b of scene.blocks) {
    if (Math.abs(b.position.x) > TABLE_HALF_EXTENT || Math.abs(b.position.y) > TABLE_HALF_EXTENT) return true;
  }
  return false;
}
