/**
 * Binary frames: images and dense arrays travel as WebSocket binary messages, a fixed 48-byte
 * little-endian header followed by the raw elements (row-major, little-endian). The hub checks the
 * header against the robot's declared features and forwards the bytes unchanged, so a camera
 * frame is never re-encoded on its way to viewers.
 *
 * Layout (PROTOCOL.md, "Binary frames"):
 *
 * | offset | type    | field                                                             |
 * | ------ | ------- | ----------------------------------------------------------------- |
 * | 0      | u8[4]   | magic `SRBF` (0x53 0x52 0x42 0x46)                                 |
 * | 4      | u8      | frame format version, 1                                           |
 * | 5      | u8      | kind: 1 image, 2 tensor                                           |
 * | 6      | u8      | dtype: 1 uint8, 2 uint16, 3 int16, 4 int32, 5 float32, 6 float64  |
 * | 7      | u8      | ndim, 0–4                                                         |
 * | 8      | u16     | header length in bytes (48 in version 1; payload starts here)     |
 * | 10     | u16     | channel: index of the feature in the robot's `features.observation` |
 * | 12     | u32     | robot handle (assigned by the hub at registration)                |
 * | 16     | u32     | seq (per channel, wraps at 2^32)                                  |
 * | 20     | u16     | image format: 0 none, 1 rgb8, 2 rgba8, 3 mono8, 4 depth16mm, 5 depth32f |
 * | 22     | u16     | flags (reserved, 0)                                               |
 * | 24     | f64     | capture time, ms since the Unix epoch (sender's clock)            |
 * | 32     | u32[4]  | shape; unused dimensions are 0                                    |
 * | 48     | …       | payload: product(shape) × sizeof(dtype) bytes                     |
 *
 * Pure: Uint8Array and DataView only, so it runs in browsers too.
 */
import { DTYPES, IMAGE_FORMATS } from './messages.ts';
import type { DType, ImageFormat } from './messages.ts';

export const FRAME_MAGIC = 0x46425253; // 'SRBF' read as a little-endian u32
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 48;
export const FRAME_KINDS = { image: 1, tensor: 2 } as const;
export type FrameKind = keyof typeof FRAME_KINDS;

export const DTYPE_BYTES: Record<DType, number> = { uint8: 1, uint16: 2, int16: 2, int32: 4, float32: 4, float64: 8 };
const DTYPE_CODE: Record<DType, number> = { uint8: 1, uint16: 2, int16: 3, int32: 4, float32: 5, float64: 6 };
const FORMAT_CODE: Record<ImageFormat, number> = { rgb8: 1, rgba8: 2, mono8: 3, depth16mm: 4, depth32f: 5 };

export interface FrameHeader {
  kind: FrameKind;
  dtype: DType;
  shape: number[];
  handle: number;
  channel: number;
  seq: number;
  /** ms since the Unix epoch. */
  t: number;
  format: ImageFormat | null;
}

export interface Frame extends FrameHeader {
  /** The payload bytes (a view into the message; copy it to keep it past the callback). */
  payload: Uint8Array;
}

export type FrameResult = { ok: true; frame: Frame } | { ok: false; error: { code: 'bad_frame'; message: string } };

function bad(message: string): FrameResult {
  return { ok: false, error: { code: 'bad_frame', message } };
}

export function payloadBytes(dtype: DType, shape: readonly number[]): number {
  let n = DTYPE_BYTES[dtype];
  for (const d of shape) n *= d;
  return n;
}

/** Writes a header into `target` (at least 48 bytes) and returns the payload length expected. */
export function writeFrameHeader(target: Uint8Array, h: FrameHeader): number {
  if (h.shape.length > 4) throw new RangeError('frames have at most 4 dimensions');
  const v = new DataView(target.buffer, target.byteOffset, FRAME_HEADER_BYTES);
  v.setUint32(0, FRAME_MAGIC, true);
  v.setUint8(4, FRAME_VERSION);
  v.setUint8(5, FRAME_KINDS[h.kind]);
  v.setUint8(6, DTYPE_CODE[h.dtype]);
  v.setUint8(7, h.shape.length);
  v.setUint16(8, FRAME_HEADER_BYTES, true);
  v.setUint16(10, h.channel, true);
  v.setUint32(12, h.handle >>> 0, true);
  v.setUint32(16, h.seq >>> 0, true);
  v.setUint16(20, h.format ? FORMAT_CODE[h.format] : 0, true);
  v.setUint16(22, 0, true);
  v.setFloat64(24, h.t, true);
  for (let i = 0; i < 4; i++) v.setUint32(32 + 4 * i, h.shape[i] ?? 0, true);
  return payloadBytes(h.dtype, h.shape);
}

