/**
 * What the viewer server streams from: a live simulation (sim-source.ts), a bridge hub
 * (bridge-source.ts) or a recording (replay-source.ts). The HTTP server (server.ts) owns the
 * sockets; a source only sees pages as `PageLink`s and talks to them through a `Pages` set.
 */
import type { ViewerClientMessage, ViewerMode, ViewerServerMessage, ServerMessageOf } from '../protocol.ts';
import { encodeServerMessage } from '../protocol.ts';

/** One connected page. */
export interface PageLink {
  /** Sends a JSON message (never dropped). */
  send(msg: ViewerServerMessage): void;
  /** Sends text already encoded (never dropped). */
  sendText(text: string): void;
  /** Sends a binary frame; skipped while the page's socket holds too much unsent data. */
  sendFrame(bytes: Uint8Array): void;
}

export type HelloInfo = Omit<ServerMessageOf<'hello'>, 'op' | 'protocol' | 'server' | 'mode'>;

export interface ViewerSource {
  readonly mode: ViewerMode;
  /** Starts the source (loads the scenario, connects to the hub, indexes the recording). */
  start(): Promise<void>;
  hello(): HelloInfo;
  /** A page connected (after its hello): send it what it needs to draw the present. */
  attach(page: PageLink): void;
  detach(page: PageLink): void;
  /** A validated request from a page. */
  handle(page: PageLink, msg: ViewerClientMessage): void;
  close(): Promise<void>;
}

/** The pages a source broadcasts to. */
export class Pages {
  private readonly set = new Set<PageLink>();

  add(p: PageLink): void { this.set.add(p); }
  delete(p: PageLink): void { this.set.delete(p); }
  get size(): number { return this.set.size; }

  send(msg: ViewerServerMessage): void {
    if (this.set.size === 0) return;
    const text = encodeServerMessage(msg);
    for (const p of this.set) p.sendText(text);
  }

  sendText(text: string): void {
    for (const p of this.set) p.sendText(text);
  }

  sendFrame(bytes: Uint8Array): void {
    for (const p of this.set) p.sendFrame(bytes);
  }
}
