/**
 * The one boundary to the parquet libraries: hyparquet-writer writes, hyparquet reads (both pure
 * JavaScript, from the same maintainers; no native build, no WebAssembly heap that never shrinks).
 *
 * Columns are described by a small ColumnSpec and mapped to the parquet schema pyarrow writes
 * for the Arrow types LeRobot uses: scalars as optional leaves, vectors as 3-level LIST of FLOAT
 * (Hugging Face `datasets` restores `List(length=N)` from the `huggingface` key-value metadata),
 * and images as the `datasets.Image` storage, a struct {bytes: binary, path: string}.
 *
 * Files are written by streaming row groups to an open descriptor (memory: one row group) and are
 * fsynced on finish, so a caller can rename a finished file into place atomically.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { DatasetError } from './format.ts';

export type LeafType = 'FLOAT' | 'DOUBLE' | 'INT64' | 'BOOLEAN' | 'STRING' | 'BINARY';

export type ColumnSpec =
  | { name: string; kind: 'scalar'; type: LeafType }
  /** `depth` nested lists (default 1): [[..]] is depth 2. */
  | { name: string; kind: 'list'; type: LeafType; depth?: number }
  /** LeRobot / Hugging Face image: struct {bytes: binary (PNG), path: string}. */
  | { name: string; kind: 'image' };

function leaf(name: string, type: LeafType): SchemaElement {
  switch (type) {
    case 'STRING': return { name, repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'BINARY': return { name, repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY' };
    default: return { name, repetition_type: 'OPTIONAL', type };
  }
}

/** The parquet schema (flattened tree) for these columns. */
export function parquetSchema(columns: ColumnSpec[]): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'schema', repetition_type: 'REQUIRED', num_children: columns.length }];
  for (const c of columns) {
    if (c.kind === 'scalar') out.push(leaf(c.name, c.type));
    else if (c.kind === 'image') {
      out.push({ name: c.name, repetition_type: 'OPTIONAL', num_children: 2 });
      out.push(leaf('bytes', 'BINARY'), leaf('path', 'STRING'));
    } else {
      const depth = c.depth ?? 1;
      let name = c.name;
      for (let d = 0; d < depth; d++) {
        out.push({ name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } });
        out.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
        name = 'element';
      }
      out.push(leaf('element', c.type));
    }
  }
  return out;
}

/** hyparquet-writer's ByteWriter, spilling to a file descriptor every megabyte (and hashing what it writes). */
class FdWriter extends ByteWriter {
  readonly fd: number;
  readonly hash: Hash = createHash('sha256');
  constructor(fd: number) {
    super(1 << 20);
    this.fd = fd;
  }
  private spill(): void {
    let done = 0;
    const bytes = new Uint8Array(this.buffer, 0, this.index);
    this.hash.update(bytes);
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.index = 0;
  }
  override ensure(size: number): void {
    if (this.index > 1 << 20) this.spill();
    super.ensure(size);
  }
  override finish(): void {
    this.spill();
  }
}

export type ColumnValues = ArrayLike<unknown>;

/**
 * Streams row groups into one parquet file. Call finish() to write the footer and fsync, or
 * abort() to drop the file.
 */
export class ParquetStreamWriter {
  readonly path: string;
  readonly columns: ColumnSpec[];
  private fd: number;
  private writer: FdWriter;
  private pq: ParquetWriter;
  private closed = false;
  rows = 0;
  rowGroups = 0;
  /** SHA-256 (hex) of the whole file, once finished. */
  sha256: string | null = null;

  constructor(path: string, columns: ColumnSpec[], kvMetadata: Record<string, string> = {}) {
    this.path = path;
    this.columns = columns;
    this.fd = openSync(path, 'w');
    this.writer = new FdWriter(this.fd);
    this.pq = new ParquetWriter({
      writer: this.writer,
      schema: parquetSchema(columns) as unknown as ConstructorParameters<typeof ParquetWriter>[0]['schema'],
      codec: 'SNAPPY',
      kvMetadata: Object.entries(kvMetadata).map(([key, value]) => ({ key, value })),
      createdBy: 'simreal (hyparquet-writer)',
    });
  }

  /** Bytes written so far (the file's size once finished, less the footer). */
  get bytesWritten(): number {
    return this.writer.offset;
  }

  /** Writes one row group; every column of `data` holds the same number of rows. */
  writeRowGroup(data: Record<string, ColumnValues>): void {
    const n = data[this.columns[0].name]?.length ?? 0;
    if (n === 0) return;
    this.pq.write({
      rowGroupSize: Number.MAX_SAFE_INTEGER,
      columnData: this.columns.map((c) => {
        const values = data[c.name];
        if (!values) throw new Error(`row group for ${this.path} lacks column ${c.name}`);
        if (values.length !== n) throw new Error(`column ${c.name} has ${values.length} rows, expected ${n}`);
        // PNG bytes don't compress; statistics on them would be meaningless.
        return c.kind === 'image'
          ? { name: c.name, data: values as unknown[], codec: 'UNCOMPRESSED' as const, statistics: false, encoding: 'PLAIN' as const }
          : { name: c.name, data: values as unknown[] };
      }),
    });
    this.rows += n;
    this.rowGroups++;
  }

