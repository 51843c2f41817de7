/**
 * The robot: a parallel-jaw gripper on a 4-DoF mount (x, y, z, yaw), the end-effector control of
 * Fetch/Panda tasks in Gymnasium-Robotics and robosuite.
 *
 * Bodies
 * - palm: a kinematic box. The mount is position-controlled: each substep its velocity is
 *   `gain · (setpoint − pose)`, capped at `maxSpeed` / `maxYawRate`. Like an industrial arm it is
 *   not pushed around by what it touches, and like a collaborative one it stops moving into it.
 * - two fingers: dynamic boxes (`fingerMass`, rotation locked to the palm's yaw). Along the palm's
 *   depth and height they follow the palm rigidly (velocity servo, gravity compensated). Along the
 *   opening axis each finger is a force-limited velocity servo: it moves toward the commanded
 *   opening, and once it meets something it presses with at most `gripForce` newtons.
 *
 * Grasps are held by contact and friction alone: nothing ever welds a block to a finger.
 *
 * Frames: gripper x = opening axis (the left finger sits at −x, the right at +x), y = finger
 * width, z = up. Yaw rotates the gripper about world z.
 */
import { Body, Box, Quaternion, Vec3 } from 'cannon-es';
import type { World } from 'cannon-es';
import type { Material } from 'cannon-es';
import { GROUP_GRIPPER, GROUP_OBJECT, GROUP_STATIC } from '../physics/world.ts';
import type { BodyState, GripperState, Vec3 as V3 } from '../state.ts';
import type { SimRobot } from './robot.ts';

export interface GripperGeometry {
  /** Palm half extents (m). */
  palmHalf: V3;
  /** Finger half extents (m): thickness along x, width along y, length along z. */
  fingerHalf: V3;
  /** Largest inner distance between the fingers (m). */
  maxWidth: number;
}

export const GRIPPER_GEOMETRY: GripperGeometry = {
  palmHalf: [0.065, 0.016, 0.01],
  fingerHalf: [0.006, 0.012, 0.022],
  maxWidth: 0.1,
};

export interface GripperParams {
  /** Mount position gain (1/s): commanded velocity = gain · error. */
  gain: number;
  /** Mount speed cap (m/s). */
  maxSpeed: number;
  /** Yaw rate cap (rad/s). */
  maxYawRate: number;
  /** Finger closing/opening speed cap (m/s). */
  fingerSpeed: number;
  /** Largest force a finger presses with (N). */
  gripForce: number;
  /** Mass of one finger (kg). */
  fingerMass: number;
}

export const DEFAULT_GRIPPER_PARAMS: GripperParams = {
  gain: 20,
  maxSpeed: 0.6,
  maxYawRate: 3,
  fingerSpeed: 0.15,
  gripForce: 12,
  fingerMass: 0.2,
};

/** The box the mount's setpoint is clipped to (world frame, palm centre). */
export interface Workspace {
  min: V3;
  max: V3;
}

/** Contact force (N) on the palm above which the mount stops moving into the contact. */
export const PROTECTIVE_STOP_N = 5;

const _v = new Vec3();
const _w = new Vec3();
const _r = new Vec3();

function wrapAngle(a: number): number {
  return Math.atan2(Math.sin(a), Math.cos(a));
}

export interface GripperOptions {
  world: World;
  /** Contact material of the palm and the fingers. */
  material: Material;
  params: GripperParams;
  /** The box the mount's setpoint is clipped to. */
  workspace: Workspace;
  /** Palm centre at the start (world frame, m). */
  start: V3;
  /** Palm yaw at the start (rad). Default 0. */
  startYaw?: number;
  /** Default GRIPPER_GEOMETRY. */
  geometry?: GripperGeometry;
}

