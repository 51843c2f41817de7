/**
 * One entry per tfjs layer class: how that layer becomes ONNX nodes. Adding a layer type is adding
 * an entry here (and, in tests/policy/onnx.test.ts, a model that uses it).
 *
 * Each converter gets the graph, the layer (class, config, weights, output shape) and its input
 * values, and returns its output value. Weights are converted from tfjs's layouts (kernels
 * [kh, kw, in, out]) to ONNX's ([out, in, kh, kw]); "same" padding is written as the explicit
 * pads TensorFlow computes (the extra pixel after, not before), so results match to rounding.
 */
import { OnnxExportError, attr } from './onnx-graph.ts';
import type { OnnxGraph, Shape, Value } from './onnx-graph.ts';

export interface LayerWeight {
  shape: number[];
  data: Float32Array;
}

/** What a converter sees of a tfjs layer. */
export interface LayerView {
  name: string;
  className: string;
  /** `layer.getConfig()` (camelCase keys). */
  config: Record<string, unknown>;
  weights: LayerWeight[];
  /** tfjs output shape, batch null. */
  outputShape: Shape;
}

export type LayerConverter = (g: OnnxGraph, layer: LayerView, inputs: Value[]) => Value;

// ---------------------------------------------------------------- helpers

/** Reorders a row-major array of `shape` by `perm` (numpy's transpose). */
export function permute(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += idx[k] * inStrides[perm[k]];
    out[o] = data[src];
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

const pair = (v: unknown, what: string, layer: string): [number, number] => {
  const a = typeof v === 'number' ? [v, v] : (v as number[]);
  if (!Array.isArray(a) || a.length !== 2 || a.some((x) => !Number.isInteger(x))) throw new OnnxExportError(`layer ${layer}: ${what} must be one or two integers, got ${JSON.stringify(v)}`);
  return [a[0], a[1]];
};

/** TensorFlow's "same" padding for one spatial axis: [before, after]. */
export function samePads(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** ONNX `pads` ([h0, w0, h1, w1]) for a layer's padding on an NHWC input shape. */
function spatialPads(layer: LayerView, input: Shape, kernel: [number, number], strides: [number, number], dilation: [number, number]): number[] {
  const padding = (layer.config.padding as string | undefined) ?? 'valid';
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') throw new OnnxExportError(`layer ${layer.name}: padding "${padding}" is not exported (same or valid)`);
  const [h, w] = [input[1], input[2]];
  if (typeof h !== 'number' || typeof w !== 'number') throw new OnnxExportError(`layer ${layer.name}: "same" padding needs a fixed image size, got [${input.join(', ')}]`);
  const [ph0, ph1] = samePads(h, kernel[0], strides[0], dilation[0]);
  const [pw0, pw1] = samePads(w, kernel[1], strides[1], dilation[1]);
  return [ph0, pw0, ph1, pw1];
}

function channelsLast(layer: LayerView): void {
  const f = layer.config.dataFormat;
  if (f !== undefined && f !== 'channelsLast' && f !== 'channels_last') throw new OnnxExportError(`layer ${layer.name}: data format ${String(f)} is not exported (the project's models are channels-last)`);
}

/** Brings every input to one layout: NCHW when all are 4-D and one already is, else native. */
function sameLayout(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value[] {
  const nchw = inputs.every((v) => v.shape.length === 4) && inputs.some((v) => v.layout === 'nchw');
  return inputs.map((v) => (nchw ? g.nchw(v, layer.name) : g.native(v)));
}

const same = (v: Value, name: string, shape: Shape): Value => ({ name, layout: v.layout, shape });

// ---------------------------------------------------------------- activations

type Activation = (g: OnnxGraph, x: Value, base: string) => string;

const unary = (op: string, attributes: ReturnType<typeof attr.float>[] = []): Activation => (g, x, base) => g.node(op, [x.name], base, attributes);

/** tfjs activation names (as `getConfig()` spells them) → ONNX. */
export const ACTIVATIONS: Record<string, Activation> = {
  linear: (_g, x) => x.name,
  relu: unary('Relu'),
  relu6: (g, x, base) => g.node('Clip', [x.name, g.floats(`${base}/zero`, [], [0]), g.floats(`${base}/six`, [], [6])], base),
  sigmoid: unary('Sigmoid'),
  tanh: unary('Tanh'),
  softplus: unary('Softplus'),
  softsign: unary('Softsign'),
  elu: unary('Elu', [attr.float('alpha', 1)]),
  selu: unary('Selu'),
  exponential: unary('Exp'),
  hardSigmoid: unary('HardSigmoid', [attr.float('alpha', 0.2), attr.float('beta', 0.5)]),
  hard_sigmoid: unary('HardSigmoid', [attr.float('alpha', 0.2), attr.float('beta', 0.5)]),
  softmax: (g, x, base) => g.node('Softmax', [x.name], base, [attr.int('axis', g.axis(x, -1))]),
  logSoftmax: (g, x, base) => g.node('LogSoftmax', [x.name], base, [attr.int('axis', g.axis(x, -1))]),
  log_softmax: (g, x, base) => g.node('LogSoftmax', [x.name], base, [attr.int('axis', g.axis(x, -1))]),
  swish: (g, x, base) => g.node('Mul', [x.name, g.node('Sigmoid', [x.name], base)], base),
  mish: (g, x, base) => g.node('Mul', [x.name, g.node('Tanh', [g.node('Softplus', [x.name], base)], base)], base),
  gelu: (g, x, base) => {
    // 0.5 · x · (1 + erf(x / √2)), the exact form tfjs's gelu computes
    const erf = g.node('Erf', [g.node('Mul', [x.name, g.floats(`${base}/inv_sqrt2`, [], [Math.SQRT1_2])], base)], base);
    const one = g.node('Add', [erf, g.floats(`${base}/one`, [], [1])], base);
    return g.node('Mul', [g.node('Mul', [x.name, g.floats(`${base}/half`, [], [0.5])], base), one], base);
  },
};

function activate(g: OnnxGraph, layer: LayerView, x: Value, name = (layer.config.activation as string | undefined) ?? 'linear'): Value {
  const f = ACTIVATIONS[name];
  if (!f) throw new OnnxExportError(`layer ${layer.name}: activation "${name}" is not exported (known: ${Object.keys(ACTIVATIONS).join(', ')}); add it to ACTIVATIONS in policy/export/onnx-layers.ts`);
  const out = f(g, x, `${layer.name}/${name}`);
  return { ...x, name: out };
}

// ---------------------------------------------------------------- layers

function conv2d(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  channelsLast(layer);
  const x = g.nchw(inputs[0], layer.name);
  const [kernel, bias] = layer.weights;
  const [kh, kw, cin, cout] = kernel.shape;
  const strides = pair(layer.config.strides ?? 1, 'strides', layer.name);
  const dilation = pair(layer.config.dilationRate ?? 1, 'dilationRate', layer.name);
  const w = g.floats(`${layer.name}/kernel`, [cout, cin, kh, kw], permute(kernel.data, kernel.shape, [3, 2, 0, 1]));
  const ins = [x.name, w];
  if (layer.config.useBias !== false && bias) ins.push(g.floats(`${layer.name}/bias`, [cout], bias.data));
  const y = g.node('Conv', ins, layer.name, [
    attr.ints('kernel_shape', [kh, kw]), attr.ints('strides', strides), attr.ints('dilations', dilation),
    attr.ints('pads', spatialPads(layer, x.shape, [kh, kw], strides, dilation)), attr.int('group', 1),
  ]);
  return activate(g, layer, { name: y, layout: 'nchw', shape: layer.outputShape });
}

function depthwiseConv2d(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  channelsLast(layer);
  const x = g.nchw(inputs[0], layer.name);
  const [kernel, bias] = layer.weights;
  const [kh, kw, cin, mult] = kernel.shape;
  const strides = pair(layer.config.strides ?? 1, 'strides', layer.name);
  const dilation = pair(layer.config.dilationRate ?? 1, 'dilationRate', layer.name);
  // tfjs output channel c·mult + m ← ONNX group c, filter m: [cin, mult, kh, kw] = [cin·mult, 1, kh, kw]
  const w = g.floats(`${layer.name}/kernel`, [cin * mult, 1, kh, kw], permute(kernel.data, kernel.shape, [2, 3, 0, 1]));
  const ins = [x.name, w];
  if (layer.config.useBias !== false && bias) ins.push(g.floats(`${layer.name}/bias`, [cin * mult], bias.data));
  const y = g.node('Conv', ins, layer.name, [
    attr.ints('kernel_shape', [kh, kw]), attr.ints('strides', strides), attr.ints('dilations', dilation),
    attr.ints('pads', spatialPads(layer, x.shape, [kh, kw], strides, dilation)), attr.int('group', cin),
  ]);
  return activate(g, layer, { name: y, layout: 'nchw', shape: layer.outputShape });
}

function conv2dTranspose(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  channelsLast(layer);
  const x = g.nchw(inputs[0], layer.name);
  const [kernel, bias] = layer.weights;
  const [kh, kw, cout, cin] = kernel.shape; // tfjs: [kh, kw, filters, inChannels]
  const strides = pair(layer.config.strides ?? 1, 'strides', layer.name);
  const dilation = pair(layer.config.dilationRate ?? 1, 'dilationRate', layer.name);
  if (dilation[0] !== 1 || dilation[1] !== 1) throw new OnnxExportError(`layer ${layer.name}: dilated transposed convolutions are not exported`);
  const w = g.floats(`${layer.name}/kernel`, [cin, cout, kh, kw], permute(kernel.data, kernel.shape, [3, 2, 0, 1]));
  const ins = [x.name, w];
  if (layer.config.useBias !== false && bias) ins.push(g.floats(`${layer.name}/bias`, [cout], bias.data));
  // The output size tfjs computed; pads as TensorFlow's conv2d_transpose (the forward convolution's
  // "same" pads on the output), output_padding for whatever the stride leaves over at the end.
  const out = [layer.outputShape[1], layer.outputShape[2]] as number[];
  const ins2 = [x.shape[1], x.shape[2]] as number[];
  const k = [kh, kw];
  const pads = [0, 0, 0, 0];
  const outputPadding = [0, 0];
  for (let a = 0; a < 2; a++) {
    if (layer.config.padding === 'same') {
      const total = Math.max((ins2[a] - 1) * strides[a] + k[a] - out[a], 0);
      pads[a] = Math.floor(total / 2);
      pads[a + 2] = total - pads[a];
    }
    outputPadding[a] = out[a] - (strides[a] * (ins2[a] - 1) + k[a] - pads[a] - pads[a + 2]);
    if (outputPadding[a] < 0 || (outputPadding[a] > 0 && outputPadding[a] >= strides[a])) {
      throw new OnnxExportError(`layer ${layer.name}: output size ${out[a]} cannot be reached by ONNX ConvTranspose (stride ${strides[a]}, kernel ${k[a]})`);
    }
  }
  const y = g.node('ConvTranspose', ins, layer.name, [
    attr.ints('kernel_shape', k), attr.ints('strides', strides), attr.ints('pads', pads), attr.ints('output_padding', outputPadding),
  ]);
  return activate(g, layer, { name: y, layout: 'nchw', shape: layer.outputShape });
}

function pool(op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (g, layer, inputs) => {
    channelsLast(layer);
    const x = g.nchw(inputs[0], layer.name);
    const size = pair(layer.config.poolSize ?? 2, 'poolSize', layer.name);
    const strides = pair(layer.config.strides ?? size, 'strides', layer.name);
    const attributes = [attr.ints('kernel_shape', size), attr.ints('strides', strides), attr.ints('pads', spatialPads(layer, x.shape, size, strides, [1, 1]))];
    if (op === 'AveragePool') attributes.push(attr.int('count_include_pad', 0)); // TensorFlow averages over the real pixels only
    return { name: g.node(op, [x.name], layer.name, attributes), layout: 'nchw', shape: layer.outputShape };
  };
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter {
  return (g, layer, inputs) => {
    channelsLast(layer);
    const x = g.nchw(inputs[0], layer.name);
    const y = g.node(op, [x.name], layer.name); // [N, C, 1, 1]
    if (layer.outputShape.length === 4) return { name: y, layout: 'nchw', shape: layer.outputShape }; // keepDims
    return { name: g.node('Flatten', [y], layer.name, [attr.int('axis', 1)]), layout: 'native', shape: layer.outputShape };
  };
}

function upSampling2d(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  channelsLast(layer);
  const x = g.nchw(inputs[0], layer.name);
  const [sh, sw] = pair(layer.config.size ?? 2, 'size', layer.name);
  const interpolation = (layer.config.interpolation as string | undefined) ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') throw new OnnxExportError(`layer ${layer.name}: interpolation "${interpolation}" is not exported (nearest or bilinear)`);
  // tfjs resizes with alignCorners = halfPixelCenters = false: source = destination / scale.
  const attributes = [attr.string('mode', interpolation === 'nearest' ? 'nearest' : 'linear'), attr.string('coordinate_transformation_mode', 'asymmetric')];
  if (interpolation === 'nearest') attributes.push(attr.string('nearest_mode', 'floor'));
  const y = g.node('Resize', [x.name, '', g.floats(`${layer.name}/scales`, [4], [1, 1, sh, sw])], layer.name, attributes);
  return { name: y, layout: 'nchw', shape: layer.outputShape };
}

function batchNormalization(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const v = inputs[0];
  const rank = v.shape.length;
  const axisCfg = layer.config.axis as number | number[] | undefined;
  const axis = Array.isArray(axisCfg) ? axisCfg : [axisCfg ?? -1];
  if (axis.length !== 1) throw new OnnxExportError(`layer ${layer.name}: batch normalization over several axes is not exported`);
  const a = axis[0] < 0 ? rank + axis[0] : axis[0];
  const channels = v.shape[a] as number;
  const w = [...layer.weights];
  const gamma = layer.config.scale !== false ? w.shift()!.data : new Float32Array(channels).fill(1);
  const beta = layer.config.center !== false ? w.shift()!.data : new Float32Array(channels);
  const [mean, variance] = [w.shift()!.data, w.shift()!.data];
  const eps = (layer.config.epsilon as number | undefined) ?? 1e-3;
  // Channels on axis 1 (NCHW images, [N, C] vectors): ONNX's own BatchNormalization (inference form).
  const x = rank === 4 && a === 3 ? g.nchw(v, layer.name) : g.native(v);
  if (g.axis(x, a) === 1) {
    const y = g.node('BatchNormalization', [
      x.name, g.floats(`${layer.name}/gamma`, [channels], gamma), g.floats(`${layer.name}/beta`, [channels], beta),
      g.floats(`${layer.name}/moving_mean`, [channels], mean), g.floats(`${layer.name}/moving_variance`, [channels], variance),
    ], layer.name, [attr.float('epsilon', eps)]);
    return same(x, y, layer.outputShape);
  }
  // Any other axis: y = x · s + t with s = γ/√(σ²+ε), t = β − μ·s, shaped to broadcast on that axis.
  const s = new Float32Array(channels);
  const t = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    s[c] = gamma[c] / Math.sqrt(variance[c] + eps);
    t[c] = beta[c] - mean[c] * s[c];
  }
  const dims = [channels, ...new Array<number>(rank - 1 - a).fill(1)];
  const y = g.node('Add', [g.node('Mul', [x.name, g.floats(`${layer.name}/scale`, dims, s)], layer.name), g.floats(`${layer.name}/shift`, dims, t)], layer.name);
  return same(x, y, layer.outputShape);
}

function dense(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const x = g.native(inputs[0]); // applies to the last axis of the tfjs tensor
  const [kernel, bias] = layer.weights;
  let y = g.node('MatMul', [x.name, g.floats(`${layer.name}/kernel`, kernel.shape, kernel.data)], layer.name);
  if (layer.config.useBias !== false && bias) y = g.node('Add', [y, g.floats(`${layer.name}/bias`, bias.shape, bias.data)], layer.name);
  return activate(g, layer, { name: y, layout: 'native', shape: layer.outputShape });
}

function rescaling(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const v = inputs[0];
  const scale = g.floats(`${layer.name}/scale`, [], [layer.config.scale as number]);
  const offset = g.floats(`${layer.name}/offset`, [], [(layer.config.offset as number | undefined) ?? 0]);
  return same(v, g.node('Add', [g.node('Mul', [v.name, scale], layer.name), offset], layer.name), layer.outputShape);
}

function reshape(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const x = g.native(inputs[0]);
  const target = layer.config.targetShape as number[];
  // 0 keeps the batch dimension as it is.
  return { name: g.node('Reshape', [x.name, g.int64s(`${layer.name}/shape`, [0, ...target])], layer.name), layout: 'native', shape: layer.outputShape };
}

function flatten(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const x = g.native(inputs[0]); // tfjs flattens in NHWC order
  return { name: g.node('Flatten', [x.name], layer.name, [attr.int('axis', 1)]), layout: 'native', shape: layer.outputShape };
}

function permuteLayer(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const x = g.native(inputs[0]);
  const dims = layer.config.dims as number[];
  return { name: g.node('Transpose', [x.name], layer.name, [attr.ints('perm', [0, ...dims])]), layout: 'native', shape: layer.outputShape };
}

function concatenate(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const xs = sameLayout(g, layer, inputs);
  const axis = g.axis(xs[0], (layer.config.axis as number | undefined) ?? -1);
  return same(xs[0], g.node('Concat', xs.map((x) => x.name), layer.name, [attr.int('axis', axis)]), layer.outputShape);
}

function merge(op: 'Sum' | 'Mul' | 'Mean' | 'Max' | 'Min'): LayerConverter {
  return (g, layer, inputs) => {
    const xs = sameLayout(g, layer, inputs);
    let y: string;
    if (op === 'Mul') {
      y = xs[0].name;
      for (const x of xs.slice(1)) y = g.node(op, [y, x.name], layer.name);
    } else {
      y = g.node(op, xs.map((x) => x.name), layer.name);
    }
    return same(xs[0], y, layer.outputShape);
  };
}

const identity: LayerConverter = (_g, _layer, inputs) => inputs[0];

function zeroPadding2d(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  channelsLast(layer);
  const x = g.nchw(inputs[0], layer.name);
  const p = layer.config.padding as number | [number, number] | [[number, number], [number, number]];
  const [[t, b], [l, r]] = typeof p === 'number' ? [[p, p], [p, p]] : typeof p[0] === 'number' ? [[p[0], p[0]], [p[1] as number, p[1] as number]] : (p as [[number, number], [number, number]]);
  const pads = g.int64s(`${layer.name}/pads`, [0, 0, t, l, 0, 0, b, r]);
  return { name: g.node('Pad', [x.name, pads], layer.name, [attr.string('mode', 'constant')]), layout: 'nchw', shape: layer.outputShape };
}

function cropping2d(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  channelsLast(layer);
  const x = g.nchw(inputs[0], layer.name);
  const c = layer.config.cropping as number | [number, number] | [[number, number], [number, number]];
  const [[t, b], [l, r]] = typeof c === 'number' ? [[c, c], [c, c]] : typeof c[0] === 'number' ? [[c[0], c[0]], [c[1] as number, c[1] as number]] : (c as [[number, number], [number, number]]);
  const [h, w] = [x.shape[1] as number, x.shape[2] as number];
  const y = g.node('Slice', [x.name, g.int64s(`${layer.name}/starts`, [t, l]), g.int64s(`${layer.name}/ends`, [h - b, w - r]), g.int64s(`${layer.name}/axes`, [2, 3])], layer.name);
  return { name: y, layout: 'nchw', shape: layer.outputShape };
}

function softmaxLayer(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const v = inputs[0];
  const axisCfg = (layer.config.axis as number | number[] | undefined) ?? -1;
  const axis = Array.isArray(axisCfg) ? axisCfg : [axisCfg];
  if (axis.length !== 1) throw new OnnxExportError(`layer ${layer.name}: a softmax over several axes is not exported`);
  return same(v, g.node('Softmax', [v.name], layer.name, [attr.int('axis', g.axis(v, axis[0]))]), layer.outputShape);
}

function reluLayer(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const v = inputs[0];
  const max = layer.config.maxValue as number | null | undefined;
  if (max === null || max === undefined) return same(v, g.node('Relu', [v.name], layer.name), layer.outputShape);
  return same(v, g.node('Clip', [v.name, g.floats(`${layer.name}/min`, [], [0]), g.floats(`${layer.name}/max`, [], [max])], layer.name), layer.outputShape);
}

function preluLayer(g: OnnxGraph, layer: LayerView, inputs: Value[]): Value {
  const x = g.native(inputs[0]);
  const [alpha] = layer.weights; // shaped like the input without batch (shared axes of size 1): broadcasts from the right
  return { name: g.node('PRelu', [x.name, g.floats(`${layer.name}/alpha`, alpha.shape, alpha.data)], layer.name), layout: 'native', shape: layer.outputShape };
}

/** tfjs class name → converter. */
export const LAYERS: Record<string, LayerConverter> = {
  Dense: dense,
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  Conv2DTranspose: conv2dTranspose,
  MaxPooling2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  GlobalAveragePooling2D: globalPool('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPool'),
  UpSampling2D: upSampling2d,
  BatchNormalization: batchNormalization,
  Rescaling: rescaling,
  Reshape: reshape,
  Flatten: flatten,
  Permute: permuteLayer,
  Concatenate: concatenate,
  Add: merge('Sum'),
  Multiply: merge('Mul'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Activation: (g, layer, inputs) => activate(g, layer, inputs[0]),
  ReLU: reluLayer,
  LeakyReLU: (g, layer, inputs) => same(inputs[0], g.node('LeakyRelu', [inputs[0].name], layer.name, [attr.float('alpha', (layer.config.alpha as number | undefined) ?? 0.3)]), layer.outputShape),
  ELU: (g, layer, inputs) => same(inputs[0], g.node('Elu', [inputs[0].name], layer.name, [attr.float('alpha', (layer.config.alpha as number | undefined) ?? 1)]), layer.outputShape),
  ThresholdedReLU: (g, layer, inputs) => same(inputs[0], g.node('ThresholdedRelu', [inputs[0].name], layer.name, [attr.float('alpha', (layer.config.theta as number | undefined) ?? 1)]), layer.outputShape),
  PReLU: preluLayer,
  Softmax: softmaxLayer,
  ZeroPadding2D: zeroPadding2d,
  Cropping2D: cropping2d,
  // Inference is deterministic: these only act while training.
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
};
