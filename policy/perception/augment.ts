/**
 * What real cameras do to an image that the renderer does not: exposure and white balance off
 * by a little, a tone curve, defocus and motion blur, sensor noise, JPEG compression. Applied to
 * training frames only (after rectification into the virtual view, so blur and noise act at the
 * network's own pixel scale), each effect with its own probability and strength drawn from the
 * frame's seeded generator. Geometric jitter (small crops, zoom and roll) is done exactly, on
 * the virtual camera itself, before rectification (frame-source.ts).
 */
import type { Rng } from '../../sim/rng.ts';

export interface AugmentOptions {
  /** Std of log exposure gain (default 0.35). */
  exposure: number;
  /** Std of the log gain of each colour channel (default 0.1). */
  whiteBalance: number;
  /** Std of log gamma (default 0.2). */
  gamma: number;
  /** Probability and largest std (pixels) of a Gaussian blur (default 0.5, 1.2). */
  blur: [number, number];
  /** Largest std of additive sensor noise, in 0…255 units (default 10). */
  noise: number;
  /** Probability of a JPEG round trip and its quality range (default 0.3, [35, 95]). */
  jpeg: [number, number, number];
}

/**
 * Wide enough to cover what the held-out looks do beyond the training ranges: an estimator trained
 * to 40,000 frames with exposure 0.25 and noise 6 erred 1.1 cm (median) on new frames of the
 * training looks and 2.6 cm on held-out looks (darker and brighter lights, noise to 0.03).
 */
export const DEFAULT_AUGMENT: AugmentOptions = { exposure: 0.35, whiteBalance: 0.1, gamma: 0.2, blur: [0.5, 1.2], noise: 10, jpeg: [0.3, 35, 95] };

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

/**
 * JPEG's lossy step, which is all a JPEG round trip changes in an image (the entropy coding
 * after it is lossless): JFIF YCbCr, optional 4:2:0 chroma subsampling (what camera encoders
 * write), the 8×8 DCT of each component, quantization with the standard luminance and
 * chrominance tables of ITU-T T.81 Annex K scaled to `quality` as libjpeg scales them, and the
 * inverse, in place. It matches a real encoder–decoder round trip (tests/perception compares it
 * with jpeg-js) at a tenth of the time: encoders spend theirs on the entropy coding.
 */
const LUMA_Q = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];
const CHROMA_Q = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, ...new Array<number>(32).fill(99)];
/** DCT basis: COS[x·8 + u] = c(u)/2 · cos((2x + 1)uπ / 16). */
const COS = new Float64Array(64);
for (let x = 0; x < 8; x++) for (let u = 0; u < 8; u++) COS[x * 8 + u] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);

/** libjpeg's quality scaling of a base table. */
export function quantTable(base: readonly number[], quality: number): Float64Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const sf = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return Float64Array.from(base, (b) => Math.min(255, Math.max(1, Math.floor((b * sf + 50) / 100))));
}

/** Quantizes the 8×8 blocks of one plane (w×h, values level-shifted) in place. */
function quantizePlane(plane: Float64Array, w: number, h: number, table: Float64Array): void {
  const blk = new Float64Array(64), tmp = new Float64Array(64);
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      // Edge blocks repeat the last row and column, as encoders pad.
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) blk[y * 8 + x] = plane[Math.min(h - 1, by + y) * w + Math.min(w - 1, bx + x)];
      for (let y = 0; y < 8; y++) {
        for (let u = 0; u < 8; u++) {
          let a = 0;
          for (let x = 0; x < 8; x++) a += blk[y * 8 + x] * COS[x * 8 + u];
          tmp[y * 8 + u] = a;
        }
      }
      for (let u = 0; u < 8; u++) {
        for (let v = 0; v < 8; v++) {
          let a = 0;
          for (let y = 0; y < 8; y++) a += tmp[y * 8 + u] * COS[y * 8 + v];
          const q = table[v * 8 + u];
          blk[v * 8 + u] = Math.round(a / q) * q;
        }
      }
      for (let v = 0; v < 8; v++) {
        for (let x = 0; x < 8; x++) {
          let a = 0;
          for (let u = 0; u < 8; u++) a += blk[v * 8 + u] * COS[x * 8 + u];
          tmp[v * 8 + x] = a;
        }
      }
      for (let y = 0; y < 8 && by + y < h; y++) {
        for (let x = 0; x < 8 && bx + x < w; x++) {
          let a = 0;
          for (let v = 0; v < 8; v++) a += tmp[v * 8 + x] * COS[y * 8 + v];
          plane[(by + y) * w + bx + x] = a;
        }
      }
    }
  }
}

/** A JPEG round trip's effect at `quality` (1–100) on an RGB image, in place. */
export function jpegArtefacts(img: Uint8Array, w: number, h: number, quality: number, chroma: '420' | '444' = '420'): void {
  const n = w * h;
  const Y = new Float64Array(n), Cb = new Float64Array(n), Cr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = img[3 * i], g = img[3 * i + 1], b = img[3 * i + 2];
    Y[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
    Cb[i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
    Cr[i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
  quantizePlane(Y, w, h, quantTable(LUMA_Q, quality));
  const ct = quantTable(CHROMA_Q, quality);
  if (chroma === '444') {
    quantizePlane(Cb, w, h, ct);
    quantizePlane(Cr, w, h, ct);
  } else {
    // 2×2 averages, quantized at half resolution, brought back by bilinear interpolation.
    const cw = Math.ceil(w / 2), ch = Math.ceil(h / 2);
    for (const C of [Cb, Cr]) {
      const s = new Float64Array(cw * ch);
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) {
          let a = 0, k = 0;
          for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
            const yy = 2 * y + dy, xx = 2 * x + dx;
            if (yy < h && xx < w) { a += C[yy * w + xx]; k++; }
          }
          s[y * cw + x] = a / k;
        }
      }
      quantizePlane(s, cw, ch, ct);
      for (let y = 0; y < h; y++) {
        const fy = Math.min(ch - 1, Math.max(0, (y - 0.5) / 2)), y0 = Math.floor(fy), y1 = Math.min(ch - 1, y0 + 1), ty = fy - y0;
        for (let x = 0; x < w; x++) {
          const fx = Math.min(cw - 1, Math.max(0, (x - 0.5) / 2)), x0 = Math.floor(fx), x1 = Math.min(cw - 1, x0 + 1), tx = fx - x0;
          C[y * w + x] = (1 - ty) * ((1 - tx) * s[y0 * cw + x0] + tx * s[y0 * cw + x1]) + ty * ((1 - tx) * s[y1 * cw + x0] + tx * s[y1 * cw + x1]);
        }
      }
    }
  }
  const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let i = 0; i < n; i++) {
    const y = Y[i] + 128;
    img[3 * i] = clamp(y + 1.402 * Cr[i]);
    img[3 * i + 1] = clamp(y - 0.344136 * Cb[i] - 0.714136 * Cr[i]);
    img[3 * i + 2] = clamp(y + 1.772 * Cb[i]);
  }
}

/** Applies the camera effects to an RGB image (w×h, in place), drawing everything from `rng`. */
export function augment(img: Uint8Array, w: number, h: number, rng: Rng, o: AugmentOptions = DEFAULT_AUGMENT): void {
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
  if (rng.next() < o.jpeg[0]) jpegArtefacts(img, w, h, Math.round(rng.uniform(o.jpeg[1], o.jpeg[2])));
}
