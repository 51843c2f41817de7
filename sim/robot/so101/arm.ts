/**
 * The SO-101 arm in the simulator: the same kinematics as the driver (kinematics.ts), links that
 * follow the joints through the STS3215 servo model (servo.ts), and its gripper's two jaws.
 *
 * Commands are the simulator's end-effector actions, handled as the driver handles them
 * (bridge/robots/so101/so101.ts): the target = the previous target + the step (table frame); inverse
 * kinematics with the tool pointing down; joints clipped to their limits, then to
 * `maxRelativeTarget` from the present joints; the target becomes the pose of the joints actually
 * commanded. Each substep every servo moves toward its goal at most at its speed.
 *
 * Bodies
 * - Links (base, shoulder, upper arm, forearm, wrist, the gripper body and its fixed jaw):
 *   kinematic boxes sized from the URDF's joint origins and the STS3215's 45 × 35 × 25 mm body, placed
 *   by forward kinematics of the true joint angles every substep, with the velocities that motion
 *   implies (so a block they touch is pushed and rubbed as by the real link). They are not pushed
 *   back: like the mount, a link pressing on a block or the table harder than PROTECTIVE_STOP_N, or
 *   touching the table, stops every joint for that substep instead of driving on (the protective
 *   stop of a collaborative arm); motion away from the contact goes on. Stops and contacts are counted.
 * - The moving jaw: a dynamic pad, rigid with the gripper along two axes and a force-limited velocity
 *   servo along the opening axis (the mount's finger model): it closes toward the jaw servo's angle
 *   and presses with at most `gripForce` newtons (LeRobot limits the gripper servo to half its
 *   torque for the same reason: so101_follower.py / feetech configure_motors). On the real gripper the
 *   jaw turns about a hinge 7.47 cm above its tip (URDF joint `gripper`); here the pad stays parallel
 *   to the fixed jaw and opens by 7.47 cm · sin(jaw angle), the distance the turning tip moves away.
 * Grasps are held by contact and friction alone between the fixed jaw and the moving pad.
 *
 * Frames: the gripper frame has x along the opening axis (fixed jaw at −x, moving jaw at +x), y along
 * the jaw width, z up the tool (away from the fingertips); its yaw is the tool yaw of kinematics.ts.
 */
import { Body, Box, Quaternion, Vec3 } from 'cannon-es';
import type { Material, World } from 'cannon-es';
import { GROUP_GRIPPER, GROUP_OBJECT, GROUP_STATIC } from '../../physics/world.ts';
import type { BodyState, GripperState, Vec3 as V3 } from '../../state.ts';
import type { LayoutArea, SimRobot } from '../robot.ts';
import { PROTECTIVE_STOP_N } from '../gripper.ts';
import { commandJoints, TIP_FLOOR, toBase, toTable } from './command.ts';
import type { ArmBase, ToolOffset } from './command.ts';
import { angleForWidth, gripForJawAngle, JAW_FACE, JAW_RADIUS, jawAngleForGrip, PAD_CENTRE, toolOffset, widthAt } from './jaw.ts';
import { toLeRobot } from './lerobot.ts';
import { forwardKinematics, inverseKinematics, JAW_LIMITS, JOINT_LIMITS, jawLineYaw, SO101_GEOMETRY, wrapToPi } from './kinematics.ts';
import type { EePose } from './kinematics.ts';
import { SERVO_GAIN, STS3215_SPEED, ServoJoint } from './servo.ts';

/**
 * The arm stands at the far edge of the blocks' area facing the front camera, on a 14 cm riser:
 * with the tool pointing straight down the wrist_flex limit keeps the fingertips below ~9 cm
 * above the base's own plane (kinematics.ts), and stacking needs them up to 16 cm above the table.
 */
export const SO101_BASE: ArmBase = { x: 0, y: 0.21, z: 0.14, yaw: -Math.PI / 2 };
/** The riser under the base (a box on the table, m). */
export const RISER = { centre: [0, 0.235, 0.07] as V3, half: [0.06, 0.055, 0.07] as V3 };

/**
 * Edge of the blocks the SO-101 scenarios stack without randomization (m): 4 cm cubes (their
 * training range is 3.6–4.4 cm), which the jaws (7.5 cm at most, 7.9 mm off the roll axis) grasp
 * with room to spare. The mount's nominal 5 cm blocks would lie outside it.
 */
export const SO101_BLOCK_SIZE = 0.04;

/**
 * Blocks within the arm's reach with the tool down: 13.5–24.5 cm from the pan axis, where the
 * fingertips reach from the table to 15 cm above it without folding the elbow near its limit.
 */
export const SO101_AREA: LayoutArea = {
  x: [-0.085, 0.085],
  y: [-0.02, 0.075],
  centre: { x: [-0.04, 0.04], y: [0.0, 0.05] },
  keepOut: [{ x: [RISER.centre[0] - RISER.half[0] - 0.01, RISER.centre[0] + RISER.half[0] + 0.01], y: [RISER.centre[1] - RISER.half[1] - 0.01, RISER.centre[1] + RISER.half[1] + 0.01] }],
  home: { x: 0, y: 0.03, spread: 0.03, z: [0.12, 0.15] },
};


