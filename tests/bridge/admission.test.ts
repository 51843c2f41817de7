import { describe, it, expect, afterEach } from 'vitest';
import * as net from 'node:net';
import { WebSocket } from 'ws';
import { ControllerClient } from '../../bridge/controller-client.ts';
import type { RunningBridge } from '../../bridge/hub/server.ts';
import { startTestBridge, startMockRobot, TOKEN, until } from './helpers.ts';

const VIEWER_TOKEN = 'viewer-token-0123456789';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Opens a WebSocket and resolves with the HTTP status of the upgrade (101 when accepted). */
function open(bridge: RunningBridge, role: string, token: string): Promise<{ status: number; ws: WebSocket; body: string }> {
  const u = new URL(bridge.url);
  u.searchParams.set('role', role);
  const ws = new WebSocket(u, ['simreal.bridge.v1'], { headers: { Authorization: `Bearer ${token}` } });
  cleanup.push(() => ws.terminate());
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ws, body }));
    });
    ws.on('message', () => resolve({ status: 101, ws, body: '' })); // the welcome
    ws.on('close', (code, reason) => resolve({ status: code, ws, body: reason.toString() }));
    ws.on('error', () => {});
  });
}

function rawSocket(bridge: RunningBridge, send?: string): { socket: net.Socket; closed: Promise<number> } {
  const t0 = Date.now();
  const socket = net.connect(bridge.port, '127.0.0.1');
  socket.on('error', () => {});
  if (send) socket.write(send);
  cleanup.push(() => socket.destroy());
  return { socket, closed: new Promise((resolve) => socket.on('close', () => resolve(Date.now() - t0))) };
}

describe('admission: no client can take everyone else\'s place (findings 4 and 5)', () => {
  it('keeps separate connection pools per role, so viewers cannot crowd out robots or controllers', async () => {
    const bridge = await startTestBridge({ viewerToken: VIEWER_TOKEN, config: { maxConnections: 40, roleConnections: { robot: 10, controller: 10, viewer: 15 } } });
    cleanup.push(() => bridge.close());
    for (let i = 0; i < 15; i++) expect((await open(bridge, 'viewer', TOKEN)).status).toBe(101);
    const refused = await open(bridge, 'viewer', TOKEN);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/15 viewer connections/);
    // Robots and controllers still have their own places.
    const c = await ControllerClient.connect({ url: bridge.url, token: TOKEN, name: 'operator' });
    cleanup.push(() => c.close());
    const { client } = await startMockRobot(bridge, 'arm');
    cleanup.push(() => client.stop());
    expect(c.isOpen).toBe(true);
  });

  it('caps the connections of one credential per role', async () => {
    const bridge = await startTestBridge({ viewerToken: VIEWER_TOKEN, config: { tokenConnections: 4 } });
    cleanup.push(() => bridge.close());
    for (let i = 0; i < 4; i++) expect((await open(bridge, 'viewer', VIEWER_TOKEN)).status).toBe(101);
    const fifth = await open(bridge, 'viewer', VIEWER_TOKEN);
    expect(fifth.status).toBe(503);
    expect(fifth.body).toMatch(/this credential already has 4 viewer connections/);
    expect((await open(bridge, 'viewer', TOKEN)).status).toBe(101);
  });

  it('closes a connection that does not finish its upgrade within the handshake timeout', async () => {
    const bridge = await startTestBridge({ config: { handshakeTimeoutMs: 300 } });
    cleanup.push(() => bridge.close());
    const idle = rawSocket(bridge);
    const partial = rawSocket(bridge, 'GET /?role=viewer HTTP/1.1\r\nHost: x\r\n');
    expect(await idle.closed).toBeLessThan(2000);
    expect(await partial.closed).toBeLessThan(2000);
  });

  it('caps connections still in their handshake (oldest go first), so a flood of idle sockets does not lock clients out', async () => {
    const bridge = await startTestBridge({ config: { handshakeTimeoutMs: 10_000, maxPendingHandshakes: 8 } });
    cleanup.push(() => bridge.close());
    const idle = Array.from({ length: 20 }, () => rawSocket(bridge));
    let closed = 0;
    for (const s of idle) void s.closed.then(() => closed++);
    await until(() => closed >= 12, 3000, 'idle sockets beyond the cap closed');
    const c = await ControllerClient.connect({ url: bridge.url, token: TOKEN, name: 'legit', timeoutMs: 3000 });
    cleanup.push(() => c.close());
    expect(c.isOpen).toBe(true);
  });

  it('rate-limits failed authentication per address, never the right token', async () => {
    const bridge = await startTestBridge({ config: { authFailures: { burst: 5, perSecond: 0.1 } } });
    cleanup.push(() => bridge.close());
    for (let i = 0; i < 5; i++) expect((await open(bridge, 'controller', 'wrong-wrong-wrong-wrong')).status).toBe(401);
    const limited = await open(bridge, 'controller', 'wrong-wrong-wrong-wrong');
    expect(limited.status).toBe(429);
    expect(limited.body).toMatch(/too many failed/);
    expect((await open(bridge, 'controller', TOKEN)).status).toBe(101);
  });
});
