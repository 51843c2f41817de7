/**
 * Errors a user can fix, raised by policy/ and turned into exit code 2 by the CLI: a dataset
 * that lacks what a model needs, a model that does not fit a scenario, a missing or malformed
 * model file. Each message names both sides of a mismatch and how to resolve it.
 */

/** A dataset, model or scenario that cannot be used as asked (bad input, not a bug). */
export class PolicyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyInputError';
  }
}

/** Training stopped because the loss became NaN or infinite. */
export class TrainingDivergedError extends Error {
  /** Epoch (1-based) and batch (0-based within the epoch) of the bad step. */
  readonly epoch: number;
  readonly batch: number;
  /** Directory of the last good checkpoint, if any. */
  readonly checkpoint: string | null;
  constructor(message: string, epoch: number, batch: number, checkpoint: string | null) {
    super(message);
    this.name = 'TrainingDivergedError';
    this.epoch = epoch;
    this.batch = batch;
    this.checkpoint = checkpoint;
  }
}

/** Lists at most `max` names, then how many more. */
export function listNames(names: readonly string[], max = 8): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')}, … (${names.length - max} more)`;
}

/** Why two ordered feature lists differ (null when equal): sizes, then the first differing name. */
export function namesMismatch(expected: readonly string[], actual: readonly string[]): string | null {
  if (expected.length !== actual.length) {
    const missing = expected.filter((n) => !actual.includes(n));
    const extra = actual.filter((n) => !expected.includes(n));
    const parts = [`${expected.length} features vs ${actual.length}`];
    if (missing.length) parts.push(`missing ${listNames(missing, 5)}`);
    if (extra.length) parts.push(`extra ${listNames(extra, 5)}`);
    return parts.join('; ');
  }
  for (let i = 0; i < expected.length; i++) {
    if (expected[i] !== actual[i]) return `feature ${i} is ${actual[i]} instead of ${expected[i]}`;
  }
  return null;
}
