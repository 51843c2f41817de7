/**
 * Procedural textures for visual randomization, generated on the CPU (pure JavaScript, so the
 * same seed gives the same pixels in Node, in a worker and in a browser).
 *
 * A texture is named by one integer, its generator seed: `textureSpec(seed)` turns it into plain
 * data (family, colours, scale, angle…) and `generateTexture(spec, size)` into RGBA8 pixels
 * (sRGB-encoded). Families: flat colour with grain, value noise (fBm), stripes, checkers, linear
 * and radial gradients, dots, and marble-like waves. Colours and parameters are continuous, so
 * distinct seeds give distinct images; scenarios keep training and held-out seeds in disjoint
 * ranges (see visual-schema.ts).
 */
import { Rng } from '../rng.ts';

export const TEXTURE_KINDS = ['flat', 'noise', 'stripes', 'checker', 'gradient', 'radial', 'dots', 'marble'] as const;
export type TextureKind = (typeof TEXTURE_KINDS)[number];

export type Rgb8 = [number, number, number];

/** Everything that fixes a texture's pixels; recorded with each episode's look. */
export interface TextureSpec {
  /** Generator seed: the texture's identity. */
  seed: number;
  kind: TextureKind;
  /** Two colours (sRGB bytes) the pattern mixes. */
  colors: [Rgb8, Rgb8];
  /** Pattern frequency: periods (or noise cells) across the texture. */
  scale: number;
  /** Pattern orientation (radians). */
  angle: number;
  /** Softness of pattern edges in [0, 1] (0: hard). */
  softness: number;
  /** Amplitude of the fine grain laid over every family, in [0, 1]. */
  grain: number;
}

/** Default texture edge in texels. */
export const TEXTURE_SIZE = 64;

