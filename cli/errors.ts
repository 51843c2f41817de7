/**
 * An error a user can fix (bad flag, bad file, refused overwrite): printed as one clear message
 * without a stack trace, with its own exit code (2 for bad input, by convention).
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}