/** Header + payload in one new buffer. `data` must hold exactly product(shape) elements' bytes. */
export function encodeFrame(h: FrameHeader, data: ArrayBufferView): Uint8Array {
  const expected = payloadBytes(h.dtype, h.shape);
  if (data.byteLength !== expected) throw new RangeError(`frame payload is ${data.byteLength} bytes, shape ${JSON.stringify(h.shape)} of ${h.dtype} needs ${expected}`);
  const out = new Uint8Array(FRAME_HEADER_BYTES + expected);
  writeFrameHeader(out, h);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), FRAME_HEADER_BYTES);
  return out;
}

/** Parses and checks a binary frame. Never throws. */
export function decodeFrame(bytes: Uint8Array): FrameResult {
  if (!(bytes instanceof Uint8Array)) return bad('binary frames are byte arrays');
  if (bytes.byteLength < FRAME_HEADER_BYTES) return bad(`binary message of ${bytes.byteLength} bytes is shorter than the ${FRAME_HEADER_BYTES}-byte frame header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== FRAME_MAGIC) return bad('binary message does not start with the frame magic "SRBF"');
  const version = v.getUint8(4);
  if (version !== FRAME_VERSION) return bad(`frame version ${version} is not supported (this peer reads version ${FRAME_VERSION})`);
  const kindCode = v.getUint8(5);
  const kind = kindCode === 1 ? 'image' : kindCode === 2 ? 'tensor' : null;
  if (!kind) return bad(`unknown frame kind ${kindCode}`);
  const dtypeCode = v.getUint8(6);
  const dtype = DTYPES[dtypeCode - 1];
  if (dtypeCode < 1 || !dtype) return bad(`unknown dtype code ${dtypeCode}`);
  const ndim = v.getUint8(7);
  if (ndim > 4) return bad(`ndim ${ndim} > 4`);
  const headerBytes = v.getUint16(8, true);
  if (headerBytes < FRAME_HEADER_BYTES || headerBytes > bytes.byteLength || headerBytes % 8 !== 0) return bad(`bad header length ${headerBytes}`);
  const formatCode = v.getUint16(20, true);
  const format = formatCode === 0 ? null : IMAGE_FORMATS[formatCode - 1] ?? undefined;
  if (format === undefined) return bad(`unknown image format code ${formatCode}`);
  if (kind === 'image' && format === null) return bad('image frames need an image format');
  const shape: number[] = [];
  let elements = 1;
  for (let i = 0; i < 4; i++) {
    const d = v.getUint32(32 + 4 * i, true);
    if (i < ndim) {
      if (d === 0) return bad(`dimension ${i} is 0`);
      shape.push(d);
      elements *= d;
    } else if (d !== 0) return bad(`unused dimension ${i} must be 0`);
  }
  const t = v.getFloat64(24, true);
  if (!Number.isFinite(t)) return bad('frame time is not finite');
  const expected = elements * DTYPE_BYTES[dtype];
  const payload = bytes.subarray(headerBytes);
  if (payload.byteLength !== expected) return bad(`payload is ${payload.byteLength} bytes, shape ${JSON.stringify(shape)} of ${dtype} needs ${expected}`);
  return {
    ok: true,
    frame: { kind, dtype, shape, handle: v.getUint32(12, true), channel: v.getUint16(10, true), seq: v.getUint32(16, true), t, format, payload },
  };
}

type TypedArrayOf<D extends DType> = D extends 'uint8' ? Uint8Array : D extends 'uint16' ? Uint16Array : D extends 'int16' ? Int16Array : D extends 'int32' ? Int32Array : D extends 'float32' ? Float32Array : Float64Array;

/**
 * The payload as a typed array of the frame's dtype: a view when the bytes are aligned, else a
 * copy. (Little-endian hosts only, which is every browser and Node platform in practice.)
 */
export function frameElements(frame: Frame): TypedArrayOf<DType> {
  const p = frame.payload;
  const size = DTYPE_BYTES[frame.dtype];
  const src = p.byteOffset % size === 0 ? p : p.slice();
  const n = src.byteLength / size;
  switch (frame.dtype) {
    case 'uint8': return new Uint8Array(src.buffer, src.byteOffset, n);
    case 'uint16': return new Uint16Array(src.buffer, src.byteOffset, n);
    case 'int16': return new Int16Array(src.buffer, src.byteOffset, n);
    case 'int32': return new Int32Array(src.buffer, src.byteOffset, n);
    case 'float32': return new Float32Array(src.buffer, src.byteOffset, n);
    case 'float64': return new Float64Array(src.buffer, src.byteOffset, n);
  }
}
