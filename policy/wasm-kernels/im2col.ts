/**
 * im2col and col2im over Float32Arrays for NHWC convolutions, the data movement that turns a
 * convolution's gradients into one matrix product each:
 *
 * - filter gradient: dW[K, Co] = colᵀ[K, M] · dy[M, Co], with colᵀ from `im2colTransposed`;
 * - input gradient: dcol[M, K] = dy[M, Co] · Wᵀ[Co, K], scattered back by `col2im`.
 *
 * Here M = images · outHeight · outWidth (one row per output pixel, in NHWC order) and
 * K = filterHeight · filterWidth · inChannels (one column per filter tap, in the filter's HWI
 * order, so W reshaped to [K, Co] is the filter tensor as tfjs stores it). Padding reads as
 * zeros; strides and dilation are honoured. Each routine works on a range of batch elements
 * [b0, b1) so callers can bound the size of the column buffer.
 *
 * The arrays are usually views into the wasm backend's heap: nothing here allocates.
 */
import type { ConvGeometry } from './geometry.ts';
import { patchSize, pixelsPerImage } from './geometry.ts';

/**
 * Writes the column matrix transposed, colT[k · M + m], for images b0..b1-1 of `x`
 * ([batch, inHeight, inWidth, inChannels]). `out` needs K · (b1 - b0) · outHeight · outWidth
 * elements. Every element is written (zeros where the window hangs over the padding).
 */
export function im2colTransposed(x: Float32Array, g: ConvGeometry, b0: number, b1: number, out: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padTop, padLeft } = g;
  const M = (b1 - b0) * pixelsPerImage(g);
  checkLength(out, patchSize(g) * M, 'im2colTransposed output');
  for (let fy = 0; fy < g.filterHeight; fy++) {
    for (let fx = 0; fx < g.filterWidth; fx++) {
      const kBase = (fy * g.filterWidth + fx) * C;
      // ox range whose input column ix = ox·sw - padLeft + fx·dw lies inside [0, W).
      const ixOff = fx * dw - padLeft;
      const oxLo = clampInt(Math.ceil(-ixOff / sw), 0, Wo);
      const oxHi = clampInt(Math.ceil((W - ixOff) / sw), oxLo, Wo);
      if (C === 1) {
        // One output row per tap: a strided copy.
        let dst = kBase * M;
        for (let b = b0; b < b1; b++) {
          for (let oy = 0; oy < Ho; oy++) {
            const iy = oy * sh - padTop + fy * dh;
            if (iy < 0 || iy >= H) {
              out.fill(0, dst, dst + Wo);
              dst += Wo;
              continue;
            }
            const rowBase = (b * H + iy) * W;
            out.fill(0, dst, dst + oxLo);
            for (let ox = oxLo; ox < oxHi; ox++) out[dst + ox] = x[rowBase + ox * sw + ixOff];
            out.fill(0, dst + oxHi, dst + Wo);
            dst += Wo;
          }
        }
        continue;
      }
      // Per input row (which stays in cache), C output streams of Wo values each.
      const step = sw * C;
      let m = 0;
      for (let b = b0; b < b1; b++) {
        for (let oy = 0; oy < Ho; oy++, m += Wo) {
          const iy = oy * sh - padTop + fy * dh;
          if (iy < 0 || iy >= H) {
            for (let c = 0; c < C; c++) {
              const dst = (kBase + c) * M + m;
              out.fill(0, dst, dst + Wo);
            }
            continue;
          }
          const rowSrc = ((b * H + iy) * W + ixOff) * C;
          for (let c = 0; c < C; c++) {
            const dst = (kBase + c) * M + m;
            const src = rowSrc + c;
            if (oxLo > 0) out.fill(0, dst, dst + oxLo);
            for (let ox = oxLo; ox < oxHi; ox++) out[dst + ox] = x[src + ox * step];
            if (oxHi < Wo) out.fill(0, dst + oxHi, dst + Wo);
          }
        }
      }
    }
  }
}

/**
 * Writes the column matrix col[m · K + k] (one row per output pixel) for images b0..b1-1.
 * The forward direction of `col2im`; the gradient kernels use the transposed form, this one
 * serves convolutions computed as col · W and the tests.
 */
export function im2col(x: Float32Array, g: ConvGeometry, b0: number, b1: number, out: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padTop, padLeft } = g;
  const K = patchSize(g);
  checkLength(out, K * (b1 - b0) * pixelsPerImage(g), 'im2col output');
  let row = 0;
  for (let b = b0; b < b1; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++, row += K) {
        for (let fy = 0; fy < g.filterHeight; fy++) {
          const iy = oy * sh - padTop + fy * dh;
          const dstY = row + fy * g.filterWidth * C;
          if (iy < 0 || iy >= H) {
            out.fill(0, dstY, dstY + g.filterWidth * C);
            continue;
          }
          for (let fx = 0; fx < g.filterWidth; fx++) {
            const ix = ox * sw - padLeft + fx * dw;
            const dst = dstY + fx * C;
            if (ix < 0 || ix >= W) {
              out.fill(0, dst, dst + C);
              continue;
            }
            const src = ((b * H + iy) * W + ix) * C;
            for (let c = 0; c < C; c++) out[dst + c] = x[src + c];
          }
        }
      }
    }
  }
}

/**
 * Adds the column matrix dcol[m · K + k] of images b0..b1-1 back onto the input positions each
 * tap read from: dx[b, iy, ix, c] += dcol[m, (fy, fx, c)]. Taps over the padding are dropped.
 * `dx` covers the whole batch ([batch, inHeight, inWidth, inChannels]) and is accumulated into,
 * so the caller zeroes it first.
 */
export function col2im(dcol: Float32Array, g: ConvGeometry, b0: number, b1: number, dx: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padTop, padLeft } = g;
  const K = patchSize(g);
  checkLength(dcol, K * (b1 - b0) * pixelsPerImage(g), 'col2im input');
  checkLength(dx, g.batch * H * W * C, 'col2im output', true);
  let row = 0;
  for (let b = b0; b < b1; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++, row += K) {
        for (let fy = 0; fy < g.filterHeight; fy++) {
          const iy = oy * sh - padTop + fy * dh;
          if (iy < 0 || iy >= H) continue;
          const srcY = row + fy * g.filterWidth * C;
          const dstRow = (b * H + iy) * W;
          for (let fx = 0; fx < g.filterWidth; fx++) {
            const ix = ox * sw - padLeft + fx * dw;
            if (ix < 0 || ix >= W) continue;
            const src = srcY + fx * C;
            const dst = (dstRow + ix) * C;
            for (let c = 0; c < C; c++) dx[dst + c] += dcol[src + c];
          }
        }
      }
    }
  }
}

function clampInt(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function checkLength(a: Float32Array, n: number, what: string, atLeast = false): void {
  if (atLeast ? a.length < n : a.length !== n) {
    throw new RangeError(`${what}: expected ${atLeast ? 'at least ' : ''}${n} elements, got ${a.length}`);
  }
}
