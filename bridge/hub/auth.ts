/**
 * Who may connect: checked on the HTTP upgrade request, before any WebSocket exists.
 *
 * - Token: `Authorization: Bearer <token>` (Node clients), or, for browsers that cannot set
 *   headers, a second subprotocol `simreal.token.<token>`. Compared in constant time on SHA-256
 *   digests, so neither content nor length leaks through timing.
 * - Tokens grant roles: the main token `controller` and `viewer`; an optional viewer token only
 *   `viewer`; an optional operator token `controller` with the right to clear any e-stop (and
 *   `viewer`); a robot's own credential (robot-credentials.ts) only `robot`, and only its own id
 *   (the hub checks `register` against it). The main token does not make robots.
 * - Role: `?role=robot|controller|viewer` in the URL. Anything else is refused.
 * - Origin: a request that carries an `Origin` header (every browser does) must match the allowlist
 *   exactly (`scheme://host[:port]`). Non-browser clients send none.
 * - Subprotocol: the client must offer `simreal.bridge.v1`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ROLES, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '../protocol.ts';
import type { Role } from '../protocol.ts';
import { verifyRobotToken } from './robot-credentials.ts';

export interface AuthOptions {
  /** The main token: grants every role. */
  token: string;
  /** Optional read-only token: grants only `viewer`. */
  viewerToken?: string;
  /** The secret robot credentials are derived from (robot-credentials.ts); without it no robot may connect. */
  robotKey?: string;
  /** Optional operator token: grants `controller` (and `viewer`) with the right to clear any e-stop. */
  operatorToken?: string;
  /** Allowed browser origins (exact match); empty: browsers are refused. */
  origins?: readonly string[];
  /** URL path the bridge answers on (default `/`). */
  path?: string;
}

export type UpgradeDecision =
  /**
   * `credential` names the token that matched (`main`, `viewer`, `robot:<id>`), for per-credential
   * limits; `robot` is the id a robot credential is pinned to.
   */
  | { ok: true; role: Role; name: string | undefined; credential: string; robot?: string; operator?: boolean }
  | { ok: false; status: 400 | 401 | 403 | 404; reason: string };

const MIN_TOKEN_CHARS = 16;

export function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time token comparison on equal-length digests. */
export function tokenMatches(provided: string | undefined, expectedDigest: Buffer): boolean {
  const d = digest(provided ?? '');
  // Always compare, even for a missing token, so the timing of a refusal says nothing.
  return timingSafeEqual(d, expectedDigest) && provided !== undefined;
}

export function normalizeOrigin(origin: string): string {
  const u = new URL(origin);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`origin ${JSON.stringify(origin)} must be http(s)://host[:port]`);
  return u.origin;
}

/** The subprotocols a client offered (header `Sec-WebSocket-Protocol`, comma separated). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  if (typeof h !== 'string') return [];
  return h.split(',').map((s) => s.trim()).filter(Boolean);
}

export function extractToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  for (const p of offeredProtocols(req)) if (p.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return p.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
  return undefined;
}

export class Authenticator {
  private readonly main: Buffer;
  private readonly viewer: Buffer | null;
  private readonly robotKey: string | null;
  private readonly operator: Buffer | null;
  private readonly origins: Set<string>;
  private readonly path: string;

  constructor(options: AuthOptions) {
    if (typeof options.token !== 'string' || options.token.length < MIN_TOKEN_CHARS) throw new Error(`the bridge token must be at least ${MIN_TOKEN_CHARS} characters`);
    if (!/^[A-Za-z0-9_\-.~+/=]+$/.test(options.token)) throw new Error('the bridge token may only contain URL-safe characters (letters, digits, - _ . ~ + / =)');
    if (options.viewerToken !== undefined) {
      if (options.viewerToken.length < MIN_TOKEN_CHARS) throw new Error(`the viewer token must be at least ${MIN_TOKEN_CHARS} characters`);
      if (options.viewerToken === options.token) throw new Error('the viewer token must differ from the main token (it grants less)');
    }
    this.main = digest(options.token);
    this.viewer = options.viewerToken ? digest(options.viewerToken) : null;
    if (options.robotKey !== undefined && options.robotKey.length < MIN_TOKEN_CHARS) throw new Error(`the robot key must be at least ${MIN_TOKEN_CHARS} characters`);
    this.robotKey = options.robotKey ?? null;
    if (options.operatorToken !== undefined) {
      if (options.operatorToken.length < MIN_TOKEN_CHARS) throw new Error(`the operator token must be at least ${MIN_TOKEN_CHARS} characters`);
      if (options.operatorToken === options.token || options.operatorToken === options.viewerToken) throw new Error('the operator token must differ from the main and viewer tokens (it grants more)');
    }
    this.operator = options.operatorToken ? digest(options.operatorToken) : null;
    this.origins = new Set((options.origins ?? []).map(normalizeOrigin));
    this.path = options.path ?? '/';
  }

  check(req: IncomingMessage): UpgradeDecision {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://bridge.invalid');
    } catch {
      return { ok: false, status: 400, reason: 'bad request URL' };
    }
    if (url.pathname !== this.path) return { ok: false, status: 404, reason: `the bridge answers on ${this.path}` };
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let o: string | null = null;
      try {
        o = normalizeOrigin(origin);
      } catch {
        o = null;
      }
      if (o === null || !this.origins.has(o)) return { ok: false, status: 403, reason: `origin ${JSON.stringify(origin.slice(0, 100))} is not allowed (start the bridge with --origin ${origin.slice(0, 100)} to allow it)` };
    }
    if (!offeredProtocols(req).includes(SUBPROTOCOL)) return { ok: false, status: 400, reason: `offer the WebSocket subprotocol ${SUBPROTOCOL}` };
    const token = extractToken(req);
    const isMain = tokenMatches(token, this.main);
    const isViewer = this.viewer !== null && tokenMatches(token, this.viewer);
    const isOperator = this.operator !== null && tokenMatches(token, this.operator);
    const robot = token !== undefined && this.robotKey !== null ? verifyRobotToken(this.robotKey, token) : null;
    if (!isMain && !isViewer && !isOperator && robot === null) return { ok: false, status: 401, reason: token === undefined ? 'missing token (Authorization: Bearer <token>)' : 'wrong token' };
    const role = url.searchParams.get('role');
    if (!role || !(ROLES as readonly string[]).includes(role)) return { ok: false, status: 400, reason: `role must be one of ${ROLES.join(', ')} (?role=…)` };
    const rawName = url.searchParams.get('name');
    const name = rawName ? rawName.replace(/[^\w .:@-]/g, '').slice(0, 64) : undefined;
    if (robot !== null) {
      if (role !== 'robot') return { ok: false, status: 403, reason: `a robot credential grants only role=robot, not ${role}` };
      return { ok: true, role: 'robot', name, credential: `robot:${robot}`, robot };
    }
    if (role === 'robot') {
      return { ok: false, status: 403, reason: `robots connect with their own credential, pinned to their id, not the ${isMain ? 'main' : isOperator ? 'operator' : 'viewer'} token: on the hub's machine, run simreal robot token --id <id> (or let the robot derive it there with --robot-key-file)` };
    }
    if (isOperator) return { ok: true, role: role as Role, name, credential: 'operator', operator: role === 'controller' };
    if (!isMain && role !== 'viewer') return { ok: false, status: 403, reason: `this token grants only the viewer role, not ${role}` };
    return { ok: true, role: role as Role, name, credential: isMain ? 'main' : 'viewer' };
  }
}
