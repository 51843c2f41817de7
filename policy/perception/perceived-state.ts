/**
 * A state policy's observation with the blocks seen through the camera instead of read from the
 * simulator: the robot's own features (tool centre point, gripper yaw and width, velocities,
 * finger command) stay as the robot reports them, and every block feature is recomputed from
 * the estimate — position, position relative to the tool centre point, sin 4ψ / cos 4ψ of the
 * yaw and of the yaw relative to the gripper's (from the robot's reported yaw), size — as are
 * the task's derived flags (a stack's `stacked.blockK`, Grasp-v1's `target.lift`). Which features these are is read from the names the policy was trained on,
 * so a policy whose observation holds anything perception cannot provide is refused up front.
 *
 * Block names follow the task (identity.ts): the first estimate of an episode is named by the
 * task's visible rule, later ones by tracking.
 */
import type { TaskConfig } from '../../sim/scenario.ts';
import type { Vec3 } from '../../sim/state.ts';
import { BLOCK_FEATURE_SUFFIXES } from '../../sim/tasks/features.ts';
import { STACK_XY_TOLERANCE, STACK_Z_TOLERANCE } from '../../sim/tasks/stack.ts';
import { PolicyInputError } from '../errors.ts';
import type { BlockEstimate } from './estimator.ts';
import { nameByRule } from './identity.ts';