export interface So101Geometry {
  /** Fixed jaw: half thickness (x), half width (y), half length (z, from the tip up to the hinge). */
  fixedJawHalf: V3;
  /** Moving jaw pad: half extents (x, y, z), z from the tip. */
  movingJawHalf: V3;
  /** Largest inner distance between the jaws (m). */
  maxWidth: number;
}

export const SO101_GRIPPER: So101Geometry = {
  fixedJawHalf: [0.004, 0.01, JAW_RADIUS / 2],
  movingJawHalf: [0.004, 0.01, PAD_CENTRE],
  maxWidth: JAW_RADIUS,
};

/** What one episode's arm runs with (sampled by randomization.ts, recorded with the episode). */
export interface ArmParams {
  /** Servo position gain (1/s). */
  servoGain: number;
  /** Servo speed limit (rad/s). */
  servoSpeed: number;
  /** Calibration error per arm joint (rad): the link sits at the reported angle plus this. */
  jointOffset: number[];
  /** Backlash (full play) per arm joint (rad). */
  backlash: number[];
  /** Largest jaw force (N). */
  gripForce: number;
}

export const NOMINAL_ARM: Omit<ArmParams, 'gripForce'> = {
  servoGain: SERVO_GAIN,
  servoSpeed: STS3215_SPEED,
  jointOffset: [0, 0, 0, 0, 0],
  backlash: [0, 0, 0, 0, 0],
};

/** Largest joint move per step from the present joints (rad), as the driver's default. */
export const MAX_RELATIVE_TARGET = 0.15;
/** Mass the moving jaw's pad is simulated with (kg): the geared servo's reflected inertia, not the 12 g part. */
const JAW_MASS = 0.2;
/** How far (m) a link may press into the table before it is stopped (the table's give, and the arm's). */
const TABLE_PRESS = 0.001;

/** Link boxes: name, half extents, and where they sit (filled by `linkPoses`). */
const LINK_NAMES = ['arm_base', 'arm_shoulder', 'arm_upper', 'arm_lower', 'arm_wrist', 'palm', 'finger_l'] as const;
type LinkName = (typeof LINK_NAMES)[number];
const LINK_HALF: Record<LinkName, V3> = {
  // The base housing and pan servo under the shoulder (fixed).
  arm_base: [0.045, 0.04, 0.03],
  // The shoulder bracket and the shoulder_lift servo: pan axis to the lift axis.
  arm_shoulder: [0.035, 0.03, 0.03],
  // Upper arm, forearm: along the link, across (joint axis direction), and the third side.
  arm_upper: [SO101_GEOMETRY.L1 / 2 + 0.012, 0.0175, 0.0125],
  arm_lower: [SO101_GEOMETRY.L2 / 2 + 0.01, 0.016, 0.012],
  // Wrist: the wrist_flex axis down to the roll servo's horn (URDF wrist_roll origin, 6.11 cm).
  arm_wrist: [0.0306, 0.0175, 0.0125],
  // Gripper body (wrist roll follower + gripper servo): roll horn down to the jaw hinge; x spans the fixed jaw to the hinge.
  palm: [0.0275, 0.0175, 0.0117],
  finger_l: SO101_GRIPPER.fixedJawHalf,
};

// Scratch (no per-step allocation).
const _v = new Vec3();
const _w = new Vec3();
const _q = new Quaternion();
const _p = new Vec3();

interface Pose {
  p: Vec3;
  q: Quaternion;
}

function pose(): Pose {
  return { p: new Vec3(), q: new Quaternion() };
}

/** Quaternion of the frame with columns x, y, z. */
function frameQuat(x: V3, y: V3, z: V3, out: Quaternion): Quaternion {
  const m00 = x[0], m10 = x[1], m20 = x[2], m01 = y[0], m11 = y[1], m21 = y[2], m02 = z[0], m12 = z[1], m22 = z[2];
  const tr = m00 + m11 + m22;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    out.set((m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s, 0.25 * s);
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    out.set(0.25 * s, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s);
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    out.set((m01 + m10) / s, 0.25 * s, (m12 + m21) / s, (m02 - m20) / s);
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    out.set((m02 + m20) / s, (m12 + m21) / s, 0.25 * s, (m10 - m01) / s);
  }
  return out;
}

/** World poses of every link box and of the gripper frame for joint angles `q` (kinematic, link side). */
class ArmFrames {
  readonly links: Record<LinkName, Pose>;
  /** Gripper frame: origin at the fingertip point on the roll axis, axes x (opening), y (width), z (up the tool). */
  readonly gripper: Pose;
  readonly axes = { x: [0, 0, 0] as V3, y: [0, 0, 0] as V3, z: [0, 0, 0] as V3 };
  constructor() {
    this.links = Object.fromEntries(LINK_NAMES.map((n) => [n, pose()])) as Record<LinkName, Pose>;
    this.gripper = pose();
  }

