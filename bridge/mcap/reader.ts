/**
 * Reading bridge recordings back: `readRecording` yields every protocol message in log-time order (the
 * indexed reader of @mcap/core; a file cut short by a crash, with no summary, is streamed in
 * write order instead, which is also time order). `replay` paces them by their timestamps for
 * playback in the viewer. The Foxglove-schema channels (derived from those messages, for
 * Foxglove) are left out.
 */
import * as fs from 'node:fs/promises';
import { McapIndexedReader, McapStreamReader } from '@mcap/core';
import type { McapTypes } from '@mcap/core';
import { decodeFrame } from '../protocol.ts';
import type { Frame } from '../protocol.ts';
import { FRAME_MESSAGE_ENCODING } from './schemas.ts';
import { FileReadable } from './file-readable.ts';

export interface RecordedMessage {
  topic: string;
  /** `in` (received by the hub), `out` (sent by it), or `session`. */
  dir: 'in' | 'out' | 'session';
  op: string;
  robot: string | null;
  /** Log time, ns since the Unix epoch (hub clock). */
  logTime: bigint;
  /** Log time in ms. */
  t: number;
  /** JSON messages, parsed. */
  json?: unknown;
  /** Binary frames, decoded (payload is a view into the recording's buffer). */
  frame?: Frame;
}

export interface ReadOptions {
  topics?: string[];
  /** ms since the Unix epoch, inclusive. */
  startMs?: number;
  endMs?: number;
}

/** Channels in Foxglove's schemas, derived from the protocol messages. */
function isDerived(channel: McapTypes.Channel): boolean {
  return channel.metadata.get('schema') === 'foxglove';
}

function toRecorded(channel: McapTypes.Channel, msg: McapTypes.Message): RecordedMessage {
  const meta = channel.metadata;
  const dirMeta = meta.get('direction');
  const dir: RecordedMessage['dir'] = channel.topic === '/hub/sessions' ? 'session' : dirMeta === 'out' ? 'out' : 'in';
  const out: RecordedMessage = {
    topic: channel.topic,
    dir,
    op: meta.get('op') ?? (channel.topic === '/hub/sessions' ? 'session' : 'unknown'),
    robot: meta.get('robot') ?? null,
    logTime: msg.logTime,
    t: Number(msg.logTime) / 1e6,
  };
  if (channel.messageEncoding === FRAME_MESSAGE_ENCODING) {
    const f = decodeFrame(msg.data);
    if (f.ok) out.frame = f.frame;
  } else {
    try {
      out.json = JSON.parse(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength).toString('utf8'));
    } catch {
      out.json = undefined;
    }
  }
  return out;
}

/** Every message of a recording, in time order. */
export async function* readRecording(path: string, options: ReadOptions = {}): AsyncGenerator<RecordedMessage> {
  const fh = await fs.open(path, 'r');
  try {
    const { size } = await fh.stat();
    let reader: McapIndexedReader | null = null;
    try {
      reader = await McapIndexedReader.Initialize({ readable: new FileReadable(fh, BigInt(size)) });
    } catch {
      reader = null; // no summary (the writer never finished): stream it
    }
    const startNs = options.startMs !== undefined ? BigInt(Math.floor(options.startMs * 1e6)) : undefined;
    const endNs = options.endMs !== undefined ? BigInt(Math.ceil(options.endMs * 1e6)) : undefined;
    if (reader) {
      for await (const m of reader.readMessages({ topics: options.topics, startTime: startNs, endTime: endNs })) {
        const ch = reader.channelsById.get(m.channelId);
        if (ch && !isDerived(ch)) yield toRecorded(ch, m);
      }
      return;
    }
    const stream = new McapStreamReader({ validateCrcs: true });
    const channels = new Map<number, McapTypes.Channel>();
    const topics = options.topics ? new Set(options.topics) : null;
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      stream.append(buf.subarray(0, bytesRead).slice());
      for (;;) {
        let rec;
        try {
          rec = stream.nextRecord();
        } catch {
          return; // a torn record at the end of a crashed recording
        }
        if (!rec) break;
        if (rec.type === 'Channel') channels.set(rec.id, rec);
        else if (rec.type === 'Message') {
          const ch = channels.get(rec.channelId);
          if (!ch || isDerived(ch) || (topics && !topics.has(ch.topic))) continue;
          if ((startNs !== undefined && rec.logTime < startNs) || (endNs !== undefined && rec.logTime > endNs)) continue;
          yield toRecorded(ch, rec);
        }
      }
    }
  } finally {
    await fh.close();
  }
}

/** Topics, message counts and time span of a recording. */
export async function summarizeRecording(path: string): Promise<{ topics: Map<string, number>; startMs: number; endMs: number; messages: number }> {
  const topics = new Map<string, number>();
  let startMs = Infinity;
  let endMs = -Infinity;
  let messages = 0;
  for await (const m of readRecording(path)) {
    topics.set(m.topic, (topics.get(m.topic) ?? 0) + 1);
    startMs = Math.min(startMs, m.t);
    endMs = Math.max(endMs, m.t);
    messages++;
  }
  return { topics, startMs, endMs, messages };
}

/**
 * Plays a recording back in time: calls `onMessage` for each message at its moment, scaled by
 * `speed` (2 = twice as fast; Infinity = as fast as possible). Stops early when `signal` aborts.
 */
export async function replay(path: string, onMessage: (m: RecordedMessage) => void | Promise<void>, options: ReadOptions & { speed?: number; signal?: AbortSignal } = {}): Promise<number> {
  const speed = options.speed ?? 1;
  let first: number | null = null;
  const wall0 = performance.now();
  let n = 0;
  for await (const m of readRecording(path, options)) {
    if (options.signal?.aborted) break;
    if (first === null) first = m.t;
    if (Number.isFinite(speed)) {
      const due = wall0 + (m.t - first) / speed;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    await onMessage(m);
    n++;
  }
  return n;
}
