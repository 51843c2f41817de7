/**
 * McapFileWriter: an MCAP writer whose chunks reach the file as soon as they close, so a process
 * killed mid-recording leaves every closed chunk readable (`simreal recording recover` turns such
 * a file into an indexed one).
 *
 * @mcap/core's McapWriter keeps the open chunk in memory until it is full or the file ends and
 * offers no way to close it early; a recorder that must lose at most its flush interval needs
 * exactly that. This class does the same job with the library's own record and chunk builders
 * (McapRecordBuilder, McapChunkBuilder): every record is encoded by @mcap/core, only the order of
 * writes is ours. `flush()` closes the open chunk, writes it with its message indexes and waits
 * for the operating system to have the bytes (datasync). `end()` writes the summary (schemas,
 * channels, statistics, metadata and chunk indexes, summary offsets) and the footer, as
 * McapWriter does, so @mcap/core's indexed reader opens the result.
 *
 * Like McapWriter, calls must not overlap: await each before the next.
 */
import * as fs from 'node:fs/promises';
import { crc32, crc32Final, crc32Init, crc32Update } from '@foxglove/crc';
import { McapChunkBuilder, McapRecordBuilder, Opcode } from '@mcap/core';
import type { McapTypes } from '@mcap/core';

export interface McapFileWriterOptions {
  /** Uncompressed bytes after which a chunk closes and is written (default 4 MiB). */
  chunkSize?: number;
  /** Replace an existing file (default false: refuse with EEXIST). */
  overwrite?: boolean;
  /** Wait for the data to reach the disk on every flush (fdatasync; default true). */
  sync?: boolean;
}

export class McapFileWriter {
  readonly path: string;
  private readonly fh: fs.FileHandle;
  private readonly chunkSize: number;
  private readonly sync: boolean;
  private readonly records = new McapRecordBuilder();
  private readonly chunk = new McapChunkBuilder({ useMessageIndex: true });
  /** Bytes encoded but not yet handed to the file. */
  private pending: Uint8Array[] = [];
  /** File offset of the next byte written (pending bytes included). */
  private pos = 0n;
  private dataCrc = crc32Init();
  private nextSchemaId = 1;
  private nextChannelId = 0;
  private readonly schemas = new Map<number, McapTypes.Schema>();
  private readonly channels = new Map<number, McapTypes.Channel>();
  private readonly written = { schemas: new Set<number>(), channels: new Set<number>() };
  private readonly chunkIndexes: McapTypes.ChunkIndex[] = [];
  private readonly metadataIndexes: McapTypes.MetadataIndex[] = [];
  readonly statistics: McapTypes.Statistics = {
    messageCount: 0n, schemaCount: 0, channelCount: 0, attachmentCount: 0, metadataCount: 0, chunkCount: 0,
    messageStartTime: 0n, messageEndTime: 0n, channelMessageCounts: new Map(),
  };
  private ended = false;

  private constructor(path: string, fh: fs.FileHandle, options: McapFileWriterOptions) {
    this.path = path;
    this.fh = fh;
    this.chunkSize = options.chunkSize ?? 4 << 20;
    this.sync = options.sync ?? true;
  }

  /** Creates the file and writes the magic and header to it at once (so even a crash in the first second leaves a file that says what it is). */
  static async create(path: string, header: McapTypes.Header, options: McapFileWriterOptions = {}): Promise<McapFileWriter> {
    const fh = await fs.open(path, options.overwrite ? 'w' : 'wx', 0o644);
    const w = new McapFileWriter(path, fh, options);
    try {
      w.records.writeMagic();
      w.records.writeHeader(header);
      w.take(true);
      await w.writePending();
    } catch (e) {
      await fh.close();
      throw e;
    }
    return w;
  }

  registerSchema(info: Omit<McapTypes.Schema, 'id'>): number {
    const id = this.nextSchemaId++;
    this.schemas.set(id, { ...info, id });
    this.statistics.schemaCount++;
    return id;
  }

  registerChannel(info: Omit<McapTypes.Channel, 'id'>): number {
    if (info.schemaId !== 0 && !this.schemas.has(info.schemaId)) throw new Error(`McapFileWriter: channel ${info.topic} names unknown schema ${info.schemaId}`);
    const id = this.nextChannelId++;
    this.channels.set(id, { ...info, id });
    this.statistics.channelCount++;
    return id;
  }

  /** Adds a message to the open chunk; a chunk that grows past `chunkSize` is closed and written. */
  async addMessage(message: McapTypes.Message): Promise<void> {
    const channel = this.channels.get(message.channelId);
    if (!channel) throw new Error(`McapFileWriter: no channel ${message.channelId}`);
    const s = this.statistics;
    if (s.messageCount === 0n || message.logTime < s.messageStartTime) s.messageStartTime = message.logTime;
    if (s.messageCount === 0n || message.logTime > s.messageEndTime) s.messageEndTime = message.logTime;
    s.channelMessageCounts.set(message.channelId, (s.channelMessageCounts.get(message.channelId) ?? 0n) + 1n);
    s.messageCount++;
    // A schema and channel go into the first chunk that uses them (as McapWriter does), so every
    // chunk a crash leaves complete is preceded by the definitions it needs.
    if (!this.written.channels.has(channel.id)) {
      if (channel.schemaId !== 0 && !this.written.schemas.has(channel.schemaId)) {
        this.chunk.addSchema(this.schemas.get(channel.schemaId)!);
        this.written.schemas.add(channel.schemaId);
      }
      this.chunk.addChannel(channel);
      this.written.channels.add(channel.id);
    }
    this.chunk.addMessage(message);
    if (this.chunk.byteLength > this.chunkSize) {
      this.closeChunk();
      await this.writePending();
    }
  }

