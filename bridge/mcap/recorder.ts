/**
 * McapRecorder: the hub's recorder, writing every message to an MCAP file.
 *
 * `record()` never blocks the hub: entries go into a queue that one writer loop drains. If the
 * disk falls behind by more than `maxQueueBytes`, binary frames are dropped first, then anything;
 * the counts are written as MCAP metadata (`simreal.recording`) when the file is closed.
 *
 * Foxglove: beside the raw protocol messages, robots' poses, blocks, workspace and camera frames
 * are also recorded in @foxglove/schemas types (`/robots/<id>/tf`, `/scene`, `/camera/<feature>`;
 * see bridge/foxglove/scene.ts), so Foxglove draws a recording as it is (`foxglove: false` turns
 * this off).
 *
 * Crash safety: a chunk is written as soon as it fills, and every `flushIntervalMs` (default 1 s)
 * the open chunk is closed and written too, then synced to disk. A recording killed with
 * `kill -9` (or a power cut) therefore keeps everything but its last interval;
 * `simreal recording recover` turns such a file into a complete, indexed one.
 */
import { McapFileWriter } from './file-writer.ts';
import type { HubRecorder, RecordEntry } from '../hub/hub.ts';
import { FRAME_MESSAGE_ENCODING, FRAME_SCHEMA_NAME, FRAME_SCHEMA_DESCRIPTION, RECORDING_LIBRARY, RECORDING_PROFILE, jsonSchemaFor } from './schemas.ts';
import { FoxgloveTranslator, foxgloveSchemaText } from '../foxglove/scene.ts';
import type { FoxgloveMessage } from '../foxglove/scene.ts';
import { decodeFrame } from '../protocol.ts';
import type { Features, SafetyLimits } from '../protocol.ts';

export interface McapRecorderOptions {
  /** Queue limit before dropping (default 256 MiB). */
  maxQueueBytes?: number;
  /** Chunk size (default 4 MiB): a chunk this full is written at once. */
  chunkSize?: number;
  /** The open chunk is written and synced this often, in ms (default 1000): what a crash can lose. */
  flushIntervalMs?: number;
  /** fdatasync on every flush (default true; false only protects against the process dying, not the machine). */
  sync?: boolean;
  /** Also record poses, blocks, workspace and camera frames in Foxglove's schemas (default true). */
  foxglove?: boolean;
  /** Replace an existing file (default false: refuse). */
  overwrite?: boolean;
}

interface Queued {
  entry: RecordEntry;
  bytes: number;
}

export class McapRecorder implements HubRecorder {
  readonly path: string;
  readonly flushIntervalMs: number;
  private readonly writer: McapFileWriter;
  private readonly timer: NodeJS.Timeout;
  private flushDue = false;
  private readonly foxglove: FoxgloveTranslator | null;
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

  private constructor(writer: McapFileWriter, options: McapRecorderOptions, flushIntervalMs: number) {
    this.path = writer.path;
    this.writer = writer;
    this.maxQueueBytes = options.maxQueueBytes ?? 256 << 20;
    this.flushIntervalMs = flushIntervalMs;
    this.foxglove = options.foxglove === false ? null : new FoxgloveTranslator();
    this.timer = setInterval(() => {
      this.flushDue = true;
      this.kick();
    }, flushIntervalMs);
    this.timer.unref();
  }

  static async open(path: string, options: McapRecorderOptions = {}): Promise<McapRecorder> {
    const flushIntervalMs = options.flushIntervalMs ?? 1000;
    if (!(flushIntervalMs >= 10 && flushIntervalMs <= 3_600_000)) throw new RangeError(`flushIntervalMs must be within 10..3600000 ms, got ${flushIntervalMs}`);
    const writer = await McapFileWriter.create(path, { profile: RECORDING_PROFILE, library: RECORDING_LIBRARY }, { chunkSize: options.chunkSize, overwrite: options.overwrite, sync: options.sync });
    return new McapRecorder(writer, options, flushIntervalMs);
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
    this.kick();
  }

