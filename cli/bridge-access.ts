/**
 * How commands reach a bridge: the token file every client presents (`--token-file`, default
 * ~/.config/simreal/token, created by `simreal bridge`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BridgeConfigError } from '../bridge/config.ts';
import { loadOrCreateToken } from '../bridge/hub/token-file.ts';
import { UserError } from './errors.ts';

export const DEFAULT_TOKEN_FILE = '~/.config/simreal/token';

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** Runs `fn`, turning a bad bridge configuration or token file (BridgeConfigError) into a UserError. */
export function userErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BridgeConfigError) throw new UserError(e.message);
    throw e;
  }
}

/** The token in `file`, which must exist (a client never creates one). */
export function readToken(file: string): string {
  const p = expandHome(file);
  if (!fs.existsSync(p)) throw new UserError(`token file ${p} does not exist: start the bridge once (it creates one), or pass --token-file`);
  return userErrors(() => loadOrCreateToken(p).token);
}
