/**
 * McapRecorder: the hub's recorder, writing every message to an MCAP file with @mcap/core.
 *
 * `record()` never blocks the hub: entries go into a queue that one writer loop drains (the
 * McapWriter requires each call to finish before the next). If the disk falls behind by more than
 * `maxQueueBytes`, binary frames are dropped first, then anything; the counts are written as
 * MCAP metadata (`simreal.recording`) when the file is closed.
 */
import * as fs from 'node:fs/promises';
import { McapWriter } from '@mcap/core';
import type { IWritable } from '@mcap/core';
import type { HubRecorder, RecordEntry } from '../hub/hub.ts';
import { FRAME_MESSAGE_ENCODING, FRAME_SCHEMA_NAME, FRAME_SCHEMA_DESCRIPTION, RECORDING_LIBRARY, RECORDING_PROFILE, jsonSchemaFor } from './schemas.ts';

/** An IWritable over a file handle that batches small writes. */
class FileWritable implements IWritable {
  private readonly fh: fs.FileHandle;
  private pos = 0n;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(fh: fs.FileHandle) {
    this.fh = fh;
  }

  position(): bigint {
    return this.pos;
  }

  async write(buffer: Uint8Array): Promise<void> {
    // McapWriter may reuse its buffer after the promise resolves: copy.
    this.pending.push(buffer.slice());
    this.pendingBytes += buffer.byteLength;
    this.pos += BigInt(buffer.byteLength);
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.writev(chunks);
  }
}

export interface McapRecorderOptions {
  /** Queue limit before dropping (default 256 MiB). */
  maxQueueBytes?: number;
  /** Chunk size (default 4 MiB). */
  chunkSize?: number;
  /** Replace an existing file (default false: refuse). */
  overwrite?: boolean;
}

interface Queued {
  entry: RecordEntry;
  bytes: number;
}

export class McapRecorder implements HubRecorder {
  readonly path: string;
  private readonly writer: McapWriter;
  private readonly out: FileWritable;
  private readonly fh: fs.FileHandle;
  private readonly queue: Queued[] = [];
  private queueBytes = 0;
  private readonly maxQueueBytes: number;
  private draining: Promise<void> | null = null;
  private readonly schemaIds = new Map<string, number>();
  private readonly channelIds = new Map<string, number>();
  private readonly sequences = new Map<number, number>();
  private closed = false;
  private failed: Error | null = null;
  readonly counts = { recorded: 0, droppedFrames: 0, droppedMessages: 0 };

  private constructor(path: string, fh: fs.FileHandle, options: McapRecorderOptions) {
    this.path = path;
    this.fh = fh;
    this.out = new FileWritable(fh);
    this.maxQueueBytes = options.maxQueueBytes ?? 256 << 20;
    this.writer = new McapWriter({ writable: this.out, useChunks: true, chunkSize: options.chunkSize ?? 4 << 20, useStatistics: true, useSummaryOffsets: true, useChunkIndex: true, useMessageIndex: true });
  }

  static async open(path: string, options: McapRecorderOptions = {}): Promise<McapRecorder> {
    const fh = await fs.open(path, options.overwrite ? 'w' : 'wx', 0o644);
    const r = new McapRecorder(path, fh, options);
    await r.writer.start({ profile: RECORDING_PROFILE, library: RECORDING_LIBRARY });
    return r;
  }

  record(entry: RecordEntry): void {
    if (this.closed || this.failed) return;
    const bytes = entry.bytes ? entry.bytes.byteLength : (entry.text?.length ?? 0);
    if (this.queueBytes + bytes > this.maxQueueBytes) {
      if (entry.bytes) this.counts.droppedFrames++;
      else this.counts.droppedMessages++;
      return;
    }
    // Frames are views into socket buffers: keep a copy.
    const e = entry.bytes ? { ...entry, bytes: Uint8Array.prototype.slice.call(entry.bytes) } : entry;
    this.queue.push({ entry: e, bytes });
    this.queueBytes += bytes;
    if (!this.draining) this.draining = this.drain();
  }

  /** Resolves when everything queued so far is written (not necessarily flushed to disk). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    this.closed = true;
    try {
      await this.writer.addMetadata({ name: 'simreal.recording', metadata: new Map([
        ['recorded', String(this.counts.recorded)],
        ['droppedFrames', String(this.counts.droppedFrames)],
        ['droppedMessages', String(this.counts.droppedMessages)],
      ]) });
      await this.writer.end();
      await this.out.flush();
    } finally {
      await this.fh.close();
    }
    if (this.failed) throw this.failed;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const q = this.queue.shift()!;
        this.queueBytes -= q.bytes;
        await this.write(q.entry);
      }
    } catch (e) {
      this.failed = e as Error;
      this.queue.length = 0;
      this.queueBytes = 0;
    } finally {
      this.draining = null;
    }
  }

  private async write(e: RecordEntry): Promise<void> {
    const channelId = await this.channelFor(e);
    const seq = (this.sequences.get(channelId) ?? 0) + 1;
    this.sequences.set(channelId, seq);
    const ns = BigInt(Math.round(e.t * 1e6));
    const data = e.bytes ?? Buffer.from(e.text ?? '', 'utf8');
    await this.writer.addMessage({ channelId, sequence: seq >>> 0, logTime: ns, publishTime: ns, data });
    this.counts.recorded++;
  }

  private async channelFor(e: RecordEntry): Promise<number> {
    const frame = e.bytes !== undefined;
    const topic = e.op === 'session'
      ? '/hub/sessions'
      : frame
        ? `/robots/${e.robot ?? 'unknown'}/frames/${e.channel ?? 'unknown'}`
        : e.robot
          ? `/robots/${e.robot}/${e.dir}/${e.op}`
          : `/hub/${e.dir}/${e.op}`;
    const known = this.channelIds.get(topic);
    if (known !== undefined) return known;
    let schemaKey: string;
    let schema: { name: string; encoding: string; data: Uint8Array };
    if (frame) {
      schemaKey = 'frame';
      schema = { name: FRAME_SCHEMA_NAME, encoding: FRAME_MESSAGE_ENCODING, data: Buffer.from(JSON.stringify(FRAME_SCHEMA_DESCRIPTION)) };
    } else {
      schemaKey = e.op === 'session' ? 'session' : `${e.dir}.${e.op}`;
      const j = jsonSchemaFor(e.dir, e.op);
      schema = { name: j.name, encoding: 'jsonschema', data: Buffer.from(j.data) };
    }
    let schemaId = this.schemaIds.get(schemaKey);
    if (schemaId === undefined) {
      schemaId = await this.writer.registerSchema(schema);
      this.schemaIds.set(schemaKey, schemaId);
    }
    const metadata = new Map<string, string>([['direction', e.dir], ['op', frame ? 'frame' : e.op]]);
    if (e.robot) metadata.set('robot', e.robot);
    if (e.channel) metadata.set('feature', e.channel);
    const id = await this.writer.registerChannel({ schemaId, topic, messageEncoding: frame ? FRAME_MESSAGE_ENCODING : 'json', metadata });
    this.channelIds.set(topic, id);
    return id;
  }
}
