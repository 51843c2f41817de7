/**
 * `MaxPoolGrad` for the tfjs wasm backend. tfjs 4.22's own wasm kernel seeds its running maximum
 * with `std::numeric_limits<float>::min()` (the smallest positive float, not the lowest), so a
 * window whose values are all ≤ 0 sends its gradient to the window's first tap whatever the
 * values, and ties go to the last maximum where the `cpu` backend picks the first. This one
 * follows the `cpu` backend: padding never wins, the first maximum in scan order takes the
 * gradient, overlapping windows add up.
 *
 * One pass over dy per window, all channels of a pixel at once (contiguous in NHWC), on the heap.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { alloc, asWasmBackend, f32, free } from './heap.ts';

interface Attrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: [number, number] | number;
}

// Per-channel running maximum and its position, reused across calls (grown as needed).
let bestValue = new Float32Array(64);
let bestIndex = new Int32Array(64);

export function maxPoolGradWasm(args: { inputs: { dy: TensorInfo; input: TensorInfo; output?: TensorInfo }; backend: unknown; attrs: Attrs }): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, input } = args.inputs;
  const { filterSize, strides, pad, dimRoundingMode, dilations = 1 } = args.attrs;
  if (dy.dtype !== 'float32' || input.dtype !== 'float32') throw new Error('MaxPoolGrad (wasm): float32 tensors only');
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, dilations, pad, dimRoundingMode);
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`MaxPoolGrad (wasm): dy has shape [${dy.shape}], the pooling gives [${info.outShape}]`);
  }
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, filterHeight: fh, filterWidth: fw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  if (bestValue.length < C) {
    bestValue = new Float32Array(C);
    bestIndex = new Int32Array(C);
  }
  const dx = alloc(backend, [...input.shape]);
  try {
    const x = f32(backend, input);
    const g = f32(backend, dy);
    const out = f32(backend, dx);
    out.fill(0);
    let dyPos = 0;
    for (let b = 0; b < N; b++) {
      for (let oy = 0; oy < Ho; oy++) {
        const y0 = oy * sh - padTop;
        for (let ox = 0; ox < Wo; ox++, dyPos += C) {
          const x0 = ox * sw - padLeft;
          bestValue.fill(-Infinity, 0, C);
          bestIndex.fill(-1, 0, C);
          for (let fy = 0; fy < fh; fy++) {
            const iy = y0 + fy * dh;
            if (iy < 0 || iy >= H) continue;
            for (let fx = 0; fx < fw; fx++) {
              const ix = x0 + fx * dw;
              if (ix < 0 || ix >= W) continue;
              const base = ((b * H + iy) * W + ix) * C;
              for (let c = 0; c < C; c++) {
                const v = x[base + c];
                if (v > bestValue[c]) {
                  bestValue[c] = v;
                  bestIndex[c] = base + c;
                }
              }
            }
          }
          for (let c = 0; c < C; c++) {
            const i = bestIndex[c];
            if (i >= 0) out[i] += g[dyPos + c];
          }
        }
      }
    }
    return dx;
  } catch (err) {
    free(backend, dx);
    throw err;
  }
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm as unknown as KernelFunc,
};