function hsvToRgb8(h: number, s: number, v: number): Rgb8 {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const m = i % 6;
  const [r, g, b] = m === 0 ? [v, t, p] : m === 1 ? [q, v, p] : m === 2 ? [p, v, t] : m === 3 ? [p, q, v] : m === 4 ? [t, p, v] : [v, p, q];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

function randomColor(rng: Rng): Rgb8 {
  return hsvToRgb8(rng.next(), rng.uniform(0, 1), rng.uniform(0.08, 1));
}

/** The texture a generator seed names. */
export function textureSpec(seed: number): TextureSpec {
  const rng = new Rng(seed);
  const kind = rng.pick(TEXTURE_KINDS);
  return {
    seed: seed >>> 0,
    kind,
    colors: [randomColor(rng), randomColor(rng)],
    scale: rng.uniform(1.5, 12),
    angle: rng.uniform(0, Math.PI),
    softness: rng.uniform(0, 1),
    grain: rng.uniform(0.02, 0.25),
  };
}

/** 2D integer hash in [0, 1). */
function hash2(x: number, y: number, seed: number): number {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** The hash values at the integer points of a periodic p×p lattice. */
function lattice(p: number, seed: number): Float64Array {
  const L = new Float64Array(p * p);
  for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) L[y * p + x] = hash2(x, y, seed);
  return L;
}

/** Smooth value noise over a lattice of period p (so textures tile). */
function valueNoise(x: number, y: number, p: number, L: Float64Array): number {
  const xi = Math.floor(x), yi = Math.floor(y);
  const fx = x - xi, fy = y - yi;
  const sx = fx * fx * (3 - 2 * fx), sy = fy * fy * (3 - 2 * fy);
  const x0 = ((xi % p) + p) % p, y0 = ((yi % p) + p) % p;
  const x1 = (x0 + 1) % p, y1 = (y0 + 1) % p;
  const a = L[y0 * p + x0], b = L[y0 * p + x1], c = L[y1 * p + x0], d = L[y1 * p + x1];
  return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
}

/** Lattices of the octaves of fractal noise with base period p. */
function octaves(p: number, seed: number, n: number): Float64Array[] {
  return Array.from({ length: n }, (_, o) => lattice(p << o, seed + o * 1013));
}

function fbm(x: number, y: number, p: number, lattices: Float64Array[]): number {
  let sum = 0, amp = 0.5, norm = 0;
  for (let o = 0; o < lattices.length; o++) {
    sum += amp * valueNoise(x, y, p, lattices[o]);
    norm += amp;
    amp *= 0.5;
    x *= 2;
    y *= 2;
    p *= 2;
  }
  return sum / norm;
}

/** Hard-to-soft step of a periodic signal in [0, 1) around `edge`. */
function band(t: number, edge: number, soft: number): number {
  const w = 0.02 + 0.25 * soft;
  const d = Math.min(Math.abs(t - edge), Math.abs(t - edge + 1), Math.abs(t - edge - 1));
  const inside = t < edge ? 1 : 0;
  const s = Math.min(1, d / w);
  return inside ? 0.5 + 0.5 * s : 0.5 - 0.5 * s;
}

/**
 * RGBA8 pixels (sRGB-encoded, rows from v = 0) of a `size`×`size` texture. Writes into `out`
 * when given (length size²·4), so a caller can reuse one buffer.
 */
export function generateTexture(spec: TextureSpec, size = TEXTURE_SIZE, out?: Uint8Array): Uint8Array {
  const data = out ?? new Uint8Array(size * size * 4);
  if (data.length !== size * size * 4) throw new RangeError(`texture buffer must hold ${size * size * 4} bytes, has ${data.length}`);
  const [c0, c1] = spec.colors;
  const seed = spec.seed | 0;
  const ca = Math.cos(spec.angle), sa = Math.sin(spec.angle);
  // Integer periods keep every family tileable.
  const period = Math.max(1, Math.round(spec.scale));
  const noiseCells = Math.max(2, Math.round(spec.scale));
  const noiseLattices = spec.kind === 'noise' ? octaves(noiseCells, seed, 1 + ((seed >>> 3) % 4)) : [];
  const marbleLattices = spec.kind === 'marble' ? octaves(4, seed, 3) : [];
  const duty = 0.25 + 0.5 * hash2(7, 11, seed);
  for (let j = 0; j < size; j++) {
    const v = (j + 0.5) / size;
    for (let i = 0; i < size; i++) {
      const u = (i + 0.5) / size;
      let t: number;
      switch (spec.kind) {
        case 'flat':
          t = 0;
          break;
        case 'noise':
          t = fbm(u * noiseCells, v * noiseCells, noiseCells, noiseLattices);
          t = (t - 0.5) * (1 + 2 * (1 - spec.softness)) + 0.5;
          break;
        case 'stripes': {
          // Axis-aligned or diagonal periods stay tileable.
          const k = Math.round(ca * 2) , l = Math.round(sa * 2);
          const ph = (u * (k || 1) + v * l) * period;
          t = band(ph - Math.floor(ph), duty, spec.softness);
          break;
        }
        case 'checker': {
          const a = Math.floor(u * period * 2) + Math.floor(v * period * 2);
          t = a & 1;
          break;
        }
        case 'gradient':
          t = 0.5 + 0.5 * Math.sin(2 * Math.PI * (u * ca + v * sa)) * (0.5 + spec.softness);
          break;
        case 'radial': {
          const du = u - 0.5, dv = v - 0.5;
          t = Math.sqrt(du * du + dv * dv) * period;
          t = 0.5 + 0.5 * Math.cos(2 * Math.PI * t);
          break;
        }
        case 'dots': {
          const fu = u * period - Math.floor(u * period) - 0.5, fv = v * period - Math.floor(v * period) - 0.5;
          const r = Math.sqrt(fu * fu + fv * fv);
          const rad = 0.15 + 0.3 * duty;
          t = r < rad ? 1 : r < rad + 0.05 + 0.1 * spec.softness ? 1 - (r - rad) / (0.05 + 0.1 * spec.softness) : 0;
          break;
        }
        case 'marble': {
          const n = fbm(u * 4, v * 4, 4, marbleLattices);
          t = 0.5 + 0.5 * Math.sin(2 * Math.PI * (u * Math.round(ca * period) + v * Math.round(sa * period) + 3 * n));
          break;
        }
      }
      if (t < 0) t = 0;
      else if (t > 1) t = 1;
      const g = (hash2(i, j, seed ^ 0x9e3779b9) - 0.5) * spec.grain;
      const o = (j * size + i) * 4;
      for (let c = 0; c < 3; c++) {
        const x = c0[c] + (c1[c] - c0[c]) * t + 255 * g;
        data[o + c] = x < 0 ? 0 : x > 255 ? 255 : Math.round(x);
      }
      data[o + 3] = 255;
    }
  }
  return data;
}
