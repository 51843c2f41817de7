/**
 * PNG bytes ↔ RGB pixels (fast-png: pure JavaScript, typed, maintained by the image-js project).
 * Decoding serves image statistics and readers that want pixels; encoding serves tests and the
 * benchmark (rendered frames arrive already encoded).
 */
import { convertIndexedToRgb, decode, encode } from 'fast-png';

export interface RgbImage {
  width: number;
  height: number;
  /** height × width × 3, row-major, uint8. */
  data: Uint8Array;
}

/** Decodes a PNG of any colour type and bit depth to 8-bit RGB (alpha dropped, as LeRobot's `convert("RGB")`). */
export function decodePngRgb(bytes: Uint8Array): RgbImage {
  const png = decode(bytes);
  const { width, height } = png;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const ch = rgb.length / n;
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = rgb[i * ch + c];
    return { width, height, data: out };
  }
  const src = png.data;
  const shift = png.depth === 16 ? 8 : 0;
  const ch = png.channels;
  for (let i = 0; i < n; i++) {
    if (ch >= 3) {
      out[i * 3] = src[i * ch] >> shift;
      out[i * 3 + 1] = src[i * ch + 1] >> shift;
      out[i * 3 + 2] = src[i * ch + 2] >> shift;
    } else {
      const g = src[i * ch] >> shift;
      out[i * 3] = g; out[i * 3 + 1] = g; out[i * 3 + 2] = g;
    }
  }
  return { width, height, data: out };
}

/** Encodes height × width × 3 uint8 pixels as an 8-bit RGB PNG. */
export function encodePngRgb(width: number, height: number, data: Uint8Array): Uint8Array {
  return encode({ width, height, data, channels: 3, depth: 8 });
}
