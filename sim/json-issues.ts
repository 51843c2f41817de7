/**
 * Zod issues as lines a user can act on: the JSON path of the value (`visual.lights.count[1]`),
 * what was wrong, and the value found. Browser-safe (no Node imports), shared by every file format
 * validated with zod (scenarios, camera files).
 */
import type { z } from 'zod';

/** `a.b[2].c`, or `(root)` for the whole document. */
export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/** A value as JSON, cut to 80 characters. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * One line per issue: `path: message, got value` (issues from `safeParse(data, { reportInput: true })`
 * carry the value). `allowedKeys` is appended to unrecognized-key issues, e.g. where the keys are listed.
 */
export function describeIssues(error: z.ZodError, allowedKeys?: string): string[] {
  return error.issues.map((i) => {
    const extra = i.code === 'unrecognized_keys' && allowedKeys ? ` (${allowedKeys})` : '';
    const got = 'input' in i && i.code !== 'unrecognized_keys' ? `, got ${showValue(i.input)}` : '';
    return `${jsonPath(i.path)}: ${i.message}${got}${extra}`;
  });
}
