/**
 * The command clamp: turns what a controller asked for into what a robot may do. Pure arithmetic
 * over plain numbers; the hub owns one per leased robot and feeds it the pose estimate.
 *
 * Every command becomes an absolute end-effector target T = [x, y, z, yaw] plus a grip:
 * - `ee_target`: T is the request.
 * - `ee_delta`: T = anchor + request (metres, radians).
 * - `ee_delta_normalized`: each request component is clipped to [-1, 1], then T = anchor + request ⊙ maxDelta.
 *
 * The anchor is the hub's estimate of where the robot's end-effector is: the last reported pose,
 * plus (for delta forms) every delta sent since that observation. Then, in order:
 * 1. workspace box and yaw range: T is clipped into them;
 * 2. step: T is pulled back toward the anchor until |T − anchor| ≤ maxStep (linear is Euclidean
 *    over x, y, z; angular is |yaw − anchor yaw|), the `max_relative_target` rule of LeRobot;
 * 3. velocity: the motion of the target since the previous command, |T − T_prev|, is paid from a
 *    token bucket refilled at maxVelocity (one maxStep deep), so a controller sending faster
 *    cannot move faster;
 * 4. grip: clipped to [-1, 1] and to maxStep.grip from the previous grip.
 * Each stage only moves T along a segment between two points that satisfy the earlier stages
 * (the box and the ball are convex), so the result satisfies all of them at once. The action
 * returned is expressed back in the robot's form: it is exactly what the robot is sent.
 */
import type { ActionSpec, ActionVector, ClampReason, SafetyLimits } from '../protocol.ts';

export type Pose4 = [number, number, number, number];

export interface ClampResult {
  /** The action to send, in the robot's form. */
  sent: ActionVector;
  /** The absolute target it amounts to: [x, y, z, yaw, grip]. */
  target: ActionVector;
  clamped: ClampReason[];
}

const EPS = 1e-12;

export class CommandClamp {
  readonly limits: SafetyLimits;
  readonly action: ActionSpec;
  private prevTarget: Pose4 | null = null;
  private prevGrip: number | null = null;
  private linearTokens: number;
  private angularTokens: number;
  private lastRefill: number | null = null;

  constructor(limits: SafetyLimits, action: ActionSpec) {
    this.limits = limits;
    this.action = action;
    this.linearTokens = limits.maxStep.linear;
    this.angularTokens = limits.maxStep.angular;
  }

  /** Forget the previous target (a new lease, a hold, a reset): the next command starts from the anchor. */
  restart(): void {
    this.prevTarget = null;
    this.prevGrip = null;
    this.linearTokens = this.limits.maxStep.linear;
    this.angularTokens = this.limits.maxStep.angular;
    this.lastRefill = null;
  }

