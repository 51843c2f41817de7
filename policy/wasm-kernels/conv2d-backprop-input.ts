/**
 * `Conv2DBackpropInput` for the tfjs wasm backend: dcol[M, K] = dy[M, Co] · Wᵀ[Co, K] by the
 * backend's XNNPACK matmul, then col2im adds each row back onto the input pixels it came from.
 * It replaces tfjs 4.22's own wasm kernel, a direct seven-deep loop that is many times slower.
 * The same kernel serves `conv2dTranspose`.
 *
 * NHWC natively; NCHW by transposing dy in and dx out. Strides, 'same'/'valid'/explicit padding
 * and the rounding mode via tfjs's `computeConv2DInfo`; dilation when a caller passes
 * `dilations`. Large batches go through in slices so the column buffer stays bounded.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { NCHW_TO_NHWC, NHWC_TO_NCHW, planConvGrad, startConvGrad } from './conv-grad.ts';
import type { ConvGradArgs, NhwcConvAttrs, Shape4 } from './conv-grad.ts';
import { alloc, f32, free, matMul, transpose, viewAs } from './heap.ts';
import type { WasmBackend } from './heap.ts';
import { col2im } from './im2col.ts';

export function conv2DBackpropInputWasm(args: ConvGradArgs<{ dy: TensorInfo; filter: TensorInfo }, { inputShape: Shape4 }>): TensorInfo {
  const { dy, filter } = args.inputs;
  const { backend, a, nchw } = startConvGrad('Conv2DBackpropInput', args, dy, filter);
  const { inputShape } = args.attrs;
  if (!nchw) return inputGradNHWC(backend, dy, filter, { ...a, inputShape });
  const [n, c, h, w] = inputShape;
  const dyt = transpose(backend, dy, NCHW_TO_NHWC);
  let dxNHWC: TensorInfo | null = null;
  try {
    dxNHWC = inputGradNHWC(backend, dyt, filter, { ...a, inputShape: [n, h, w, c] });
    return transpose(backend, dxNHWC, NHWC_TO_NCHW);
  } finally {
    free(backend, dyt);
    if (dxNHWC) free(backend, dxNHWC);
  }
}

function inputGradNHWC(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, a: NhwcConvAttrs & { inputShape: Shape4 }): TensorInfo {
  const { g, K, Co, P, slice } = planConvGrad('Conv2DBackpropInput', a.inputShape, filter.shape as Shape4, a, dy);

  // Wᵀ[Co, K]: the filter [fh, fw, Ci, Co] read as [K, Co], transposed (small).
  const wT = alloc(backend, [Co, K]);
  const dx = alloc(backend, [...a.inputShape]);
  try {
    const w = f32(backend, filter);
    const t = f32(backend, wT);
    for (let k = 0; k < K; k++) for (let o = 0; o < Co; o++) t[o * K + k] = w[k * Co + o];
    f32(backend, dx).fill(0);
    for (let b0 = 0; b0 < g.batch; b0 += slice) {
      const b1 = Math.min(g.batch, b0 + slice);
      const M = (b1 - b0) * P;
      // dy is the matmul's `a`, which XNNPACK does not cache: a view of its rows will do.
      const dySlice = b0 === 0 && b1 === g.batch ? viewAs(dy, [M, Co]) : alloc(backend, [M, Co]);
      if (dySlice.dataId !== dy.dataId) {
        const start = b0 * P * Co;
        f32(backend, dySlice).set(f32(backend, dy).subarray(start, start + M * Co));
      }
      const dcol = matMul(backend, dySlice, wT);
      try {
        col2im(f32(backend, dcol), g, b0, b1, f32(backend, dx));
      } finally {
        free(backend, dcol);
        if (dySlice.dataId !== dy.dataId) free(backend, dySlice);
      }
    }
    return dx;
  } catch (err) {
    free(backend, dx);
    throw err;
  } finally {
    free(backend, wT);
  }
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as KernelFunc,
};
