/**
 * Robots on a bridge (live or recorded), as the page sees them: the robot list with each one's
 * hub state, their observations relayed unchanged, and one robot drawn in 3D with the shared
 * scene builder: its end-effector pose (`features.action.poseKey`, `[x, y, z, yaw, grip]` in the
 * table frame, the palm centre as in SimState) turned into the simulator's gripper bodies above
 * the table, streamed as pose frames like the simulation's.
 *
 * An SO-101 (a robot whose `joints` feature names the SO-101's six motors, as the driver and the
 * emulated SO-101 declare it) is drawn as the arm itself from those joints, standing where the
 * SO-101 scenarios put it (sim/robot/so101/arm.ts `so101Bodies`).
 *
 * Blocks the robot perceives are drawn too: any `state` feature whose names hold `<p>.x`, `<p>.y`,
 * `<p>.z` and `<p>.size` (as the simulator's task observation `policy.state` does: `block0.x`…,
 * with `<p>.sin4yaw`/`<p>.cos4yaw` for the yaw) gives a cube named `<p>` at that pose.
 */
import type { HubMessageOf, Observation, RobotInfo, RobotState } from '../../bridge/protocol.ts';
import { GRIPPER_GEOMETRY } from '../../sim/robot/gripper.ts';
import { homeJoints, so101Bodies } from '../../sim/robot/so101/arm.ts';
import { SO101_MOTORS } from '../../sim/robot/so101/calibration.ts';
import { jawAngleForGrip } from '../../sim/robot/so101/jaw.ts';
import type { BodyState } from '../../sim/state.ts';
import { TABLE_HALF_EXTENT, TABLE_THICKNESS } from '../../sim/scene.ts';
import type { SimState } from '../../sim/state.ts';
import { POSE_COLUMNS, encodePoseFrame, relayHub } from '../protocol.ts';
import type { Moment, ServerMessageOf } from '../protocol.ts';
import type { PageLink, Pages } from './source.ts';

/** Ids of the bodies drawn for a robot. */
const TABLE_ID = 1, PALM_ID = 2, FINGER_L_ID = 3, FINGER_R_ID = 4;
/** Rows of the table and the gripper; with the SO-101, of the table and the arm's 9 bodies. */
const GRIPPER_ROWS = 4, SO101_ROWS = 10;

/** Whether a robot reports SO-101 joints (the driver's and the emulated SO-101's `joints`). */
export function isSo101(info: RobotInfo | undefined): boolean {
  const j = info?.features.observation.joints;
  return !!j && j.kind === 'state' && JSON.stringify(j.names ?? []) === JSON.stringify(SO101_MOTORS);
}

/** Pose rows of the table and an SO-101 at `joints` (5 arm joints in rad, then grip). */
export function so101Rows(joints: readonly number[], out: Float64Array): void {
  const bodies = so101Bodies(joints.slice(0, 5), jawAngleForGrip(joints[5] ?? -1), PALM_ID);
  const all: Array<Pick<BodyState, 'id' | 'position' | 'quaternion'>> = [{ id: TABLE_ID, position: [0, 0, -TABLE_THICKNESS / 2], quaternion: [0, 0, 0, 1] }, ...bodies];
  for (let i = 0; i < all.length; i++) {
    const o = i * POSE_COLUMNS, b = all[i];
    out[o] = b.id; out[o + 1] = b.position[0]; out[o + 2] = b.position[1]; out[o + 3] = b.position[2];
    out[o + 4] = b.quaternion[0]; out[o + 5] = b.quaternion[1]; out[o + 6] = b.quaternion[2]; out[o + 7] = b.quaternion[3];
  }
}

