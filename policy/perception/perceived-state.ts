/**
 * A state policy's observation with the blocks seen through the camera instead of read from the
 * simulator: the robot's own features (tool centre point, gripper yaw and width, velocities,
 * finger command) stay as the robot reports them, and every block feature is recomputed from
 * the estimate — position, position relative to the tool centre point, sin 4ψ / cos 4ψ of the
 * yaw, size — as are the task's derived flags (a stack's `stacked.blockK`, Grasp-v1's
 * `target.lift`). Which features these are is read from the names the policy was trained on,
 * so a policy whose observation holds anything perception cannot provide is refused up front.
 *
 * Block names follow the task (identity.ts): the first estimate of an episode is named by the
 * task's visible rule, later ones by tracking.
 */
import type { TaskConfig } from '../../sim/scenario.ts';
import type { Vec3 } from '../../sim/state.ts';
import { STACK_XY_TOLERANCE, STACK_Z_TOLERANCE } from '../../sim/tasks/stack.ts';
import { PolicyInputError } from '../errors.ts';
import type { BlockEstimate } from './estimator.ts';
import { nameByRule, nameByTracking } from './identity.ts';

const BLOCK_SUFFIXES = ['x', 'y', 'z', 'dx', 'dy', 'dz', 'sin4yaw', 'cos4yaw', 'size'] as const;
type BlockSuffix = (typeof BLOCK_SUFFIXES)[number];

type Source =
  | { kind: 'robot'; from: number }
  | { kind: 'block'; block: number; what: BlockSuffix }
  | { kind: 'stacked'; block: number }
  | { kind: 'lift' };

/** The block a feature prefix names, in the task's order (block0…, target, distractor0…). */
function blockIndex(task: TaskConfig, prefix: string): number | null {
  let m = /^block(\d+)$/.exec(prefix);
  if (m && task.id !== 'Grasp-v1') return Number(m[1]);
  if (task.id === 'Grasp-v1') {
    if (prefix === 'target') return 0;
    m = /^distractor(\d+)$/.exec(prefix);
    if (m) return 1 + Number(m[1]);
  }
  return null;
}

export class PerceivedState {
  readonly names: string[];
  private readonly sources: Source[];
  private readonly tcp: [number, number, number];
  private readonly fingers: [number, number];
  private readonly task: TaskConfig;
  readonly blockCount: number;

  /**
   * `names`: the policy's observation features, in order; `robotNames`: the features of the
   * vector passed to `fill` as the robot's own state (e.g. the robot's full observation).
   */
  constructor(task: TaskConfig, names: string[], robotNames: string[], blockCount: number) {
    this.task = task;
    this.names = names;
    this.blockCount = blockCount;
    const missing: string[] = [];
    const tcp = ['tcp.x', 'tcp.y', 'tcp.z'].map((n) => robotNames.indexOf(n));
    if (tcp.some((i) => i < 0)) throw new PolicyInputError(`the robot's state lacks the tool centre point (tcp.x, tcp.y, tcp.z), which relative block positions need`);
    this.tcp = tcp as [number, number, number];
    this.fingers = [robotNames.indexOf('gripper.width'), robotNames.indexOf('gripper.command')];
    this.sources = names.map((n): Source => {
      const dot = n.lastIndexOf('.');
      const prefix = n.slice(0, dot), suffix = n.slice(dot + 1);
      const b = blockIndex(task, prefix);
      if (b !== null && (BLOCK_SUFFIXES as readonly string[]).includes(suffix)) {
        if (b >= blockCount) missing.push(`${n} (the estimator finds ${blockCount} blocks)`);
        return { kind: 'block', block: b, what: suffix as BlockSuffix };
      }
      const st = /^stacked\.block(\d+)$/.exec(n);
      if (st && task.id === 'StackBlocks-v1') return { kind: 'stacked', block: Number(st[1]) };
      if (n === 'target.lift' && task.id === 'Grasp-v1') return { kind: 'lift' };
      const from = robotNames.indexOf(n);
      if (from < 0) missing.push(n);
      return { kind: 'robot', from };
    });
    if (missing.length) {
      throw new PolicyInputError(`the policy reads ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''}, which neither the robot's state nor the pose estimator provides`);
    }
  }

