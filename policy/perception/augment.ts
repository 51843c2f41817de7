/**
 * What real cameras do to an image that the renderer does not: exposure and white balance off
 * by a little, a tone curve, defocus and motion blur, sensor noise, JPEG compression. Applied to
 * training frames only (after rectification into the virtual view, so blur and noise act at the
 * network's own pixel scale), each effect with its own probability and strength drawn from the
 * frame's seeded generator. Geometric jitter (small crops, zoom and roll) is done exactly, on
 * the virtual camera itself, before rectification (frame-source.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import encodeJpeg, { init as initEncoder } from '@jsquash/jpeg/encode.js';
import decodeJpeg, { init as initDecoder } from '@jsquash/jpeg/decode.js';
import type { Rng } from '../../sim/rng.ts';

export interface AugmentOptions {
  /** Std of log exposure gain (default 0.25). */
  exposure: number;
  /** Std of the log gain of each colour channel (default 0.08). */
  whiteBalance: number;
  /** Std of log gamma (default 0.15). */
  gamma: number;
  /** Probability and largest std (pixels) of a Gaussian blur (default 0.5, 1.2). */
  blur: [number, number];
  /** Largest std of additive sensor noise, in 0…255 units (default 6). */
  noise: number;
  /** Probability of a JPEG round trip and its quality range (default 0.3, [35, 95]). */
  jpeg: [number, number, number];
}

export const DEFAULT_AUGMENT: AugmentOptions = { exposure: 0.25, whiteBalance: 0.08, gamma: 0.15, blur: [0.5, 1.2], noise: 6, jpeg: [0.3, 35, 95] };

/** Gaussian blur of an RGB image in place (separable, kernel radius ⌈2.5σ⌉, edges clamped). */
export function gaussianBlur(img: Uint8Array, w: number, h: number, sigma: number): void {
  if (sigma < 0.2) return;
  const r = Math.ceil(2.5 * sigma);
  const k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  const tmp = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let a = 0;
        for (let i = -r; i <= r; i++) a += k[i + r] * img[(y * w + Math.min(w - 1, Math.max(0, x + i))) * 3 + c];
        tmp[(y * w + x) * 3 + c] = a;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let a = 0;
        for (let i = -r; i <= r; i++) a += k[i + r] * tmp[(Math.min(h - 1, Math.max(0, y + i)) * w + x) * 3 + c];
        img[(y * w + x) * 3 + c] = a + 0.5;
      }
    }
  }
}

let codec: Promise<void> | null = null;

/**
 * The JPEG codec: MozJPEG compiled to WebAssembly (@jsquash/jpeg, from the Squoosh app), set to
 * what a camera's hardware encoder writes — baseline, standard (Annex K) quantization tables,
 * 4:2:0 chroma below quality 90 (the codec chooses) — at ~5 ms for a 128² round trip (a pure-JS
 * encoder took 30 ms).
 */
function openCodec(): Promise<void> {
  codec ??= (async () => {
    const require = createRequire(import.meta.url);
    const load = (file: string) => WebAssembly.compile(readFileSync(require.resolve(`@jsquash/jpeg/codec/${file}`)));
    await initEncoder(await load('enc/mozjpeg_enc.wasm'));
    await initDecoder(await load('dec/mozjpeg_dec.wasm'));
  })();
  return codec;
}

const CAMERA_JPEG = { baseline: true, progressive: false, optimize_coding: false, quant_table: 0 };

/** A JPEG encode–decode round trip at `quality` (1–100), in place. */
export async function jpegRoundTrip(img: Uint8Array, w: number, h: number, quality: number): Promise<void> {
  await openCodec();
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    rgba[4 * i] = img[3 * i];
    rgba[4 * i + 1] = img[3 * i + 1];
    rgba[4 * i + 2] = img[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  const encoded = await encodeJpeg({ data: rgba, width: w, height: h, colorSpace: 'srgb' } as ImageData, { ...CAMERA_JPEG, quality });
  const decoded = await decodeJpeg(encoded);
  for (let i = 0; i < w * h; i++) {
    img[3 * i] = decoded.data[4 * i];
    img[3 * i + 1] = decoded.data[4 * i + 1];
    img[3 * i + 2] = decoded.data[4 * i + 2];
  }
}

/** Applies the camera effects to an RGB image (w×h, in place), drawing everything from `rng`. */
export async function augment(img: Uint8Array, w: number, h: number, rng: Rng, o: AugmentOptions = DEFAULT_AUGMENT): Promise<void> {
  const gain = Math.exp(rng.normal() * o.exposure);
  const wb = [0, 1, 2].map(() => Math.exp(rng.normal() * o.whiteBalance));
  const gamma = Math.exp(rng.normal() * o.gamma);
  const lut = [0, 1, 2].map((c) => {
    const t = new Uint8Array(256);
    for (let v = 0; v < 256; v++) t[v] = Math.min(255, Math.round(255 * Math.pow(Math.min(1, (v / 255) * gain * wb[c]), gamma)));
    return t;
  });
  for (let i = 0; i < w * h; i++) {
    img[3 * i] = lut[0][img[3 * i]];
    img[3 * i + 1] = lut[1][img[3 * i + 1]];
    img[3 * i + 2] = lut[2][img[3 * i + 2]];
  }
  if (rng.next() < o.blur[0]) gaussianBlur(img, w, h, rng.uniform(0.3, o.blur[1]));
  const std = rng.uniform(0, o.noise);
  if (std > 0.5) {
    // Gaussian sensor noise: a table of normal draws, read from a random start with an odd
    // random stride (one draw per byte from the generator would cost more than the render).
    const table = new Float32Array(4096);
    for (let i = 0; i < table.length; i++) table[i] = std * rng.normal();
    let k = rng.int(0, 4095);
    const step = 2 * rng.int(0, 2047) + 1;
    for (let i = 0; i < img.length; i++, k = (k + step) & 4095) {
      const v = img[i] + table[k];
      img[i] = v < 0 ? 0 : v > 255 ? 255 : v + 0.5;
    }
  }
  if (rng.next() < o.jpeg[0]) await jpegRoundTrip(img, w, h, Math.round(rng.uniform(o.jpeg[1], o.jpeg[2])));
}
