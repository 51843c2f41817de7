/** Shared pieces of the viewer tests: a WebSocket client that acts as a page, and waiting. */
import { WebSocket } from 'ws';
import { decodeFrame } from '../../bridge/protocol.ts';
import type { Frame } from '../../bridge/protocol.ts';
import { VIEWER_SUBPROTOCOL, encodeClientMessage, parseServerMessage, readPoseFrame } from '../../viewer/protocol.ts';
import type { Moment, ViewerClientInput, ViewerServerMessage } from '../../viewer/protocol.ts';

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A page stand-in: records every message and frame the server sends. */
export class PageClient {
  readonly ws: WebSocket;
  readonly messages: ViewerServerMessage[] = [];
  readonly frames: Frame[] = [];
  readonly moment: Moment = { time: 0, step: 0, reward: 0, success: false, fail: false, paused: false, done: false, stepsPerSecond: 0, episode: -1, seed: 0, speed: 1 };
  rows: Float64Array | null = null;
  poseFrames = 0;
  bad = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const b = data as Buffer;
        const r = decodeFrame(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        if (!r.ok) { this.bad++; return; }
        this.frames.push(r.frame);
        const rows = readPoseFrame(r.frame, this.moment);
        if (rows) { this.rows = rows.slice(); this.poseFrames++; }
        return;
      }
      const p = parseServerMessage(data.toString());
      if (p.ok) this.messages.push(p.msg);
      else this.bad++;
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<PageClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + 'ws', [VIEWER_SUBPROTOCOL], { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new PageClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    });
  }

  send(msg: ViewerClientInput): void {
    this.ws.send(encodeClientMessage(msg));
  }

  last<O extends ViewerServerMessage['op']>(op: O): Extract<ViewerServerMessage, { op: O }> | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i].op === op) return this.messages[i] as Extract<ViewerServerMessage, { op: O }>;
    return undefined;
  }

  count(op: ViewerServerMessage['op']): number {
    return this.messages.filter((m) => m.op === op).length;
  }

  close(): void {
    this.ws.terminate();
  }
}
