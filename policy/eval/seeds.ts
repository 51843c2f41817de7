/**
 * Evaluation seeds. Generation gives episode i of a run with base seed s the seed
 * deriveSeed(s, 'episode', i) (sim/episode.ts); evaluation uses deriveSeed(base, 'eval', i), a
 * different stream name, so the two never coincide by construction of the sequence, and, since
 * 32-bit hashes can still collide, every seed the model was trained or validated on (listed in
 * its model card) is skipped and replaced by the next candidate. The result reports how many
 * were skipped. Training selects its best epoch on a third stream (selectionSeeds).
 */
import { deriveSeed } from '../../sim/rng.ts';

export const DEFAULT_EVAL_SEED = 20_250_501;

export interface EvalSeeds {
  seeds: number[];
  /** Candidates skipped because the model saw them in training. */
  skipped: number;
  derivation: string;
}

export function evalSeeds(count: number, base: number, exclude: Iterable<number> = []): EvalSeeds {
  const seen = new Set(exclude);
  const seeds: number[] = [];
  let skipped = 0;
  for (let i = 0; seeds.length < count; i++) {
    const s = deriveSeed(base, 'eval', i);
    if (seen.has(s)) skipped++;
    else seeds.push(s);
  }
  return { seeds, skipped, derivation: `deriveSeed(${base}, 'eval', i), skipping seeds in the model card's dataset.seeds` };
}

/**
 * Seeds of the closed-loop rollouts that select the best training epoch: the stream
 * deriveSeed(base, 'select', i), apart from generation ('episode') and evaluation ('eval').
 */
export function selectionSeeds(count: number, base: number): number[] {
  return Array.from({ length: count }, (_, i) => deriveSeed(base, 'select', i));
}
