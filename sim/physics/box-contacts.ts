/**
 * Contact generation for boxes, replacing cannon-es's generic convex-polyhedron path for the two
 * pairs a tabletop is made of: box–box and plane–box.
 *
 * Why: cannon-es only reports points that already penetrate. A block resting on another rocks by
 * micrometres, corners drop in and out of the contact set from one step to the next (we saw 2 to 8
 * contacts per resting pair), the support polygon flickers, and a 5-block stack walks off in
 * about 2 s. Here every pair gets a stable manifold: up to four points, kept while the surfaces are
 * within `margin` of touching (speculative contacts: the solver's lambda >= 0 bound means a point
 * that is still apart pushes only if the bodies would close the gap within the step).
 *
 * Box–box follows the separating-axis test over the 15 candidate axes, with a bias towards face
 * axes (so a tilted block on a face does not flip to an edge contact), then clips the incident face
 * against the reference face's side planes (Sutherland–Hodgman) and reduces to four points.
 * Edge–edge configurations give one point at the closest points of the two edges.
 *
 * Contact convention (cannon-es): `ni` points from body i to body j; `ri`/`rj` go from each body's
 * centre to its contact point; the gap g = ni · ((xj + rj) − (xi + ri)) is negative when
 * penetrating.
 *
 * Everything here works on module-scope scratch storage: nothing is allocated per step.
 */
import type { Body, Box, ContactEquation, Narrowphase, Plane, Quaternion, Shape, Vec3 } from 'cannon-es';

/** What cannon-es's Narrowphase exposes to contact generators but does not declare. */
interface NarrowphaseInternals {
  world: { stepnumber: number; gravity: Vec3; frictionGravity?: Vec3 };
  result: ContactEquation[];
  frictionResult: CoulombFriction[];
  createContactEquation(bi: Body, bj: Body, si: Shape, sj: Shape, rsi?: Shape, rsj?: Shape): ContactEquation;
  createFrictionEquationsFromContact(c: ContactEquation, out: CoulombFriction[]): boolean;
  boxBox: BoxPairFn;
  planeBox: BoxPairFn;
}

/**
 * A friction row tagged with the contact it belongs to and its friction coefficient, so the solver
 * can bound it by mu times that contact's normal impulse (Coulomb friction). `step` says which
 * world step the tag was written in: rows are pooled and reused.
 */
export interface CoulombFriction {
  maxForce: number;
  minForce: number;
  bi: Body;
  bj: Body;
  coulomb?: { contact: ContactEquation; mu: number; step: number };
}

type BoxPairFn = (
  si: Shape, sj: Shape, xi: Vec3, xj: Vec3, qi: Quaternion, qj: Quaternion,
  bi: Body, bj: Body, rsi: Shape, rsj: Shape, justTest: boolean,
) => boolean | void;

export interface BoxContactOptions {
  /** Surfaces closer than this (metres) already get a contact point. Default 0.002. */
  margin?: number;
}

// Box frames: axes as rows of 3 (A: 0..8, B: 9..17), half extents, centres.
const axA = new Float64Array(9);
const axB = new Float64Array(9);
const hA = new Float64Array(3);
const hB = new Float64Array(3);
// Incident polygon (up to 8 points after clipping), double-buffered for Sutherland–Hodgman.
const polyA = new Float64Array(3 * 16);
const polyB = new Float64Array(3 * 16);
const depth = new Float64Array(16);
const keep = new Int32Array(4);
const nrm = new Float64Array(3);

function quatToAxes(q: Quaternion, out: Float64Array): void {
  const { x, y, z, w } = q;
  const x2 = x + x, y2 = y + y, z2 = z + z;
  const xx = x * x2, xy = x * y2, xz = x * z2, yy = y * y2, yz = y * z2, zz = z * z2;
  const wx = w * x2, wy = w * y2, wz = w * z2;
  // Row k = the box's local axis k expressed in the world frame (column k of the rotation matrix).
  out[0] = 1 - (yy + zz); out[1] = xy + wz; out[2] = xz - wy;
  out[3] = xy - wz; out[4] = 1 - (xx + zz); out[5] = yz + wx;
  out[6] = xz + wy; out[7] = yz - wx; out[8] = 1 - (xx + yy);
}

