/**
 * A live, read-only Foxglove WebSocket endpoint beside the hub (@foxglove/ws-protocol, subprotocol
 * `foxglove.websocket.v1`): open Foxglove on `ws://host:port/?token=<token>` and its 3D and Image
 * panels show every robot on the bridge (the channels of bridge/foxglove/scene.ts).
 *
 * It is a client of the hub like any viewer: it connects with the viewer role, subscribes to every
 * robot and every binary channel, and translates what arrives. It never sends a command, and
 * Foxglove clients cannot publish (no `clientPublish` capability): watching only.
 *
 * Who may connect: the hub's own rules for viewers. The main token or the viewer token, given as
 * `Authorization: Bearer <token>` or, since the Foxglove app cannot set headers, as `?token=` in
 * the URL; compared in constant time (bridge/hub/auth.ts). Browsers (the Foxglove web app) must
 * come from an allowed origin (`--origin https://app.foxglove.dev`).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { FoxgloveServer } from '@foxglove/ws-protocol';
import { ControllerClient } from '../controller-client.ts';
import type { RobotInfo } from '../protocol.ts';
import { digest, extractToken, normalizeOrigin, tokenMatches } from '../hub/auth.ts';
import { FoxgloveTranslator, foxgloveSchemaText, robotTopics } from './scene.ts';
import type { FoxgloveMessage, FoxgloveSchemaName } from './scene.ts';

export interface FoxgloveEndpointOptions {
  /** The hub to watch, e.g. ws://127.0.0.1:8765. */
  hubUrl: string;
  /** The token this endpoint presents to the hub (the viewer token where there is one). */
  hubToken: string;
  /** Tokens a Foxglove client may present: the hub's main token and its viewer token. */
  accept: { token: string; viewerToken?: string };
  port: number;
  host?: string;
  /** Allowed browser origins (exact match); empty: browsers are refused. */
  origins?: readonly string[];
  tls?: { cert: string; key: string };
  log?: (line: string) => void;
}

export interface FoxgloveEndpoint {
  url: string;
  port: number;
  /** Foxglove clients connected now. */
  readonly clients: number;
  close(): Promise<void>;
}

export async function startFoxgloveEndpoint(o: FoxgloveEndpointOptions): Promise<FoxgloveEndpoint> {
  const log = o.log ?? (() => {});
  const accepted = [digest(o.accept.token), ...(o.accept.viewerToken ? [digest(o.accept.viewerToken)] : [])];
  const origins = new Set((o.origins ?? []).map(normalizeOrigin));
  // A hub with TLS in this process is reached with its own certificate as the trusted one.
  const hub = await ControllerClient.connect({ url: o.hubUrl, token: o.hubToken, name: 'foxglove', role: 'viewer', timeoutMs: 5000, ...(o.tls ? { tls: { ca: readFileSync(o.tls.cert) } } : {}) });
  const server = new FoxgloveServer({ name: 'simreal bridge', capabilities: [], supportedEncodings: ['json'], metadata: { source: 'simreal bridge', hub: o.hubUrl } });
  const translator = new FoxgloveTranslator();
  const channels = new Map<string, number>();
  const subscribed = new Map<number, number>();
  let clients = 0;
  server.on('subscribe', (id) => subscribed.set(id, (subscribed.get(id) ?? 0) + 1));
  server.on('unsubscribe', (id) => {
    const n = (subscribed.get(id) ?? 1) - 1;
    if (n > 0) subscribed.set(id, n);
    else subscribed.delete(id);
  });
  server.on('error', (e) => log(`foxglove: ${e.message}`));

  const channel = (topic: string, schema: FoxgloveSchemaName): number => {
    let id = channels.get(topic);
    if (id === undefined) {
      id = server.addChannel({ topic, encoding: 'json', schemaName: schema, schema: foxgloveSchemaText(schema), schemaEncoding: 'jsonschema' });
      channels.set(topic, id);
    }
    return id;
  };
  const send = (messages: FoxgloveMessage[]): void => {
    for (const m of messages) {
      const id = channel(m.topic, m.schema);
      if (subscribed.has(id)) server.sendMessage(id, m.timeNs, Buffer.from(JSON.stringify(m.message)));
    }
  };
  const robots = new Map<string, RobotInfo>();
  const onRobots = (list: RobotInfo[]): void => {
    const now = Date.now();
    for (const r of list) {
      const known = robots.get(r.id);
      robots.set(r.id, r);
      if (known && JSON.stringify(known.features) === JSON.stringify(r.features) && JSON.stringify(known.limits) === JSON.stringify(r.limits)) continue;
      for (const t of robotTopics(r.id, r.features)) channel(t.topic, t.schema);
      send(translator.robot(r.id, r.features, r.limits, now));
    }
    for (const id of [...robots.keys()]) {
      if (list.some((r) => r.id === id)) continue;
      robots.delete(id);
      translator.forget(id);
      for (const [topic, ch] of channels) {
        if (!topic.startsWith(`/robots/${id}/`)) continue;
        server.removeChannel(ch);
        channels.delete(topic);
        subscribed.delete(ch);
      }
    }
  };
  hub.on('robots', onRobots);
  hub.on('observation', (m: { robot: string; state: Record<string, number[]>; t?: number }) => send(translator.observation(m.robot, m.state, m.t ?? Date.now())));
  hub.on('frame', (frame: Parameters<FoxgloveTranslator['frame']>[2], robotId: string | undefined) => {
    const info = robotId === undefined ? undefined : hub.robots.get(robotId);
    if (!info) return;
    const feature = Object.keys(info.features.observation)[frame.channel];
    if (!feature) return;
    const topic = `/robots/${info.id}/camera/${feature}`;
    const id = channels.get(topic);
    if (id === undefined || !subscribed.has(id)) return; // no one watches: skip the base64 work
    send(translator.frame(info.id, feature, frame));
  });
  await hub.subscribe('*');
  onRobots([...hub.robots.values()]);

  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => server.handleProtocols(protocols) });
  const refuse = (socket: Socket, status: number, reason: string): void => {
    socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Bad Request'}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
  };
  const http: Server = o.tls ? createTlsServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) }) : createServer();
  http.on('request', (_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('This is a Foxglove WebSocket endpoint (foxglove.websocket.v1): open it from Foxglove with ?token=<token>.\n');
  });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const token = extractToken(req) ?? url.searchParams.get('token') ?? undefined;
    if (!accepted.some((d) => tokenMatches(token, d))) return refuse(socket, 401, 'a valid token is required: connect to ws://host:port/?token=<the bridge token or viewer token>');
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let ok = false;
      try {
        ok = origins.has(normalizeOrigin(origin));
      } catch {
        ok = false;
      }
      if (!ok) return refuse(socket, 403, `origin ${origin} is not allowed: start the bridge with --origin ${origin}`);
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      clients++;
      ws.on('close', () => clients--);
      server.handleConnection(ws as unknown as Parameters<FoxgloveServer['handleConnection']>[0], `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const hostForUrl = (o.host ?? '127.0.0.1').includes(':') ? `[${o.host}]` : (o.host ?? '127.0.0.1');
  let closed = false;
  return {
    url: `${o.tls ? 'wss' : 'ws'}://${hostForUrl}:${port}`,
    port,
    get clients() {
      return clients;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const ws of wss.clients) ws.close(1001, 'bridge closing');
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await hub.close();
    },
  };
}