type BlockSuffix = (typeof BLOCK_FEATURE_SUFFIXES)[number];

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
  private readonly yaw: [number, number];
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
    this.yaw = [robotNames.indexOf('gripper.sin_yaw'), robotNames.indexOf('gripper.cos_yaw')];
    this.sources = names.map((n): Source => {
      const dot = n.lastIndexOf('.');
      const prefix = n.slice(0, dot), suffix = n.slice(dot + 1);
      const b = blockIndex(task, prefix);
      if (b !== null && (BLOCK_FEATURE_SUFFIXES as readonly string[]).includes(suffix)) {
        if (b >= blockCount) missing.push(`${n} (the estimator finds ${blockCount} blocks)`);
        else if (suffix.endsWith('dyaw') && (this.yaw[0] < 0 || this.yaw[1] < 0)) missing.push(`${n} (the robot's state lacks gripper.sin_yaw, gripper.cos_yaw)`);
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
    const p: Proprioception = { tcp: [robot[this.tcp[0]], robot[this.tcp[1]], robot[this.tcp[2]]], width: robot[this.fingers[0]], grip: robot[this.fingers[1]] };
    if (this.yaw[0] >= 0 && this.yaw[1] >= 0) p.yaw = Math.atan2(robot[this.yaw[0]], robot[this.yaw[1]]);
    return p;
  }

  /** The policy's observation from the robot's state and named block estimates. */
  fill(robot: ArrayLike<number>, blocks: BlockEstimate[], out = new Float32Array(this.names.length)): Float32Array {
    const t: Vec3 = [robot[this.tcp[0]], robot[this.tcp[1]], robot[this.tcp[2]]];
    const gripperYaw = this.yaw[0] >= 0 ? Math.atan2(robot[this.yaw[0]], robot[this.yaw[1]]) : 0;
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
            sin4dyaw: Math.sin(4 * (b.yaw - gripperYaw)), cos4dyaw: Math.cos(4 * (b.yaw - gripperYaw)),
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
  /** The gripper's yaw (rad), where the robot reports it. */
  yaw?: number;
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
 * camera alone is weakest. It reads more peaks than there are blocks (the estimator's
 * strongest `blockCount + CANDIDATES_EXTRA`), since the strongest few are not always the blocks:
 * a textured table or the arm makes peaks too, and a half-hidden block's peak is weak.
 *
 * - the first estimate of an episode takes the strongest `blockCount` peaks, placed as resting on
 *   the table (every task starts so), and names them by the task's rule (identity.ts);
 * - a block that is not held is a track: it reads as the per-axis median of the peaks it
 *   accepted (the last few), and it accepts the nearest peak within GATE of where it is, whatever
 *   its rank (each peak goes to one track, nearest pairs first). Blocks do not jump: a peak far
 *   from every track is a texture, the gripper or a held block, unless confident peaks
 *   (score ≥ REPLACE_SCORE) clear of the gripper agree with each other for PERSIST frames in a
 *   row while the track finds nothing near it, which re-places the track (its first estimate was
 *   wrong, or something pushed the block there);
 * - while the gripper is within OCCLUDED of a block (sideways) that block is not updated from
 *   peaks: it is hidden under the fingers and what they carry. Only such agreeing confident peaks
 *   clear of the gripper move it (the fingers pushed it away);
 * - a block the fingers hold follows the tool centre point. The robot knows it holds something
 *   when its fingers stopped wider than commanded (a real gripper's stall), and the block whose
 *   track lies nearest the fingers is the one held: from then until the fingers open, its centre
 *   is under the tool centre point, as far below it as when the fingers closed (the block sits
 *   between the pads), since in the image it is half hidden by the fingers and off the table
 *   plane, where single frames misjudge it most; its yaw is the fingers' (squared between the
 *   pads, it turns with them). Let go, it starts afresh under the fingers, on the block below
 *   them or on the table: on 113 releases in 100 held-out stack-2 episodes the tool centre point
 *   put the block (as it lay 10 frames later) 2.1 cm off on average, 27 of them over 3 cm, where
 *   the peak nearest below the opening fingers put it 2.7 cm off, 39 over 3 cm;
 * - the fingers are a touch sensor (`refute`): a track they showed empty is wrong, its place is not
 *   believed again that episode, and it takes the strongest peak elsewhere; and a block they
 *   stalled on has the edge they felt from then on (the network does not extrapolate sizes outside
 *   its training range: 5.6 mm median edge error under held-out physics; with this, 100 held-out
 *   stack-2 episodes through the 100,000-frame estimator go from 41 to 49).
 */
export class BlockTracker {
  private previous: BlockEstimate[] | null = null;
  /** The held block, and how far its centre sat below the tool centre point when the fingers closed on it (m). */
  private held: { block: number; dz: number } | null = null;
  private history: Vec3[][] = [];
  /** Per block: the far confident peaks seen in a row (they re-place the track when they agree). */
  private away: Vec3[][] = [];
  /** Places the fingers showed hold no block this episode (peaks there are texture). */
  private refuted: Vec3[] = [];
  /** Tracks refuted by the fingers that wait for a peak to take them. */
  private lost = new Set<number>();
  /** Whether the fingers were shut on nothing at the last frame. */
  private shutEmpty = false;
  /** The fingers' opening at the last frame (m). */
  private lastWidth: number | null = null;
  /** Per block: its edge as the fingers felt it, stalled on it (m). */
  private felt: Array<number | undefined> = [];
  private readonly task: TaskConfig;
  private readonly blockCount: number | undefined;
  /** Estimates of a resting block the median is taken over. */
  static readonly WINDOW = 7;
  /** Farthest a peak may lie from its block's track and still update it (m). */
  static readonly GATE = 0.03;
  /** Far confident peaks that agree (within GATE of their median) this many frames in a row re-place a track. */
  static readonly PERSIST = 12;
  /**
   * The least score of a peak that may re-place a track. Measured on stack-2's held-out looks
   * (60 episodes of BC through the estimator, 66,340 peaks): peaks on a block score 0.41 / 0.77
   * (10th percentile / median), peaks elsewhere 0.22 / 0.40 (median / 75th percentile).
   */
  static readonly REPLACE_SCORE = 0.5;
  /** A block this close (sideways) to the tool centre point is under the gripper and not updated (m). */
  static readonly OCCLUDED = 0.07;
  /** The held block is the one nearest the tool centre point, if within this (m). */
  static readonly GRASP_RADIUS = 0.06;
  /**
   * Fingers stopped at least this much wider than commanded (m) are stopped by something between
   * them. Fingers asked to stand half open lag and settle a few millimetres off their command (a
   * policy's open command is often about half; with execution noise they wander); at 3 mm such
   * wandering, or fingers passing 5 cm on their way in, read as a grasp in 459 of 739 holds
   * on 100 held-out stack-2 episodes (10 of 167 with this margin and STALL_SPEED).
   */
  static readonly STALL_MARGIN = 0.01;
  /** Fingers that moved more than this since the last frame (m) are still closing, not stalled on a block (at 20 Hz they close at ~1.5 cm a frame). */
  static readonly STALL_SPEED = 0.003;
  /** Fingers shut narrower than this (m) hold nothing: the narrowest block is 4.5 cm wide, and stalls on one count from 2 cm. */
  static readonly EMPTY_WIDTH = 0.015;
  /** A held block whose bottom goes this far below a resting block's top where it stands is not over that block (m). */
  static readonly PASS_MARGIN = 0.02;
  /** Peaks this close (sideways) to a place the fingers showed empty are not believed (m): a block there would have been between the pads. */
  static readonly REFUTED_RADIUS = 0.04;
  /** Peaks read beyond the block count (estimator.detect's count is blockCount + this). */
  static readonly CANDIDATES_EXTRA = 3;

  /** `blockCount`: the blocks in the scene; without it, every peak passed to `name` is a block. */
  constructor(task: TaskConfig, blockCount?: number) {
    this.task = task;
    this.blockCount = blockCount;
  }

  reset(): void {
    this.previous = null;
    this.held = null;
    this.history = [];
    this.away = [];
    this.refuted = [];
    this.lost.clear();
    this.shutEmpty = false;
    this.lastWidth = null;
    this.felt = [];
  }

  /** The block being held (index in task order), if any. */
  get holding(): number | null {
    return this.held?.block ?? null;
  }

  /**
   * The blocks in the task's order from one frame's peaks (strongest first, at least as many as
   * blocks on the first frame), a held block following the gripper.
   */
  name(detected: BlockEstimate[], robot?: Proprioception): BlockEstimate[] {
    const n = this.blockCount ?? detected.length;
    if (!this.previous) return this.first(detected, n);
    const named = this.previous.map((b) => ({ ...b }));
    const wasHeld = this.held?.block ?? null;
    if (robot) {
      this.followGripper(named, robot);
      this.refute(named, robot);
    }
    const tcp = robot?.tcp;
    const sideways = (p: Vec3, q: Vec3): number => Math.hypot(p[0] - q[0], p[1] - q[1]);
    const clearOfGripper = (p: Vec3): boolean => !tcp || sideways(p, tcp) >= BlockTracker.OCCLUDED;
    const claimed = new Set<number>();
    const matched = new Map<number, number>();

    // A block just let go starts afresh where the fingers left it, on what lies below them. Its
    // peak at that moment is half hidden by the opening fingers and no better (measured above);
    // it is claimed, so that it is no evidence for another block.
    const released = wasHeld !== null && this.held === null ? wasHeld : null;
    if (released !== null && robot) {
      const others = named.flatMap((_, i) => (i === released ? [] : [this.trackAt(named, i)]));
      let c = -1, best: number = BlockTracker.GRASP_RADIUS;
      detected.forEach((d, k) => {
        const e = Math.hypot(d.position[0] - robot.tcp[0], d.position[1] - robot.tcp[1]);
        if (e <= best && !others.some((o) => dist(o, d.position) <= BlockTracker.GATE)) {
          best = e;
          c = k;
        }
      });
      if (c >= 0) claimed.add(c);
      named[released] = { ...named[released], position: this.landing(named, released, robot.tcp) };
      this.history[released] = [named[released].position];
      this.away[released] = [];
    }

    // The held block's own peak (near the fingers) is no evidence for any other block.
    if (this.held && tcp) {
      const c = nearest(detected, tcp, BlockTracker.GRASP_RADIUS, claimed);
      if (c >= 0) claimed.add(c);
    }
    // Peaks where the fingers found no block are no evidence for any.
    detected.forEach((d, k) => {
      if (this.refuted.some((p) => sideways(p, d.position) < BlockTracker.REFUTED_RADIUS)) claimed.add(k);
    });

    // Tracks take the peaks within GATE of them, nearest pairs first.
    const tracks: Array<{ i: number; at: Vec3 }> = [];
    named.forEach((b, i) => {
      if (i === this.held?.block || i === released || this.lost.has(i)) return;
      tracks.push({ i, at: this.trackAt(named, i) });
    });
    const pairs: Array<[number, number, number]> = [];
    for (const t of tracks) {
      detected.forEach((d, c) => {
        const e = dist(d.position, t.at);
        if (e <= BlockTracker.GATE) pairs.push([e, t.i, c]);
      });
    }
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    for (const [, i, c] of pairs) {
      if (matched.has(i) || claimed.has(c)) continue;
      matched.set(i, c);
      claimed.add(c);
    }

    for (const { i, at } of tracks) {
      const h = (this.history[i] ??= []);
      const occluded = tcp !== undefined && sideways(at, tcp) < BlockTracker.OCCLUDED;
      const c = matched.get(i);
      if (c !== undefined) {
        this.away[i] = [];
        if (occluded) {
          named[i] = { ...named[i], position: at };
          continue;
        }
        h.push(detected[c].position);
        if (h.length > BlockTracker.WINDOW) h.shift();
        named[i] = { ...detected[c], position: medianOf(h) };
        continue;
      }
      // Nothing near the track: confident peaks elsewhere, clear of the gripper, that agree. Not
      // while a carried block hides it: the fingers are setting down on it, and peaks elsewhere
      // then are the table's texture, not the block pushed away.
      const a = (this.away[i] ??= []);
      if (occluded && this.held) {
        a.length = 0;
        named[i] = { ...named[i], position: at };
        continue;
      }
      const m = a.length ? medianOf(a) : null;
      let pick = -1, best = Infinity;
      detected.forEach((d, k) => {
        if (claimed.has(k) || d.score < BlockTracker.REPLACE_SCORE || !clearOfGripper(d.position)) return;
        const rank = m ? dist(d.position, m) : -d.score;
        if (rank < best) {
          best = rank;
          pick = k;
        }
      });
      named[i] = { ...named[i], position: at };
      if (pick < 0) {
        a.length = 0;
        continue;
      }
      a.push(detected[pick].position);
      const am = medianOf(a);
      if (a.some((p) => dist(p, am) > BlockTracker.GATE)) a.splice(0, a.length - 1);
      if (a.length < BlockTracker.PERSIST) continue;
      claimed.add(pick);
      h.length = 0;
      h.push(...a.slice(-BlockTracker.WINDOW));
      a.length = 0;
      named[i] = { ...detected[pick], position: medianOf(h) };
    }

    // A refuted track takes the strongest peak left, clear of the fingers and of the other blocks.
    for (const i of [...this.lost].sort((a, b) => a - b)) {
      const others = named.filter((_, j) => j !== i).map((b) => b.position);
      const k = detected.findIndex((d, c) => !claimed.has(c) && clearOfGripper(d.position) && !others.some((o) => sideways(o, d.position) < BlockTracker.GATE));
      if (k < 0) continue;
      claimed.add(k);
      this.lost.delete(i);
      const position = detected[k].resting ?? detected[k].position;
      named[i] = { ...detected[k], position };
      this.history[i] = [position];
    }
    // A block the fingers have held has the edge they felt.
    this.felt.forEach((size, i) => {
      if (size !== undefined) named[i] = { ...named[i], size };
    });
    this.previous = named;
    return named;
  }

  /** Where block i's track puts it: the median of the peaks it took, or where it was named. */
  private trackAt(named: BlockEstimate[], i: number): Vec3 {
    const h = this.history[i];
    return h?.length ? medianOf(h) : named[i].position;
  }

  /** Where a block let go at `tcp` comes to rest: on the block below the fingers, or on the table. */
  private landing(named: BlockEstimate[], released: number, tcp: Vec3): Vec3 {
    const size = named[released].size;
    let z = size / 2;
    named.forEach((b, i) => {
      if (i === released) return;
      const p = this.trackAt(named, i);
      if (Math.hypot(p[0] - tcp[0], p[1] - tcp[1]) < b.size / 2) z = Math.max(z, p[2] + (b.size + size) / 2);
    });
    return [tcp[0], tcp[1], z];
  }

  /**
   * The fingers as a touch sensor: they show a track wrong (its peak was the table's texture, or
   * the block has gone) when they shut on nothing where it put a resting block, stopping below its
   * top with no block between the pads, or when the held block goes down through where it put
   * another, which would have stopped it on top. The place is remembered for the episode (its peaks
   * are not believed again) and the track waits for the strongest peak elsewhere.
   */
  private refute(named: BlockEstimate[], r: Proprioception): void {
    const shut = r.grip > 0.5 && r.width < BlockTracker.EMPTY_WIDTH;
    const closing = shut && !this.shutEmpty;
    this.shutEmpty = shut;
    const h = this.held;
    const at = (i: number): Vec3 => this.trackAt(named, i);
    const side = (p: Vec3): number => Math.hypot(p[0] - r.tcp[0], p[1] - r.tcp[1]);
    const wrong: number[] = [];
    if (closing) {
      let best = -1, d: number = BlockTracker.GRASP_RADIUS;
      named.forEach((b, i) => {
        const p = at(i), e = side(p);
        if (!this.lost.has(i) && e < d && r.tcp[2] < p[2] + b.size / 2) {
          d = e;
          best = i;
        }
      });
      if (best >= 0) wrong.push(best);
    } else if (h) {
      const bottom = r.tcp[2] + h.dz - named[h.block].size / 2;
      named.forEach((b, i) => {
        const p = at(i);
        if (i !== h.block && !this.lost.has(i) && side(p) < b.size / 2 && bottom < p[2] + b.size / 2 - BlockTracker.PASS_MARGIN) wrong.push(i);
      });
    }
    for (const i of wrong) {
      this.refuted.push(at(i));
      this.lost.add(i);
      this.history[i] = [];
      this.away[i] = [];
    }
  }

  /** The first frame: the strongest `n` peaks, resting on the table, named by the task's rule. */
  private first(detected: BlockEstimate[], n: number): BlockEstimate[] {
    const top = detected.slice(0, n).map((b) => ({ ...b, position: b.resting ?? b.position }));
    // Fewer peaks than blocks (peaks off the table are dropped): the weakest stands in, unbelieved.
    while (top.length < n && top.length > 0) top.push({ ...top[top.length - 1], score: 0 });
    const named = nameByRule(this.task, top.map((b) => b.position)).map((i) => ({ ...top[i] }));
    this.history = named.map((b) => (b.score > 0 ? [b.position] : []));
    this.away = named.map(() => []);
    this.previous = named;
    return named;
  }

  private followGripper(named: BlockEstimate[], r: Proprioception): void {
    const commanded = (MAX_WIDTH * (1 - r.grip)) / 2;
    const last = this.lastWidth;
    this.lastWidth = r.width;
    const stalled = r.width > commanded + BlockTracker.STALL_MARGIN && r.width > 0.02 && r.width < 0.08;
    if (!stalled) {
      this.held = null;
      return;
    }
    if (!this.held) {
      // Still closing (the fingers lag their command on their way in): not stopped on a block yet.
      if (last === null || Math.abs(r.width - last) > BlockTracker.STALL_SPEED) return;
      // The block between the fingers: the one whose track lies nearest the tool centre point.
      const best = nearest(this.previous!, r.tcp, BlockTracker.GRASP_RADIUS, new Set());
      if (best < 0) return;
      // Where the pads took it: a resting block's height is the estimate's surest coordinate.
      const dz = Math.min(0.02, Math.max(-0.03, this.previous![best].position[2] - r.tcp[2]));
      this.held = { block: best, dz };
    }
    const h = this.held;
    this.felt[h.block] = r.width;
    // Squared between the pads, the block turns with the fingers (a cube's yaw repeats every 90°).
    named[h.block] = { ...named[h.block], position: [r.tcp[0], r.tcp[1], r.tcp[2] + h.dz], ...(r.yaw === undefined ? {} : { yaw: quarterTurn(r.yaw) }) };
  }
}

/** An angle folded into (−π/4, π/4], as the estimator reports a cube's yaw. */
function quarterTurn(a: number): number {
  const q = Math.PI / 2;
  let y = a - q * Math.round(a / q);
  if (y <= -q / 2) y += q;
  return y;
}

const dist = (p: Vec3, q: Vec3): number => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);

/** The estimate nearest `at` within `radius` that is not taken (the first of equals), or -1. */
function nearest(detected: BlockEstimate[], at: Vec3, radius: number, taken: Set<number>): number {
  let best = -1, d = radius;
  detected.forEach((b, k) => {
    const e = dist(b.position, at);
    if (!taken.has(k) && (e < d || (best < 0 && e === d))) {
      d = e;
      best = k;
    }
  });
  return best;
}

function medianOf(ps: Vec3[]): Vec3 {
  return [median(ps.map((p) => p[0])), median(ps.map((p) => p[1])), median(ps.map((p) => p[2]))];
}
