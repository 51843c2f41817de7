/**
 * Training kernels for the tfjs `wasm` backend that tfjs 4.22 lacks or runs slowly, so that
 * convolutional nets train on a CPU at XNNPACK speed instead of on the `cpu` backend:
 *
 * - `Conv2DBackpropFilter` (missing: "Kernel 'Conv2DBackpropFilter' not registered for backend
 *   'wasm'"): transposed im2col + XNNPACK matmul;
 * - `Conv2DBackpropInput` (present but a direct loop): XNNPACK matmul + col2im;
 * - `MaxPoolGrad` (present but wrong for windows whose values are all ≤ 0): a single JS pass;
 * - `DepthwiseConv2dNativeBackpropFilter` / `…BackpropInput` (missing): one pass over dy with
 *   channel-contiguous inner loops (a depthwise convolution has no matmul inside).
 *
 * `AvgPoolGrad`, ReLU's `Step`, bias sums, `Mean` (global average pooling) and the optimizer's
 * element-wise ops are native there and agree with the `cpu` backend (tests/policy check it). `registerWasmTrainingKernels()` installs ours over
 * whatever is registered (idempotent); `unregisterWasmTrainingKernels()` restores tfjs's own.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
// Importing the backend registers its own kernels first, so ours replace them and not the reverse.
import '@tensorflow/tfjs-backend-wasm';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-conv2d-backprop.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';

export { columnBudget } from './conv-grad.ts';
export { col2im, im2col, im2colTransposed } from './im2col.ts';
export type { ConvGeometry } from './geometry.ts';
export { geometryFromConvInfo } from './geometry.ts';

/** Our kernels, in registration order. */
export const wasmTrainingKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

/** tfjs's own configs that ours replaced (restored by unregister). */
const replaced = new Map<string, KernelConfig>();

export function wasmTrainingKernelsRegistered(): boolean {
  return wasmTrainingKernels.every((k) => tf.getKernel(k.kernelName, 'wasm') === k);
}

export function registerWasmTrainingKernels(): void {
  for (const k of wasmTrainingKernels) {
    const current = tf.getKernel(k.kernelName, 'wasm');
    if (current === k) continue;
    if (current != null) {
      replaced.set(k.kernelName, current);
      tf.unregisterKernel(k.kernelName, 'wasm');
    }
    tf.registerKernel(k);
  }
}

export function unregisterWasmTrainingKernels(): void {
  for (const k of wasmTrainingKernels) {
    if (tf.getKernel(k.kernelName, 'wasm') !== k) continue;
    tf.unregisterKernel(k.kernelName, 'wasm');
    const original = replaced.get(k.kernelName);
    if (original) tf.registerKernel(original);
    replaced.delete(k.kernelName);
  }
}
