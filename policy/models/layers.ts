/**
 * Building blocks shared by the models: a fixed per-feature affine map (input normalization and
 * output de-normalization baked into the graph, so model.json alone gives raw-unit answers in a
 * browser), seeded initializers, and the convolutional trunk of the image models.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import type { Rng } from '../../sim/rng.ts';

/** A non-trainable dense layer computing y_i = x_i · scale_i + offset_i. */
export function fixedAffine(tf: TF, name: string, scale: number[], offset: number[]) {
  const n = scale.length;
  const kernel = new Float32Array(n * n);
  for (let i = 0; i < n; i++) kernel[i * n + i] = scale[i];
  return tf.layers.dense({
    units: n,
    name,
    trainable: false,
    weights: [tf.tensor2d(kernel, [n, n]), tf.tensor1d(offset)],
  });
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
  /** Units of the dense layers after flattening. */
  dense: number[];
}

/**
 * Convolutional trunk: pixel values 0…255 rescaled to [−1, 1], 3×3 convolutions with ReLU
 * (stride 2 where `conv` is negative), then flatten (keeping where things are, which a position
 * regressor needs) and dense layers.
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
  x = tf.layers.flatten({ name: `${prefix}_flatten` }).apply(x) as SymbolicTensor;
  arch.dense.forEach((u, i) => {
    x = tf.layers.dense({ units: u, activation: 'relu', kernelInitializer: initializer(tf, rng), name: `${prefix}_dense${i}` }).apply(x) as SymbolicTensor;
  });
  return x;
}

/** Total trainable parameters. */
export function countParams(model: LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