/** The drawn bodies of a gripper at `pose` = [x, y, z, yaw, grip] (grip -1 open … 1 closed). */
export function gripperState(label: string, pose: readonly number[]): SimState {
  const g = GRIPPER_GEOMETRY;
  const state: SimState = {
    time: 0,
    step: 0,
    task: label,
    bodies: [
      { id: TABLE_ID, name: 'table', kind: 'table', shape: { type: 'box', halfExtents: [TABLE_HALF_EXTENT, TABLE_HALF_EXTENT, TABLE_THICKNESS / 2] }, position: [0, 0, -TABLE_THICKNESS / 2], quaternion: [0, 0, 0, 1] },
      { id: PALM_ID, name: 'palm', kind: 'palm', shape: { type: 'box', halfExtents: [...g.palmHalf] }, position: [0, 0, 0], quaternion: [0, 0, 0, 1] },
      { id: FINGER_L_ID, name: 'finger_l', kind: 'finger', shape: { type: 'box', halfExtents: [...g.fingerHalf] }, position: [0, 0, 0], quaternion: [0, 0, 0, 1] },
      { id: FINGER_R_ID, name: 'finger_r', kind: 'finger', shape: { type: 'box', halfExtents: [...g.fingerHalf] }, position: [0, 0, 0], quaternion: [0, 0, 0, 1] },
    ],
    gripper: { position: [0, 0, 0], yaw: 0, width: 0, grip: -1 },
    goals: [],
  };
  const rows = new Float64Array(4 * POSE_COLUMNS);
  gripperRows(pose, rows);
  for (let i = 0; i < 4; i++) {
    const o = i * POSE_COLUMNS, b = state.bodies[i];
    b.position = [rows[o + 1], rows[o + 2], rows[o + 3]];
    b.quaternion = [rows[o + 4], rows[o + 5], rows[o + 6], rows[o + 7]];
  }
  state.gripper = { position: [pose[0], pose[1], pose[2]], yaw: pose[3] ?? 0, width: fingerWidth(pose[4] ?? -1), grip: pose[4] ?? -1 };
  return state;
}

function fingerWidth(grip: number): number {
  const g = Math.max(-1, Math.min(1, Number.isFinite(grip) ? grip : -1));
  return ((1 - g) / 2) * GRIPPER_GEOMETRY.maxWidth;
}

/** Pose rows (table, palm, left and right finger) of a gripper at `pose`. */
export function gripperRows(pose: readonly number[], out: Float64Array): void {
  const g = GRIPPER_GEOMETRY;
  const x = pose[0] ?? 0, y = pose[1] ?? 0, z = pose[2] ?? 0, yaw = pose[3] ?? 0;
  const half = fingerWidth(pose[4] ?? -1) / 2 + g.fingerHalf[0];
  const c = Math.cos(yaw), s = Math.sin(yaw);
  const qz = Math.sin(yaw / 2), qw = Math.cos(yaw / 2);
  const fz = z - (g.palmHalf[2] + g.fingerHalf[2]);
  const rows: Array<[number, number, number, number]> = [
    [TABLE_ID, 0, 0, -TABLE_THICKNESS / 2],
    [PALM_ID, x, y, z],
    [FINGER_L_ID, x - c * half, y - s * half, fz],
    [FINGER_R_ID, x + c * half, y + s * half, fz],
  ];
  for (let i = 0; i < 4; i++) {
    const o = i * POSE_COLUMNS, r = rows[i];
    out[o] = r[0]; out[o + 1] = r[1]; out[o + 2] = r[2]; out[o + 3] = r[3];
    const table = i === 0;
    out[o + 4] = 0; out[o + 5] = 0; out[o + 6] = table ? 0 : qz; out[o + 7] = table ? 1 : qw;
  }
}

/** Where one perceived block's numbers sit in an observation. */
interface BlockSlot {
  name: string;
  key: string;
  x: number; y: number; z: number; size: number;
  /** Indices of sin(4 yaw) and cos(4 yaw), or -1. */
  sin: number; cos: number;
}

/** Perceived blocks a robot's state features describe (see the header). */
export function blockSlots(info: RobotInfo): BlockSlot[] {
  const out: BlockSlot[] = [];
  for (const [key, f] of Object.entries(info.features.observation)) {
    if (f.kind !== 'state' || !f.names) continue;
    const at = new Map(f.names.map((n, i) => [n, i]));
    for (const n of f.names) {
      if (!n.endsWith('.x')) continue;
      const p = n.slice(0, -2);
      const y = at.get(`${p}.y`), z = at.get(`${p}.z`), size = at.get(`${p}.size`);
      if (y === undefined || z === undefined || size === undefined || !/^[A-Za-z][\w-]*$/.test(p)) continue;
      out.push({ name: p, key, x: at.get(n)!, y, z, size, sin: at.get(`${p}.sin4yaw`) ?? -1, cos: at.get(`${p}.cos4yaw`) ?? -1 });
    }
  }
  return out.slice(0, 64);
}

export interface RobotSceneOptions {
  /** Which robot to draw in 3D (default: the first, by id, that reports a pose). */
  robot?: string;
  /** Whether pages may ask for an e-stop. */
  canEstop: boolean;
}

