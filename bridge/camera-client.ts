/**
 * CameraClient: publishes a camera as an image feature of a robot that another process registered
 * (protocol 1.2, `attach`). It connects with the robot's own credential (role `robot`), attaches
 * the feature with its calibration, and sends each frame it is given as a binary frame with the
 * robot's handle, the attached channel, and the frame's capture time.
 *
 * - Frames are never queued: one sent while the socket still holds more than `maxBufferedBytes`
 *   unsent is skipped (counted), so a slow link loses frames instead of delaying them.
 * - The robot not registered yet (`unknown_robot`): it asks again every `retryMs`, saying so once.
 * - The link dropping (the hub restarting, the robot coming back with other features): it
 *   reconnects with backoff and attaches again.
 * - A refusal no retry can fix (a credential for another robot, a feature the robot already has, a
 *   calibration the hub rejects) ends it: `done` rejects with the hub's words.
 *
 *   const cam = new CameraClient({ url, token, robot: 'so101-1', key: 'camera.front', spec });
 *   await cam.start();                    // resolves once attached (rejects if the first connection fails)
 *   cam.send(rgb, captureTime);           // per frame
 *   await cam.stop();
 */
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { BridgeError } from './controller-client.ts';
import { FRAME_HEADER_BYTES, SUBPROTOCOL, parseMessage, payloadBytes, writeFrameHeader } from './protocol.ts';
import type { ErrorCode, FeatureSpec, HubMessage } from './protocol.ts';

export interface CameraClientOptions {
  /** Hub URL, e.g. ws://localhost:8765/ */
  url: string;
  /** The robot's own credential (hub/robot-credentials.ts). */
  token: string;
  /** The robot the camera belongs to. */
  robot: string;
  /** Feature key, e.g. `camera.front`. */
  key: string;
  /** An image feature, with its calibration. */
  spec: FeatureSpec;
  /** Name the hub shows for this connection (default `camera:<key>`). */
  name?: string;
  /** Frames are skipped while more than this many bytes wait to be sent (default 4 MiB). */
  maxBufferedBytes?: number;
  /** Wait between attempts while the robot is not registered, and the first reconnection delay (ms, default 500). */
  retryMs?: number;
  /** Longest reconnection delay (ms, default 5000). */
  maxBackoffMs?: number;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  log?: (line: string) => void;
}

export interface CameraClientStats {
  /** Frames handed to the socket. */
  sent: number;
  /** Frames skipped: not attached at the moment, or the socket was behind. */
  skipped: number;
  /** Frames the hub refused (each answered with an error). */
  refused: number;
  attachments: number;
}

export interface CameraClientEvents {
  attached: [{ handle: number; channel: number }];
  detached: [{ code: number; reason: string }];
  refused: [HubMessage & { op: 'error' }];
}

/** Hub refusals of `attach` that no retry fixes. */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['forbidden', 'invalid', 'feature_in_use', 'too_large', 'already_registered']);

