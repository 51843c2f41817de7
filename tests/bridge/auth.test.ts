import { describe, it, expect, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { WebSocket } from 'ws';
import { ControllerClient } from '../../bridge/controller-client.ts';
import { loadOrCreateToken } from '../../bridge/hub/token-file.ts';
import { Authenticator, tokenMatches, digest } from '../../bridge/hub/auth.ts';
import { startTestBridge, TOKEN } from './helpers.ts';
import type { RunningBridge } from '../../bridge/hub/server.ts';
import { needs } from '../system-packages.ts';

let bridge: RunningBridge | null = null;
afterEach(async () => {
  await bridge?.close();
  bridge = null;
});

/** Opens a raw upgrade and resolves with the HTTP status (101 when accepted). */
function upgradeStatus(url: string, opts: { role?: string; token?: string | null; origin?: string; protocols?: string[]; ca?: Buffer }): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  if (opts.role !== undefined) u.searchParams.set('role', opts.role);
  const headers: Record<string, string> = {};
  if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? TOKEN}`;
  if (opts.origin) headers.Origin = opts.origin;
  const ws = new WebSocket(u, opts.protocols ?? ['simreal.bridge.v1'], { headers, ...(opts.ca ? { ca: opts.ca } : {}) });
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => { ws.close(); resolve({ status: 101, body: '' }); });
    ws.on('error', () => {});
  });
}

describe('authentication at the upgrade', () => {
  it('accepts the right token and refuses wrong, missing or wrong-role requests', async () => {
    bridge = await startTestBridge({ viewerToken: 'viewer-token-0123456789', origins: ['http://localhost:5173'] });
    const url = bridge.url;
    expect((await upgradeStatus(url, { role: 'controller' })).status).toBe(101);
    const wrong = await upgradeStatus(url, { role: 'controller', token: 'nope-nope-nope-nope-nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatch(/wrong token/);
    const none = await upgradeStatus(url, { role: 'controller', token: null });
    expect(none.status).toBe(401);
    expect(none.body).toMatch(/missing token/);
    expect((await upgradeStatus(url, { role: 'admin' })).status).toBe(400);
    expect((await upgradeStatus(url, {})).status).toBe(400);
    // The viewer token grants viewing only.
    expect((await upgradeStatus(url, { role: 'viewer', token: 'viewer-token-0123456789' })).status).toBe(101);
    const escalate = await upgradeStatus(url, { role: 'controller', token: 'viewer-token-0123456789' });
    expect(escalate.status).toBe(403);
    expect(escalate.body).toMatch(/only the viewer role/);
    // Subprotocol required.
    expect((await upgradeStatus(url, { role: 'viewer', protocols: ['other'] })).status).toBe(400);
    // Browsers: the origin must be allowed; the token may travel as a subprotocol.
    expect((await upgradeStatus(url, { role: 'viewer', origin: 'http://evil.example' })).status).toBe(403);
    expect((await upgradeStatus(url, { role: 'viewer', origin: 'http://localhost:5173', token: null, protocols: ['simreal.bridge.v1', `simreal.token.${TOKEN}`] })).status).toBe(101);
    expect((await upgradeStatus(url, { role: 'viewer', origin: 'http://localhost:5173', token: null, protocols: ['simreal.bridge.v1', 'simreal.token.bad-bad-bad-bad-bad'] })).status).toBe(401);
    expect(bridge.hub.connectionCount).toBeLessThanOrEqual(4);
  });

  it('rejects through the client API with the reason', async () => {
    bridge = await startTestBridge();
    await expect(ControllerClient.connect({ url: bridge.url, token: 'x'.repeat(20) })).rejects.toThrow(/401 wrong token/);
  });

  it('compares tokens by digest in constant time', () => {
    const d = digest('abcdefghijklmnopqrstuvwxyz');
    expect(tokenMatches('abcdefghijklmnopqrstuvwxyz', d)).toBe(true);
    expect(tokenMatches('abcdefghijklmnopqrstuvwxy', d)).toBe(false);
    expect(tokenMatches(undefined, d)).toBe(false);
    expect(() => new Authenticator({ token: 'short' })).toThrow(/16 characters/);
    expect(() => new Authenticator({ token: TOKEN, viewerToken: TOKEN })).toThrow(/must differ/);
  });
});

describe('token file', () => {
  it('is generated with mode 0600 and reused, and refused when others can read it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-token-'));
    const file = path.join(dir, 'sub', 'token');
    const a = loadOrCreateToken(file);
    expect(a.created).toBe(true);
    expect(a.token.length).toBeGreaterThanOrEqual(40);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const b = loadOrCreateToken(file);
    expect(b).toEqual({ token: a.token, created: false });
    fs.chmodSync(file, 0o644);
    expect(() => loadOrCreateToken(file)).toThrow(/chmod 600/);
  });
});

describe('wss', needs('openssl'), () => {
  it('serves TLS when given a certificate and key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simreal-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    await expect(startTestBridge({ tls: { cert, key: '' } })).rejects.toThrow(/both/);
    bridge = await startTestBridge({ tls: { cert, key } });
    expect(bridge.url.startsWith('wss://')).toBe(true);
    const c = await ControllerClient.connect({ url: bridge.url, token: TOKEN, tls: { ca: fs.readFileSync(cert) } });
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
    await c.close();
  });
});
