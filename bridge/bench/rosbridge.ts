/**
 * The comparison encoding for `bench bridge`: a minimal rosbridge-v2-style relay and clients.
 * Everything is JSON text (`{"op":"publish","topic":…,"msg":…}`), images are ROS
 * `sensor_msgs/Image` objects whose `data` is base64, and the relay, like rosbridge, parses every
 * message and re-serializes it once per publish for its subscribers. It has no safety layer and
 * no validation beyond JSON.parse, so it does strictly less work per message than the hub: what
 * it shows is the cost of the encoding.
 *
 * Topics: `/<robot>/cmd` {seq, action}, `/<robot>/cmd_ack` {seq, applied},
 * `/<robot>/camera/image_raw` (sensor_msgs/Image).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

export interface RosbridgeRelay {
  url: string;
  close(): Promise<void>;
  stats: { published: number; dropped: number };
}

export async function startRosbridgeRelay(options: { dropAboveBytes?: number } = {}): Promise<RosbridgeRelay> {
  const dropAbove = options.dropAboveBytes ?? 4 << 20;
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 << 20 });
  const subs = new Map<string, Set<WebSocket>>();
  const stats = { published: 0, dropped: 0 };
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let m: { op?: string; topic?: string; msg?: unknown };
      try {
        m = JSON.parse((data as Buffer).toString('utf8'));
      } catch {
        return;
      }
      if (m.op === 'subscribe' && typeof m.topic === 'string') {
        let s = subs.get(m.topic);
        if (!s) subs.set(m.topic, (s = new Set()));
        s.add(ws);
      } else if (m.op === 'publish' && typeof m.topic === 'string') {
        stats.published++;
        const s = subs.get(m.topic);
        if (!s) return;
        const out = JSON.stringify({ op: 'publish', topic: m.topic, msg: m.msg });
        for (const c of s) {
          if (c.readyState !== c.OPEN) continue;
          if (c.bufferedAmount > dropAbove) {
            stats.dropped++;
            continue;
          }
          c.send(out);
        }
      }
    });
    ws.on('close', () => { for (const s of subs.values()) s.delete(ws); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/`,
    stats,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** sensor_msgs/Image as rosbridge sends it. */
export function rosImage(seq: number, tMs: number, width: number, height: number, rgb: Uint8Array): object {
  const sec = Math.floor(tMs / 1000);
  return {
    header: { seq, stamp: { sec, nanosec: Math.round((tMs - sec * 1000) * 1e6) }, frame_id: 'camera' },
    height, width, encoding: 'rgb8', is_bigendian: 0, step: width * 3,
    data: Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength).toString('base64'),
  };
}

/** Same transport settings as the bridge's robot client (all-zero masking key), so only the encoding differs. */
export function openRos(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20, generateMask: (m: Buffer) => { m.fill(0); } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