  /**
   * @param request the controller's 5 numbers (finite; the parser guarantees it)
   * @param anchor  the estimated current pose [x, y, z, yaw]
   * @param grip    the last known grip, if any
   * @param nowMs   hub clock, for the velocity bucket
   */
  clamp(request: readonly number[], anchor: Pose4, grip: number | null, nowMs: number): ClampResult {
    const L = this.limits;
    const reasons = new Set<ClampReason>();
    this.refill(nowMs);

    // Desired absolute target.
    const t: Pose4 = [0, 0, 0, 0];
    const form = this.action.form;
    if (form === 'ee_target') {
      for (let i = 0; i < 4; i++) t[i] = request[i];
    } else {
      const scale = form === 'ee_delta_normalized' ? this.action.maxDelta! : [1, 1, 1, 1];
      for (let i = 0; i < 4; i++) {
        let r = request[i];
        if (form === 'ee_delta_normalized' && (r > 1 || r < -1)) {
          r = Math.max(-1, Math.min(1, r));
          reasons.add('normalized_range');
        }
        t[i] = anchor[i] + r * scale[i];
      }
    }

    // 1. Workspace box and yaw range.
    // An anchor outside the box (a robot that started outside) may stay put or move toward it.
    for (let i = 0; i < 3; i++) {
      const lo = Math.min(L.workspace.min[i], anchor[i]);
      const hi = Math.max(L.workspace.max[i], anchor[i]);
      if (t[i] < lo || t[i] > hi) {
        t[i] = Math.max(lo, Math.min(hi, t[i]));
        reasons.add('workspace');
      }
    }
    {
      const lo = Math.min(L.yaw[0], anchor[3]);
      const hi = Math.max(L.yaw[1], anchor[3]);
      if (t[3] < lo || t[3] > hi) {
        t[3] = Math.max(lo, Math.min(hi, t[3]));
        reasons.add('yaw');
      }
    }

    // 2. Step: stay within maxStep of the anchor.
    const dl = Math.hypot(t[0] - anchor[0], t[1] - anchor[1], t[2] - anchor[2]);
    if (dl > L.maxStep.linear + EPS) {
      const s = L.maxStep.linear / dl;
      for (let i = 0; i < 3; i++) t[i] = anchor[i] + (t[i] - anchor[i]) * s;
      reasons.add('step_linear');
    }
    const da = Math.abs(t[3] - anchor[3]);
    if (da > L.maxStep.angular + EPS) {
      t[3] = anchor[3] + Math.sign(t[3] - anchor[3]) * L.maxStep.angular;
      reasons.add('step_angular');
    }

    // 3. Velocity: motion of the target since the previous command, paid from the buckets. For
    // delta forms the anchor already includes the previous delta, so the reference is the anchor;
    // for targets it is the previous target if that still lies within the step ball.
    let ref: Pose4 = anchor;
    const p = this.prevTarget;
    if (form === 'ee_target' && p && Math.hypot(p[0] - anchor[0], p[1] - anchor[1], p[2] - anchor[2]) <= L.maxStep.linear + EPS && Math.abs(p[3] - anchor[3]) <= L.maxStep.angular + EPS) ref = p;
    const ml = Math.hypot(t[0] - ref[0], t[1] - ref[1], t[2] - ref[2]);
    if (ml > this.linearTokens + EPS) {
      const s = this.linearTokens / ml;
      for (let i = 0; i < 3; i++) t[i] = ref[i] + (t[i] - ref[i]) * s;
      reasons.add('velocity_linear');
    }
    const ma = Math.abs(t[3] - ref[3]);
    if (ma > this.angularTokens + EPS) {
      t[3] = ref[3] + Math.sign(t[3] - ref[3]) * this.angularTokens;
      reasons.add('velocity_angular');
    }
    this.linearTokens = Math.max(0, this.linearTokens - Math.min(ml, this.linearTokens));
    this.angularTokens = Math.max(0, this.angularTokens - Math.min(ma, this.angularTokens));

    // 4. Grip.
    let g = request[4];
    if (g > 1 || g < -1) {
      g = Math.max(-1, Math.min(1, g));
      reasons.add('grip_range');
    }
    const gPrev = this.prevGrip ?? grip;
    if (gPrev !== null && Math.abs(g - gPrev) > L.maxStep.grip + EPS) {
      g = gPrev + Math.sign(g - gPrev) * L.maxStep.grip;
      reasons.add('step_grip');
    }

    this.prevTarget = t;
    this.prevGrip = g;

    const target: ActionVector = [t[0], t[1], t[2], t[3], g];
    let sent: ActionVector;
    if (form === 'ee_target') sent = [t[0], t[1], t[2], t[3], g];
    else {
      const scale = form === 'ee_delta_normalized' ? this.action.maxDelta! : [1, 1, 1, 1];
      sent = [(t[0] - anchor[0]) / scale[0], (t[1] - anchor[1]) / scale[1], (t[2] - anchor[2]) / scale[2], (t[3] - anchor[3]) / scale[3], g];
      if (form === 'ee_delta_normalized') for (let i = 0; i < 4; i++) sent[i] = Math.max(-1, Math.min(1, sent[i]));
    }
    return { sent, target, clamped: [...reasons] };
  }

  private refill(nowMs: number): void {
    if (this.lastRefill === null) {
      this.lastRefill = nowMs;
      return;
    }
    const dt = Math.max(0, (nowMs - this.lastRefill) / 1000);
    this.lastRefill = nowMs;
    this.linearTokens = Math.min(this.limits.maxStep.linear, this.linearTokens + dt * this.limits.maxVelocity.linear);
    this.angularTokens = Math.min(this.limits.maxStep.angular, this.angularTokens + dt * this.limits.maxVelocity.angular);
  }
}

/**
 * The check the fuzz test and the bench apply to every command a robot received: does the target
 * it implies satisfy the limits, relative to the anchor the hub used? (Tolerance for rounding.)
 */
export function targetWithinLimits(target: readonly number[], anchor: Pose4, limits: SafetyLimits, tol = 1e-9): string | null {
  for (let i = 0; i < 3; i++) {
    const lo = Math.min(limits.workspace.min[i], anchor[i]);
    const hi = Math.max(limits.workspace.max[i], anchor[i]);
    if (target[i] < lo - tol || target[i] > hi + tol) return `axis ${'xyz'[i]} target ${target[i]} outside workspace`;
  }
  if (Math.hypot(target[0] - anchor[0], target[1] - anchor[1], target[2] - anchor[2]) > limits.maxStep.linear + tol) return 'linear step above maxStep';
  if (Math.abs(target[3] - anchor[3]) > limits.maxStep.angular + tol) return 'yaw step above maxStep';
  if (target[4] < -1 - tol || target[4] > 1 + tol) return 'grip outside [-1, 1]';
  return null;
}