/** An all-zero masking key: ws then sends the frame's bytes as they are (see robot-client.ts). */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class CameraClient extends EventEmitter<CameraClientEvents> {
  readonly options: CameraClientOptions;
  readonly stats: CameraClientStats = { sent: 0, skipped: 0, refused: 0, attachments: 0 };
  /** Settles when the client stops: resolves after `stop()`, rejects on a refusal no retry fixes. */
  readonly done: Promise<void>;
  private ws: WebSocket | null = null;
  private handle = -1;
  private channel = -1;
  private seq = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private backoff: number;
  private waitingSaid = false;
  private readonly bytes: number;
  private readonly buffers: Buffer[] = [];
  private readonly inFlight = new Set<Buffer>();
  private finish!: (err?: Error) => void;
  private firstAttach: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private attachId = 1;

  constructor(options: CameraClientOptions) {
    super();
    if (options.spec.kind !== 'image' || !options.spec.format) throw new RangeError(`a camera publishes an image feature; ${options.key} is ${options.spec.kind}`);
    this.options = options;
    this.bytes = payloadBytes(options.spec.dtype, options.spec.shape);
    this.backoff = options.retryMs ?? 500;
    this.done = new Promise<void>((resolve, reject) => {
      this.finish = (err) => (err ? reject(err) : resolve());
    });
    this.done.catch(() => {});
  }

  /** Whether frames are being published now. */
  get attached(): boolean {
    return this.channel >= 0 && this.ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Connects and attaches. Rejects if the first connection fails (the hub unreachable, the
   * credential refused) or the attach is refused for good; waits while the robot is not there yet.
   */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.firstAttach = { resolve, reject };
      this.connect();
    });
  }

  /**
   * Publishes one frame (width × height × channels bytes, rows top-down) captured at `t` (ms since
   * the Unix epoch). False when it was skipped.
   */
  send(data: ArrayBufferView, t: number): boolean {
    const ws = this.ws;
    if (!ws || !this.attached) {
      this.stats.skipped++;
      return false;
    }
    if (data.byteLength !== this.bytes) throw new RangeError(`a frame of ${this.options.key} has ${this.bytes} bytes, got ${data.byteLength}`);
    if (ws.bufferedAmount > (this.options.maxBufferedBytes ?? 4 << 20)) {
      this.stats.skipped++;
      return false;
    }
    // Buffers are reused once the socket has sent them.
    let buf = this.buffers.find((b) => !this.inFlight.has(b));
    if (!buf) {
      buf = Buffer.allocUnsafeSlow(FRAME_HEADER_BYTES + this.bytes);
      this.buffers.push(buf);
    }
    const s = this.options.spec;
    writeFrameHeader(buf, { kind: 'image', dtype: s.dtype, shape: s.shape, handle: this.handle, channel: this.channel, seq: this.seq = (this.seq + 1) >>> 0, t, format: s.format ?? null });
    buf.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), FRAME_HEADER_BYTES);
    const sent = buf;
    this.inFlight.add(sent);
    ws.send(sent, { binary: true }, () => this.inFlight.delete(sent));
    this.stats.sent++;
    return true;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState !== ws.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'camera stopping');
        setTimeout(() => { ws.terminate(); resolve(); }, 1000).unref();
      });
    }
    this.finish();
  }

  // -------------------------------------------------------------------------------------------

  private log(line: string): void {
    this.options.log?.(`[camera ${this.options.robot}/${this.options.key}] ${line}`);
  }

  /** A refusal no retry fixes: everything stops. */
  private fatal(err: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.terminate();
    this.ws = null;
    if (this.firstAttach) {
      this.firstAttach.reject(err);
      this.firstAttach = null;
    }
    this.finish(err);
  }

  private connect(): void {
    if (this.stopped) return;
    const url = new URL(this.options.url);
    url.searchParams.set('role', 'robot');
    url.searchParams.set('name', this.options.name ?? `camera:${this.options.key}`);
    const ws = new WebSocket(url, [SUBPROTOCOL], {
      headers: { Authorization: `Bearer ${this.options.token}` },
      perMessageDeflate: false,
      maxPayload: 1 << 20,
      handshakeTimeout: 5000,
      generateMask: zeroMask,
      ...(this.options.tls ?? {}),
    });
    this.ws = ws;
    let refusedHttp = false;
    ws.on('open', () => this.attach());
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onHubMessage(ws, (data as Buffer).toString('utf8'));
    });
    ws.on('unexpected-response', (_req, res) => {
      refusedHttp = true;
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => {
        const err = new BridgeError('forbidden', `the hub refused the camera's connection: ${res.statusCode} ${body.trim()}`);
        // A wrong credential stays wrong; a full hub (503) or a rate limit (429) may clear.
        if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 400 || res.statusCode === 404) this.fatal(err);
        else this.onDown(ws, res.statusCode ?? 0, err.message, err);
      });
    });
    ws.on('error', (err) => {
      if (refusedHttp) return;
      this.onDown(ws, 0, err.message, err);
    });
    ws.on('close', (code, reason) => this.onDown(ws, code, reason.toString()));
  }

  private attach(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ op: 'attach', id: this.attachId++, robot: this.options.robot, features: { [this.options.key]: this.options.spec } }));
  }

  private onDown(ws: WebSocket, code: number, reason: string, err?: Error): void {
    if (ws !== this.ws) return;
    this.ws = null;
    const wasAttached = this.channel >= 0;
    this.channel = -1;
    ws.removeAllListeners();
    ws.on('error', () => {});
    ws.terminate();
    if (this.stopped) return;
    if (this.firstAttach && this.stats.attachments === 0) {
      // The first connection failed: the caller learns at once (the hub is not where it was said to be).
      const e = err ?? new BridgeError('closed', `the hub closed the camera's connection (${code}${reason ? ` ${reason}` : ''})`);
      this.fatal(e);
      return;
    }
    if (wasAttached) this.emit('detached', { code, reason });
    const wait = this.backoff;
    this.backoff = Math.min(this.options.maxBackoffMs ?? 5000, this.backoff * 2);
    this.log(`link down (${code}${reason ? ` ${reason}` : ''}); reconnecting in ${wait} ms`);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, wait);
  }

  private onHubMessage(ws: WebSocket, text: string): void {
    const p = parseMessage(text, { from: 'hub' });
    if (!p.ok) return;
    const m = p.msg;
    if (m.op === 'ok' && m.of === 'attach' && m.handle !== undefined && m.channels) {
      const channel = m.channels[this.options.key];
      if (channel === undefined) return;
      this.handle = m.handle;
      this.channel = channel;
      this.backoff = this.options.retryMs ?? 500;
      this.waitingSaid = false;
      this.stats.attachments++;
      this.log(`attached to ${this.options.robot} as channel ${channel}`);
      this.emit('attached', { handle: m.handle, channel });
      if (this.firstAttach) {
        this.firstAttach.resolve();
        this.firstAttach = null;
      }
      return;
    }
    if (m.op !== 'error') return;
    if (m.ref?.op === 'attach') {
      if (m.code === 'unknown_robot') {
        if (!this.waitingSaid) this.log(`robot ${this.options.robot} is not on the bridge yet; waiting for it`);
        this.waitingSaid = true;
        this.timer = setTimeout(() => {
          this.timer = null;
          if (ws === this.ws) this.attach();
        }, this.options.retryMs ?? 500);
        return;
      }
      if (FATAL.has(m.code)) return this.fatal(new BridgeError(m.code, `the hub refused to attach ${this.options.key} to ${this.options.robot}: ${m.message}`));
      this.log(`attach refused (${m.code}): ${m.message}; retrying`);
      this.timer = setTimeout(() => {
        this.timer = null;
        if (ws === this.ws) this.attach();
      }, this.options.retryMs ?? 500);
      return;
    }
    // A frame refused: counted and said; the next one may be fine.
    this.stats.refused++;
    this.log(`hub error ${m.code}: ${m.message}`);
    this.emit('refused', m);
  }
}