  /** Sets every pose for link angles `q` with the arm at `base`. */
  compute(q: readonly number[], base: ArmBase): void {
    const g = SO101_GEOMETRY;
    const [pan, lift, elbow, flex, roll] = q;
    const a = base.yaw + pan;
    const er: V3 = [Math.cos(a), Math.sin(a), 0], et: V3 = [-Math.sin(a), Math.cos(a), 0];
    const p1 = lift, p2 = lift + elbow, p3 = p2 + flex;
    const at = (r: number, z: number): V3 => [base.x + r * er[0], base.y + r * er[1], base.z + z];
    // Planar points (r, z) along the chain.
    const sR = g.d, sZ = g.h;
    const eR = sR + g.L1 * Math.cos(p1), eZ = sZ + g.L1 * Math.sin(p1);
    const wR = eR + g.L2 * Math.cos(p2), wZ = eZ + g.L2 * Math.sin(p2);
    const tR = wR + g.L3 * Math.cos(p3), tZ = wZ + g.L3 * Math.sin(p3);
    // Fixed base, and the shoulder turning with pan.
    const bq = this.links.arm_base;
    bq.p.set(base.x, base.y, base.z + 0.03);
    bq.q.setFromAxisAngle(_w.set(0, 0, 1), base.yaw);
    const sh = this.links.arm_shoulder;
    const shc = at(sR / 2, sZ - 0.025);
    sh.p.set(shc[0], shc[1], shc[2]);
    sh.q.setFromAxisAngle(_w.set(0, 0, 1), a);
    // A segment box: x along (r, z) direction angle phi, y = e_t.
    const segment = (ps: Pose, r0: number, z0: number, phi: number, len: number, shift: number): void => {
      const c = Math.cos(phi), s = Math.sin(phi);
      const x: V3 = [c * er[0], c * er[1], s];
      const z: V3 = [x[1] * et[2] - x[2] * et[1], x[2] * et[0] - x[0] * et[2], x[0] * et[1] - x[1] * et[0]];
      const m = at(r0 + (len / 2 + shift) * c, z0 + (len / 2 + shift) * s);
      ps.p.set(m[0], m[1], m[2]);
      frameQuat(x, et, z, ps.q);
    };
    segment(this.links.arm_upper, sR, sZ, p1, g.L1, 0);
    segment(this.links.arm_lower, eR, eZ, p2, g.L2, 0);
    segment(this.links.arm_wrist, wR, wZ, p3, 0.0611, 0);
    // Gripper frame: z up the tool (−tool direction), x the opening axis turned by roll about the tool.
    const c3 = Math.cos(p3), s3 = Math.sin(p3);
    const zt: V3 = [-c3 * er[0], -c3 * er[1], -s3];
    const u0: V3 = [-s3 * er[0], -s3 * er[1], c3];
    const cr = Math.cos(roll), sr = Math.sin(roll);
    const x: V3 = [cr * u0[0] + sr * et[0], cr * u0[1] + sr * et[1], cr * u0[2] + sr * et[2]];
    const y: V3 = [cr * et[0] - sr * u0[0], cr * et[1] - sr * u0[1], cr * et[2] - sr * u0[2]];
    this.axes.x = x; this.axes.y = y; this.axes.z = zt;
    const tip = at(tR, tZ);
    this.gripper.p.set(tip[0], tip[1], tip[2]);
    frameQuat(x, y, zt, this.gripper.q);
    // Boxes in the gripper frame: (u, w, s) → world.
    const inGripper = (ps: Pose, u: number, w: number, s: number): void => {
      ps.p.set(tip[0] + u * x[0] + w * y[0] + s * zt[0], tip[1] + u * x[1] + w * y[1] + s * zt[1], tip[2] + u * x[2] + w * y[2] + s * zt[2]);
      ps.q.copy(this.gripper.q);
    };
    const palm = LINK_HALF.palm;
    inGripper(this.links.palm, JAW_FACE - 2 * SO101_GRIPPER.fixedJawHalf[0] + palm[0], 0, JAW_RADIUS + palm[2]);
    const fj = SO101_GRIPPER.fixedJawHalf;
    inGripper(this.links.finger_l, JAW_FACE - fj[0], 0, fj[2]);
  }

  /** World position of the point (u, w, s) of the gripper frame. */
  gripperPoint(u: number, w: number, s: number, out: Vec3): Vec3 {
    const { x, y, z } = this.axes, t = this.gripper.p;
    return out.set(t.x + u * x[0] + w * y[0] + s * z[0], t.y + u * x[1] + w * y[1] + s * z[1], t.z + u * x[2] + w * y[2] + s * z[2]);
  }
}

/** Angular velocity taking `a` to `b` in `dt` (small rotations). */
function angularVelocity(a: Quaternion, b: Quaternion, dt: number, out: Vec3): Vec3 {
  // d = b · a⁻¹
  const ax = -a.x, ay = -a.y, az = -a.z, aw = a.w;
  let dx = b.w * ax + b.x * aw + b.y * az - b.z * ay;
  let dy = b.w * ay + b.y * aw + b.z * ax - b.x * az;
  let dz = b.w * az + b.z * aw + b.x * ay - b.y * ax;
  const dw = b.w * aw - b.x * ax - b.y * ay - b.z * az;
  if (dw < 0) { dx = -dx; dy = -dy; dz = -dz; }
  const s = 2 / dt;
  return out.set(dx * s, dy * s, dz * s);
}

/** Lowest point of a box (centre p, rotation q, half extents h) above the table. */
function lowestZ(ps: Pose, h: V3): number {
  const { x, y, z, w } = ps.q;
  // Third row of the rotation matrix.
  const r20 = 2 * (x * z - w * y), r21 = 2 * (y * z + w * x), r22 = 1 - 2 * (x * x + y * y);
  return ps.p.z - (Math.abs(r20) * h[0] + Math.abs(r21) * h[1] + Math.abs(r22) * h[2]);
}

