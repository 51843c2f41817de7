/**
 * Recovering a recording cut short (the recorder killed, the machine off): every complete chunk
 * of the truncated file is read with @mcap/core's streaming reader (chunk CRCs checked) and
 * written again with its McapWriter, which adds the summary, indexes and footer the crash left
 * out. A file that is already complete is left alone.
 */
import * as fs from 'node:fs/promises';
import { McapIndexedReader, McapStreamReader, McapWriter } from '@mcap/core';
import type { IWritable, McapTypes } from '@mcap/core';
import { FileReadable } from './file-readable.ts';

export class RecoverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoverError';
  }
}

export interface RecoverResult {
  /** `complete`: the file was whole and nothing was written; `recovered`: `output` was written. */
  status: 'complete' | 'recovered';
  messages: number;
  channels: number;
  chunks: number;
  /** Log times of the first and last recovered message, ns (0n when none). */
  startNs: bigint;
  endNs: bigint;
  /** Why reading stopped: the file ended inside a record, or a record was damaged. */
  stoppedBecause: string;
}

/** An IWritable that appends to a file handle in large writes. */
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
    this.pending.push(buffer.slice()); // McapWriter reuses its buffer
    this.pendingBytes += buffer.byteLength;
    this.pos += BigInt(buffer.byteLength);
    if (this.pendingBytes >= 4 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.write(all);
  }
}

async function isComplete(fh: fs.FileHandle, size: number): Promise<{ messages: number; channels: number; chunks: number; startNs: bigint; endNs: bigint } | null> {
  try {
    const r = await McapIndexedReader.Initialize({ readable: new FileReadable(fh, BigInt(size)) });
    const s = r.statistics;
    return { messages: Number(s?.messageCount ?? 0n), channels: r.channelsById.size, chunks: r.chunkIndexes.length, startNs: s?.messageStartTime ?? 0n, endNs: s?.messageEndTime ?? 0n };
  } catch {
    return null;
  }
}

/**
 * Rewrites the complete chunks of `input` into `output` (created; replaced only with `overwrite`).
 * Throws RecoverError for a file that holds nothing to recover or is not an MCAP file.
 */
export async function recoverRecording(input: string, output: string, options: { overwrite?: boolean } = {}): Promise<RecoverResult> {
  const inFh = await fs.open(input, 'r');
  let size: number;
  try {
    size = (await inFh.stat()).size;
    if (size === 0) throw new RecoverError(`${input} is empty (0 bytes): the recorder stopped before writing anything, so there is nothing to recover`);
    const whole = await isComplete(inFh, size);
    if (whole) return { status: 'complete', ...whole, stoppedBecause: 'the file is complete' };
  } catch (e) {
    await inFh.close();
    throw e;
  }

  const tmp = `${output}.partial-${process.pid}`;
  let outFh: fs.FileHandle | null = null;
  try {
    if (!options.overwrite) {
      const exists = await fs.stat(output).then(() => true, () => false);
      if (exists) throw new RecoverError(`${output} exists; choose another --out or add --overwrite`);
    }
    const stream = new McapStreamReader({ validateCrcs: true, includeChunks: true });
    let header: McapTypes.Header | null = null;
    let writer: McapWriter | null = null;
    let out: FileWritable | null = null;
    const schemaIds = new Map<number, number>();
    const channelIds = new Map<number, number>();
    const pendingSchemas = new Map<number, McapTypes.Schema>();
    let messages = 0;
    let chunks = 0;
    let startNs = 0n;
    let endNs = 0n;
    let stoppedBecause = 'the file ended inside a record (the part a crash cut off)';
    const open = async (): Promise<McapWriter> => {
      if (writer) return writer;
      outFh = await fs.open(tmp, 'w', 0o644);
      out = new FileWritable(outFh);
      writer = new McapWriter({ writable: out, chunkSize: 4 << 20 });
      await writer.start(header ?? { profile: '', library: '' });
      return writer;
    };
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    reading: while (pos < size) {
      const { bytesRead } = await inFh.read(buf, 0, buf.byteLength, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      stream.append(buf.subarray(0, bytesRead).slice());
      for (;;) {
        let rec: McapTypes.TypedMcapRecord | undefined;
        try {
          rec = stream.nextRecord();
        } catch (e) {
          if (messages === 0 && !header) throw new RecoverError(`${input} is not an MCAP file (${(e as Error).message})`);
          stoppedBecause = `a damaged record at the end: ${(e as Error).message}`;
          break reading;
        }
        if (!rec) break;
        switch (rec.type) {
          case 'Header':
            header = { profile: rec.profile, library: rec.library };
            break;
          case 'Schema':
            pendingSchemas.set(rec.id, rec);
            break;
          case 'Channel': {
            if (channelIds.has(rec.id)) break;
            const w = await open();
            let schemaId = 0;
            if (rec.schemaId !== 0) {
              const known = schemaIds.get(rec.schemaId);
              if (known !== undefined) schemaId = known;
              else {
                const s = pendingSchemas.get(rec.schemaId);
                if (!s) break; // its schema was lost: the channel cannot be described
                schemaId = await w.registerSchema({ name: s.name, encoding: s.encoding, data: s.data });
                schemaIds.set(rec.schemaId, schemaId);
              }
            }
            channelIds.set(rec.id, await w.registerChannel({ schemaId, topic: rec.topic, messageEncoding: rec.messageEncoding, metadata: rec.metadata }));
            break;
          }
          case 'Message': {
            const channelId = channelIds.get(rec.channelId);
            if (channelId === undefined) break;
            const w = await open();
            await w.addMessage({ ...rec, channelId });
            if (messages === 0 || rec.logTime < startNs) startNs = rec.logTime;
            if (messages === 0 || rec.logTime > endNs) endNs = rec.logTime;
            messages++;
            break;
          }
          case 'Metadata':
            await (await open()).addMetadata({ name: rec.name, metadata: rec.metadata });
            break;
          case 'Attachment':
            await (await open()).addAttachment({ name: rec.name, logTime: rec.logTime, createTime: rec.createTime, mediaType: rec.mediaType, data: rec.data });
            break;
          case 'Chunk':
            chunks++; // complete (the reader yields a chunk only whole), its records follow
            break;
          default:
            break;
        }
      }
    }
    if (!header) throw new RecoverError(`${input} is not an MCAP file (no MCAP header in its first ${size} bytes)`);
    if (messages === 0) throw new RecoverError(`${input} holds no complete chunk (${size} bytes: the header and at most one unfinished chunk), so there is no message to recover`);
    const w = writer as McapWriter | null;
    await w!.addMetadata({ name: 'simreal.recovered', metadata: new Map([['from', input], ['bytes', String(size)], ['stoppedBecause', stoppedBecause]]) });
    await w!.end();
    await (out as FileWritable | null)!.flush();
    await (outFh as fs.FileHandle | null)!.close();
    outFh = null;
    await fs.rename(tmp, output);
    return { status: 'recovered', messages, channels: channelIds.size, chunks, startNs, endNs, stoppedBecause };
  } catch (e) {
    if (outFh) await (outFh as fs.FileHandle).close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  } finally {
    await inFh.close();
  }
}
