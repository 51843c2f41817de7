/**
 * The robots a scene can hold, behind one small interface: the gripper on its 4-DoF mount
 * (gripper.ts, the default) and the SO-101 arm (so101/arm.ts). Tasks, experts, the environment and
 * the renderer see only this: end-effector actions in, a tool centre point, a yaw, two jaws and
 * plain-data bodies out.
 *
 * Each robot also says where tasks may lay blocks out (`LayoutArea`): the mount reaches anywhere
 * over the table; the SO-101 only within its arm's reach in front of its base.
 */
import type { Body, Vec3 } from 'cannon-es';
import type { BodyState, GripperState } from '../state.ts';

export const ROBOT_KINDS = ['mount', 'so101'] as const;
export type RobotKind = (typeof ROBOT_KINDS)[number];

export interface SimRobot {
  readonly kind: RobotKind;
  /** The two bodies a grasped block is held between: [left or fixed jaw, right or moving jaw]. */
  readonly fingers: [Body, Body];
  /** Yaw of the opening axis about world z (rad), as the robot reports it. */
  readonly yaw: number;
  /** Jaw command in [-1 (open), 1 (closed)]. */
  grip: number;
  /**
   * A box (world frame, m) the end-effector target is clipped to, or null: the software limits of
   * whoever drives the robot (an emulated robot's safe zone keeps the bridge's workspace box here).
   */
  limit: { min: readonly number[]; max: readonly number[] } | null;
  /** Moves the end-effector setpoint by a step (table frame, m and rad). */
  moveBy(dx: number, dy: number, dz: number, dyaw: number): void;
  /** Stops where it is: the setpoint becomes the present pose. */
  hold(): void;
  /** Drives the robot's bodies for the coming substep of length `dt`. Call before `world.step(dt)`. */
  control(dt: number, gravity: Vec3): void;
  /** Bookkeeping after `world.step(dt)`. */
  afterStep(dt: number): void;
  /** Inner distance between the jaws (m). */
  width(): number;
  /** How fast the jaws open (m/s; negative while closing). */
  widthRate(): number;
  /** The opening the jaw command asks for (m): what the jaws close to when nothing is between them. */
  commandedWidth(): number;
  /** Tool centre point: midway between the jaw pads (world frame). */
  graspPoint(out?: Vec3): Vec3;
  /** Velocity of the end effector (m/s). */
  velocity(out: Vec3): Vec3;
  /** The robot's bodies as SimState bodies, numbered from `firstId`. */
  bodies(firstId: number): BodyState[];
  /** The end effector as SimState's `gripper`. */
  state(): GripperState;
}

/** Where a task may place things for a robot (world frame, m). */
export interface LayoutArea {
  /** Rectangle blocks may start in. */
  x: [number, number];
  y: [number, number];
  /** Smaller rectangle for a single central object (the grasp target, the pushed block). */
  centre: { x: [number, number]; y: [number, number] };
  /** Rectangles where nothing may start (a robot's base). */
  keepOut: Array<{ x: [number, number]; y: [number, number] }>;
  /** Where the end effector starts: within ±spread of (x, y), z in range. */
  home: { x: number; y: number; spread: number; z: [number, number] };
}

/** True if a circle of `radius` at (x, y) overlaps a keep-out rectangle. */
export function inKeepOut(area: LayoutArea, x: number, y: number, radius: number): boolean {
  for (const k of area.keepOut) {
    const dx = Math.max(k.x[0] - x, 0, x - k.x[1]);
    const dy = Math.max(k.y[0] - y, 0, y - k.y[1]);
    if (Math.hypot(dx, dy) < radius) return true;
  }
  return false;
}

/** The mount reaches the whole table: blocks within ±16 cm, the palm starting near the centre. */
export const MOUNT_AREA: LayoutArea = {
  x: [-0.16, 0.16],
  y: [-0.16, 0.16],
  centre: { x: [-0.1, 0.1], y: [-0.1, 0.1] },
  keepOut: [],
  home: { x: 0, y: 0, spread: 0.05, z: [0.17, 0.22] },
};