export interface So101ArmOptions {
  world: World;
  /** Contact material of the jaws and links. */
  material: Material;
  params: ArmParams;
  /** End-effector start (the fingertip point, table frame) and its yaw. */
  start: V3;
  startYaw?: number;
  base?: ArmBase;
}

/** What the arm counted since reset (for failure analysis). */
export interface ArmReport {
  /** Substeps a link contact stopped every joint. */
  protectiveStops: number;
  /** Of those, stops by the table. */
  tableStops: number;
  /** Commands whose joint targets hit a joint limit. */
  limitHits: number;
  /** Commands whose target lay outside the reach with the tool down. */
  unreachable: number;
  /** Times the wrist began a half turn to keep the roll within its limits. */
  halfTurns: number;
  /** Links in contact with a block right now. */
  contacts: string[];
}

export class So101Arm implements SimRobot {
  readonly kind = 'so101' as const;
  readonly fingers: [Body, Body];
  readonly base: ArmBase;
  readonly params: ArmParams;
  readonly joints: ServoJoint[];
  /** Jaw servo (URDF `gripper` angle, rad). */
  readonly jaw: ServoJoint;
  grip = -1;
  /** A box the end-effector target is clipped to (world frame, m), or null (SimRobot.limit). */
  limit: { min: readonly number[]; max: readonly number[] } | null = null;
  readonly report: ArmReport = { protectiveStops: 0, tableStops: 0, limitHits: 0, unreachable: 0, halfTurns: 0, contacts: [] };
  private readonly world: World;
  private readonly links: Record<LinkName, Body>;
  private readonly now = new ArmFrames();
  private readonly next = new ArmFrames();
  /** Frames of the reported (encoder) joints, as of the last substep. */
  private readonly seen = new ArmFrames();
  private seenPose: EePose = [0, 0, 0, 0];
  private readonly moving: Body;
  /** Commanded end-effector target, table frame [x, y, z, yaw] (the driver's `target`). */
  private target: EePose;
  private readonly servo: { gain: number; speed: number };
  private readonly qNext = [0, 0, 0, 0, 0];
  private stopped = false;
  /** The tool point (from the encoders) when the present control step began, and the time since (s). */
  private readonly stepStartTip = new Vec3();
  private stepElapsed = 0;
  private readonly tipVelocity = new Vec3();
  private readonly linkByBody = new Map<Body, LinkName>();
  private readonly held = new Set<Body>();
  /** Pad opening at the last substep (m). */
  private lastWidth = 0;
  /** Substeps the jaw has been pressing on something without moving. */
  private stallSteps = 0;
  /** Normals (from the gripper into what it pushed on) of the protective stops since the last command. */
  private pushNormals: V3[] = [];
  /** The roll the current jaw line is reached with. */
  private rollAim = 0;

  constructor({ world, material, params, start, startYaw = 0, base = SO101_BASE }: So101ArmOptions) {
    this.world = world;
    this.params = params;
    this.base = base;
    this.servo = { gain: params.servoGain, speed: params.servoSpeed };
    const ik = inverseKinematics(toBase(base, [start[0], start[1], start[2], startYaw]), 0);
    this.joints = ik.joints.map((q, i) => new ServoJoint({
      // The roll starts at the half turn nearest the middle of its range (the jaw line is the same).
      angle: i === 4 ? jawLineYaw(wrapToPi(q), 0) : q, limits: JOINT_LIMITS[i], offset: params.jointOffset[i] ?? 0, backlash: params.backlash[i] ?? 0,
    }));
    this.jaw = new ServoJoint({ angle: jawAngleForGrip(-1), limits: JAW_LIMITS });
    this.see();
    this.target = this.reportedPose();
    this.target[3] = jawLineYaw(this.target[3], startYaw);
    this.rollAim = this.joints[4].motor;
    this.now.compute(this.linkAngles(), base);
    this.links = {} as Record<LinkName, Body>;
    for (const name of LINK_NAMES) {
      const [hx, hy, hz] = LINK_HALF[name];
      const b = new Body({
        type: Body.KINEMATIC, mass: 0, shape: new Box(new Vec3(hx, hy, hz)), material,
        collisionFilterGroup: GROUP_GRIPPER, collisionFilterMask: GROUP_OBJECT,
      });
      const ps = this.now.links[name];
      b.position.copy(ps.p);
      b.quaternion.copy(ps.q);
      world.addBody(b);
      this.links[name] = b;
      this.linkByBody.set(b, name);
    }
    const [mx, my, mz] = SO101_GRIPPER.movingJawHalf;
    this.moving = new Body({
      mass: JAW_MASS, shape: new Box(new Vec3(mx, my, mz)), material, fixedRotation: true, linearDamping: 0,
      collisionFilterGroup: GROUP_GRIPPER, collisionFilterMask: GROUP_OBJECT | GROUP_STATIC,
    });
    this.now.gripperPoint(this.jawCentreU(this.jaw.motor), 0, mz, this.moving.position);
    this.moving.quaternion.copy(this.now.gripper.q);
    world.addBody(this.moving);
    this.fingers = [this.links.finger_l, this.moving];
    this.tipPoint(this.stepStartTip);
  }

