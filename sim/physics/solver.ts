/**
 * A warm-started projected Gauss-Seidel solver with friction anchors, for cannon-es.
 *
 * cannon-es's GSSolver starts every step from zero impulses and its friction only opposes relative
 * velocity. A resting stack then never converges (each step redoes the work from scratch with a
 * few iterations) and whatever velocity error is left is free to accumulate as creep. Two
 * standard remedies from game and robotics engines, both here:
 *
 * - Warm starting (Box2D, Bullet, PhysX): each contact and friction row starts from a fraction of
 *   the impulse it carried last step. Rows are matched across steps by body pair, kind, contact
 *   point in body i's frame (within `matchDistance`) and direction.
 * - Friction anchors: a friction row remembers where its contact started on both bodies and adds
 *   the tangential drift since then to its SPOOK right-hand side, the way a contact row uses its
 *   penetration. Static friction then holds position, not only velocity. When the drift exceeds
 *   `anchorSlip` the contact is sliding, and the anchor moves to the current point.
 *
 * - Coulomb friction: cannon-es clamps a friction row's impulse by mu·|g|·reduced mass, a force
 *   compared with an impulse, so friction does not depend on how hard surfaces press (a finger
 *   brushing a block's side could lift it). Here each friction row is bounded by mu times the
 *   current normal impulse of its own contact, every iteration, as Box2D and Bullet do.
 *
 * The iteration itself is cannon-es's SPOOK Gauss-Seidel (same equations, same B, C and eps), so
 * stiffness/relaxation settings keep their meaning. Nothing is allocated per step once the
 * buffers have grown to the largest contact count seen.
 */
import { FrictionEquation, Quaternion, Solver, Vec3 } from 'cannon-es';
import type { Body, ContactEquation, Equation, World } from 'cannon-es';
import type { CoulombFriction } from './box-contacts.ts';

export interface WarmStartSolverOptions {
  /** Gauss-Seidel sweeps per step. Default 10. */
  iterations?: number;
  /** Stop early when the summed impulse change of a sweep is below this. Default 1e-7. */
  tolerance?: number;
  /** Fraction of last step's impulse each matched row starts from, in [0, 1). Default 0.8. */
  warmStart?: number;
  /** Contact points closer than this (metres, in body i's frame) are the same contact. Default 0.003. */
  matchDistance?: number;
  /** Friction anchors on/off. Default true. */
  anchors?: boolean;
  /** Tangential drift (metres) beyond which a contact counts as sliding and re-anchors. Default 0.002. */
  anchorSlip?: number;
}

/** Record per row: pair, kind, local point (3), direction (3), lambda, anchor on i (3), anchor on j (3). */
const REC = 15;
const _q = new Quaternion();
const _a = new Vec3();
const _b = new Vec3();
const _c = new Vec3();

interface RowEquation extends Equation {
  bi: Body;
  bj: Body;
  ri: Vec3;
  rj: Vec3;
  ni?: Vec3;
  t?: Vec3;
}

export class WarmStartSolver extends Solver {
  iterations: number;
  tolerance: number;
  warmStart: number;
  matchDistance: number;
  anchors: boolean;
  anchorSlip: number;

  private lambda = new Float64Array(64);
  private B = new Float64Array(64);
  private invC = new Float64Array(64);
  private prev = new Float64Array(64 * REC);
  private prevCount = 0;
  private cur = new Float64Array(64 * REC);
  /** Hash of previous rows by (pair, kind): head index per key, then a linked list. */
  private heads = new Map<number, number>();
  private next = new Int32Array(64);
  /** Per row: index of the contact row bounding it (friction rows), else -1; and its mu. */
  private normalRow = new Int32Array(64);
  private mu = new Float64Array(64);
  private rowOf = new Map<ContactEquation, number>();

  constructor(options: WarmStartSolverOptions = {}) {
    super();
    this.iterations = options.iterations ?? 10;
    this.tolerance = options.tolerance ?? 1e-7;
    this.warmStart = options.warmStart ?? 0.8;
    this.matchDistance = options.matchDistance ?? 0.003;
    this.anchors = options.anchors ?? true;
    this.anchorSlip = options.anchorSlip ?? 0.002;
    if (!(this.warmStart >= 0 && this.warmStart < 1)) throw new RangeError(`warmStart must be in [0, 1), got ${this.warmStart}`);
    if (!(this.iterations >= 1)) throw new RangeError(`iterations must be >= 1, got ${this.iterations}`);
  }

