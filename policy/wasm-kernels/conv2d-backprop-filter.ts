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
import { NCHW_TO_NHWC, planConvGrad, startConvGrad } from './conv-grad.ts';
import type { ConvGradArgs, NhwcConvAttrs, Shape4 } from './conv-grad.ts';
import { alloc, f32, free, matMul, transpose } from './heap.ts';
import type { WasmBackend } from './heap.ts';
import { im2colTransposed } from './im2col.ts';

export function conv2DBackpropFilterWasm(args: ConvGradArgs<{ x: TensorInfo; dy: TensorInfo }, { filterShape: Shape4 }>): TensorInfo {
  const { x, dy } = args.inputs;
  const { backend, a: attrs, nchw } = startConvGrad('Conv2DBackpropFilter', args, x, dy);
  const a = { ...attrs, filterShape: args.attrs.filterShape };
  if (!nchw) return filterGradNHWC(backend, x, dy, a);
  const xt = transpose(backend, x, NCHW_TO_NHWC);
  const dyt = transpose(backend, dy, NCHW_TO_NHWC);
  try {
    return filterGradNHWC(backend, xt, dyt, a);
  } finally {
    free(backend, xt);
    free(backend, dyt);
  }
}

function filterGradNHWC(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, a: NhwcConvAttrs & { filterShape: Shape4 }): TensorInfo {
  const { g, K, Co, P, slice } = planConvGrad('Conv2DBackpropFilter', x.shape as Shape4, a.filterShape, a, dy);

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
