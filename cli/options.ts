/** Parsing helpers shared by CLI commands: every bad value becomes a UserError naming the flag. */
import { backendNames, isBackendName } from '../policy/backend.ts';
import type { BackendName } from '../policy/backend.ts';
import { loadScenario, ScenarioError } from '../sim/scenario.ts';
import type { Scenario } from '../sim/scenario.ts';
import { UserError } from './errors.ts';

export function parseIntOption(flag: string, text: string, min = -Infinity, max = Infinity): number {
  const v = Number(text);
  if (!/^-?\d+$/.test(String(text).trim()) || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = Number.isFinite(max) ? ` in ${min}..${max}` : Number.isFinite(min) ? ` >= ${min}` : '';
    throw new UserError(`${flag} expects an integer${range}, got "${text}"`);
  }
  return v;
}

/** `--hidden 256,256,256`: the MLP's hidden layer sizes. */
export function parseHiddenOption(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 8192)) {
    throw new UserError(`--hidden expects layer sizes separated by commas, such as 256,256,256, got "${text}"`);
  }
  return parts.map(Number);
}

export function parseNumberOption(flag: string, text: string, min = -Infinity, max = Infinity): number {
  const v = Number(text);
  if (String(text).trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new UserError(`${flag} expects a number in [${min}, ${max}], got "${text}"`);
  }
  return v;
}

/** Loads a scenario, turning validation problems into a UserError (exit code 2). */
export function loadScenarioOrExit(path: string): Scenario {
  try {
    return loadScenario(path);
  } catch (err) {
    if (err instanceof ScenarioError) throw new UserError(err.message, 2);
    throw err;
  }
}

/** `--backend`: one of the TensorFlow.js backends, or undefined for the first that works. */
export function parseBackend(text: string | undefined): BackendName | undefined {
  if (text === undefined) return undefined;
  if (!isBackendName(text)) throw new UserError(`--backend ${text} is not known; choose one of ${backendNames.join(', ')}`);
  return text;
}