  // --- frames ---------------------------------------------------------------------------------

  private linkAngles(): number[] {
    return this.joints.map((j) => j.link);
  }

  /** The commanded end-effector target, table frame [x, y, z, yaw]. */
  targetPose(): EePose {
    return [this.target[0], this.target[1], this.target[2], this.target[3]];
  }

  /** Joint angles the encoders read (kinematic rad): what the robot reports. */
  motorAngles(): number[] {
    return this.joints.map((j) => j.motor);
  }

  /**
   * The point the arm is commanded by: the grasp point between the jaw pads (where the opening the
   * jaw servo reads puts it), 2.2 cm above the fingertips. Turning the wrist turns the jaws about it.
   */
  tool(): ToolOffset {
    // From the gripper servo's reading, as the driver of the real arm has it (a block held stalls it).
    return toolOffset(widthAt(this.jaw.motor));
  }

  /** The grasp point's pose from the reported joints (table frame): what the robot reports. */
  reportedPose(): EePose {
    return [this.seenPose[0], this.seenPose[1], this.seenPose[2], this.seenPose[3]];
  }

  /** Updates what the robot believes from its encoders. */
  private see(): void {
    const q = this.motorAngles();
    this.seen.compute(q, this.base);
    const tip = toTable(this.base, forwardKinematics(q));
    const t = this.tool();
    this.seen.gripperPoint(t.u, 0, t.s, _p);
    this.seenPose = [_p.x, _p.y, _p.z, tip[3]];
  }

  // --- the jaw --------------------------------------------------------------------------------

  /** x of the moving pad's centre in the gripper frame for a jaw angle. */
  private jawCentreU(angle: number): number {
    return JAW_FACE + Math.max(0, widthAt(angle)) + SO101_GRIPPER.movingJawHalf[0];
  }

  /**
   * The gripper servo's reading: its motor angle, which a block between the jaws holds where the
   * pads stalled on it (afterStep).
   */
  jawAngle(): number {
    return this.jaw.motor;
  }

  /** Grip (−1 open … 1 closed) the jaw's reading gives. */
  reportedGrip(): number {
    return gripForJawAngle(this.jawAngle());
  }

  // --- SimRobot -------------------------------------------------------------------------------

  /** The jaw line's yaw (a parallel gripper is the same at yaw and yaw + π), nearest the commanded one. */
  get yaw(): number {
    return jawLineYaw(this.seenPose[3], this.target[3]);
  }

  moveBy(dx: number, dy: number, dz: number, dyaw: number): void {
    this.beginStep();
    const t = this.target;
    if (this.pushNormals.length === 0) {
      this.setTarget([t[0] + dx, t[1] + dy, t[2] + dz, t[3] + dyaw]);
      return;
    }
    // After a protective stop of the gripper: neither the step nor the target's lead over the
    // present pose may go on into what it pushed on; along it they may.
    const p = this.seenPose;
    const lead: V3 = [t[0] - p[0], t[1] - p[1], t[2] - p[2]];
    const step: V3 = [dx, dy, dz];
    for (const n of this.pushNormals) {
      for (const v of [lead, step]) {
        const d = v[0] * n[0] + v[1] * n[1] + v[2] * n[2];
        if (d > 0) { v[0] -= d * n[0]; v[1] -= d * n[1]; v[2] -= d * n[2]; }
      }
    }
    this.pushNormals = [];
    this.setTarget([p[0] + lead[0] + step[0], p[1] + lead[1] + step[1], p[2] + lead[2] + step[2], t[3] + dyaw]);
  }

  /** The encoders' reading in LeRobot's units (lerobot.ts): 5 joints in degrees, the gripper 0–100. */
  lerobotState(out: Float32Array, offset: number): void {
    toLeRobot(this.motorAngles(), this.jawAngle(), out, offset);
  }

  /**
   * The joint goals (LeRobot's units) a step `[dx, dy, dz, dyaw]` (table frame, m and rad) with jaw
   * command `grip` would send from the present state, without sending it: the action a LeRobot
   * dataset records for that step.
   */
  lerobotGoalsFor(dx: number, dy: number, dz: number, dyaw: number, grip: number, out: Float32Array, offset: number): void {
    const t = this.target;
    const preview = commandJoints({
      base: this.base, desired: [t[0] + dx, t[1] + dy, t[2] + dz, t[3] + dyaw], present: this.motorAngles(), rollAim: this.rollAim,
      limits: JOINT_LIMITS, maxStep: MAX_RELATIVE_TARGET, floor: TIP_FLOOR, tool: this.tool(),
    });
    toLeRobot(preview.goals, jawAngleForGrip(grip), out, offset);
  }

  /** Sets the end-effector target (table frame, clipped to `limit` if set) and the joints' goals, as the driver does (command.ts). */
  setTarget(desired: readonly number[]): void {
    const l = this.limit;
    if (l) desired = desired.map((v, i) => (i < 3 ? Math.min(l.max[i], Math.max(l.min[i], v)) : v));
    const out = commandJoints({
      base: this.base, desired, present: this.motorAngles(), rollAim: this.rollAim,
      limits: JOINT_LIMITS, maxStep: MAX_RELATIVE_TARGET, floor: TIP_FLOOR, tool: this.tool(),
    });
    if (out.unreachable) this.report.unreachable++;
    if (out.limitHit) this.report.limitHits++;
    if (Math.abs(out.rollAim - this.rollAim) > Math.PI / 2) this.report.halfTurns++;
    out.goals.forEach((g, i) => { this.joints[i].goal = g; });
    this.rollAim = out.rollAim;
    this.target = out.target;
  }