  /** Metadata records are written between chunks, at the next flush. */
  addMetadata(metadata: McapTypes.Metadata): void {
    this.closeChunk();
    const offset = this.pos;
    const length = this.records.writeMetadata(metadata);
    this.take(true);
    this.metadataIndexes.push({ name: metadata.name, offset, length });
    this.statistics.metadataCount++;
  }

  /** Closes the open chunk (if it holds a message) and waits until the file holds everything added so far. */
  async flush(): Promise<void> {
    this.closeChunk();
    if (this.pending.length === 0) return;
    await this.writePending();
    if (this.sync) await this.fh.datasync();
  }

  /** Writes the last chunk, the summary and the footer, and closes the file. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      this.closeChunk();
      this.records.writeDataEnd({ dataSectionCrc: crc32Final(this.dataCrc) });
      this.take(false);
      this.writeSummary();
      await this.writePending();
      if (this.sync) await this.fh.datasync();
    } finally {
      await this.fh.close();
    }
  }

  /** Closes the file without a summary (what a crash leaves, minus the open chunk); for tests of recovery. */
  async abandon(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.fh.close();
  }

  private closeChunk(): void {
    if (this.chunk.numMessages === 0) return;
    const data = this.chunk.buffer;
    const record: McapTypes.Chunk = {
      messageStartTime: this.chunk.messageStartTime,
      messageEndTime: this.chunk.messageEndTime,
      uncompressedSize: BigInt(data.byteLength),
      uncompressedCrc: crc32(data),
      compression: '',
      records: data,
    };
    const chunkStartOffset = this.pos;
    const chunkLength = this.records.writeChunk(record);
    this.take(true);
    const messageIndexStart = this.pos;
    const messageIndexOffsets = new Map<number, bigint>();
    let messageIndexLength = 0n;
    for (const index of this.chunk.indices) {
      messageIndexOffsets.set(index.channelId, messageIndexStart + messageIndexLength);
      messageIndexLength += this.records.writeMessageIndex(index);
    }
    this.take(true);
    this.chunkIndexes.push({
      messageStartTime: record.messageStartTime, messageEndTime: record.messageEndTime,
      chunkStartOffset, chunkLength, messageIndexOffsets, messageIndexLength,
      compression: '', compressedSize: BigInt(data.byteLength), uncompressedSize: record.uncompressedSize,
    });
    this.statistics.chunkCount++;
    this.chunk.reset();
  }

  /** The summary section, summary offsets and footer (the layout McapWriter.end() writes). */
  private writeSummary(): void {
    const summaryStart = this.pos;
    let summaryCrc = crc32Init();
    const offsets: McapTypes.SummaryOffset[] = [];
    const group = (opcode: number, write: () => bigint): void => {
      const groupStart = this.pos;
      let groupLength = 0n;
      groupLength += write();
      summaryCrc = crc32Update(summaryCrc, this.records.buffer);
      this.take(false);
      if (groupLength > 0n) offsets.push({ groupOpcode: opcode, groupStart, groupLength });
    };
    const sum = <T>(items: Iterable<T>, write: (item: T) => bigint): bigint => {
      let n = 0n;
      for (const item of items) n += write(item);
      return n;
    };
    group(Opcode.SCHEMA, () => sum(this.schemas.values(), (s) => this.records.writeSchema(s)));
    group(Opcode.CHANNEL, () => sum(this.channels.values(), (c) => this.records.writeChannel(c)));
    group(Opcode.STATISTICS, () => this.records.writeStatistics(this.statistics));
    group(Opcode.METADATA_INDEX, () => sum(this.metadataIndexes, (m) => this.records.writeMetadataIndex(m)));
    group(Opcode.CHUNK_INDEX, () => sum(this.chunkIndexes, (c) => this.records.writeChunkIndex(c)));
    const summaryOffsetStart = this.pos;
    for (const o of offsets) this.records.writeSummaryOffset(o);
    summaryCrc = crc32Update(summaryCrc, this.records.buffer);
    this.take(false);
    // The footer's CRC covers the summary, the summary offsets and the footer up to the CRC field.
    const footerStart = new DataView(new ArrayBuffer(1 + 8 + 8 + 8));
    const summaryEmpty = summaryOffsetStart === summaryStart;
    footerStart.setUint8(0, Opcode.FOOTER);
    footerStart.setBigUint64(1, 8n + 8n + 4n, true);
    footerStart.setBigUint64(9, summaryEmpty ? 0n : summaryStart, true);
    footerStart.setBigUint64(17, summaryOffsetStart, true);
    summaryCrc = crc32Update(summaryCrc, footerStart);
    this.records.writeFooter({ summaryStart: summaryEmpty ? 0n : summaryStart, summaryOffsetStart, summaryCrc: crc32Final(summaryCrc) });
    this.records.writeMagic();
    this.take(false);
  }

  /** Moves the record builder's bytes to the pending list, counting them into the data-section CRC when they belong to it. */
  private take(dataSection: boolean): void {
    const buf = this.records.buffer;
    if (buf.byteLength === 0) return;
    if (dataSection) this.dataCrc = crc32Update(this.dataCrc, buf);
    this.pending.push(buf.slice());
    this.pos += BigInt(buf.byteLength);
    this.records.reset();
  }

  private async writePending(): Promise<void> {
    const chunks = this.pending;
    this.pending = [];
    let offset = 0;
    // writev may write fewer bytes than asked (large buffers): finish the rest.
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    while (offset < total) {
      const { bytesWritten } = offset === 0 ? await this.fh.writev(chunks) : await this.fh.write(Buffer.concat(chunks).subarray(offset));
      offset += bytesWritten;
    }
  }
}
