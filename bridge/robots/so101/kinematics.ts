/**
 * SO-101 arm kinematics for an end-effector command `[x, y, z, yaw]` with the gripper pointing
 * straight down (a top-down grasp, which is what the simulator's 4-DoF gripper mount does).
 *
 * Geometry (metres), measured from TheRobotStudio's SO-101 URDF (joint origins), reduced to a
 * planar chain in the vertical plane the arm turns in:
 *
 *   shoulder_pan axis: vertical, through the base frame origin (on the mounting plane)
 *   h  = 0.1166  height of the shoulder_lift axis above the mounting plane (0.0624 + 0.0542)
 *   d  = 0.0304  horizontal offset from the pan axis to the shoulder_lift axis
 *   L1 = 0.1160  shoulder_lift → elbow_flex   (|(0.11257, 0.028)|)
 *   L2 = 0.1350  elbow_flex → wrist_flex      (|(0.1349, 0.0052)|)
 *   L3 = 0.1592  wrist_flex → point between the fingertips (0.0611 + 0.0981)
 *
 * The small sideways offsets of the URDF (−0.0183 m at the shoulder, +0.0181 m at the wrist)
 * nearly cancel and are ignored; the small bends of the upper arm and forearm links (14° and 2°)
 * are absorbed into the calibration's `zero_offset_rad`.
 *
 * Joint convention (radians):
 *   pan   about +z; 0 = reaching along base +x, positive counter-clockwise seen from above
 *   lift  elevation of the upper arm above horizontal (0 = horizontal, +π/2 = straight up)
 *   elbow forearm relative to upper arm (0 = straight; negative folds the forearm down)
 *   flex  tool axis relative to forearm (0 = in line; negative tips the tool down)
 *   roll  jaws about the tool axis; with the tool vertical, jaw yaw = pan + roll
 *
 * Forward: with φ1 = lift, φ2 = φ1 + elbow, φ3 = φ2 + flex,
 *   r = d + L1 cos φ1 + L2 cos φ2 + L3 cos φ3,  z = h + L1 sin φ1 + L2 sin φ2 + L3 sin φ3,
 *   x = r cos pan, y = r sin pan, yaw = pan + roll.
 * Inverse (closed form, elbow up, tool down φ3 = −π/2): pan = atan2(y, x); the wrist axis sits L3
 * above the target, at (r − d, z + L3 − h) from the shoulder; the two-link law of cosines gives
 * elbow = −acos(D), lift = atan2(zw, rw) − atan2(L2 sin elbow, L1 + L2 cos elbow);
 * flex = −π/2 − lift − elbow; roll = yaw − pan. Targets out of reach are pulled onto the reachable
 * shell (and reported as such).
 */

export interface ArmGeometry {
  h: number;
  d: number;
  L1: number;
  L2: number;
  L3: number;
}

export const SO101_GEOMETRY: ArmGeometry = { h: 0.1166, d: 0.0304, L1: 0.116, L2: 0.135, L3: 0.1592 };

/** [pan, lift, elbow, flex, roll] in radians. */
export type ArmJoints = [number, number, number, number, number];
/** [x, y, z, yaw] in the arm's base frame. */
export type EePose = [number, number, number, number];

export function wrapToPi(a: number): number {
  const t = (a + Math.PI) % (2 * Math.PI);
  return (t < 0 ? t + 2 * Math.PI : t) - Math.PI;
}

/** The angle equal to `a` modulo 2π that lies nearest to `ref`. */
export function unwrapNear(a: number, ref: number): number {
  return ref + wrapToPi(a - ref);
}

export function forwardKinematics(q: readonly number[], g: ArmGeometry = SO101_GEOMETRY): EePose {
  const [pan, lift, elbow, flex, roll] = q;
  const p1 = lift;
  const p2 = p1 + elbow;
  const p3 = p2 + flex;
  const r = g.d + g.L1 * Math.cos(p1) + g.L2 * Math.cos(p2) + g.L3 * Math.cos(p3);
  const z = g.h + g.L1 * Math.sin(p1) + g.L2 * Math.sin(p2) + g.L3 * Math.sin(p3);
  return [r * Math.cos(pan), r * Math.sin(pan), z, pan + roll];
}

export interface IkResult {
  joints: ArmJoints;
  /** False when the target was out of reach and was moved onto the reachable shell. */
  reachable: boolean;
}

/**
 * Inverse kinematics for a top-down tool. `panHint` is used when the target lies on the pan axis
 * (where pan is undefined).
 */
export function inverseKinematics(target: readonly number[], panHint = 0, g: ArmGeometry = SO101_GEOMETRY): IkResult {
  const [x, y, z, yaw] = target;
  let r = Math.hypot(x, y);
  const pan = r < 1e-6 ? panHint : Math.atan2(y, x);
  let reachable = true;
  let rw = r - g.d;
  let zw = z + g.L3 - g.h;
  const rho = Math.hypot(rw, zw);
  const minR = Math.abs(g.L1 - g.L2) + 1e-6;
  const maxR = g.L1 + g.L2 - 1e-6;
  if (rho > maxR || rho < minR) {
    reachable = false;
    const s = rho < 1e-9 ? 1 : Math.max(minR, Math.min(maxR, rho)) / rho;
    rw = rho < 1e-9 ? minR : rw * s;
    zw *= s;
    r = rw + g.d;
  }
  const D = Math.max(-1, Math.min(1, (rw * rw + zw * zw - g.L1 * g.L1 - g.L2 * g.L2) / (2 * g.L1 * g.L2)));
  const elbow = -Math.acos(D);
  const lift = Math.atan2(zw, rw) - Math.atan2(g.L2 * Math.sin(elbow), g.L1 + g.L2 * Math.cos(elbow));
  const flex = -Math.PI / 2 - lift - elbow;
  const roll = wrapToPi(yaw - pan);
  return { joints: [pan, lift, elbow, flex, roll], reachable };
}