  /** Forgets all remembered impulses and anchors (call after teleporting bodies). */
  reset(): void {
    this.prevCount = 0;
  }

  private grow(n: number): void {
    if (this.lambda.length >= n) return;
    const size = Math.max(n, this.lambda.length * 2);
    this.lambda = new Float64Array(size);
    this.B = new Float64Array(size);
    this.invC = new Float64Array(size);
    this.next = new Int32Array(size);
    this.normalRow = new Int32Array(size);
    this.mu = new Float64Array(size);
    const cur = new Float64Array(size * REC);
    this.cur = cur;
    const prev = new Float64Array(size * REC);
    prev.set(this.prev.subarray(0, this.prevCount * REC));
    this.prev = prev;
  }

  override solve(dt: number, world: World): number {
    const eqs = this.equations as RowEquation[];
    const n = eqs.length;
    const bodies = world.bodies;
    if (n === 0) {
      this.prevCount = 0;
      return 0;
    }
    this.grow(Math.max(n, this.prevCount));
    const { lambda, B, invC, cur, prev, heads, next, normalRow, mu, rowOf } = this;

    // Which contact row bounds each friction row (Coulomb friction).
    rowOf.clear();
    for (let i = 0; i < n; i++) if (!(eqs[i] instanceof FrictionEquation)) rowOf.set(eqs[i] as unknown as ContactEquation, i);
    for (let i = 0; i < n; i++) {
      normalRow[i] = -1;
      const tag = (eqs[i] as unknown as CoulombFriction).coulomb;
      if (tag && tag.step === world.stepnumber) {
        const r = rowOf.get(tag.contact);
        if (r !== undefined) {
          normalRow[i] = r;
          mu[i] = tag.mu;
        }
      }
    }

    for (let i = 0; i < bodies.length; i++) {
      const b = bodies[i];
      b.updateSolveMassProperties();
      b.vlambda.set(0, 0, 0);
      b.wlambda.set(0, 0, 0);
    }

    heads.clear();
    for (let k = this.prevCount - 1; k >= 0; k--) {
      const key = prev[k * REC] * 2 + prev[k * REC + 1];
      const h = heads.get(key);
      next[k] = h === undefined ? -1 : h;
      heads.set(key, k);
    }

    const match2 = this.matchDistance * this.matchDistance;
    for (let i = 0; i < n; i++) {
      const c = eqs[i];
      B[i] = (c as unknown as { computeB(h: number): number }).computeB(dt);
      invC[i] = 1 / c.computeC();
      const friction = c instanceof FrictionEquation;
      const dir = (friction ? c.t : c.ni) as Vec3;
      const bi = c.bi, bj = c.bj;
      bi.quaternion.conjugate(_q);
      _q.vmult(c.ri, _a);
      const o = i * REC;
      const pair = bi.id * 65536 + bj.id;
      cur[o] = pair; cur[o + 1] = friction ? 1 : 0;
      cur[o + 2] = _a.x; cur[o + 3] = _a.y; cur[o + 4] = _a.z;
      cur[o + 5] = dir.x; cur[o + 6] = dir.y; cur[o + 7] = dir.z;

      let m = -1;
      let best = match2;
      for (let k = heads.get(pair * 2 + cur[o + 1]) ?? -1; k >= 0; k = next[k]) {
        const p = k * REC;
        const ex = prev[p + 2] - _a.x, ey = prev[p + 3] - _a.y, ez = prev[p + 4] - _a.z;
        const d2 = ex * ex + ey * ey + ez * ez;
        if (d2 < best && prev[p + 5] * dir.x + prev[p + 6] * dir.y + prev[p + 7] * dir.z > 0.95) {
          best = d2;
          m = k;
        }
      }

      if (friction && this.anchors) {
        if (m >= 0) {
          for (let k = 9; k < REC; k++) cur[o + k] = prev[m * REC + k];
        } else {
          this.anchorHere(c, o);
        }
        // Tangential drift of the anchored points since the contact began.
        _a.set(cur[o + 9], cur[o + 10], cur[o + 11]);
        bi.quaternion.vmult(_a, _b);
        _b.vadd(bi.position, _b);
        _a.set(cur[o + 12], cur[o + 13], cur[o + 14]);
        bj.quaternion.vmult(_a, _c);
        _c.vadd(bj.position, _c);
        _c.vsub(_b, _c);
        let gt = _c.dot(dir);
        if (gt > this.anchorSlip || gt < -this.anchorSlip) {
          this.anchorHere(c, o);
          gt = 0;
        }
        B[i] -= gt * c.a;
      }

      if (!friction) {
        // Speculative contact (still apart by g > 0): allow the bodies to close exactly the gap this
        // step. SPOOK's -g·a would stop them about a third of the gap short, so they would hover.
        const ni = c.ni as Vec3;
        const g = ni.x * (bj.position.x + c.rj.x - bi.position.x - c.ri.x)
          + ni.y * (bj.position.y + c.rj.y - bi.position.y - c.ri.y)
          + ni.z * (bj.position.z + c.rj.z - bi.position.z - c.ri.z);
        if (g > 0) B[i] += g * c.a - g / dt;
      }

      lambda[i] = m >= 0 ? prev[m * REC + 8] * this.warmStart : 0;
    }
    // Warm-start impulses, friction clamped to its contact's warm-started normal impulse.
    for (let i = 0; i < n; i++) {
      const c = eqs[i];
      let l0 = lambda[i];
      const r = normalRow[i];
      const lo = r >= 0 ? -mu[i] * lambda[r] : c.minForce, hi = r >= 0 ? mu[i] * lambda[r] : c.maxForce;
      if (l0 < lo) l0 = lo; else if (l0 > hi) l0 = hi;
      lambda[i] = l0;
      if (l0 !== 0) c.addToWlambda(l0);
    }

    const tol2 = this.tolerance * this.tolerance;
    let iter = 0;
    for (; iter < this.iterations; iter++) {
      let total = 0;
      for (let j = 0; j < n; j++) {
        const c = eqs[j];
        const lj = lambda[j];
        let dl = invC[j] * (B[j] - c.computeGWlambda() - c.eps * lj);
        const r = normalRow[j];
        const lo = r >= 0 ? -mu[j] * lambda[r] : c.minForce, hi = r >= 0 ? mu[j] * lambda[r] : c.maxForce;
        if (lj + dl < lo) dl = lo - lj;
        else if (lj + dl > hi) dl = hi - lj;
        lambda[j] = lj + dl;
        total += dl > 0 ? dl : -dl;
        c.addToWlambda(dl);
      }
      if (total * total < tol2) {
        iter++;
        break;
      }
    }

    for (let i = 0; i < bodies.length; i++) {
      const b = bodies[i];
      b.vlambda.vmul(b.linearFactor, b.vlambda);
      b.velocity.vadd(b.vlambda, b.velocity);
      b.wlambda.vmul(b.angularFactor, b.wlambda);
      b.angularVelocity.vadd(b.wlambda, b.angularVelocity);
    }
    const invDt = 1 / dt;
    for (let j = 0; j < n; j++) eqs[j].multiplier = lambda[j] * invDt;

    // Remember this step's rows for the next one.
    for (let i = 0; i < n; i++) {
      const o = i * REC;
      for (let k = 0; k < REC; k++) prev[o + k] = cur[o + k];
      prev[o + 8] = lambda[i];
    }
    this.prevCount = n;
    return iter;
  }

  /** Anchors friction row `c` (record offset `o`) at its current contact points. */
  private anchorHere(c: RowEquation, o: number): void {
    const cur = this.cur;
    c.bi.quaternion.conjugate(_q);
    _q.vmult(c.ri, _b);
    cur[o + 9] = _b.x; cur[o + 10] = _b.y; cur[o + 11] = _b.z;
    c.bj.quaternion.conjugate(_q);
    _q.vmult(c.rj, _b);
    cur[o + 12] = _b.x; cur[o + 13] = _b.y; cur[o + 14] = _b.z;
  }
}
