/**
 * Ranges in scenario files, as zod schemas. A range is `[min, max]` inside the bounds its
 * parameter allows, or a list of such intervals (`[[0.04, 0.045], [0.055, 0.06]]`, sampled in
 * proportion to their lengths); an integer range is one interval. The physics ranges
 * (scenario.ts) and the look ranges (render/visual-schema.ts) are both made of these.
 */
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, 'expected a finite number');

function interval(lo: number, hi: number) {
  return z
    .tuple([finite.min(lo).max(hi), finite.min(lo).max(hi)])
    .refine(([a, b]) => a <= b, { message: 'expected [min, max] with min <= max' });
}

/** A range of values inside [lo, hi]: one interval or a union of intervals. */
export function range(lo: number, hi: number) {
  return z.union([interval(lo, hi), z.array(interval(lo, hi)).min(1)]);
}
export type Range = [number, number] | Array<[number, number]>;

/** An integer interval [min, max] inside [lo, hi]. */
export function intRange(lo: number, hi: number) {
  return z
    .tuple([z.int().min(lo).max(hi), z.int().min(lo).max(hi)])
    .refine(([a, b]) => a <= b, { message: 'expected [min, max] with min <= max' });
}