  hold(): void {
    this.beginStep();
    for (const j of this.joints) j.goal = j.motor;
    const yaw = this.yaw;
    this.target = this.reportedPose();
    this.target[3] = yaw;
    this.rollAim = this.joints[4].motor;
    this.pushNormals = [];
  }

  control(dt: number, gravity: Vec3): void {
    const s = this.servo;
    for (let i = 0; i < 5; i++) {
      const j = this.joints[i];
      j.plan(s, dt);
      this.qNext[i] = j.linkAt(Math.min(j.hi, Math.max(j.lo, j.motor + j.velocity * dt)));
    }
    this.jaw.goal = jawAngleForGrip(this.grip);
    this.jaw.plan(s, dt);
    this.next.compute(this.qNext, this.base);
    this.stopped = this.mustStop(dt);
    if (this.stopped) this.next.compute(this.linkAngles(), this.base);
    // Kinematic links: the velocities that take them to their next poses.
    for (const name of LINK_NAMES) {
      const b = this.links[name], a = this.now.links[name], n = this.next.links[name];
      b.velocity.set((n.p.x - a.p.x) / dt, (n.p.y - a.p.y) / dt, (n.p.z - a.p.z) / dt);
      angularVelocity(a.q, n.q, dt, b.angularVelocity);
    }
    this.driveJaw(dt, gravity);
  }

  /** True when a link would push on into a block (harder than PROTECTIVE_STOP_N) or into the table. */
  private mustStop(dt: number): boolean {
    let stop = false, table = false;
    this.report.contacts.length = 0;
    // What the moving jaw presses on is held: the fixed jaw's push on it is the grip, not a collision.
    this.held.clear();
    for (const c of this.world.contacts) {
      if (c.multiplier <= 1e-6) continue;
      if (c.bi === this.moving) this.held.add(c.bj);
      else if (c.bj === this.moving) this.held.add(c.bi);
    }
    for (const c of this.world.contacts) {
      const arm = this.linkByBody.get(c.bi) ?? this.linkByBody.get(c.bj);
      if (!arm) continue;
      if (!this.report.contacts.includes(arm)) this.report.contacts.push(arm);
      if (stop || c.multiplier < PROTECTIVE_STOP_N) continue;
      if ((arm === 'finger_l' || arm === 'palm') && this.held.has(this.linkByBody.has(c.bi) ? c.bj : c.bi)) continue;
      const isI = this.linkByBody.has(c.bi);
      const body = isI ? c.bi : c.bj;
      // Contact point on the link, and the normal from the link into the other body.
      const r = isI ? c.ri : c.rj;
      _p.set(body.position.x + r.x, body.position.y + r.y, body.position.z + r.z);
      const sign = isI ? 1 : -1;
      // Where that point of the link goes: next pose · (now pose)⁻¹ · point.
      const a = this.now.links[arm], n = this.next.links[arm];
      a.q.conjugate(_q).vmult(_v.set(_p.x - a.p.x, _p.y - a.p.y, _p.z - a.p.z), _w);
      n.q.vmult(_w, _v);
      const vx = (n.p.x + _v.x - _p.x) / dt, vy = (n.p.y + _v.y - _p.y) / dt, vz = (n.p.z + _v.z - _p.z) / dt;
      // Into the contact, not merely along it (a tool a few degrees off vertical sliding up a block's side).
      const into = sign * (vx * c.ni.x + vy * c.ni.y + vz * c.ni.z);
      if (into > 1e-3 && into > 0.2 * Math.hypot(vx, vy, vz)) {
        stop = true;
        // A jaw or the gripper pushing on something: the next command slides along it instead (as the mount's stop does).
        if ((arm === 'finger_l' || arm === 'palm') && this.pushNormals.length < 8) this.pushNormals.push([sign * c.ni.x, sign * c.ni.y, sign * c.ni.z]);
      }
    }
    // The table: a link box may touch it and slide along it, but not press on more than 1 mm into
    // it. Its downward push is taken off the next command, as for a block.
    for (const name of LINK_NAMES) {
      const h = LINK_HALF[name];
      const zNext = lowestZ(this.next.links[name], h);
      if (zNext >= -TABLE_PRESS || zNext >= lowestZ(this.now.links[name], h)) continue;
      stop = true;
      table = true;
      if ((name === 'finger_l' || name === 'palm') && this.pushNormals.length < 8) this.pushNormals.push([0, 0, -1]);
    }
    if (stop) {
      this.report.protectiveStops++;
      if (table) this.report.tableStops++;
    }
    return stop;
  }

