/**
 * `startBridge`: an HTTP(S) server whose upgrade handler authorizes each request (auth.ts) and
 * hands the WebSocket to a BridgeHub. Plain HTTP requests get a one-line health text.
 *
 * Two `ws` servers share the listener so the maximum message size depends on the role: robots may
 * send camera frames, controllers and viewers only small JSON.
 *
 * Before a connection is authenticated it costs a descriptor and gives nothing, so:
 * - it must finish its upgrade (and TLS handshake) within `handshakeTimeoutMs` (3 s), or it is closed;
 * - at most `maxPendingHandshakes` (128) connections may be in that state; a new one closes the
 *   oldest (a real client sends its upgrade at once, an idle flood is always the oldest);
 * - failed authentications are counted per remote address (`authFailures`: a bucket of 20,
 *   refilled at 2/s); past it a failing request gets 429 without a log line each. The right
 *   credential is always checked and always let in, so failures from one address never lock out
 *   the legitimate clients that share it;
 * - an authenticated request is admitted only if its role's pool and its credential's share have
 *   room (hub.admit), else 503 with the reason.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as fs from 'node:fs';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { SUBPROTOCOL } from '../protocol.ts';
import { BridgeConfigError } from '../config.ts';
import type { HubConfigInput } from '../config.ts';
import { Authenticator } from './auth.ts';
import { BridgeHub, hubNow } from './hub.ts';
import type { HubRecorder } from './hub.ts';
import { AddressBuckets } from './rate-limit.ts';
import { robotToken } from './robot-credentials.ts';
import { generateToken } from './token-file.ts';

export interface BridgeOptions {
  /** TCP port; 0 picks a free one. Default 8765. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (this machine only). */
  host?: string;
  token: string;
  viewerToken?: string;
  /** The operator's token: a controller with it may clear any e-stop (robot-, hub- or operator-raised). */
  operatorToken?: string;
  /**
   * The secret robot credentials derive from (hub/robot-credentials.ts). Default: a random one for
   * this process; `robotToken(id)` gives a robot its credential either way.
   */
  robotKey?: string;
  /** PEM certificate and key files: both or neither. With them the bridge speaks wss. */
  tls?: { cert: string; key: string };
  /** Allowed browser origins. */
  origins?: string[];
  /** Hub configuration (limits, rates, backpressure); see config.ts. */
  config?: HubConfigInput;
  /** Records every message (see bridge/mcap/recorder.ts). */
  recorder?: HubRecorder;
  log?: (line: string) => void;
  /** Time the hub's work per message kind and stage (hub.profile). */
  profile?: boolean;
}

export interface RunningBridge {
  hub: BridgeHub;
  server: http.Server | https.Server;
  port: number;
  host: string;
  /** e.g. ws://127.0.0.1:8765/ */
  url: string;
  /** The credential robot `id` connects with. */
  robotToken(id: string): string;
  close(): Promise<void>;
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'Error';
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  socket.destroy();
}

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  if (options.tls && (!options.tls.cert || !options.tls.key)) throw new BridgeConfigError('TLS needs both a certificate (--tls-cert) and a key (--tls-key)');
  const robotKey = options.robotKey ?? generateToken();
  const auth = new Authenticator({ token: options.token, viewerToken: options.viewerToken, operatorToken: options.operatorToken, robotKey, origins: options.origins });
  const hub = new BridgeHub({ config: options.config, recorder: options.recorder, log: options.log, profile: options.profile });
  const lim = hub.config.connection;
  const handleProtocols = (protocols: Set<string>): string | false => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false);
  const common = { noServer: true, perMessageDeflate: false, clientTracking: false, handleProtocols } as const;
  const wssRobot = new WebSocketServer({ ...common, maxPayload: lim.robot.maxMessageBytes + (1 << 16) });
  // Controllers and viewers: messages above their limit but below this hard cap are answered with
  // a `too_large` error by the hub; above the cap ws closes the connection (1009).
  const wssOther = new WebSocketServer({ ...common, maxPayload: Math.max(1 << 20, 4 * Math.max(lim.controller.maxMessageBytes, lim.viewer.maxMessageBytes)) });

  const onRequest = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Nothing about the hub (connections, robots, versions) to someone who has not authenticated.
    res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket' });
    res.end('connect with a WebSocket\n');
  };
  const cfg = hub.config;
  const server = options.tls
    ? https.createServer({ cert: fs.readFileSync(options.tls.cert), key: fs.readFileSync(options.tls.key), handshakeTimeout: cfg.handshakeTimeoutMs }, onRequest)
    : http.createServer(onRequest);

  // Connections not yet upgraded, oldest first, each with its deadline.
  const pending = new Map<Duplex, NodeJS.Timeout>();
  const settle = (socket: Duplex): void => {
    const t = pending.get(socket);
    if (t) clearTimeout(t);
    pending.delete(socket);
  };
  const track = (socket: Duplex): void => {
    if (pending.size >= cfg.maxPendingHandshakes) {
      const oldest = pending.keys().next().value;
      if (oldest) {
        settle(oldest);
        oldest.destroy();
      }
    }
    pending.set(socket, setTimeout(() => { pending.delete(socket); socket.destroy(); }, cfg.handshakeTimeoutMs).unref());
    socket.once('close', () => settle(socket));
  };
  server.on(options.tls ? 'secureConnection' : 'connection', track);

  const failures = new AddressBuckets(cfg.authFailures.perSecond, cfg.authFailures.burst);
  let quietRefusals = 0;
  let quietSince = 0;
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const addr = req.socket.remoteAddress ?? '?';
    const d = auth.check(req);
    if (!d.ok) {
      if (d.status === 401 || d.status === 403) {
        if (!failures.take(addr, hubNow())) {
          // Past the budget: answered, but not logged one by one.
          quietRefusals++;
          const now = hubNow();
          if (now - quietSince > 1000) {
            options.log?.(`refused ${quietRefusals} request(s) from ${addr}: too many failed authentications`);
            quietRefusals = 0;
            quietSince = now;
          }
          return refuse(socket, 429, 'too many failed authentication attempts from this address; wait and retry');
        }
      }
      options.log?.(`refused ${addr}: ${d.status} ${d.reason}`);
      return refuse(socket, d.status, d.reason);
    }
    const full = hub.admit(d.role, d.credential);
    if (full) {
      options.log?.(`refused ${addr} (${d.role}): 503 ${full}`);
      return refuse(socket, 503, full);
    }
    settle(socket);
    const wss = d.role === 'robot' ? wssRobot : wssOther;
    wss.handleUpgrade(req, socket, head, (ws) => hub.handleConnection(ws, { role: d.role, name: d.name, credential: d.credential, robot: d.robot, operator: d.operator }));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8765, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${options.tls ? 'wss' : 'ws'}://${urlHost}:${port}/`;
  let closed = false;
  return {
    hub, server, port, host, url,
    robotToken: (id: string) => robotToken(robotKey, id),
    async close() {
      if (closed) return;
      closed = true;
      await hub.close();
      for (const socket of [...pending.keys()]) {
        settle(socket);
        socket.destroy();
      }
      wssRobot.close();
      wssOther.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