export class Gripper implements SimRobot {
  readonly kind = 'mount' as const;
  readonly palm: Body;
  readonly fingers: [Body, Body];
  readonly geometry: GripperGeometry;
  readonly params: GripperParams;
  readonly workspace: Workspace;
  /** A further box the setpoint is clipped to (the software limits of whoever drives the arm), or null. */
  limit: Workspace | null = null;
  private readonly world: World;
  /** Mount setpoint: x, y, z, yaw. */
  readonly setpoint: [number, number, number, number];
  /** Commanded opening, from grip in [-1, 1]: width = maxWidth · (1 − grip) / 2. */
  grip = -1;
  /** Palm yaw (the palm only ever rotates about z, so it is tracked directly). */
  yaw: number;
  private yawRate = 0;

  constructor({ world, material, params, workspace, start, startYaw = 0, geometry = GRIPPER_GEOMETRY }: GripperOptions) {
    this.world = world;
    this.params = params;
    this.geometry = geometry;
    this.workspace = workspace;
    this.yaw = startYaw;
    this.setpoint = [start[0], start[1], start[2], startYaw];
    const [px, py, pz] = geometry.palmHalf;
    this.palm = new Body({
      type: Body.KINEMATIC,
      mass: 0,
      shape: new Box(new Vec3(px, py, pz)),
      material,
      collisionFilterGroup: GROUP_GRIPPER,
      collisionFilterMask: GROUP_OBJECT,
    });
    this.palm.position.set(start[0], start[1], start[2]);
    this.palm.quaternion.setFromAxisAngle(new Vec3(0, 0, 1), startYaw);
    world.addBody(this.palm);
    const [fx, fy, fz] = geometry.fingerHalf;
    const make = (): Body => {
      const f = new Body({
        mass: params.fingerMass,
        shape: new Box(new Vec3(fx, fy, fz)),
        material,
        fixedRotation: true,
        linearDamping: 0,
        collisionFilterGroup: GROUP_GRIPPER,
        collisionFilterMask: GROUP_OBJECT | GROUP_STATIC,
      });
      world.addBody(f);
      return f;
    };
    this.fingers = [make(), make()];
    const half = geometry.maxWidth / 2 + fx;
    for (let k = 0; k < 2; k++) {
      this.fingerOffset(k === 0 ? -half : half, _r);
      this.fingers[k].position.set(start[0] + _r.x, start[1] + _r.y, start[2] + _r.z);
      this.fingers[k].quaternion.copy(this.palm.quaternion);
    }
  }

  /** World-frame offset from the palm centre of a finger whose centre sits at `x` along the opening axis. */
  private fingerOffset(x: number, out: Vec3): Vec3 {
    const c = Math.cos(this.yaw), s = Math.sin(this.yaw);
    const z = -(this.geometry.palmHalf[2] + this.geometry.fingerHalf[2]);
    out.set(c * x, s * x, z);
    return out;
  }

  /** Sets the mount setpoint, clipped to the workspace (and then to `limit`, if set). */
  setTarget(x: number, y: number, z: number, yaw: number): void {
    const { min, max } = this.workspace;
    this.setpoint[0] = Math.min(max[0], Math.max(min[0], x));
    this.setpoint[1] = Math.min(max[1], Math.max(min[1], y));
    this.setpoint[2] = Math.min(max[2], Math.max(min[2], z));
    const l = this.limit;
    if (l) for (let i = 0; i < 3; i++) this.setpoint[i] = Math.min(l.max[i], Math.max(l.min[i], this.setpoint[i]));
    this.setpoint[3] = wrapAngle(yaw);
  }

  /** Moves the setpoint by a step from where the palm is now. */
  moveBy(dx: number, dy: number, dz: number, dyaw: number): void {
    const p = this.palm.position;
    this.setTarget(p.x + dx, p.y + dy, p.z + dz, this.yaw + dyaw);
  }

  hold(): void {
    const p = this.palm.position;
    this.setTarget(p.x, p.y, p.z, this.yaw);
  }