export class RobotScene {
  private readonly pages: Pages;
  private readonly options: RobotSceneOptions;
  readonly robots = new Map<string, RobotInfo>();
  private readonly lastObs = new Map<string, Observation>();
  private drawn: string | null = null;
  /** Rows of the table and the drawn robot (GRIPPER_ROWS or SO101_ROWS); perceived blocks follow. */
  private robotRows = GRIPPER_ROWS;
  private episode = -1;
  private rows = new Float64Array(4 * POSE_COLUMNS);
  /** The drawn robot's perceived blocks and the edge lengths they were last drawn with. */
  private blocks: BlockSlot[] = [];
  private sizes: number[] = [];
  private dirty = false;
  private seq = 0;
  private readonly moment: Moment = {
    time: 0, step: 0, reward: 0, success: false, fail: false, paused: false, done: false, stepsPerSecond: 0, episode: 0, seed: 0, speed: 1,
  };
  /** Time origin for the pose frames' `time` (ms; 0: the first observation's time). */
  origin = 0;
  canEstop: boolean;

  constructor(pages: Pages, options: RobotSceneOptions) {
    this.pages = pages;
    this.options = options;
    this.canEstop = options.canEstop;
    this.rows.fill(0);
    gripperRows([0, 0, 0.2, 0, -1], this.rows);
  }

  /** The robot drawn in 3D, if any. */
  get drawnRobot(): string | null {
    return this.drawn;
  }

  setRobots(list: RobotInfo[]): void {
    this.robots.clear();
    for (const r of list) this.robots.set(r.id, r);
    for (const id of [...this.lastObs.keys()]) if (!this.robots.has(id)) this.lastObs.delete(id);
    this.pages.send(this.robotsMessage());
    this.choose();
  }

  robotState(id: string, state: RobotState): void {
    const r = this.robots.get(id);
    if (r) this.robots.set(id, { ...r, state });
    this.pages.sendText(relayHub({ op: 'robot_state', robot: id, state }));
  }

  /** Relays other hub messages the page shows (estop, hold, status, controllers' estimates). */
  relay(msg: HubMessageOf<'estop'> | HubMessageOf<'hold'> | HubMessageOf<'status'> | HubMessageOf<'estimate'>): void {
    this.pages.sendText(relayHub(msg));
  }

  observation(obs: Observation): void {
    this.lastObs.set(obs.robot, obs);
    this.pages.sendText(relayHub(obs));
    if (this.drawn === null) this.choose();
    if (obs.robot !== this.drawn) return;
    const pose = this.poseOf(obs);
    if (!pose) return;
    this.drawRobot(obs, pose);
    if (this.blockRows(obs)) {
      this.episode++;
      this.pages.send(this.episodeMessage(this.drawn));
    }
    if (this.origin === 0) this.origin = obs.t; // live: time counts from the first observation
    this.moment.time = (obs.t - this.origin) / 1000;
    this.moment.step = obs.seq;
    this.dirty = true;
  }

