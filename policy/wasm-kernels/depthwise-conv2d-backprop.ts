/**
 * `DepthwiseConv2dNativeBackpropFilter` and `DepthwiseConv2dNativeBackpropInput` for the tfjs
 * wasm backend (tfjs 4.22 has neither, so separable/depthwise nets cannot train there).
 *
 * A depthwise convolution has no shared inner dimension to hand to a matmul: each output channel
 * c·mult + q reads input channel c only. Both gradients are therefore one pass over dy, window
 * by window, with the innermost loop running over the channels of a pixel, which NHWC keeps
 * contiguous in x, dy, dx and the filter [fh, fw, C, mult] alike. Strides, 'same'/'valid'/
 * explicit padding, rounding modes and dilation as tfjs's `computeConv2DInfo` resolves them.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { alloc, asWasmBackend, f32, free } from './heap.ts';

interface Attrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function depthwiseInfo(xShape: number[], filterShape: number[], a: Attrs) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    true /* depthwise */,
  );
}

/**
 * Calls `tap(dyBase, xBase, wBase)` for every (output pixel, filter tap) pair whose input pixel
 * lies inside the image: dyBase indexes dy's channels of that output pixel, xBase x's channels
 * of that input pixel, wBase the filter's [C, mult] block of that tap.
 */
function forEachTap(info: tf.backend_util.Conv2DInfo, tap: (dyBase: number, xBase: number, wBase: number) => void): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, outChannels: Co } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  let dyBase = 0;
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++, dyBase += Co) {
        for (let fy = 0; fy < fh; fy++) {
          const iy = oy * sh - top + fy * dh;
          if (iy < 0 || iy >= H) continue;
          for (let fx = 0; fx < fw; fx++) {
            const ix = ox * sw - left + fx * dw;
            if (ix < 0 || ix >= W) continue;
            tap(dyBase, ((b * H + iy) * W + ix) * C, (fy * fw + fx) * Co);
          }
        }
      }
    }
  }
}

export function depthwiseBackpropFilterWasm(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: unknown;
  attrs: Attrs & { filterShape: [number, number, number, number] };
}): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, dy } = args.inputs;
  const { filterShape } = args.attrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('DepthwiseConv2dNativeBackpropFilter (wasm): float32 tensors only');
  const info = depthwiseInfo(x.shape, filterShape, args.attrs);
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`DepthwiseConv2dNativeBackpropFilter (wasm): dy has shape [${dy.shape}], the convolution gives [${info.outShape}]`);
  }
  const C = info.inChannels;
  const mult = filterShape[3];
  const dW = alloc(backend, [...filterShape]);
  try {
    const xs = f32(backend, x);
    const g = f32(backend, dy);
    const out = f32(backend, dW);
    out.fill(0);
    if (mult === 1) {
      forEachTap(info, (dyBase, xBase, wBase) => {
        for (let c = 0; c < C; c++) out[wBase + c] += xs[xBase + c] * g[dyBase + c];
      });
    } else {
      forEachTap(info, (dyBase, xBase, wBase) => {
        for (let c = 0, o = 0; c < C; c++) {
          const v = xs[xBase + c];
          for (let q = 0; q < mult; q++, o++) out[wBase + o] += v * g[dyBase + o];
        }
      });
    }
    return dW;
  } catch (err) {
    free(backend, dW);
    throw err;
  }
}

export function depthwiseBackpropInputWasm(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: unknown;
  attrs: Attrs & { inputShape: [number, number, number, number] };
}): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, filter } = args.inputs;
  const { inputShape } = args.attrs;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') throw new Error('DepthwiseConv2dNativeBackpropInput (wasm): float32 tensors only');
  const info = depthwiseInfo(inputShape, filter.shape, args.attrs);
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`DepthwiseConv2dNativeBackpropInput (wasm): dy has shape [${dy.shape}], the convolution gives [${info.outShape}]`);
  }
  const C = info.inChannels;
  const mult = filter.shape[3];
  const dx = alloc(backend, [...inputShape]);
  try {
    const w = f32(backend, filter);
    const g = f32(backend, dy);
    const out = f32(backend, dx);
    out.fill(0);
    if (mult === 1) {
      forEachTap(info, (dyBase, xBase, wBase) => {
        for (let c = 0; c < C; c++) out[xBase + c] += g[dyBase + c] * w[wBase + c];
      });
    } else {
      forEachTap(info, (dyBase, xBase, wBase) => {
        for (let c = 0, o = 0; c < C; c++) {
          let s = 0;
          for (let q = 0; q < mult; q++, o++) s += g[dyBase + o] * w[wBase + o];
          out[xBase + c] += s;
        }
      });
    }
    return dx;
  } catch (err) {
    free(backend, dx);
    throw err;
  }
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilterWasm as unknown as KernelFunc,
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInputWasm as unknown as KernelFunc,
};