  /** The mount's commanded velocity (the palm's). */
  velocity(out: Vec3): Vec3 {
    return out.copy(this.palm.velocity);
  }

  bodies(firstId: number): BodyState[] {
    const g = this.geometry;
    const pose = (b: Body): { position: V3; quaternion: [number, number, number, number] } => ({
      position: [b.position.x, b.position.y, b.position.z],
      quaternion: [b.quaternion.x, b.quaternion.y, b.quaternion.z, b.quaternion.w],
    });
    return [
      { id: firstId, name: 'palm', kind: 'palm', shape: { type: 'box', halfExtents: [...g.palmHalf] as V3 }, ...pose(this.palm) },
      { id: firstId + 1, name: 'finger_l', kind: 'finger', shape: { type: 'box', halfExtents: [...g.fingerHalf] as V3 }, ...pose(this.fingers[0]) },
      { id: firstId + 2, name: 'finger_r', kind: 'finger', shape: { type: 'box', halfExtents: [...g.fingerHalf] as V3 }, ...pose(this.fingers[1]) },
    ];
  }

  state(): GripperState {
    const p = this.palm.position;
    return { position: [p.x, p.y, p.z], yaw: this.yaw, width: this.width(), grip: this.grip };
  }

  /** Drives palm and fingers for the coming substep of length `dt`. Call before `world.step(dt)`. */
  control(dt: number, gravity: Vec3): void {
    const p = this.palm.position, P = this.params;
    // Mount: capped proportional velocity toward the setpoint.
    let vx = P.gain * (this.setpoint[0] - p.x);
    let vy = P.gain * (this.setpoint[1] - p.y);
    let vz = P.gain * (this.setpoint[2] - p.z);
    const speed = Math.hypot(vx, vy, vz);
    if (speed > P.maxSpeed) {
      const k = P.maxSpeed / speed;
      vx *= k; vy *= k; vz *= k;
    }
    // Protective stop: like a collaborative arm's force limit, the mount does not drive on into
    // something that pushes back harder than PROTECTIVE_STOP_N (a kinematic palm would otherwise
    // crush a block into the table). Light contact, such as a held block riding along, is ignored.
    for (const c of this.world.contacts) {
      if ((c.bi !== this.palm && c.bj !== this.palm) || c.multiplier < PROTECTIVE_STOP_N) continue;
      const sign = c.bi === this.palm ? 1 : -1; // n from the palm into the other body
      const nx = sign * c.ni.x, ny = sign * c.ni.y, nz = sign * c.ni.z;
      const into = vx * nx + vy * ny + vz * nz;
      if (into > 0) {
        vx -= into * nx; vy -= into * ny; vz -= into * nz;
      }
    }
    let wz = P.gain * wrapAngle(this.setpoint[3] - this.yaw);
    if (wz > P.maxYawRate) wz = P.maxYawRate; else if (wz < -P.maxYawRate) wz = -P.maxYawRate;
    this.palm.velocity.set(vx, vy, vz);
    this.palm.angularVelocity.set(0, 0, wz);
    this.yawRate = wz;

    // Finger errors are taken in the palm's current frame; the palm's rigid motion is added back.
    const c = Math.cos(this.yaw), s = Math.sin(this.yaw);
    const zOff = -(this.geometry.palmHalf[2] + this.geometry.fingerHalf[2]);
    const targetHalf = this.geometry.maxWidth * (1 - this.grip) / 4 + this.geometry.fingerHalf[0];
    const invDt = 1 / dt;
    for (let k = 0; k < 2; k++) {
      const f = this.fingers[k];
      const sign = k === 0 ? -1 : 1;
      // Current finger position in the palm frame.
      const dx = f.position.x - p.x, dy = f.position.y - p.y, dz = f.position.z - p.z;
      const ox = c * dx + s * dy; // along the opening axis
      const oy = -s * dx + c * dy; // along the finger width
      const oz = dz;
      // Rigid axes: close the whole error within this substep.
      const vy2 = -oy * invDt;
      const vz2 = (zOff - oz) * invDt;
      // Opening axis: velocity servo toward the commanded opening, force-limited.
      // Velocity of the palm-fixed point where the finger is (translation plus yaw).
      const rigidX = vx - wz * dy, rigidY = vy + wz * dx;
      const vRel = c * (f.velocity.x - rigidX) + s * (f.velocity.y - rigidY);
      let vWant = (sign * targetHalf - ox) * invDt;
      if (vWant > P.fingerSpeed) vWant = P.fingerSpeed; else if (vWant < -P.fingerSpeed) vWant = -P.fingerSpeed;
      const dvMax = P.gripForce * dt / P.fingerMass;
      let dv = vWant - vRel;
      if (dv > dvMax) dv = dvMax; else if (dv < -dvMax) dv = -dvMax;
      let vx2 = vRel + dv;
      // Mechanical stops: fingers never cross the middle nor open past the maximum.
      const inner = this.geometry.fingerHalf[0], outer = this.geometry.maxWidth / 2 + inner;
      const nextOx = sign * (ox + vx2 * dt);
      if (nextOx < inner) vx2 = (sign * inner - ox) * invDt;
      else if (nextOx > outer) vx2 = (sign * outer - ox) * invDt;
      // Back to the world frame, plus the palm's own motion (translation and yaw).
      f.velocity.set(rigidX + c * vx2 - s * vy2, rigidY + s * vx2 + c * vy2, vz + vz2);
      f.quaternion.setFromAxisAngle(_w.set(0, 0, 1), this.yaw);
      f.angularVelocity.set(0, 0, wz);
      // Gravity compensation: the fingers hang from the palm.
      _v.copy(gravity);
      _v.scale(-f.mass, _v);
      f.force.vadd(_v, f.force);
    }
  }

