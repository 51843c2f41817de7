/**
 * `Conv2DBackpropFilter` for the tfjs wasm backend (tfjs 4.22 has none, so no conv net could
 * train there): dW[K, Co] = colᵀ[K, M] · dy[M, Co], the transposed im2col of x written straight
 * into the heap, the product taken by the backend's XNNPACK matmul.
 *
 * NHWC natively; NCHW by transposing x and dy to NHWC first. Strides, 'same'/'valid'/explicit
 * padding and the rounding mode come from tfjs's own `computeConv2DInfo`; dilation too when a
 * caller passes `dilations` (tfjs's gradients of conv2d refuse dilation > 1 before they get here).
 * Large batches are cut into slices so the column buffer stays under `columnBudget.maxFloats`.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { geometryFromConvInfo, padToNHWC, patchSize, pixelsPerImage } from './geometry.ts';
import { alloc, asWasmBackend, f32, free, matMul, transpose } from './heap.ts';
import type { WasmBackend } from './heap.ts';
import { im2colTransposed } from './im2col.ts';

/**
 * Column buffers larger than `maxFloats` (default 16 Mi floats, 64 MB) are built one batch slice
 * at a time (one image at least). Shared by both convolution gradients; tests lower it.
 */
export const columnBudget = { maxFloats: 16 * 1024 * 1024 };

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dilations?: [number, number] | number;
}

export function conv2DBackpropFilterWasm(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: unknown; attrs: Attrs }): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, dy } = args.inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape, dilations = 1 } = args.attrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter (wasm): float32 tensors only');
  if (dataFormat === 'NCHW') {
    const xt = transpose(backend, x, [0, 2, 3, 1]);
    const dyt = transpose(backend, dy, [0, 2, 3, 1]);
    try {
      return filterGradNHWC(backend, xt, dyt, { strides, pad: padToNHWC(pad), dimRoundingMode, filterShape, dilations });
    } finally {
      free(backend, xt);
      free(backend, dyt);
    }
  }
  return filterGradNHWC(backend, x, dy, { strides, pad, dimRoundingMode, filterShape, dilations });
}

function filterGradNHWC(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  a: Pick<Attrs, 'strides' | 'pad' | 'dimRoundingMode' | 'filterShape' | 'dilations'>,
): TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const g = geometryFromConvInfo(info);
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`Conv2DBackpropFilter (wasm): dy has shape [${dy.shape}], the convolution gives [${info.outShape}]`);
  }
  const K = patchSize(g);
  const Co = g.outChannels;
  const P = pixelsPerImage(g);
  const slice = Math.max(1, Math.min(g.batch, Math.floor(columnBudget.maxFloats / Math.max(1, K * P))));

  // XNNPACK caches its packed copy of a matmul's `b` under b's tensor id, whatever shape it is
  // later seen with: so dy is never handed over itself, only a copy of its rows that lives for
  // one product (a 4 MB copy for the first layer of the 64² CNN at batch 64, ~1 ms).
  const product = (b0: number, b1: number): TensorInfo => {
    const M = (b1 - b0) * P;
    const colT = alloc(backend, [K, M]);
    const dyRows = alloc(backend, [M, Co]);
    try {
      f32(backend, dyRows).set(f32(backend, dy).subarray(b0 * P * Co, b1 * P * Co));
      im2colTransposed(f32(backend, x), g, b0, b1, f32(backend, colT));
      return matMul(backend, colT, dyRows);
    } finally {
      free(backend, colT);
      free(backend, dyRows);
    }
  };

  if (slice >= g.batch) {
    const out = product(0, g.batch);
    out.shape = [...a.filterShape];
    return out;
  }
  // Slices: the partial gradients are summed here.
  const sum = new Float32Array(K * Co);
  for (let b0 = 0; b0 < g.batch; b0 += slice) {
    const part = product(b0, Math.min(g.batch, b0 + slice));
    try {
      const p = f32(backend, part);
      for (let i = 0; i < p.length; i++) sum[i] += p[i];
    } finally {
      free(backend, part);
    }
  }
  return backend.makeOutput([...a.filterShape], 'float32', undefined, sum);
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as KernelFunc,
};
