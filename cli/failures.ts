/**
 * Failures a user can act on that are not a UserError where they arise: a missing system
 * dependency (GPU adapter, ffmpeg, onnxruntime), bad input a part refused (datasets, models,
 * scenarios), a lost or unreachable bridge. `main` prints each as one line, with the exit code of
 * the documented scheme (EXIT_CODES in errors.ts), instead of a stack trace. Errors raised in a
 * worker thread arrive without their class, so they are also known by name.
 */
import { EXIT_CODES } from './errors.ts';

const SYSTEM = new Set(['NoGpuAdapterError', 'VideoToolMissingError', 'OnnxRuntimeMissingError']);
const INPUT = new Set(['DatasetError', 'PolicyInputError', 'ScenarioError', 'RecoverError', 'OnnxExportError', 'BackendUnavailableError', 'NoBackendError', 'BridgeConfigError']);
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE']);

export interface Failure {
  message: string;
  exitCode: number;
}

/** The first line of a message (a worker's stack is not for the user). */
function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() && !/^\s*at\s/.test(l))?.trim() ?? s;
}

export function classifyFailure(err: unknown): Failure | null {
  if (!(err instanceof Error)) return null;
  // A worker's error is re-thrown as "episode N failed in a worker:\n<Name>: <message>\n  at …".
  const inner = /failed in a worker:\n(\w+): ([^\n]*)/.exec(err.message);
  const name = inner ? inner[1] : err.name;
  const message = inner ? inner[2] : firstLine(err.message);
  if (SYSTEM.has(name)) return { message, exitCode: EXIT_CODES.systemDependency };
  if (INPUT.has(name)) return { message, exitCode: EXIT_CODES.input };
  if (name === 'BridgeError' && (err as { code?: string }).code === 'closed') {
    return { message: `lost the bridge: ${message}; is the hub still running? Start it again (simreal bridge) and rerun`, exitCode: EXIT_CODES.connection };
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code && CONNECTION_CODES.has(code)) {
    return { message: `cannot reach the bridge (${code}): ${message}; is \`simreal bridge\` running at that address?`, exitCode: EXIT_CODES.connection };
  }
  return null;
}