/** Projected radius of a box onto unit axis (nx, ny, nz). */
function radius(ax: Float64Array, h: Float64Array, nx: number, ny: number, nz: number): number {
  return (
    h[0] * Math.abs(ax[0] * nx + ax[1] * ny + ax[2] * nz) +
    h[1] * Math.abs(ax[3] * nx + ax[4] * ny + ax[5] * nz) +
    h[2] * Math.abs(ax[6] * nx + ax[7] * ny + ax[8] * nz)
  );
}

/**
 * Friction rows only for points that touch (within this gap, metres). cannon-es bounds friction by
 * mu·|g|·mass rather than by the normal force, so a speculative point that is still apart would
 * otherwise brake sliding at a distance.
 */
const FRICTION_GAP = 1e-4;

function emit(
  np: NarrowphaseInternals, bi: Body, bj: Body, si: Shape, sj: Shape,
  nx: number, ny: number, nz: number,
  pix: number, piy: number, piz: number, pjx: number, pjy: number, pjz: number, gap: number,
): void {
  const c = np.createContactEquation(bi, bj, si, sj, si, sj);
  c.ni.set(nx, ny, nz);
  c.ri.set(pix - bi.position.x, piy - bi.position.y, piz - bi.position.z);
  c.rj.set(pjx - bj.position.x, pjy - bj.position.y, pjz - bj.position.z);
  np.result.push(c);
  if (gap <= FRICTION_GAP && np.createFrictionEquationsFromContact(c, np.frictionResult)) {
    // cannon-es bounds the rows by mu·|g|·reduced mass; recover mu from that.
    const out = np.frictionResult;
    const f = out[out.length - 1];
    const g = np.world.frictionGravity ?? np.world.gravity;
    let reduced = bi.invMass + bj.invMass;
    reduced = reduced > 0 ? 1 / reduced : 0;
    const mu = reduced > 0 ? f.maxForce / (g.length() * reduced) : 0;
    const step = np.world.stepnumber;
    for (let k = out.length - 2; k < out.length; k++) {
      const row = out[k];
      if (row.coulomb) {
        row.coulomb.contact = c;
        row.coulomb.mu = mu;
        row.coulomb.step = step;
      } else row.coulomb = { contact: c, mu, step };
    }
  }
}

/** Clips polygon `src` (n points) by the half-space a·p <= b; returns the new count in `dst`. */
function clip(src: Float64Array, n: number, dst: Float64Array, ax: number, ay: number, az: number, b: number): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const k2 = (k + 1) % n;
    const px = src[3 * k], py = src[3 * k + 1], pz = src[3 * k + 2];
    const qx = src[3 * k2], qy = src[3 * k2 + 1], qz = src[3 * k2 + 2];
    const dp = ax * px + ay * py + az * pz - b;
    const dq = ax * qx + ay * qy + az * qz - b;
    if (dp <= 0) {
      dst[3 * m] = px; dst[3 * m + 1] = py; dst[3 * m + 2] = pz; m++;
    }
    if ((dp <= 0) !== (dq <= 0)) {
      const t = dp / (dp - dq);
      dst[3 * m] = px + t * (qx - px); dst[3 * m + 1] = py + t * (qy - py); dst[3 * m + 2] = pz + t * (qz - pz); m++;
    }
  }
  return m;
}

/**
 * Reduces `n` candidate points (in `pts`, with `depth`) to at most four that keep the support
 * area: the deepest, the one farthest from it, then the largest triangles on either side.
 * Writes indices into `keep` and returns the count.
 */
function reduce(pts: Float64Array, n: number): number {
  if (n <= 4) {
    for (let k = 0; k < n; k++) keep[k] = k;
    return n;
  }
  let a = 0;
  for (let k = 1; k < n; k++) if (depth[k] < depth[a]) a = k;
  let b = -1, best = -1;
  for (let k = 0; k < n; k++) {
    const dx = pts[3 * k] - pts[3 * a], dy = pts[3 * k + 1] - pts[3 * a + 1], dz = pts[3 * k + 2] - pts[3 * a + 2];
    const d = dx * dx + dy * dy + dz * dz;
    if (d > best) { best = d; b = k; }
  }
  // Signed area of (a, b, k) along the contact normal picks a point on each side of the a–b line.
  const ux = pts[3 * b] - pts[3 * a], uy = pts[3 * b + 1] - pts[3 * a + 1], uz = pts[3 * b + 2] - pts[3 * a + 2];
  let c = -1, d = -1, maxPos = 0, maxNeg = 0;
  for (let k = 0; k < n; k++) {
    if (k === a || k === b) continue;
    const vx = pts[3 * k] - pts[3 * a], vy = pts[3 * k + 1] - pts[3 * a + 1], vz = pts[3 * k + 2] - pts[3 * a + 2];
    const s = nrm[0] * (uy * vz - uz * vy) + nrm[1] * (uz * vx - ux * vz) + nrm[2] * (ux * vy - uy * vx);
    if (s > maxPos) { maxPos = s; c = k; }
    if (s < maxNeg) { maxNeg = s; d = k; }
  }
  let m = 0;
  keep[m++] = a; keep[m++] = b;
  if (c >= 0) keep[m++] = c;
  if (d >= 0) keep[m++] = d;
  return m;
}

