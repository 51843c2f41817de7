/**
 * WorkspaceGuard: the robot's own check of the workspace box, on its own measured state, before
 * every move — the last of the bridge's layers (the hub clamps what it sends; the robot clamps
 * what it does), as industrial arm controllers keep a safe zone of their own.
 *
 * - `clampTarget(target, measured)`: each axis of a target is clipped into the box, widened to
 *   include the measured position (an arm that is outside may stay put or move back, never
 *   further out).
 * - `check(measured)`: a breach is the measured position beyond the box by more than the margin
 *   (tracking error, servo overshoot), or further out than it already was when the robot got its
 *   limits. The robot then stops and raises the e-stop.
 *
 * Pure arithmetic on plain numbers; every `Robot` holds one.
 */
import type { SafetyLimits } from '../protocol.ts';

export interface Box {
  min: readonly [number, number, number];
  max: readonly [number, number, number];
}

/** How far a point lies beyond a box (metres; 0 inside). */
export function excursion(p: readonly number[], box: Box): number {
  let e = 0;
  for (let i = 0; i < 3; i++) e = Math.max(e, p[i] - box.max[i], box.min[i] - p[i]);
  return e;
}

/** Default tolerance of the measured position beyond the box before the robot stops (5 mm). */
export const DEFAULT_WORKSPACE_MARGIN_M = 0.005;

export class WorkspaceGuard {
  readonly marginM: number;
  private boxValue: Box | null = null;
  /** Excursion tolerated now: the margin, or (after limits arrived with the arm outside) less and less of that. */
  private allowed: number;

  constructor(options: { marginM?: number } = {}) {
    this.marginM = options.marginM ?? DEFAULT_WORKSPACE_MARGIN_M;
    if (!(this.marginM >= 0 && this.marginM <= 0.1)) throw new RangeError(`workspace margin must be within [0, 0.1] m, got ${this.marginM}`);
    this.allowed = this.marginM;
  }

  get box(): Box | null {
    return this.boxValue;
  }

  /** The limits the hub enforces for this robot; `measured` is where the arm is now, if known. */
  setLimits(limits: Pick<SafetyLimits, 'workspace'> | null, measured?: readonly number[]): void {
    this.boxValue = limits ? { min: [...limits.workspace.min], max: [...limits.workspace.max] } : null;
    this.allowed = this.marginM;
    if (this.boxValue && measured) this.allowed = Math.max(this.marginM, excursion(measured, this.boxValue));
  }

  /** The arm was moved by something else (a new episode, a person): what is tolerated starts from where it is now. */
  rebase(measured: readonly number[]): void {
    this.allowed = this.boxValue ? Math.max(this.marginM, excursion(measured, this.boxValue)) : this.marginM;
  }

  /** Clips `target` (x, y, z; in place) into the box widened to include `measured`; true if it changed. */
  clampTarget(target: number[], measured: readonly number[]): boolean {
    const b = this.boxValue;
    if (!b) return false;
    let changed = false;
    for (let i = 0; i < 3; i++) {
      const lo = Math.min(b.min[i], measured[i]);
      const hi = Math.max(b.max[i], measured[i]);
      if (target[i] < lo || target[i] > hi) {
        target[i] = Math.max(lo, Math.min(hi, target[i]));
        changed = true;
      }
    }
    return changed;
  }

  /** The box a setpoint must stay in, given where the arm is (the box widened to include it). */
  clipBox(measured: readonly number[]): Box | null {
    const b = this.boxValue;
    if (!b) return null;
    return {
      min: [Math.min(b.min[0], measured[0]), Math.min(b.min[1], measured[1]), Math.min(b.min[2], measured[2])],
      max: [Math.max(b.max[0], measured[0]), Math.max(b.max[1], measured[1]), Math.max(b.max[2], measured[2])],
    };
  }

  /** null when the measured position is acceptable, else what is wrong (the robot must stop). */
  check(measured: readonly number[]): string | null {
    const b = this.boxValue;
    if (!b) return null;
    const e = excursion(measured, b);
    if (e > this.allowed + 1e-9) {
      return `end effector ${(e * 1000).toFixed(1)} mm outside the workspace box (tolerance ${(this.allowed * 1000).toFixed(1)} mm) at [${measured.slice(0, 3).map((v) => v.toFixed(4)).join(', ')}]`;
    }
    // Coming back in: what was tolerated shrinks with it.
    this.allowed = Math.max(this.marginM, Math.min(this.allowed, e));
    return null;
  }
}