  finish(): void {
    if (this.closed) return;
    this.pq.finish();
    this.sha256 = this.writer.hash.digest('hex');
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    try { unlinkSync(this.path); } catch { /* already gone */ }
  }
}

/** Writes a whole (small) table as one row group. */
export function writeParquetTable(path: string, columns: ColumnSpec[], data: Record<string, ColumnValues>, kvMetadata: Record<string, string> = {}): void {
  const w = new ParquetStreamWriter(path, columns, kvMetadata);
  try {
    w.writeRowGroup(data);
    w.finish();
  } catch (err) {
    w.abort();
    throw err;
  }
}

/** A parquet file opened for reading: its footer is parsed, byte ranges are read on demand. */
export interface ParquetSource {
  path: string;
  file: AsyncBuffer;
  metadata: FileMetaData;
  rows: number;
  close(): Promise<void>;
}

async function fileBuffer(handle: FileHandle, size: number): Promise<AsyncBuffer> {
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const out = new Uint8Array(Math.max(0, stop - start));
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await handle.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out.buffer;
    },
  };
}

/**
 * Opens a parquet file and parses its footer. A missing, truncated or corrupted footer becomes a
 * DatasetError naming `displayPath`.
 */
export async function openParquet(path: string, displayPath = path): Promise<ParquetSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new DatasetError(`cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, displayPath);
  }
  try {
    const { size } = await handle.stat();
    if (size < 12) throw new DatasetError(`truncated parquet file (${size} bytes)`, displayPath);
    const file = await fileBuffer(handle, size);
    const head = new Uint8Array(await file.slice(0, 4));
    const tail = new Uint8Array(await file.slice(size - 4, size));
    const magic = (b: Uint8Array): boolean => b[0] === 0x50 && b[1] === 0x41 && b[2] === 0x52 && b[3] === 0x31;
    if (!magic(head)) throw new DatasetError('not a parquet file (no PAR1 magic at the start)', displayPath);
    if (!magic(tail)) throw new DatasetError(`truncated or corrupted parquet file (no PAR1 footer magic at the end of its ${size} bytes)`, displayPath);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (err) {
      throw new DatasetError(`corrupted parquet footer (${(err as Error).message})`, displayPath);
    }
    const h = handle;
    return { path, file, metadata, rows: Number(metadata.num_rows), close: () => h.close() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export type Row = Record<string, unknown>;

/** Reads rows [rowStart, rowEnd) of the given columns; corrupted pages become a DatasetError. */
export async function readRows(src: ParquetSource, columns: string[] | undefined, rowStart = 0, rowEnd = src.rows, displayPath = src.path): Promise<Row[]> {
  try {
    // utf8: false keeps binary columns (PNG bytes) as bytes; UTF8-annotated columns still decode to strings.
    return await parquetReadObjects({ file: src.file, metadata: src.metadata, columns, rowStart, rowEnd, utf8: false });
  } catch (err) {
    throw new DatasetError(`corrupted data: rows ${rowStart}..${rowEnd} cannot be decoded (${(err as Error).message})`, displayPath);
  }
}

/** SHA-256 (hex) of a file, streamed. */
export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

/** Top-level column names of a parquet file, in order. */
export function columnNames(metadata: FileMetaData): string[] {
  const names: string[] = [];
  const schema = metadata.schema;
  let i = 1;
  const skip = (idx: number): number => {
    const n = schema[idx].num_children ?? 0;
    let next = idx + 1;
    for (let k = 0; k < n; k++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    names.push(schema[i].name);
    i = skip(i);
  }
  return names;
}

/** Row offsets of each row group: [start, end) per group. */
export function rowGroupRanges(metadata: FileMetaData): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  for (const g of metadata.row_groups) {
    const n = Number(g.num_rows);
    out.push([start, start + n]);
    start += n;
  }
  return out;
}

/** Reads a whole small parquet file (a metadata table). */
export async function readTable(path: string, displayPath = path, columns?: string[]): Promise<{ rows: Row[]; metadata: FileMetaData }> {
  const src = await openParquet(path, displayPath);
  try {
    return { rows: await readRows(src, columns, 0, src.rows, displayPath), metadata: src.metadata };
  } finally {
    await src.close();
  }
}

/** The key-value metadata of a file, as a plain object. */
export function keyValueMetadata(metadata: FileMetaData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of metadata.key_value_metadata ?? []) out[kv.key] = kv.value ?? '';
  return out;
}
