/**
 * SimState: the plain-data picture of one simulated moment. It is what the renderer draws, what
 * the viewer streams, what datasets record as ground truth. No cannon-es or three.js objects here:
 * only numbers, strings and arrays, so it crosses threads, sockets and files unchanged.
 *
 * Frames: right-handed, z up, metres, radians. The table top is the plane z = 0; the robot's
 * workspace is centred on the origin. Quaternions are [x, y, z, w].
 */

export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number];

export type BodyKind = 'table' | 'block' | 'distractor' | 'palm' | 'finger' | 'link';

export type ShapeSpec =
  | { type: 'box'; halfExtents: Vec3 }
  | { type: 'sphere'; radius: number }
  | { type: 'cylinder'; radius: number; halfHeight: number }
  | { type: 'plane' };

export interface BodyState {
  /**
   * Stable within an episode and equal to the instance id in segmentation images
   * (0 is reserved for "nothing": background).
   */
  id: number;
  /**
   * Unique within an episode: `table`, `block0`…, `distractor0`…, `palm`, `finger_l`, `finger_r`;
   * with the SO-101 (`palm` its gripper body, `finger_l`/`finger_r` its fixed and moving jaw) also
   * `arm_base`, `arm_shoulder`, `arm_upper`, `arm_lower`, `arm_wrist` and `riser` (kind `link`).
   */
  name: string;
  kind: BodyKind;
  shape: ShapeSpec;
  position: Vec3;
  quaternion: Quat;
}

export interface GripperState {
  /** Palm centre in the world frame (the SO-101: the fingertip point on its roll axis, as it reports it). */
  position: Vec3;
  /** Rotation of the gripper about world z. */
  yaw: number;
  /** Inner distance between the fingers, metres. */
  width: number;
  /** Last finger command in [-1 (open), 1 (closed)]. */
  grip: number;
}

export interface SimState {
  /** Simulated seconds since reset. */
  time: number;
  /** Control steps since reset. */
  step: number;
  task: string;
  /** Which robot the scene holds (absent: the gripper on its 4-DoF mount). */
  robot?: 'mount' | 'so101';
  bodies: BodyState[];
  gripper: GripperState;
  /** Task-specific targets to draw (e.g. the goal of Reach/Push), world frame. */
  goals: Vec3[];
}
