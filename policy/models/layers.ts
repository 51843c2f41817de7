/**
 * Building blocks shared by the models: a fixed per-feature affine map (input normalization and
 * output de-normalization baked into the graph, so model.json alone gives raw-unit answers in a
 * browser), seeded initializers, and the convolutional trunk of the image models.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import type { Rng } from '../../sim/rng.ts';

/** A non-trainable dense layer with the given weights (kernel row-major [inputs, units]; no bias if none given). */
export function fixedDense(tf: TF, name: string, inputs: number, units: number, kernel: Float32Array, bias?: Float32Array, activation?: 'relu') {
  return tf.layers.dense({
    units,
    name,
    trainable: false,
    useBias: !!bias,
    ...(activation ? { activation } : {}),
    weights: bias ? [tf.tensor2d(kernel, [inputs, units]), tf.tensor1d(bias)] : [tf.tensor2d(kernel, [inputs, units])],
  });
}

/** A non-trainable dense layer computing y_i = x_i · scale_i + offset_i. */
export function fixedAffine(tf: TF, name: string, scale: number[], offset: number[]) {
  const n = scale.length;
  const kernel = new Float32Array(n * n);
  for (let i = 0; i < n; i++) kernel[i * n + i] = scale[i];
  return fixedDense(tf, name, n, n, kernel, Float32Array.from(offset));
}

/** Normalizing layer for inputs with `mean` and `std`: (x − mean) / std. */
export function normalizeLayer(tf: TF, name: string, mean: number[], std: number[]) {
  return fixedAffine(tf, name, std.map((s) => 1 / s), mean.map((m, i) => -m / std[i]));
}

/** De-normalizing layer for outputs: y · std + mean. */
export function denormalizeLayer(tf: TF, name: string, mean: number[], std: number[]) {
  return fixedAffine(tf, name, std, mean);
}

export function initializer(tf: TF, rng: Rng) {
  return tf.initializers.heNormal({ seed: rng.int(1, 2 ** 30) });
}

export interface ConvArch {
  /** Filters of each 3×3 convolution; a negative number means stride 2 with |filters|. */
  conv: number[];
  /**
   * Spatial soft-argmax keypoints (Levine et al. 2016) read from the last feature map instead of
   * flattening it: K heatmaps (1×1 convolution), a softmax over each, and the expected image
   * coordinates (x, y in [−1, 1]) of each, plus the feature map's global average. 0: flatten.
   */
  keypoints?: number;
  /** Units of the dense layers after flattening (or after the keypoints). */
  dense: number[];
}

/**
 * Spatial soft-argmax built from standard layers only (so the model loads in a browser without
 * custom classes): heatmaps [h, w, K] → reshape [h·w, K] → permute [K, h·w] → softmax over h·w →
 * a fixed dense layer whose kernel holds each cell's (x, y) → [K, 2] → flatten [2K].
 */
export function spatialSoftArgmax(tf: TF, features: SymbolicTensor, k: number, rng: Rng, prefix: string): SymbolicTensor {
  const [, h, w] = features.shape as number[];
  const heat = tf.layers.conv2d({ filters: k, kernelSize: 1, kernelInitializer: initializer(tf, rng), name: `${prefix}_heatmaps` }).apply(features) as SymbolicTensor;
  let x = tf.layers.reshape({ targetShape: [h * w, k], name: `${prefix}_heat_flat` }).apply(heat) as SymbolicTensor;
  x = tf.layers.permute({ dims: [2, 1], name: `${prefix}_heat_per_keypoint` }).apply(x) as SymbolicTensor;
  x = tf.layers.softmax({ axis: -1, name: `${prefix}_heat_softmax` }).apply(x) as SymbolicTensor;
  const coords = new Float32Array(h * w * 2);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      coords[(i * w + j) * 2] = ((j + 0.5) / w) * 2 - 1;
      coords[(i * w + j) * 2 + 1] = ((i + 0.5) / h) * 2 - 1;
    }
  }
  x = tf.layers.dense({ units: 2, useBias: false, trainable: false, weights: [tf.tensor2d(coords, [h * w, 2])], name: `${prefix}_expected_xy` }).apply(x) as SymbolicTensor;
  return tf.layers.flatten({ name: `${prefix}_keypoints` }).apply(x) as SymbolicTensor;
}

/**
 * Convolutional trunk: pixel values 0…255 rescaled to [−1, 1], 3×3 convolutions with ReLU
 * (stride 2 where `conv` is negative), then either spatial soft-argmax keypoints or a flatten
 * (both keep where things are, which a position regressor needs), then dense layers.
 */
export function convTrunk(tf: TF, input: SymbolicTensor, arch: ConvArch, rng: Rng, prefix: string): SymbolicTensor {
  let x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1, name: `${prefix}_rescale` }).apply(input) as SymbolicTensor;
  arch.conv.forEach((f, i) => {
    x = tf.layers.conv2d({
      filters: Math.abs(f),
      kernelSize: 3,
      strides: f < 0 ? 2 : 1,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: initializer(tf, rng),
      name: `${prefix}_conv${i}`,
    }).apply(x) as SymbolicTensor;
  });
  if (arch.keypoints) {
    const kp = spatialSoftArgmax(tf, x, arch.keypoints, rng, prefix);
    const avg = tf.layers.globalAveragePooling2d({ name: `${prefix}_average` }).apply(x) as SymbolicTensor;
    x = tf.layers.concatenate({ name: `${prefix}_features` }).apply([kp, avg]) as SymbolicTensor;
  } else {
    x = tf.layers.flatten({ name: `${prefix}_flatten` }).apply(x) as SymbolicTensor;
  }
  arch.dense.forEach((u, i) => {
    x = tf.layers.dense({ units: u, activation: 'relu', kernelInitializer: initializer(tf, rng), name: `${prefix}_dense${i}` }).apply(x) as SymbolicTensor;
  });
  return x;
}

/** Total trainable parameters. */
export function countParams(model: LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