  /** Sends the newest pose frame if it changed (call at the stream rate). */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.pages.sendFrame(this.frame());
  }

  /** Forgets observations (replay seeks back); the next ones redraw. */
  clearObservations(): void {
    this.lastObs.clear();
  }

  attach(page: PageLink): void {
    page.send(this.robotsMessage());
    if (this.drawn !== null) page.send(this.episodeMessage(this.drawn));
    for (const obs of this.lastObs.values()) page.sendText(relayHub(obs));
    page.sendFrame(this.frame());
  }

  robotsMessage(): ServerMessageOf<'robots'> {
    return { op: 'robots', robots: [...this.robots.values()], canEstop: this.canEstop };
  }

  /** Writes the drawn robot's rows from an observation: the SO-101 from its joints, else the gripper at its pose. */
  private drawRobot(obs: Observation | undefined, pose: readonly number[] | null): void {
    const joints = obs?.state.joints;
    if (this.robotRows === SO101_ROWS && joints && joints.length === 6 && joints.every(Number.isFinite)) so101Rows(joints, this.rows);
    else if (this.robotRows === SO101_ROWS) so101Rows(so101Home(), this.rows);
    else gripperRows(pose ?? [0, 0, 0.2, 0, -1], this.rows);
  }

  private poseOf(obs: Observation): number[] | null {
    const info = this.robots.get(obs.robot);
    const key = info?.features.action.poseKey ?? 'ee.pose';
    const p = obs.state[key];
    return p && p.length >= 3 && p.every(Number.isFinite) ? p : null;
  }

  private choose(): void {
    let want: string | null = null;
    if (this.options.robot !== undefined) want = this.robots.has(this.options.robot) ? this.options.robot : null;
    else {
      for (const id of [...this.robots.keys()].sort()) {
        const obs = this.lastObs.get(id);
        if (!obs || this.poseOf(obs)) {
          want = id;
          if (obs) break;
        }
      }
    }
    if (want === this.drawn) return;
    this.drawn = want;
    if (want === null) return;
    this.blocks = blockSlots(this.robots.get(want)!);
    this.sizes = this.blocks.map(() => 0.05);
    this.robotRows = isSo101(this.robots.get(want)) ? SO101_ROWS : GRIPPER_ROWS;
    this.rows = new Float64Array((this.robotRows + this.blocks.length) * POSE_COLUMNS);
    for (let i = 0; i < this.blocks.length; i++) this.rows[(this.robotRows + i) * POSE_COLUMNS + 3] = -10; // out of sight until perceived
    const obs = this.lastObs.get(want);
    this.drawRobot(obs, obs ? this.poseOf(obs) : null);
    this.blockRows(obs);
    this.episode++;
    this.pages.send(this.episodeMessage(want));
    this.dirty = true;
  }

  /**
   * Writes the perceived blocks' rows from an observation (blocks it does not mention stay where
   * they were). True if a block's size changed, so the page needs the bodies again.
   */
  private blockRows(obs: Observation | undefined): boolean {
    let resized = false;
    for (let i = 0; i < this.blocks.length; i++) {
      const b = this.blocks[i], o = (this.robotRows + i) * POSE_COLUMNS;
      this.rows[o] = this.robotRows + 1 + i;
      if (this.rows[o + 7] === 0) this.rows[o + 7] = 1;
      const v = obs?.state[b.key];
      if (!v) continue;
      const x = v[b.x], y = v[b.y], z = v[b.z], size = v[b.size];
      if (!Number.isFinite(x + y + z + size) || size <= 0) continue;
      this.rows[o + 1] = x; this.rows[o + 2] = y; this.rows[o + 3] = z;
      const yaw = b.sin >= 0 && b.cos >= 0 ? Math.atan2(v[b.sin], v[b.cos]) / 4 : 0;
      this.rows[o + 4] = 0; this.rows[o + 5] = 0; this.rows[o + 6] = Math.sin(yaw / 2); this.rows[o + 7] = Math.cos(yaw / 2);
      if (Math.abs(size - this.sizes[i]) > 5e-4) {
        this.sizes[i] = size;
        resized = true;
      }
    }
    return resized;
  }

  private episodeMessage(id: string): ServerMessageOf<'episode'> {
    const state = gripperState(id, [0, 0, 0.2, 0, -1]);
    if (this.robotRows === SO101_ROWS) {
      state.robot = 'so101';
      state.bodies = [state.bodies[0], ...so101Bodies(so101Home().slice(0, 5), jawAngleForGrip(-1), PALM_ID)];
    }
    for (let i = 0; i < this.blocks.length; i++) {
      const h = this.sizes[i] / 2;
      state.bodies.push({ id: this.robotRows + 1 + i, name: this.blocks[i].name, kind: 'block', shape: { type: 'box', halfExtents: [h, h, h] }, position: [0, 0, h], quaternion: [0, 0, 0, 1] });
    }
    for (let i = 0; i < state.bodies.length; i++) {
      const o = i * POSE_COLUMNS, b = state.bodies[i];
      b.position = [this.rows[o + 1], this.rows[o + 2], this.rows[o + 3]];
      b.quaternion = [this.rows[o + 4], this.rows[o + 5], this.rows[o + 6], this.rows[o + 7]];
    }
    const info = this.robots.get(id);
    return {
      op: 'episode',
      episode: Math.max(0, this.episode),
      seed: 0,
      scenario: { path: `robot:${id}`, id: info?.model ?? id },
      taskId: 'robot',
      maxSteps: 1,
      controlHz: info?.features.controlHz ?? 20,
      state,
    };
  }

  private frame(): Uint8Array {
    this.moment.episode = Math.max(0, this.episode);
    return encodePoseFrame(this.moment, this.rows, this.robotRows + this.blocks.length, this.seq++);
  }
}

/** Joints the SO-101 is drawn at before its first observation: the scenarios' home pose, jaws open. */
function so101Home(): number[] {
  return [...homeJoints(), -1];
}
