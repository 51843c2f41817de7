/**
 * The viewer's HTTP server: serves the page (bundled in memory, see bundle.ts) and accepts the
 * page's WebSocket at `/ws` (subprotocol `simreal.viewer.v1`), handing each connection to the
 * source as a PageLink.
 *
 * It listens on 127.0.0.1 by default. Requests must name this server in their Host header (a
 * defence against DNS rebinding) and WebSocket upgrades from a browser must come from the page's
 * own origin, so another site open in the same browser cannot drive the simulation or raise an
 * e-stop through it.
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { VIEWER_SUBPROTOCOL, VIEWER_WS_PATH, encodeServerMessage, parseClientMessage } from '../protocol.ts';
import type { ViewerServerMessage } from '../protocol.ts';
import { viewerAssets } from './bundle.ts';
import type { PageLink, ViewerSource } from './source.ts';

export interface ViewerServerOptions {
  source: ViewerSource;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** A page whose socket holds more than this many unsent bytes skips binary frames (default 1 MiB). */
  dropFramesAboveBytes?: number;
  log?: (line: string) => void;
}

export interface RunningViewer {
  url: string;
  port: number;
  host: string;
  source: ViewerSource;
  /** Pages connected now. */
  readonly pages: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const i = h.lastIndexOf(':');
  return i >= 0 ? h.slice(0, i) : h;
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  socket.destroy();
}

export async function startViewerServer(options: ViewerServerOptions): Promise<RunningViewer> {
  const source = options.source;
  const host = options.host ?? '127.0.0.1';
  const wildcard = host === '0.0.0.0' || host === '::';
  const dropAbove = options.dropFramesAboveBytes ?? 1 << 20;
  const instance = randomUUID();
  const assets = await viewerAssets();
  await source.start();

  const hostAllowed = (hostHeader: string | undefined): boolean => {
    if (!hostHeader) return false;
    if (wildcard) return true;
    const name = hostName(hostHeader);
    return LOOPBACK.has(name) || name === host.toLowerCase() || `[${host.toLowerCase()}]` === name;
  };

  const server = http.createServer((req, res) => {
    if (!hostAllowed(req.headers.host)) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('unknown Host header\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const pathname = url.pathname === '/index.html' ? '/' : url.pathname;
    const asset = assets.get(pathname);
    if (!asset) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': asset.body.byteLength,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; style-src 'self'; script-src 'self'",
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  });

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: 64 * 1024,
    handleProtocols: (protocols) => (protocols.has(VIEWER_SUBPROTOCOL) ? VIEWER_SUBPROTOCOL : false),
  });
  const sockets = new Set<WebSocket>();

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== VIEWER_WS_PATH) return refuse(socket, 404, `the viewer's WebSocket is at ${VIEWER_WS_PATH}`);
    if (!hostAllowed(req.headers.host)) return refuse(socket, 403, 'unknown Host header');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) return refuse(socket, 403, `origin ${origin} may not connect to this viewer`);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    if (!offered.includes(VIEWER_SUBPROTOCOL)) return refuse(socket, 400, `offer the subprotocol ${VIEWER_SUBPROTOCOL}`);
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  function accept(ws: WebSocket): void {
    sockets.add(ws);
    const page: PageLink = {
      send: (msg: ViewerServerMessage) => { if (ws.readyState === ws.OPEN) ws.send(encodeServerMessage(msg)); },
      sendText: (text: string) => { if (ws.readyState === ws.OPEN) ws.send(text); },
      sendFrame: (bytes: Uint8Array) => { if (ws.readyState === ws.OPEN && ws.bufferedAmount <= dropAbove) ws.send(bytes, { binary: true }); },
    };
    ws.on('error', () => {});
    ws.on('close', () => {
      sockets.delete(ws);
      source.detach(page);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        page.send({ op: 'notice', level: 'warn', message: 'the viewer server takes JSON text messages only' });
        return;
      }
      const p = parseClientMessage(data.toString());
      if (!p.ok) {
        page.send({ op: 'notice', level: 'warn', message: `ignored a bad request: ${p.message}` });
        return;
      }
      try {
        source.handle(page, p.msg);
      } catch (err) {
        options.log?.(`request ${p.msg.op} failed: ${(err as Error).stack ?? err}`);
        page.send({ op: 'notice', level: 'error', message: `${p.msg.op} failed: ${(err as Error).message}`.slice(0, 1000) });
      }
    });
    page.send({ op: 'hello', protocol: VIEWER_SUBPROTOCOL, mode: source.mode, server: instance, ...source.hello() });
    source.attach(page);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err) => {
    await source.close();
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = wildcard ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closed = false;
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    host,
    source,
    get pages() { return sockets.size; },
    async close() {
      if (closed) return;
      closed = true;
      await source.close();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
