/**
 * SO-101 arm kinematics, shared by the simulated arm (sim/robot/so101/arm.ts) and the real driver
 * (bridge/robots/so101/so101.ts), for an end-effector command `[x, y, z, yaw]` with the gripper
 * pointing straight down (a top-down grasp, what the simulator's end-effector actions command).
 *
 * Every number comes from TheRobotStudio's SO-101 URDF, `Simulation/SO101/so101_new_calib.urdf`
 * in github.com/TheRobotStudio/SO-ARM100 (the URDF LeRobot's SO-101 configuration recommends:
 * lerobot/robots/so101_follower/config_so101_follower.py), reduced to a planar chain in the
 * vertical plane the arm turns in. The base frame is the URDF's `baseframe` (the mounting plane
 * under the pan axis), turned so that +x is where the arm reaches at pan 0.
 *
 *   shoulder_pan axis: vertical, through the base frame origin
 *   h  = 0.1166  height of the shoulder_lift axis above the mounting plane (0.0949 + 0.0542 − 0.0325)
 *   d  = 0.0304  horizontal offset from the pan axis to the shoulder_lift axis
 *   L1 = 0.1160  shoulder_lift → elbow_flex   (|(0.11257, 0.028)|)
 *   L2 = 0.1350  elbow_flex → wrist_flex      (|(0.1349, 0.0052)|)
 *   L3 = 0.1592  wrist_flex → the point between the fingertips on the roll axis (0.0611 + 0.0981,
 *                wrist_roll origin + gripperframe)
 *
 * The small sideways offsets of the URDF (−0.0183 m at the shoulder, +0.0181 m at the wrist) nearly
 * cancel and are ignored, as is the gripperframe's 8 mm off the roll axis; the model is checked
 * against the URDF's own chain in tests/sim/so101.test.ts.
 *
 * Joint convention (radians), the "kinematic" angles:
 *   pan   about +z; 0 = reaching along base +x, positive counter-clockwise seen from above
 *   lift  elevation of the upper arm above horizontal (0 = horizontal, +π/2 = straight up)
 *   elbow forearm relative to upper arm (0 = straight; negative folds the forearm down)
 *   flex  tool axis relative to forearm (0 = in line; negative tips the tool down)
 *   roll  jaws about the tool axis; with the tool vertical, jaw yaw = pan + roll, the yaw of the
 *         opening axis (from the fixed jaw toward the moving one; at roll 0 it points away from the base)
 * The URDF's joint angles (= LeRobot's joint degrees, which LeRobot's own SO-101 end-effector
 * control feeds to this URDF: lerobot/robots/so101_follower/so101_follower_end_effector.py) map to
 * these by `kinematic = URDF_SIGN · urdf + URDF_ZERO` (URDF_ZERO: the kinematic pose of the URDF's
 * zero, the middle of every range, which is where LeRobot's calibration puts each joint's zero).
 *
 * Forward: with φ1 = lift, φ2 = φ1 + elbow, φ3 = φ2 + flex,
 *   r = d + L1 cos φ1 + L2 cos φ2 + L3 cos φ3,  z = h + L1 sin φ1 + L2 sin φ2 + L3 sin φ3,
 *   x = r cos pan, y = r sin pan, yaw = pan + roll.
 * Inverse (closed form, elbow up, tool down φ3 = −π/2): pan = atan2(y, x); the wrist axis sits L3
 * above the target, at (r − d, z + L3 − h) from the shoulder; the two-link law of cosines gives
 * elbow = −acos(D), lift = atan2(zw, rw) − atan2(L2 sin elbow, L1 + L2 cos elbow);
 * flex = −π/2 − lift − elbow; roll = yaw − pan. Targets out of reach are pulled onto the reachable
 * shell (and reported as such).
 *
 * Joint limits (JOINT_LIMITS, kinematic radians) are the URDF's `<limit lower upper>` of each joint
 * carried through the map above: pan ±1.91986, lift ±1.74533, elbow ±1.69, wrist_flex ±1.65806,
 * wrist_roll ±2.79253 around the URDF zero. With the tool pointing down, the wrist_flex limit keeps
 * the fingertips at most ~9 cm above the mounting plane (the forearm cannot point upward while
 * the tool points down), which is why the simulated arm stands on a riser (robot.ts).
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

/** Names of the arm joints, in order (LeRobot's motor names; the gripper is the sixth motor). */
export const ARM_JOINT_NAMES = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll'] as const;

