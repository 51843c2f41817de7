/**
 * The shape of one 2D convolution in NHWC, as the im2col/col2im routines read it: plain numbers
 * taken from tfjs's `Conv2DInfo` (which resolves 'same'/'valid'/explicit padding, strides,
 * dilation and the rounding mode), so the routines depend on nothing but typed arrays.
 */
import type { backend_util } from '@tensorflow/tfjs';

export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  /** Rows of zero padding above the input (the bottom padding follows from the sizes). */
  padTop: number;
  /** Columns of zero padding left of the input. */
  padLeft: number;
}

/** Explicit NCHW padding [[n], [c], [h], [w]] reordered for the NHWC tensor; other kinds as they are. */
export function padToNHWC<P>(pad: P): P {
  if (!Array.isArray(pad)) return pad;
  const p = pad as unknown as Array<[number, number]>;
  return [p[0], p[2], p[3], p[1]] as unknown as P;
}

export function geometryFromConvInfo(info: backend_util.Conv2DInfo): ConvGeometry {
  if (info.dataFormat !== 'channelsLast') throw new Error('ConvGeometry describes NHWC convolutions only');
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** Length of one im2col row: filterHeight · filterWidth · inChannels (the filter's HWI order). */
export function patchSize(g: ConvGeometry): number {
  return g.filterHeight * g.filterWidth * g.inChannels;
}

/** Output pixels of one batch element: outHeight · outWidth. */
export function pixelsPerImage(g: ConvGeometry): number {
  return g.outHeight * g.outWidth;
}
