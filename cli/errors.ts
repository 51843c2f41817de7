/**
 * An error a user can fix (bad flag, bad file, refused overwrite): printed as one clear message
 * without a stack trace, with its own exit code (2 for bad input, by convention).
 */
import { BackendUnavailableError, NoBackendError } from '../policy/backend.ts';
import { PolicyInputError, TrainingDivergedError } from '../policy/errors.ts';
import { DatasetError } from '../sim/dataset/format.ts';

export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Turns the errors a user can fix into UserError (exit code 2; 3 for a diverged training). */
export function asUserError(err: unknown): unknown {
  if (err instanceof TrainingDivergedError) return new UserError(err.message, 3);
  if (err instanceof PolicyInputError || err instanceof DatasetError || err instanceof BackendUnavailableError || err instanceof NoBackendError) {
    return new UserError(err.message);
  }
  return err;
}
