/**
 * PNG encoding of rendered images with fast-png (pure JavaScript on fflate: no native build, the
 * same code in Node and in a browser, typed arrays in and out, maintained by the image-js team).
 */
import { encode } from 'fast-png';

/** Lower zlib levels trade a little size for speed; frames are encoded on the hot path. */
const ZLIB = { level: 3 } as const;

/** RGB8 (width·height·3 bytes, rows top-down) → PNG. */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: rgb, channels: 3, depth: 8 }, { zlib: ZLIB });
}

/** Depth in metres → 16-bit grey PNG in millimetres (0 where not finite or out of range). */
export function encodeDepthPng(depth: Float32Array, width: number, height: number): Uint8Array {
  const mm = new Uint16Array(width * height);
  for (let i = 0; i < mm.length; i++) {
    const v = Math.round(depth[i] * 1000);
    mm[i] = v > 0 && v < 65536 ? v : 0;
  }
  return encode({ width, height, data: mm, channels: 1, depth: 16 }, { zlib: ZLIB });
}

/** Segmentation ids → 16-bit grey PNG. */
export function encodeSegmentationPng(ids: Uint16Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: ids, channels: 1, depth: 16 }, { zlib: ZLIB });
}
