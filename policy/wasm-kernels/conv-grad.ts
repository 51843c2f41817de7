/**
 * What the two convolution gradients (conv2d-backprop-filter.ts, conv2d-backprop-input.ts) share:
 * their attributes, the NCHW ↔ NHWC permutations, and the plan of one gradient: tfjs's own
 * `computeConv2DInfo` resolves strides, padding, dilation and rounding into an NHWC geometry, dy is
 * checked against it, and the batch is cut into slices whose column buffer stays under
 * `columnBudget.maxFloats`.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { geometryFromConvInfo, padToNHWC, patchSize, pixelsPerImage } from './geometry.ts';
import type { ConvGeometry } from './geometry.ts';
import { asWasmBackend } from './heap.ts';
import type { WasmBackend } from './heap.ts';

/**
 * Column buffers larger than `maxFloats` (default 16 Mi floats, 64 MB) are built one batch slice
 * at a time (one image at least). Shared by both convolution gradients; tests lower it.
 */
export const columnBudget = { maxFloats: 16 * 1024 * 1024 };

/** The attributes both gradient kernels receive from tfjs (besides the shape of what they compute). */
export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: [number, number] | number;
}

/** The attributes of the same convolution in NHWC (what the gradients compute in). */
export type NhwcConvAttrs = Required<Omit<ConvGradAttrs, 'dataFormat' | 'dimRoundingMode'>> & Pick<ConvGradAttrs, 'dimRoundingMode'>;

/** The permutation that turns an NCHW tensor into NHWC, and back. */
export const NCHW_TO_NHWC = [0, 2, 3, 1];
export const NHWC_TO_NCHW = [0, 3, 1, 2];

export type Shape4 = [number, number, number, number];

/** What tfjs hands a gradient kernel: its input tensors, the backend, and the attributes plus `Extra` (the shape it computes). */
export interface ConvGradArgs<Inputs, Extra> {
  inputs: Inputs;
  backend: unknown;
  attrs: ConvGradAttrs & Extra;
}

/**
 * The start both kernels share: the wasm backend, float32 inputs checked, the attributes of the
 * NHWC computation (explicit NCHW padding reordered, dilation 1 when not given), and whether the
 * tensors come in NCHW.
 */
export function startConvGrad(kernel: string, args: ConvGradArgs<unknown, unknown>, ...tensors: TensorInfo[]): { backend: WasmBackend; a: NhwcConvAttrs; nchw: boolean } {
  const backend = asWasmBackend(args.backend);
  if (tensors.some((t) => t.dtype !== 'float32')) throw new Error(`${kernel} (wasm): float32 tensors only`);
  const { strides, pad, dataFormat, dimRoundingMode, dilations = 1 } = args.attrs;
  const nchw = dataFormat === 'NCHW';
  return { backend, a: { strides, pad: nchw ? padToNHWC(pad) : pad, dimRoundingMode, dilations }, nchw };
}

export interface ConvGradPlan {
  g: ConvGeometry;
  /** Length of one im2col row (filter height · width · input channels). */
  K: number;
  /** Output channels. */
  Co: number;
  /** Output pixels per image. */
  P: number;
  /** Images per slice. */
  slice: number;
}

/** The NHWC convolution of `xShape` by `filterShape`, checked against `dy` (`kernel` names the caller in errors). */
export function planConvGrad(
  kernel: string,
  xShape: Shape4,
  filterShape: Shape4,
  a: NhwcConvAttrs,
  dy: TensorInfo,
): ConvGradPlan {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, a.strides, a.dilations, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const g = geometryFromConvInfo(info);
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`${kernel} (wasm): dy has shape [${dy.shape}], the convolution gives [${info.outShape}]`);
  }
  const K = patchSize(g);
  const P = pixelsPerImage(g);
  return { g, K, Co: g.outChannels, P, slice: Math.max(1, Math.min(g.batch, Math.floor(columnBudget.maxFloats / Math.max(1, K * P)))) };
}