  /** The robot's tool centre point and finger state from its state vector (null when it lacks them). */
  proprioception(robot: ArrayLike<number>): Proprioception | undefined {
    if (this.fingers[0] < 0 || this.fingers[1] < 0) return undefined;
    return { tcp: [robot[this.tcp[0]], robot[this.tcp[1]], robot[this.tcp[2]]], width: robot[this.fingers[0]], grip: robot[this.fingers[1]] };
  }

  /** The policy's observation from the robot's state and named block estimates. */
  fill(robot: ArrayLike<number>, blocks: BlockEstimate[], out = new Float32Array(this.names.length)): Float32Array {
    const t: Vec3 = [robot[this.tcp[0]], robot[this.tcp[1]], robot[this.tcp[2]]];
    this.sources.forEach((s, i) => {
      switch (s.kind) {
        case 'robot':
          out[i] = robot[s.from];
          return;
        case 'block': {
          const b = blocks[s.block];
          const p = b.position;
          const v: Record<BlockSuffix, number> = {
            x: p[0], y: p[1], z: p[2], dx: p[0] - t[0], dy: p[1] - t[1], dz: p[2] - t[2],
            sin4yaw: Math.sin(4 * b.yaw), cos4yaw: Math.cos(4 * b.yaw), size: b.size,
          };
          out[i] = v[s.what];
          return;
        }
        case 'stacked': {
          const a = blocks[s.block], c = blocks[s.block - 1];
          const touch = (a.size + c.size) / 2;
          const on = Math.hypot(a.position[0] - c.position[0], a.position[1] - c.position[1]) <= STACK_XY_TOLERANCE
            && Math.abs(a.position[2] - c.position[2] - touch) <= STACK_Z_TOLERANCE;
          out[i] = on ? 1 : 0;
          return;
        }
        case 'lift':
          out[i] = blocks[0].position[2] - blocks[0].size / 2;
      }
    });
    return out;
  }
}

/** What the robot knows of itself that perception uses: tool centre point, finger opening and command. */
export interface Proprioception {
  tcp: Vec3;
  /** Distance between the fingers (m). */
  width: number;
  /** Finger command in [-1 (open), 1 (closed)]: commanded width = maxWidth · (1 − grip) / 2. */
  grip: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Widest the fingers open (m), as sim/robot/gripper.ts's geometry. */
const MAX_WIDTH = 0.1;

/**
 * Names the blocks of successive estimates of one episode, and keeps them steady where the
 * camera alone is weakest:
 *
 * - names come from the task's rule on the first estimate, then from tracking (identity.ts);
 * - a block that is not held is a track: it reads as the per-axis median of the estimates it
 *   accepted (the last few), and it accepts an estimate only within GATE of where it is. Blocks
 *   do not jump: a detection far from the track is a peak that landed elsewhere (a texture, the
 *   gripper, the block held above it), unless such detections agree with each other for
 *   PERSIST frames in a row, which re-places the track (its first estimate was the wrong one,
 *   or something moved it). While the gripper is within OCCLUDED of a block (sideways) that block
 *   is not updated at all: it is hidden under the fingers and what they carry, and it does not
 *   move unless they push it;
 * - a block the fingers hold follows the tool centre point. The robot knows it holds something
 *   when its fingers stopped wider than commanded (a real gripper's stall), and the block whose
 *   track lies nearest the fingers is the one held: from then until the fingers open, its centre
 *   is at the tool centre point (the block sits between the pads), since in the image it is half
 *   hidden by the fingers and off the table plane, where single frames misjudge it most.
 */
export class BlockTracker {
  private previous: BlockEstimate[] | null = null;
  private held: { block: number } | null = null;
  private history: Vec3[][] = [];
  /** Per block: the far detections seen in a row (they re-place the track when they agree). */
  private away: Vec3[][] = [];
  private readonly task: TaskConfig;
  /** Estimates of a resting block the median is taken over. */
  static readonly WINDOW = 7;
  /** Farthest an estimate may lie from its block's track and still update it (m). */
  static readonly GATE = 0.03;
  /** Far estimates that agree (within GATE of their median) this many frames in a row re-place a track. */
  static readonly PERSIST = 12;
  /** A block this close (sideways) to the tool centre point is under the gripper and not updated (m). */
  static readonly OCCLUDED = 0.07;
  /** The held block is the one nearest the tool centre point, if within this (m). */
  static readonly GRASP_RADIUS = 0.06;

