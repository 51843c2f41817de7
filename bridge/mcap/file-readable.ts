/** An @mcap/core IReadable over an open file handle (what McapIndexedReader reads through). */
import type * as fs from 'node:fs/promises';
import type { McapTypes } from '@mcap/core';

export class FileReadable implements McapTypes.IReadable {
  private readonly fh: fs.FileHandle;
  private readonly bytes: bigint;
  constructor(fh: fs.FileHandle, bytes: bigint) {
    this.fh = fh;
    this.bytes = bytes;
  }
  async size(): Promise<bigint> {
    return this.bytes;
  }
  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(Number(size));
    const { bytesRead } = await this.fh.read(buf, 0, buf.byteLength, Number(offset));
    return bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead);
  }
}