  /** The moving pad: rigid with the gripper on two axes, a force-limited servo along the opening. */
  private driveJaw(dt: number, gravity: Vec3): void {
    const f = this.moving, a = this.now, n = this.next;
    const ax = a.axes;
    const P = f.position;
    // The pad's coordinates in the present gripper frame.
    const rx = P.x - a.gripper.p.x, ry = P.y - a.gripper.p.y, rz = P.z - a.gripper.p.z;
    const u = rx * ax.x[0] + ry * ax.x[1] + rz * ax.x[2];
    const w = rx * ax.y[0] + ry * ax.y[1] + rz * ax.y[2];
    const s = rx * ax.z[0] + ry * ax.z[1] + rz * ax.z[2];
    // Velocity of the gripper-fixed point where the pad is.
    n.gripperPoint(u, w, s, _v);
    const fx = (_v.x - P.x) / dt, fy = (_v.y - P.y) / dt, fz = (_v.z - P.z) / dt;
    const invDt = 1 / dt;
    const half = SO101_GRIPPER.movingJawHalf;
    const vw = -w * invDt;
    const vs = (half[2] - s) * invDt;
    const vRel = (f.velocity.x - fx) * ax.x[0] + (f.velocity.y - fy) * ax.x[1] + (f.velocity.z - fz) * ax.x[2];
    // The pad goes where the servo turns it; a servo stalled on a block (or on the other jaw) still
    // drives toward its goal, pressing with its force limit.
    const pressing = this.stallSteps >= 3 && this.jaw.goal < this.jaw.motor;
    const jawAngle = pressing ? this.jaw.goal : this.jaw.motor + this.jaw.velocity * dt;
    const speed = this.servo.speed * JAW_RADIUS;
    let vWant = (JAW_FACE + widthAt(jawAngle) + half[0] - u) * invDt;
    if (vWant > speed) vWant = speed; else if (vWant < -speed) vWant = -speed;
    const dvMax = (this.params.gripForce * dt) / JAW_MASS;
    let dv = vWant - vRel;
    if (dv > dvMax) dv = dvMax; else if (dv < -dvMax) dv = -dvMax;
    let vu = vRel + dv;
    // Mechanical stops: the pad never passes the fixed jaw, nor opens past the jaw's reach.
    const inner = JAW_FACE + half[0], outer = JAW_FACE + SO101_GRIPPER.maxWidth + half[0];
    const nextU = u + vu * dt;
    if (nextU < inner) vu = (inner - u) * invDt;
    else if (nextU > outer) vu = (outer - u) * invDt;
    const nx = n.axes.x, ny = n.axes.y, nz = n.axes.z;
    f.velocity.set(
      fx + vu * nx[0] + vw * ny[0] + vs * nz[0],
      fy + vu * nx[1] + vw * ny[1] + vs * nz[1],
      fz + vu * nx[2] + vw * ny[2] + vs * nz[2],
    );
    f.quaternion.copy(n.gripper.q);
    angularVelocity(a.gripper.q, n.gripper.q, dt, f.angularVelocity);
    _v.copy(gravity);
    _v.scale(-f.mass, _v);
    f.force.vadd(_v, f.force);
  }

  afterStep(dt: number): void {
    for (const j of this.joints) j.advance(dt, this.stopped);
    this.jaw.advance(dt, false);
    // The jaws meet at angle 0: a mechanical stop the servo presses against when told to close further.
    if (this.jaw.motor < 0) {
      this.jaw.motor = 0;
      this.jaw.velocity = 0;
      this.stallSteps = 3;
    }
    this.see();
    this.now.compute(this.linkAngles(), this.base);
    for (const name of LINK_NAMES) {
      const b = this.links[name], ps = this.now.links[name];
      b.position.copy(ps.p);
      b.quaternion.copy(ps.q);
    }
    this.moving.quaternion.copy(this.now.gripper.q);
    // A jaw held open by a block stalls its servo there: the encoder reads the stalled angle.
    // (Stalled: for 3 substeps the servo has been closing while the pad stood still, wider than the
    // servo's angle makes it: on a block, or the jaws met. Past 90° the opening no longer follows.)
    const w = this.width();
    const j = this.jaw;
    const still = Math.abs(w - this.lastWidth) < 2e-4;
    this.lastWidth = w;
    if (j.goal >= j.motor || j.motor >= Math.PI / 2 || !still) this.stallSteps = 0;
    else if (j.motor <= 0 || w > widthAt(j.motor) + 2e-4 || this.stallSteps >= 3) this.stallSteps++;
    if (this.stallSteps >= 3 && j.motor > 0) {
      j.motor = Math.max(0, angleForWidth(w));
      j.velocity = 0;
    }
    this.tipPoint(_v);
    this.stepElapsed += dt;
    const t = this.stepElapsed, a = this.stepStartTip;
    this.tipVelocity.set((_v.x - a.x) / t, (_v.y - a.y) / t, (_v.z - a.z) / t);
  }

  /** The fingertip point on the roll axis from the reported joints (world). */
  private tipPoint(out: Vec3): Vec3 {
    const p = this.seenPose;
    return out.set(p[0], p[1], p[2]);
  }

  width(): number {
    const a = this.links.finger_l.position, b = this.moving.position;
    const x = this.now.axes.x;
    return (b.x - a.x) * x[0] + (b.y - a.y) * x[1] + (b.z - a.z) * x[2] - SO101_GRIPPER.fixedJawHalf[0] - SO101_GRIPPER.movingJawHalf[0];
  }

  widthRate(): number {
    const a = this.links.finger_l.velocity, b = this.moving.velocity;
    const x = this.now.axes.x;
    return (b.x - a.x) * x[0] + (b.y - a.y) * x[1] + (b.z - a.z) * x[2];
  }