  constructor(task: TaskConfig) {
    this.task = task;
  }

  reset(): void {
    this.previous = null;
    this.held = null;
    this.history = [];
    this.away = [];
  }

  /** The block being held (index in task order), if any. */
  get holding(): number | null {
    return this.held?.block ?? null;
  }

  /** `detected` in the task's block order, with a held block following the gripper. */
  name(detected: BlockEstimate[], robot?: Proprioception): BlockEstimate[] {
    const positions = detected.map((d) => d.position);
    const order = this.previous ? nameByTracking(this.previous.map((b) => b.position), positions) : nameByRule(this.task, positions);
    const named = order.map((i) => ({ ...detected[i] }));
    const wasHeld = this.held?.block ?? null;
    if (robot && this.previous) this.followGripper(named, robot);
    named.forEach((b, i) => {
      if (this.held?.block === i) {
        this.history[i] = [];
        this.away[i] = [];
        return;
      }
      const h = (this.history[i] ??= []);
      const track = h.length ? medianOf(h) : null;
      // A block just let go starts afresh where the camera sees it.
      if (track && wasHeld !== i) {
        const occluded = robot !== undefined && Math.hypot(track[0] - robot.tcp[0], track[1] - robot.tcp[1]) < BlockTracker.OCCLUDED;
        const near = Math.hypot(b.position[0] - track[0], b.position[1] - track[1], b.position[2] - track[2]) <= BlockTracker.GATE;
        if (occluded) {
          b.position = track;
          return;
        }
        if (!near) {
          const a = (this.away[i] ??= []);
          a.push(b.position);
          const m = medianOf(a);
          if (a.some((p) => Math.hypot(p[0] - m[0], p[1] - m[1], p[2] - m[2]) > BlockTracker.GATE)) a.splice(0, a.length - 1);
          if (a.length < BlockTracker.PERSIST) {
            b.position = track;
            return;
          }
          h.length = 0;
          h.push(...a.slice(-BlockTracker.WINDOW));
          a.length = 0;
          b.position = medianOf(h);
          return;
        }
      }
      this.away[i] = [];
      if (wasHeld === i) h.length = 0;
      h.push(b.position);
      if (h.length > BlockTracker.WINDOW) h.shift();
      b.position = medianOf(h);
    });
    this.previous = named;
    return named;
  }

  private followGripper(named: BlockEstimate[], r: Proprioception): void {
    const commanded = (MAX_WIDTH * (1 - r.grip)) / 2;
    const stalled = r.width > commanded + 0.003 && r.width > 0.02 && r.width < 0.08;
    if (!stalled) {
      this.held = null;
      return;
    }
    if (!this.held) {
      // The block between the fingers: the one whose track lies nearest the tool centre point.
      let best = -1, dist = Infinity;
      this.previous!.forEach((b, i) => {
        const d = Math.hypot(b.position[0] - r.tcp[0], b.position[1] - r.tcp[1], b.position[2] - r.tcp[2]);
        if (d < dist) {
          dist = d;
          best = i;
        }
      });
      if (best < 0 || dist > BlockTracker.GRASP_RADIUS) return;
      this.held = { block: best };
    }
    const h = this.held;
    named[h.block] = { ...named[h.block], position: [r.tcp[0], r.tcp[1], r.tcp[2]] };
  }
}

function medianOf(ps: Vec3[]): Vec3 {
  return [median(ps.map((p) => p[0])), median(ps.map((p) => p[1])), median(ps.map((p) => p[2]))];
}
