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
import type { Body, Equation, World } from 'cannon-es';
import type { CoulombFriction } from './box-contacts.ts';

export interface WarmStartSolverOptions {
  /** Gauss-Seidel sweeps per step. Default 10. */
  iterations?: number;
  /** Stop early when a sweep changes the impulses by less than this in total (N·s). Default 1e-7. */
  tolerance?: number;
  /** ...or by less than this fraction of their total size. Default 0 (off). */
  relativeTolerance?: number;
  /** Sweeps that include friction rows (the rest refine normal impulses only). Default: all. */
  frictionIterations?: number;
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

interface RowTag {
  solverStamp?: number;
  solverRow?: number;
}

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
  relativeTolerance: number;
  /** Sweeps that include friction rows; the remaining sweeps refine normal impulses only. */
  frictionIterations: number;
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
  /** Previous rows by (body pair, kind): head row per key, then a linked list through `next`. */
  private heads = new Int32Array(2 * 16 * 16);
  private headBodies = 16;
  private next = new Int32Array(64);
  /** Per row: index of the contact row bounding it (friction rows), else -1; and its mu. */
  private normalRow = new Int32Array(64);
  private mu = new Float64Array(64);
  /** Row index of each contact equation this step, keyed by a per-step stamp. */
  private stamp = 0;
  /** Per row: Jacobian (12: lin A, ang A, lin B, ang B), M^-1 J^T (12), body indices, bounds, eps. */
  private J = new Float64Array(64 * 12);
  private K = new Float64Array(64 * 12);
  private ia = new Int32Array(64);
  private ib = new Int32Array(64);
  private lo = new Float64Array(64);
  private hi = new Float64Array(64);
  private eps = new Float64Array(64);
  /** Per body: accumulated velocity change (linear 3, angular 3) during the solve. */
  private dv = new Float64Array(6 * 16);

