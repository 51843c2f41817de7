/**
 * The page's link to the viewer server: one WebSocket that reconnects by itself (backoff from
 * 250 ms to 2 s) whenever the server goes away, with a banner on screen while it is down.
 */
import { decodeFrame } from '../../bridge/protocol.ts';
import type { Frame } from '../../bridge/protocol.ts';
import { VIEWER_SUBPROTOCOL, VIEWER_WS_PATH, encodeClientMessage, parseServerMessage } from '../protocol.ts';
import type { ViewerClientInput, ViewerServerMessage } from '../protocol.ts';

export interface ConnectionHandlers {
  onMessage(msg: ViewerServerMessage): void;
  onFrame(frame: Frame): void;
  onOpen(): void;
  onClose(): void;
  /** A message that failed validation (shown, never acted on). */
  onBadMessage(reason: string): void;
}

export class Connection {
  private ws: WebSocket | null = null;
  private delay = 250;
  private timer = 0;
  private readonly url: string;
  private readonly handlers: ConnectionHandlers;
  connected = false;
  /** How many times the socket has opened (1 on the first connection). */
  opens = 0;

  constructor(handlers: ConnectionHandlers, url = defaultUrl()) {
    this.handlers = handlers;
    this.url = url;
  }

  connect(): void {
    clearTimeout(this.timer);
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, [VIEWER_SUBPROTOCOL]);
    } catch {
      this.retry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.connected = true;
      this.opens++;
      this.delay = 250;
      this.handlers.onOpen();
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === 'string') {
        const p = parseServerMessage(ev.data);
        if (p.ok) this.handlers.onMessage(p.msg);
        else this.handlers.onBadMessage(p.message);
        return;
      }
      const r = decodeFrame(new Uint8Array(ev.data as ArrayBuffer));
      if (r.ok) this.handlers.onFrame(r.frame);
      else this.handlers.onBadMessage(r.error.message);
    };
    // A failed connection attempt fires 'error' then 'close'; only 'close' acts.
    ws.onerror = () => {};
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      const was = this.connected;
      this.connected = false;
      if (was) this.handlers.onClose();
      this.retry();
    };
  }

  send(msg: ViewerClientInput): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeClientMessage(msg));
    return true;
  }

  private retry(): void {
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(2000, this.delay * 2);
  }
}

function defaultUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${VIEWER_WS_PATH}`;
}
