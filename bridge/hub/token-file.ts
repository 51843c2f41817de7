/**
 * The bridge token on disk: read it, or create it (32 random bytes, base64url, mode 0600 in a
 * 0700 directory) if the file does not exist. A token file others can read is refused, as ssh
 * refuses a readable private key.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BridgeConfigError } from '../config.ts';

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export function loadOrCreateToken(file: string): { token: string; created: boolean } {
  let created = false;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(file, generateToken() + '\n', { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // someone else made it first: read theirs
    }
  }
  const st = fs.statSync(file);
  if (!st.isFile()) throw new BridgeConfigError(`token file ${file} is not a regular file`);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new BridgeConfigError(`token file ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
  }
  const token = fs.readFileSync(file, 'utf8').trim();
  if (token.length < 16) throw new BridgeConfigError(`token file ${file} holds fewer than 16 characters; delete it to have a new token generated`);
  return { token, created };
}