  /** Bookkeeping after `world.step(dt)`. */
  afterStep(dt: number): void {
    this.yaw = wrapAngle(this.yaw + this.yawRate * dt);
    // Keep the kinematic palm's orientation exactly consistent with the tracked yaw.
    this.palm.quaternion.setFromAxisAngle(_w.set(0, 0, 1), this.yaw);
  }

  /** Inner distance between the fingers (m). */
  width(): number {
    const a = this.fingers[0].position, b = this.fingers[1].position;
    const c = Math.cos(this.yaw), s = Math.sin(this.yaw);
    return c * (b.x - a.x) + s * (b.y - a.y) - 2 * this.geometry.fingerHalf[0];
  }

  /** How fast the fingers open (m/s; negative while closing), from their velocities along the opening axis. */
  widthRate(): number {
    const a = this.fingers[0].velocity, b = this.fingers[1].velocity;
    const c = Math.cos(this.yaw), s = Math.sin(this.yaw);
    return c * (b.x - a.x) + s * (b.y - a.y);
  }

  /** The opening the finger command asks for (m): what the fingers close to when nothing is between them. */
  commandedWidth(): number {
    return (this.geometry.maxWidth * (1 - this.grip)) / 2;
  }

  /** Point midway between the fingertips' centres of pad (world frame): where a grasped block sits. */
  graspPoint(out: Vec3 = new Vec3()): Vec3 {
    const a = this.fingers[0].position, b = this.fingers[1].position;
    return out.set((a.x + b.x) / 2, (a.y + b.y) / 2, (a.z + b.z) / 2);
  }

  /** Quaternion of the gripper (yaw only). */
  quaternion(out: Quaternion = new Quaternion()): Quaternion {
    return out.setFromAxisAngle(_w.set(0, 0, 1), this.yaw);
  }

  /** Height of the fingertips' lowest point below the palm centre (m). */
  get reach(): number {
    return this.geometry.palmHalf[2] + 2 * this.geometry.fingerHalf[2];
  }
}