  /** Resolves when everything queued so far is written (not necessarily flushed to disk). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Writes what is queued and the open chunk to disk now (the timer does this every interval). */
  async flush(): Promise<void> {
    await this.idle();
    this.flushDue = true;
    this.kick();
    await this.idle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.idle();
    this.closed = true;
    try {
      if (!this.failed) {
        this.writer.addMetadata({ name: 'simreal.recording', metadata: new Map([
          ['recorded', String(this.counts.recorded)],
          ['droppedFrames', String(this.counts.droppedFrames)],
          ['droppedMessages', String(this.counts.droppedMessages)],
        ]) });
      }
      await this.writer.end();
    } catch (e) {
      this.failed ??= e as Error;
    }
    if (this.failed) throw this.failed;
  }

  private kick(): void {
    if (!this.draining) this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        // A due flush goes first: with a busy queue it would otherwise wait behind every entry.
        if (this.flushDue) {
          this.flushDue = false;
          await this.writer.flush();
          continue;
        }
        const q = this.queue.shift();
        if (!q) break;
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
    const channelId = this.channelFor(e);
    const seq = (this.sequences.get(channelId) ?? 0) + 1;
    this.sequences.set(channelId, seq);
    const ns = BigInt(Math.round(e.t * 1e6));
    const data = e.bytes ?? Buffer.from(e.text ?? '', 'utf8');
    await this.writer.addMessage({ channelId, sequence: seq >>> 0, logTime: ns, publishTime: ns, data });
    this.counts.recorded++;
    if (this.foxglove) for (const m of this.foxgloveMessages(e)) await this.writeFoxglove(m);
  }

  /** What the hub's entry means in Foxglove's schemas (nothing for most messages). */
  private foxgloveMessages(e: RecordEntry): FoxgloveMessage[] {
    const fx = this.foxglove!;
    if (e.bytes) {
      if (!e.robot || !e.channel) return [];
      const f = decodeFrame(e.bytes);
      return f.ok ? fx.frame(e.robot, e.channel, f.frame) : [];
    }
    const wanted = (e.dir === 'in' && (e.op === 'register' || e.op === 'observation')) || (e.dir === 'out' && e.op === 'ok');
    if (!wanted || !e.text) return [];
    let msg: { of?: string; robot?: string; features?: Features; limits?: SafetyLimits; state?: Record<string, number[]> };
    try {
      msg = JSON.parse(e.text);
    } catch {
      return [];
    }
    if (!msg.robot) return [];
    if (e.op === 'register' && msg.features) return fx.robot(msg.robot, msg.features, undefined, e.t);
    if (e.op === 'ok' && msg.of === 'register' && msg.limits) return fx.limits(msg.robot, msg.limits, e.t);
    if (e.op === 'observation' && msg.state) return fx.observation(msg.robot, msg.state, e.t);
    return [];
  }

  private async writeFoxglove(m: FoxgloveMessage): Promise<void> {
    let channelId = this.channelIds.get(m.topic);
    if (channelId === undefined) {
      let schemaId = this.schemaIds.get(m.schema);
      if (schemaId === undefined) {
        schemaId = this.writer.registerSchema({ name: m.schema, encoding: 'jsonschema', data: Buffer.from(foxgloveSchemaText(m.schema)) });
        this.schemaIds.set(m.schema, schemaId);
      }
      channelId = this.writer.registerChannel({ schemaId, topic: m.topic, messageEncoding: 'json', metadata: new Map([['schema', 'foxglove']]) });
      this.channelIds.set(m.topic, channelId);
    }
    const seq = (this.sequences.get(channelId) ?? 0) + 1;
    this.sequences.set(channelId, seq);
    await this.writer.addMessage({ channelId, sequence: seq >>> 0, logTime: m.timeNs, publishTime: m.timeNs, data: Buffer.from(JSON.stringify(m.message)) });
  }

  private channelFor(e: RecordEntry): number {
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
      schemaId = this.writer.registerSchema(schema);
      this.schemaIds.set(schemaKey, schemaId);
    }
    const metadata = new Map<string, string>([['direction', e.dir], ['op', frame ? 'frame' : e.op]]);
    if (e.robot) metadata.set('robot', e.robot);
    if (e.channel) metadata.set('feature', e.channel);
    const id = this.writer.registerChannel({ schemaId, topic, messageEncoding: frame ? FRAME_MESSAGE_ENCODING : 'json', metadata });
    this.channelIds.set(topic, id);
    return id;
  }
}
