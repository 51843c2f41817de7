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

/** `a` for the NHWC computation: explicit NCHW padding reordered, dilation 1 when not given. */
export function nhwcAttrs(a: ConvGradAttrs): NhwcConvAttrs {
  return { strides: a.strides, pad: a.dataFormat === 'NCHW' ? padToNHWC(a.pad) : a.pad, dimRoundingMode: a.dimRoundingMode, dilations: a.dilations ?? 1 };
}

/** The kernels compute in float32 only. */
export function requireFloat32(kernel: string, ...tensors: TensorInfo[]): void {
  if (tensors.some((t) => t.dtype !== 'float32')) throw new Error(`${kernel} (wasm): float32 tensors only`);
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
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
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