/** kinematic = URDF_SIGN · urdf + URDF_ZERO, per arm joint (so101_new_calib.urdf). */
export const URDF_SIGN: readonly number[] = [-1, -1, -1, -1, 1];
/**
 * The kinematic angles of the URDF's zero pose: upper arm 76° up (atan2(0.11257, 0.028)), forearm
 * 2.2° up (atan2(0.0052, 0.1349)), tool horizontal.
 */
export const URDF_ZERO: readonly number[] = [0, Math.atan2(0.11257, 0.028), Math.atan2(0.0052, 0.1349) - Math.atan2(0.11257, 0.028), -Math.atan2(0.0052, 0.1349), 0];
/** The URDF's `<limit>` of each arm joint (symmetric about its zero), radians. */
export const URDF_LIMITS: readonly number[] = [1.91986, 1.74533, 1.69, 1.65806, 2.79253];

export function urdfToKinematic(i: number, urdf: number): number {
  return URDF_SIGN[i] * urdf + URDF_ZERO[i];
}

export function kinematicToUrdf(i: number, kinematic: number): number {
  return URDF_SIGN[i] * (kinematic - URDF_ZERO[i]);
}

/** [lo, hi] of each arm joint in kinematic radians. */
export const JOINT_LIMITS: ReadonlyArray<readonly [number, number]> = URDF_LIMITS.map((l, i) => {
  const a = urdfToKinematic(i, -l), b = urdfToKinematic(i, l);
  return [Math.min(a, b), Math.max(a, b)] as const;
});

/** The jaw (URDF joint `gripper`): lower limit −0.174533 rad (pressed shut), upper 1.74533 rad (open). */
export const JAW_LIMITS: readonly [number, number] = [-0.174533, 1.74533];

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

/** True when every arm joint lies within JOINT_LIMITS (with `margin` radians to spare). */
export function withinLimits(q: readonly number[], margin = 0): boolean {
  for (let i = 0; i < 5; i++) if (q[i] < JOINT_LIMITS[i][0] + margin || q[i] > JOINT_LIMITS[i][1] - margin) return false;
  return true;
}

/**
 * Joint goals one control step may command: each goal first clipped to its limits (`limits`), then
 * every joint's move from `present` scaled by one common factor so that none exceeds `maxStep`
 * radians (LeRobot's `max_relative_target` bounds each motor's step; scaling them together keeps
 * the step on the way to the goal, so a tool pointing down stays pointing down). Writes `out`;
 * returns true when a limit clipped a goal.
 */
export function stepToward(present: readonly number[], goal: readonly number[], limits: ReadonlyArray<readonly [number, number]>, maxStep: number, out: number[]): boolean {
  let clipped = false, largest = 0;
  for (let i = 0; i < goal.length; i++) {
    const [lo, hi] = limits[i];
    const g = Math.max(lo, Math.min(hi, goal[i]));
    if (g !== goal[i]) clipped = true;
    out[i] = g;
    largest = Math.max(largest, Math.abs(g - present[i]));
  }
  const s = largest > maxStep ? maxStep / largest : 1;
  for (let i = 0; i < goal.length; i++) out[i] = present[i] + s * (out[i] - present[i]);
  return clipped;
}

/**
 * The wrist roll for a jaw line: a parallel gripper grips the same pair of faces at yaw and at
 * yaw + π, so of `wanted` (already unwrapped near `present`) and the rolls half a turn either side,
 * the one within the roll limits nearest `present` is commanded (the least turning; and a roll past
 * its limit is never needed). Returns the roll to command.
 */
export function chooseRoll(wanted: number, present: number): number {
  const [lo, hi] = JOINT_LIMITS[4];
  let best = Math.max(lo, Math.min(hi, wanted)), bestDist = Infinity;
  for (const r of [wanted, wanted - Math.PI, wanted + Math.PI]) {
    const d = Math.abs(r - present);
    if (r >= lo && r <= hi && d < bestDist) { best = r; bestDist = d; }
  }
  return best;
}

/** `physical` yaw moved by whole half turns to lie within ±π/2 of `reference`: the jaw line's yaw as commanded. */
export function jawLineYaw(physical: number, reference: number): number {
  return physical + Math.PI * Math.round((reference - physical) / Math.PI);
}
