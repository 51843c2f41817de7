/**
 * Seeded random numbers for every data path in simreal.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG, 128-bit state, passes
 * PractRand), seeded through splitmix32 so that nearby seeds give unrelated streams. It is pure
 * JavaScript integer arithmetic, so the same seed gives the same numbers in Node, in a worker
 * thread and in a browser.
 *
 * Independent streams come from `fork(name)`: the child's seed is a hash of the parent's seed and
 * the name, not of how many numbers the parent has drawn, so adding a draw to one stream (say the
 * task layout) never shifts another (say the physics randomization).
 */

/** splitmix32 step: a well-mixed 32-bit hash of its input. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a of a string, for naming streams. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combines seeds and stream names into one 32-bit seed. */
export function deriveSeed(seed: number, ...parts: Array<number | string>): number {
  let h = mix32(seed >>> 0 ^ 0x5eed);
  for (const p of parts) h = mix32(h ^ (typeof p === 'string' ? hashString(p) : p >>> 0));
  return h;
}

export class Rng {
  /** The 32-bit seed this stream was made from (kept so streams can be forked by name). */
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`Rng seed must be an integer, got ${seed}`);
    this.seed = seed >>> 0;
    let s = this.seed;
    this.a = s = mix32(s);
    this.b = s = mix32(s);
    this.c = s = mix32(s);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Where the stream is (to carry it on elsewhere with `setState`). */
  getState(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  /** Continues from a `getState()` of a stream with the same seed. */
  setState(state: readonly [number, number, number, number]): void {
    [this.a, this.b, this.c, this.d] = state;
  }

  /** An independent stream named `name`, fixed by this stream's seed alone. */
  fork(name: string | number): Rng {
    return new Rng(deriveSeed(this.seed, name));
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box-Muller; one draw per call for simplicity and reproducibility). */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick of an empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}