function boxHalf(s: Shape, out: Float64Array): void {
  const he = (s as Box).halfExtents;
  out[0] = he.x; out[1] = he.y; out[2] = he.z;
}

/**
 * Box–box manifold. Returns true when the boxes are within `margin` (used by cannon-es for
 * kinematic/static pairs that only test for overlap).
 */
function boxBox(
  np: NarrowphaseInternals, margin: number,
  si: Shape, sj: Shape, xi: Vec3, xj: Vec3, qi: Quaternion, qj: Quaternion, bi: Body, bj: Body, justTest: boolean,
): boolean {
  quatToAxes(qi, axA); quatToAxes(qj, axB);
  boxHalf(si, hA); boxHalf(sj, hB);
  const dx = xj.x - xi.x, dy = xj.y - xi.y, dz = xj.z - xi.z;

  // Separating-axis test. `sep` is the signed distance between the boxes along the axis.
  let bestFace = -Infinity, faceAxis = -1; // 0..2: A's axes, 3..5: B's axes
  for (let k = 0; k < 6; k++) {
    const ax = k < 3 ? axA : axB, o = 3 * (k % 3);
    const nx = ax[o], ny = ax[o + 1], nz = ax[o + 2];
    const sep = Math.abs(dx * nx + dy * ny + dz * nz) - radius(axA, hA, nx, ny, nz) - radius(axB, hB, nx, ny, nz);
    if (sep > margin) return false;
    // Prefer A's faces, then B's, over a marginally better later axis: keeps the manifold from flipping.
    if (sep > bestFace + 1e-5) { bestFace = sep; faceAxis = k; }
  }
  let bestEdge = -Infinity, edgeI = -1, edgeJ = -1, ex = 0, ey = 0, ez = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const ax = axA[3 * i], ay = axA[3 * i + 1], az = axA[3 * i + 2];
      const bx = axB[3 * j], by = axB[3 * j + 1], bz = axB[3 * j + 2];
      let nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
      const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
      if (len < 1e-6) continue; // parallel edges: covered by the face axes
      nx /= len; ny /= len; nz /= len;
      const sep = Math.abs(dx * nx + dy * ny + dz * nz) - radius(axA, hA, nx, ny, nz) - radius(axB, hB, nx, ny, nz);
      if (sep > margin) return false;
      if (sep > bestEdge) { bestEdge = sep; edgeI = i; edgeJ = j; ex = nx; ey = ny; ez = nz; }
    }
  }
  if (justTest) return Math.max(bestFace, bestEdge) <= 0;

  // Edge contact only when clearly better than any face: resting and sliding contacts stay faces.
  if (edgeI >= 0 && bestEdge > bestFace + 1e-3) {
    if (dx * ex + dy * ey + dz * ez < 0) { ex = -ex; ey = -ey; ez = -ez; }
    // Supporting edge of A along +n and of B along -n.
    let pax = xi.x, pay = xi.y, paz = xi.z, pbx = xj.x, pby = xj.y, pbz = xj.z;
    for (let k = 0; k < 3; k++) {
      if (k !== edgeI) {
        const o = 3 * k, s = (axA[o] * ex + axA[o + 1] * ey + axA[o + 2] * ez) > 0 ? hA[k] : -hA[k];
        pax += s * axA[o]; pay += s * axA[o + 1]; paz += s * axA[o + 2];
      }
      if (k !== edgeJ) {
        const o = 3 * k, s = (axB[o] * ex + axB[o + 1] * ey + axB[o + 2] * ez) > 0 ? -hB[k] : hB[k];
        pbx += s * axB[o]; pby += s * axB[o + 1]; pbz += s * axB[o + 2];
      }
    }
    // Closest points of the two segments' lines, clamped to the edges.
    const ua = 3 * edgeI, ub = 3 * edgeJ;
    const d1x = axA[ua], d1y = axA[ua + 1], d1z = axA[ua + 2];
    const d2x = axB[ub], d2y = axB[ub + 1], d2z = axB[ub + 2];
    const rx = pax - pbx, ry = pay - pby, rz = paz - pbz;
    const b = d1x * d2x + d1y * d2y + d1z * d2z;
    const c = d1x * rx + d1y * ry + d1z * rz;
    const f = d2x * rx + d2y * ry + d2z * rz;
    const den = 1 - b * b;
    let s = den > 1e-9 ? (b * f - c) / den : 0;
    s = Math.max(-hA[edgeI], Math.min(hA[edgeI], s));
    let t = b * s + f;
    t = Math.max(-hB[edgeJ], Math.min(hB[edgeJ], t));
    emit(np, bi, bj, si, sj, ex, ey, ez,
      pax + s * d1x, pay + s * d1y, paz + s * d1z,
      pbx + t * d2x, pby + t * d2y, pbz + t * d2z, bestEdge);
    return true;
  }

  // Face contact: reference box R (face `faceAxis`), incident box I.
  const refIsA = faceAxis < 3;
  const axR = refIsA ? axA : axB, hR = refIsA ? hA : hB;
  const axI = refIsA ? axB : axA, hI = refIsA ? hB : hA;
  const r = faceAxis % 3;
  const sign = refIsA ? 1 : -1; // d points from A to B; flip for B as reference
  const cRx = refIsA ? xi.x : xj.x, cRy = refIsA ? xi.y : xj.y, cRz = refIsA ? xi.z : xj.z;
  const cIx = refIsA ? xj.x : xi.x, cIy = refIsA ? xj.y : xi.y, cIz = refIsA ? xj.z : xi.z;
  let nx = axR[3 * r], ny = axR[3 * r + 1], nz = axR[3 * r + 2];
  if (sign * (dx * nx + dy * ny + dz * nz) < 0) { nx = -nx; ny = -ny; nz = -nz; }
  nrm[0] = nx; nrm[1] = ny; nrm[2] = nz;
  // Incident face: I's face whose outward normal is most anti-parallel to n.
  let m = 0, mDot = 0;
  for (let k = 0; k < 3; k++) {
    const dd = axI[3 * k] * nx + axI[3 * k + 1] * ny + axI[3 * k + 2] * nz;
    if (Math.abs(dd) > Math.abs(mDot)) { mDot = dd; m = k; }
  }
  const fs = mDot > 0 ? -hI[m] : hI[m];
  const fcx = cIx + fs * axI[3 * m], fcy = cIy + fs * axI[3 * m + 1], fcz = cIz + fs * axI[3 * m + 2];
  const u = (m + 1) % 3, v = (m + 2) % 3;
  const ux = axI[3 * u] * hI[u], uy = axI[3 * u + 1] * hI[u], uz = axI[3 * u + 2] * hI[u];
  const vx = axI[3 * v] * hI[v], vy = axI[3 * v + 1] * hI[v], vz = axI[3 * v + 2] * hI[v];
  polyA[0] = fcx + ux + vx; polyA[1] = fcy + uy + vy; polyA[2] = fcz + uz + vz;
  polyA[3] = fcx - ux + vx; polyA[4] = fcy - uy + vy; polyA[5] = fcz - uz + vz;
  polyA[6] = fcx - ux - vx; polyA[7] = fcy - uy - vy; polyA[8] = fcz - uz - vz;
  polyA[9] = fcx + ux - vx; polyA[10] = fcy + uy - vy; polyA[11] = fcz + uz - vz;
  let n = 4;
  // Side planes of the reference face.
  for (let k = 1; k <= 2 && n > 0; k++) {
    const a = (r + k) % 3, o = 3 * a;
    const px = axR[o], py = axR[o + 1], pz = axR[o + 2];
    const c0 = px * cRx + py * cRy + pz * cRz;
    n = clip(polyA, n, polyB, px, py, pz, c0 + hR[a]);
    n = clip(polyB, n, polyA, -px, -py, -pz, -c0 + hR[a]);
  }
  if (n === 0) return false;
  // Depth of each point below the reference face (negative = penetrating); keep those within margin.
  const faceOff = nx * cRx + ny * cRy + nz * cRz + hR[r];
  let kept = 0;
  for (let k = 0; k < n; k++) {
    const s = nx * polyA[3 * k] + ny * polyA[3 * k + 1] + nz * polyA[3 * k + 2] - faceOff;
    if (s <= margin) {
      polyB[3 * kept] = polyA[3 * k]; polyB[3 * kept + 1] = polyA[3 * k + 1]; polyB[3 * kept + 2] = polyA[3 * k + 2];
      depth[kept++] = s;
    }
  }
  if (kept === 0) return false;
  const count = reduce(polyB, kept);
  for (let q = 0; q < count; q++) {
    const k = keep[q], s = depth[k];
    const px = polyB[3 * k], py = polyB[3 * k + 1], pz = polyB[3 * k + 2];
    // Point on the reference face: the incident point projected onto it.
    const fx = px - s * nx, fy = py - s * ny, fz = pz - s * nz;
    if (refIsA) emit(np, bi, bj, si, sj, nx, ny, nz, fx, fy, fz, px, py, pz, s);
    else emit(np, bi, bj, si, sj, -nx, -ny, -nz, px, py, pz, fx, fy, fz, s);
  }
  return true;
}