  commandedWidth(): number {
    return widthAt(jawAngleForGrip(this.grip));
  }

  /**
   * Tool centre point: midway between the jaw pads, 2.2 cm above the fingertips (where the mount's
   * finger pads centre), from the reported joints: where the robot believes its grasp point is.
   */
  graspPoint(out: Vec3 = new Vec3()): Vec3 {
    return out.set(this.seenPose[0], this.seenPose[1], this.seenPose[2]);
  }

  /**
   * The tool point's velocity over the control step so far (from the encoders): what a robot that
   * reads its joints once per command sees. (Over a substep it would be mostly the servos' settling:
   * they reach a small step's goal well within the 50 ms.)
   */
  velocity(out: Vec3): Vec3 {
    return out.copy(this.tipVelocity);
  }

  /** A control step begins: the velocity is measured from here. */
  private beginStep(): void {
    this.tipPoint(this.stepStartTip);
    this.stepElapsed = 0;
  }

  bodies(firstId: number): BodyState[] {
    const out: BodyState[] = [];
    let id = firstId;
    const add = (name: string, kind: BodyState['kind'], b: Body, h: V3): void => {
      out.push({
        id: id++, name, kind, shape: { type: 'box', halfExtents: [h[0], h[1], h[2]] },
        position: [b.position.x, b.position.y, b.position.z], quaternion: [b.quaternion.x, b.quaternion.y, b.quaternion.z, b.quaternion.w],
      });
    };
    // The gripper parts first, in the mount's order (palm, left, right), then the arm.
    add('palm', 'palm', this.links.palm, LINK_HALF.palm);
    add('finger_l', 'finger', this.links.finger_l, LINK_HALF.finger_l);
    add('finger_r', 'finger', this.moving, SO101_GRIPPER.movingJawHalf);
    for (const name of ['arm_base', 'arm_shoulder', 'arm_upper', 'arm_lower', 'arm_wrist'] as const) add(name, 'link', this.links[name], LINK_HALF[name]);
    out.push({
      id: id++, name: 'riser', kind: 'link', shape: { type: 'box', halfExtents: [...RISER.half] as V3 },
      position: [...RISER.centre] as V3, quaternion: [0, 0, 0, 1],
    });
    return out;
  }

  state(): GripperState {
    const p = this.seenPose;
    return { position: [p[0], p[1], p[2]], yaw: jawLineYaw(p[3], this.target[3]), width: this.width(), grip: this.grip };
  }
}

/** The riser as a static physics body (blocks pushed against the arm's stand stop there). */
export function addRiser(world: World, material: Material): Body {
  const b = new Body({
    mass: 0, shape: new Box(new Vec3(RISER.half[0], RISER.half[1], RISER.half[2])), material,
    collisionFilterGroup: GROUP_STATIC, collisionFilterMask: GROUP_OBJECT,
  });
  b.position.set(RISER.centre[0], RISER.centre[1], RISER.centre[2]);
  world.addBody(b);
  return b;
}

/**
 * The SO-101's bodies (as the simulated arm's `bodies()` lists them) for joint angles and a jaw
 * angle alone, with the arm at `base`: how a viewer draws a real or emulated SO-101 from the
 * `joints` it reports. Ids from `firstId`.
 */
export function so101Bodies(joints: readonly number[], jaw: number, firstId: number, base: ArmBase = SO101_BASE): BodyState[] {
  const f = new ArmFrames();
  f.compute(joints, base);
  const out: BodyState[] = [];
  let id = firstId;
  const add = (name: string, kind: BodyState['kind'], ps: Pose, h: V3): void => {
    out.push({ id: id++, name, kind, shape: { type: 'box', halfExtents: [h[0], h[1], h[2]] }, position: [ps.p.x, ps.p.y, ps.p.z], quaternion: [ps.q.x, ps.q.y, ps.q.z, ps.q.w] });
  };
  add('palm', 'palm', f.links.palm, LINK_HALF.palm);
  add('finger_l', 'finger', f.links.finger_l, LINK_HALF.finger_l);
  const m = SO101_GRIPPER.movingJawHalf;
  const pad = { p: f.gripperPoint(JAW_FACE + Math.max(0, widthAt(jaw)) + m[0], 0, m[2], new Vec3()), q: f.gripper.q };
  add('finger_r', 'finger', pad, m);
  for (const name of ['arm_base', 'arm_shoulder', 'arm_upper', 'arm_lower', 'arm_wrist'] as const) add(name, 'link', f.links[name], LINK_HALF[name]);
  out.push({ id: id++, name: 'riser', kind: 'link', shape: { type: 'box', halfExtents: [...RISER.half] as V3 }, position: [...RISER.centre] as V3, quaternion: [0, 0, 0, 1] });
  return out;
}

/** Joints of the SO-101 scenarios' home pose: fingertips above the middle of the blocks' area, jaws along x. */
export function homeJoints(base: ArmBase = SO101_BASE): number[] {
  const h = SO101_AREA.home;
  const q = inverseKinematics(toBase(base, [h.x, h.y, (h.z[0] + h.z[1]) / 2, 0]), 0).joints;
  q[4] = jawLineYaw(wrapToPi(q[4]), 0);
  return q;
}
