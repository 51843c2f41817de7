/**
 * The visuomotor policy: one camera frame plus the gripper's own state (the robot part of the
 * observation: tool-centre-point position, yaw, finger width, velocity, last finger command) →
 * action. The image goes through the convolutional trunk, the state through a fixed normalizing
 * layer; both are concatenated and mapped to the action by dense layers. No block positions are
 * given: the image must supply them.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import type { Rng } from '../../sim/rng.ts';
import { convTrunk, initializer, normalizeLayer } from './layers.ts';
import type { ConvArch } from './layers.ts';

export interface VisuomotorArch extends ConvArch {
  /** Dense layers after the image and state features are joined. */
  head: number[];
}

export const DEFAULT_VISUOMOTOR_ARCH: VisuomotorArch = { conv: [-32, -64, -64, 64], dense: [256], head: [256, 256] };

export interface VisuomotorOptions {
  height: number;
  width: number;
  stateSize: number;
  outputSize: number;
  arch: VisuomotorArch;
  mean: number[];
  std: number[];
  rng: Rng;
}

export function buildVisuomotor(tf: TF, o: VisuomotorOptions): LayersModel {
  const image = tf.input({ shape: [o.height, o.width, 3], name: 'image' });
  const state = tf.input({ shape: [o.stateSize], name: 'gripper_state' });
  const vis = convTrunk(tf, image, o.arch, o.rng, 'vm');
  const s = normalizeLayer(tf, 'normalize', o.mean, o.std).apply(state) as SymbolicTensor;
  let x = tf.layers.concatenate({ name: 'join' }).apply([vis, s]) as SymbolicTensor;
  o.arch.head.forEach((u, i) => {
    x = tf.layers.dense({ units: u, activation: 'relu', kernelInitializer: initializer(tf, o.rng), name: `head${i}` }).apply(x) as SymbolicTensor;
  });
  const out = tf.layers.dense({ units: o.outputSize, kernelInitializer: tf.initializers.glorotUniform({ seed: o.rng.int(1, 2 ** 30) }), name: 'action' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: [image, state], outputs: out, name: 'visuomotor' });
}