  constructor(options: WarmStartSolverOptions = {}) {
    super();
    this.iterations = options.iterations ?? 10;
    this.tolerance = options.tolerance ?? 1e-7;
    this.relativeTolerance = options.relativeTolerance ?? 0;
    this.frictionIterations = options.frictionIterations ?? this.iterations;
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

  /** What the solver remembers from the last step (impulses and anchors per row), as plain numbers. */
  memory(): { headBodies: number; rows: number[] } {
    return { headBodies: this.headBodies, rows: Array.from(this.prev.subarray(0, this.prevCount * REC)) };
  }

  /** Takes up `memory()` of a solver of the same world (bodies added in the same order). */
  setMemory(m: { headBodies: number; rows: number[] }): void {
    const n = m.rows.length / REC;
    if (!Number.isInteger(n)) throw new RangeError(`solver memory holds ${m.rows.length} numbers, not a multiple of ${REC}`);
    this.grow(n);
    this.headBodies = m.headBodies;
    if (this.heads.length < 2 * m.headBodies * m.headBodies) this.heads = new Int32Array(2 * m.headBodies * m.headBodies);
    this.prev.set(m.rows);
    this.prevCount = n;
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
    this.J = new Float64Array(size * 12);
    this.K = new Float64Array(size * 12);
    this.ia = new Int32Array(size);
    this.ib = new Int32Array(size);
    this.lo = new Float64Array(size);
    this.hi = new Float64Array(size);
    this.eps = new Float64Array(size);
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
    const { lambda, B, invC, cur, prev, next, normalRow, mu } = this;

    // Which contact row bounds each friction row (Coulomb friction).
    const stamp = ++this.stamp;
    for (let i = 0; i < n; i++) {
      const c = eqs[i] as unknown as RowTag;
      if (!(c instanceof FrictionEquation)) {
        c.solverStamp = stamp;
        c.solverRow = i;
      }
    }
    for (let i = 0; i < n; i++) {
      normalRow[i] = -1;
      const tag = (eqs[i] as unknown as CoulombFriction).coulomb;
      if (tag && tag.step === world.stepnumber) {
        const contact = tag.contact as unknown as RowTag;
        if (contact.solverStamp === stamp) {
          normalRow[i] = contact.solverRow as number;
          mu[i] = tag.mu;
        }
      }
    }

    const nb = bodies.length;
    if (this.dv.length < 6 * nb) this.dv = new Float64Array(12 * nb);
    const dv = this.dv;
    dv.fill(0, 0, 6 * nb);
    for (let i = 0; i < nb; i++) {
      const b = bodies[i];
      b.updateSolveMassProperties();
      b.index = i;
    }

    if (this.headBodies < nb) {
      this.headBodies = nb;
      this.heads = new Int32Array(2 * nb * nb);
      this.prevCount = 0; // indices from a smaller world cannot be trusted
    }
    const heads = this.heads;
    heads.fill(-1);
    for (let k = this.prevCount - 1; k >= 0; k--) {
      const key = prev[k * REC] * 2 + prev[k * REC + 1];
      next[k] = heads[key];
      heads[key] = k;
    }

    const match2 = this.matchDistance * this.matchDistance;
    for (let i = 0; i < n; i++) {
      const c = eqs[i];
      B[i] = (c as unknown as { computeB(h: number): number }).computeB(dt);
      invC[i] = 1 / this.loadRow(c, i);
      const friction = c instanceof FrictionEquation;
      const dir = (friction ? c.t : c.ni) as Vec3;
      const bi = c.bi, bj = c.bj;
      bi.quaternion.conjugate(_q);
      _q.vmult(c.ri, _a);
      const o = i * REC;
      const pair = bi.index * this.headBodies + bj.index;
      cur[o] = pair; cur[o + 1] = friction ? 1 : 0;
      cur[o + 2] = _a.x; cur[o + 3] = _a.y; cur[o + 4] = _a.z;
      cur[o + 5] = dir.x; cur[o + 6] = dir.y; cur[o + 7] = dir.z;

      let m = -1;
      let best = match2;
      for (let k = heads[pair * 2 + cur[o + 1]]; k >= 0; k = next[k]) {
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
    const { J, K, ia, ib, lo, hi, eps } = this;
    for (let i = 0; i < n; i++) {
      const c = eqs[i];
      lo[i] = c.minForce;
      hi[i] = c.maxForce;
      eps[i] = c.eps;
      let l0 = lambda[i];
      const r = normalRow[i];
      const l = r >= 0 ? -mu[i] * lambda[r] : lo[i], h = r >= 0 ? mu[i] * lambda[r] : hi[i];
      if (l0 < l) l0 = l; else if (l0 > h) l0 = h;
      lambda[i] = l0;
      if (l0 !== 0) {
        const a = 6 * ia[i], b = 6 * ib[i], o = 12 * i;
        for (let k = 0; k < 6; k++) {
          dv[a + k] += l0 * K[o + k];
          dv[b + k] += l0 * K[o + 6 + k];
        }
      }
    }

    // Projected Gauss-Seidel sweeps over flat arrays (the same SPOOK update as cannon-es).
    const tol = this.tolerance, relTol = this.relativeTolerance;
    let iter = 0;
    for (; iter < this.iterations; iter++) {
      let total = 0, size = 0;
      const normalOnly = iter >= this.frictionIterations;
      for (let j = 0; j < n; j++) {
        if (normalOnly && normalRow[j] >= 0) continue;
        const a = 6 * ia[j], b = 6 * ib[j], o = 12 * j;
        const gw =
          J[o] * dv[a] + J[o + 1] * dv[a + 1] + J[o + 2] * dv[a + 2] +
          J[o + 3] * dv[a + 3] + J[o + 4] * dv[a + 4] + J[o + 5] * dv[a + 5] +
          J[o + 6] * dv[b] + J[o + 7] * dv[b + 1] + J[o + 8] * dv[b + 2] +
          J[o + 9] * dv[b + 3] + J[o + 10] * dv[b + 4] + J[o + 11] * dv[b + 5];
        const lj = lambda[j];
        let dl = invC[j] * (B[j] - gw - eps[j] * lj);
        const r = normalRow[j];
        const l = r >= 0 ? -mu[j] * lambda[r] : lo[j], h = r >= 0 ? mu[j] * lambda[r] : hi[j];
        if (lj + dl < l) dl = l - lj;
        else if (lj + dl > h) dl = h - lj;
        const lnew = lj + dl;
        lambda[j] = lnew;
        total += dl > 0 ? dl : -dl;
        size += lnew > 0 ? lnew : -lnew;
        dv[a] += dl * K[o]; dv[a + 1] += dl * K[o + 1]; dv[a + 2] += dl * K[o + 2];
        dv[a + 3] += dl * K[o + 3]; dv[a + 4] += dl * K[o + 4]; dv[a + 5] += dl * K[o + 5];
        dv[b] += dl * K[o + 6]; dv[b + 1] += dl * K[o + 7]; dv[b + 2] += dl * K[o + 8];
        dv[b + 3] += dl * K[o + 9]; dv[b + 4] += dl * K[o + 10]; dv[b + 5] += dl * K[o + 11];
      }
      if (total < tol + relTol * size) {
        iter++;
        break;
      }
    }

    for (let i = 0; i < nb; i++) {
      const bd = bodies[i], o = 6 * i;
      const lf = bd.linearFactor, af = bd.angularFactor;
      bd.velocity.x += dv[o] * lf.x; bd.velocity.y += dv[o + 1] * lf.y; bd.velocity.z += dv[o + 2] * lf.z;
      bd.angularVelocity.x += dv[o + 3] * af.x; bd.angularVelocity.y += dv[o + 4] * af.y; bd.angularVelocity.z += dv[o + 5] * af.z;
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

  /**
   * Copies row i's Jacobian (as computeB just set it) and M^-1 J^T into the flat arrays and
   * returns C = J M^-1 J^T + eps, exactly cannon-es's computeC.
   */
  private loadRow(c: RowEquation, i: number): number {
    const J = this.J, K = this.K, o = 12 * i;
    const A = c.jacobianElementA, Bj = c.jacobianElementB;
    const bi = c.bi, bj = c.bj;
    this.ia[i] = bi.index;
    this.ib[i] = bj.index;
    J[o] = A.spatial.x; J[o + 1] = A.spatial.y; J[o + 2] = A.spatial.z;
    J[o + 3] = A.rotational.x; J[o + 4] = A.rotational.y; J[o + 5] = A.rotational.z;
    J[o + 6] = Bj.spatial.x; J[o + 7] = Bj.spatial.y; J[o + 8] = Bj.spatial.z;
    J[o + 9] = Bj.rotational.x; J[o + 10] = Bj.rotational.y; J[o + 11] = Bj.rotational.z;
    const ma = bi.invMassSolve, mb = bj.invMassSolve;
    K[o] = ma * J[o]; K[o + 1] = ma * J[o + 1]; K[o + 2] = ma * J[o + 2];
    K[o + 6] = mb * J[o + 6]; K[o + 7] = mb * J[o + 7]; K[o + 8] = mb * J[o + 8];
    const Ia = bi.invInertiaWorldSolve.elements, Ib = bj.invInertiaWorldSolve.elements;
    for (let r = 0; r < 3; r++) {
      K[o + 3 + r] = Ia[3 * r] * J[o + 3] + Ia[3 * r + 1] * J[o + 4] + Ia[3 * r + 2] * J[o + 5];
      K[o + 9 + r] = Ib[3 * r] * J[o + 9] + Ib[3 * r + 1] * J[o + 10] + Ib[3 * r + 2] * J[o + 11];
    }
    let C = c.eps;
    for (let k = 0; k < 12; k++) C += J[o + k] * K[o + k];
    return C;
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
