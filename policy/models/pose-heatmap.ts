/**
 * The pose estimator's network: a small fully convolutional encoder–decoder from an RGB image
 * (the virtual view, pixel values 0…255) to the CenterNet-style grid of policy/perception/
 * heatmap.ts (heat logit, sub-cell offsets, height), `stride` times coarser than the input.
 *
 * Encoder: 3×3 convolutions with ReLU, stride 2 where a width is negative. Decoder: from the
 * deepest features, repeatedly upsample ×2, project the matching encoder features with a 1×1
 * convolution and add them (a U-Net with additive skips: cheaper than concatenation at the
 * finest levels, where the cost is), then a 3×3 convolution; last a 1×1 convolution to the four
 * output channels. Standard layers only, so the saved model loads anywhere tfjs does.
 */
import type { LayersModel, Scalar, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import type { Rng } from '../../sim/rng.ts';
import { CHANNELS, COS4, COVER, HEAT, HEIGHT, MASK, OFFSET_U, OFFSET_V, SIN4, SIZE, SURFACE, TARGET_CHANNELS } from '../perception/heatmap.ts';
import { initializer } from './layers.ts';

export interface HeatmapArch {
  /** Encoder widths; negative: stride 2. */
  encoder: number[];
  /** Decoder widths, one per upsampling step (the output stride decides how many are used). */
  decoder: number[];
  /** Input pixels per output cell (a power of two). */
  stride: number;
}

export const DEFAULT_HEATMAP_ARCH: HeatmapArch = { encoder: [-16, -32, 32, -64, 64, -128, 128], decoder: [64, 32], stride: 4 };

export function buildHeatmapNet(tf: TF, o: { size: number; arch: HeatmapArch; rng: Rng }): LayersModel {
  const { arch, rng } = o;
  const input = tf.input({ shape: [o.size, o.size, 3], name: 'image' });
  let x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1, name: 'rescale' }).apply(input) as SymbolicTensor;
  const conv = (t: SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string, activation: 'relu' | 'linear' = 'relu'): SymbolicTensor =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', activation, kernelInitializer: initializer(tf, rng), name }).apply(t) as SymbolicTensor;
  const skips = new Map<number, SymbolicTensor>();
  let stride = 1;
  arch.encoder.forEach((w, i) => {
    const s = w < 0 ? 2 : 1;
    stride *= s;
    x = conv(x, Math.abs(w), 3, s, `enc${i}`);
    skips.set(stride, x);
  });
  if (stride < arch.stride) throw new RangeError(`the encoder reaches stride ${stride}, less than the output stride ${arch.stride}`);
  let level = 0;
  while (stride > arch.stride) {
    const width = arch.decoder[level];
    if (width === undefined) throw new RangeError(`the decoder needs ${Math.log2(stride / arch.stride)} widths to come back to stride ${arch.stride}, got ${arch.decoder.length}`);
    stride /= 2;
    x = conv(x, width, 1, 1, `dec${level}_project`, 'linear');
    x = tf.layers.upSampling2d({ size: [2, 2], name: `dec${level}_up` }).apply(x) as SymbolicTensor;
    const skip = skips.get(stride);
    if (skip) x = tf.layers.add({ name: `dec${level}_skip` }).apply([x, conv(skip, width, 1, 1, `dec${level}_lateral`, 'linear')]) as SymbolicTensor;
    x = tf.layers.reLU({ name: `dec${level}_relu` }).apply(x) as SymbolicTensor;
    x = conv(x, width, 3, 1, `dec${level}_conv`);
    level++;
  }
  const out = tf.layers.conv2d({
    filters: CHANNELS,
    kernelSize: 1,
    kernelInitializer: initializer(tf, rng),
    // The heat logit starts at −2.2 (p ≈ 0.1), as CenterNet initializes it, so the empty
    // background does not swamp the first steps.
    biasInitializer: tf.initializers.constant({ value: 0 }),
    name: 'grid',
  }).apply(x) as SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'pose_heatmap' });
  const head = model.getLayer('grid');
  const [kernel, bias] = head.getWeights();
  const b = bias.arraySync() as number[];
  b[HEAT] = -2.2;
  head.setWeights([kernel, tf.tensor1d(b)]);
  return model;
}