/** Plane (body i) against box (body j): every corner within `margin` of the plane. */
function planeBox(
  np: NarrowphaseInternals, margin: number,
  si: Shape, sj: Shape, xi: Vec3, xj: Vec3, qi: Quaternion, qj: Quaternion, bi: Body, bj: Body, justTest: boolean,
): boolean {
  // Plane normal: local +z rotated by the plane's orientation.
  const { x, y, z, w } = qi;
  const nx = 2 * (x * z + w * y), ny = 2 * (y * z - w * x), nz = 1 - 2 * (x * x + y * y);
  quatToAxes(qj, axB); boxHalf(sj, hB);
  let n = 0;
  for (let c = 0; c < 8; c++) {
    const s0 = c & 1 ? hB[0] : -hB[0], s1 = c & 2 ? hB[1] : -hB[1], s2 = c & 4 ? hB[2] : -hB[2];
    const px = xj.x + s0 * axB[0] + s1 * axB[3] + s2 * axB[6];
    const py = xj.y + s0 * axB[1] + s1 * axB[4] + s2 * axB[7];
    const pz = xj.z + s0 * axB[2] + s1 * axB[5] + s2 * axB[8];
    const dist = nx * (px - xi.x) + ny * (py - xi.y) + nz * (pz - xi.z);
    if (dist <= margin) {
      polyA[3 * n] = px; polyA[3 * n + 1] = py; polyA[3 * n + 2] = pz; depth[n++] = dist;
    }
  }
  if (justTest) {
    for (let k = 0; k < n; k++) if (depth[k] <= 0) return true;
    return false;
  }
  if (n === 0) return false;
  nrm[0] = nx; nrm[1] = ny; nrm[2] = nz;
  const count = reduce(polyA, n);
  for (let q = 0; q < count; q++) {
    const k = keep[q], s = depth[k];
    const px = polyA[3 * k], py = polyA[3 * k + 1], pz = polyA[3 * k + 2];
    emit(np, bi, bj, si, sj, nx, ny, nz, px - s * nx, py - s * ny, pz - s * nz, px, py, pz, s);
  }
  return true;
}

/** Replaces `narrowphase`'s box–box and plane–box generators with the ones above. */
export function installBoxContacts(narrowphase: Narrowphase, options: BoxContactOptions = {}): void {
  const margin = options.margin ?? 0.002;
  if (!(margin >= 0 && margin < 0.05)) throw new RangeError(`box contact margin must be in [0, 0.05) m, got ${margin}`);
  const np = narrowphase as unknown as NarrowphaseInternals;
  np.boxBox = function (si, sj, xi, xj, qi, qj, bi, bj, _rsi, _rsj, justTest) {
    return boxBox(np, margin, si, sj, xi, xj, qi, qj, bi, bj, justTest);
  };
  np.planeBox = function (si, sj, xi, xj, qi, qj, bi, bj, _rsi, _rsj, justTest) {
    return planeBox(np, margin, si as Plane, sj, xi, xj, qi, qj, bi, bj, justTest);
  };
}