export interface HeatmapLossWeights {
  offset: number;
  height: number;
  yaw: number;
  size: number;
  /** The block-coverage channel (binary cross-entropy, per cell). */
  cover: number;
  /** The surface-height channel (L1, per cell). */
  surface: number;
}

/**
 * Weighted by what each costs in table-frame error: an offset of one cell is 1–4 cm, and the
 * height is normalized by 5 cm (one unit), while 1 cm of height error moves the lifted point
 * ~1.3 cm along the table for a camera at ~37° elevation — so the height weighs 5.
 */
export const DEFAULT_LOSS_WEIGHTS: HeatmapLossWeights = { offset: 1, height: 5, yaw: 0.1, size: 0.1, cover: 1, surface: 1 };

/**
 * CenterNet's loss: penalty-reduced focal loss on the heat (α = 2, β = 4) plus L1 on the offsets
 * and the height at the cells that hold a block centre, each summed and divided by the number of
 * centres in the batch. Returns the total and its parts.
 */
export function heatmapLoss(tf: TF, pred: Tensor, target: Tensor, w: HeatmapLossWeights): { total: Scalar; heat: Scalar; offset: Scalar; height: Scalar; yaw: Scalar; size: Scalar; cover: Scalar; surface: Scalar } {
  return tf.tidy(() => {
    const [n, g] = pred.shape as number[];
    const p = pred.reshape([n * g * g, CHANNELS]);
    const t = target.reshape([n * g * g, TARGET_CHANNELS]);
    const col = (m: Tensor, c: number) => m.slice([0, c], [-1, 1]).reshape([-1]) as Tensor;
    const logit = col(p, HEAT);
    const heat = col(t, HEAT);
    const mask = col(t, MASK);
    const prob = tf.sigmoid(logit).clipByValue(1e-4, 1 - 1e-4);
    const pos = tf.mul(tf.mul(tf.pow(tf.sub(1, prob), 2), tf.log(prob)), mask);
    const neg = tf.mul(tf.mul(tf.mul(tf.pow(tf.sub(1, heat), 4), tf.pow(prob, 2)), tf.log(tf.sub(1, prob))), tf.sub(1, mask));
    const centres = tf.maximum(tf.sum(mask), 1);
    const heatLoss = tf.div(tf.neg(tf.add(tf.sum(pos), tf.sum(neg))), centres) as Scalar;
    const l1 = (c: number) => tf.sum(tf.mul(tf.abs(tf.sub(col(p, c), col(t, c))), mask));
    const offsetLoss = tf.div(tf.add(l1(OFFSET_U), l1(OFFSET_V)), centres) as Scalar;
    const heightLoss = tf.div(l1(HEIGHT), centres) as Scalar;
    const yawLoss = tf.div(tf.add(l1(SIN4), l1(COS4)), centres) as Scalar;
    const sizeLoss = tf.div(l1(SIZE), centres) as Scalar;
    // Coverage: mean binary cross-entropy over every cell (its target is a fraction in [0, 1]).
    const coverLoss = tf.losses.sigmoidCrossEntropy(col(t, COVER), col(p, COVER)) as Scalar;
    // Surface height: mean absolute error over every cell.
    const surfaceLoss = tf.mean(tf.abs(tf.sub(col(p, SURFACE), col(t, SURFACE)))) as Scalar;
    const total = tf.addN([heatLoss, tf.mul(offsetLoss, w.offset), tf.mul(heightLoss, w.height), tf.mul(yawLoss, w.yaw), tf.mul(sizeLoss, w.size), tf.mul(coverLoss, w.cover), tf.mul(surfaceLoss, w.surface)]) as Scalar;
    return { total, heat: heatLoss, offset: offsetLoss, height: heightLoss, yaw: yawLoss, size: sizeLoss, cover: coverLoss, surface: surfaceLoss };
  });
}
