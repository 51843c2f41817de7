/**
 * The wasm training kernels against the `cpu` backend (the reference), on seeded random shapes:
 * strides, 'same'/'valid'/numeric/explicit padding, rounding modes, NHWC and NCHW, batch slicing;
 * the im2col/col2im routines (dilation included) against direct definitions; and a small conv net
 * whose training on wasm follows cpu's step for step.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../policy/backend.ts';
import { geometryFromConvInfo } from '../../policy/wasm-kernels/geometry.ts';
import {
  col2im,
  columnBudget,
  im2col,
  im2colTransposed,
  wasmTrainingKernelsRegistered,
} from '../../policy/wasm-kernels/index.ts';
import { Rng } from '../../sim/rng.ts';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

beforeAll(async () => {
  await selectBackend({ backend: 'wasm' });
});

const defaultBudget = columnBudget.maxFloats;
afterEach(() => {
  columnBudget.maxFloats = defaultBudget;
});

function normals(rng: Rng, n: number, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() + offset;
  return a;
}

/** Runs one kernel on a backend from plain arrays, returns its output as an array. */
async function kernelOn(
  backend: 'wasm' | 'cpu',
  kernel: string,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
  attrs: Record<string, unknown>,
): Promise<{ data: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape);
  const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  const shape = out.shape;
  out.dispose();
  for (const t of Object.values(ts)) t.dispose();
  return { data, shape };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Float32 agreement: max |a - b| within `rel` of the reference's largest value (or of 1). */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rel = 2e-5, what = ''): void {
  expect(a.length, what).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(Number.isFinite(worst), what).toBe(true);
  expect(worst, what).toBeLessThanOrEqual(rel * Math.max(1, maxAbs(b)));
}

interface ConvCase {
  x: Shape4; // NHWC
  filter: Shape4; // [fh, fw, ci, co]
  strides: [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat: 'NHWC' | 'NCHW';
}

/** Seeded random convolutions; every padding kind and both layouts turn up. */
function randomConvCases(seed: number, n: number): ConvCase[] {
  const rng = new Rng(seed);
  const cases: ConvCase[] = [];
  for (let i = 0; i < n; i++) {
    const fh = rng.int(1, 4);
    const fw = rng.int(1, 4);
    const h = rng.int(fh, 11);
    const w = rng.int(fw, 11);
    const strides: [number, number] = [rng.int(1, 3), rng.int(1, 3)];
    const kind = i % 4;
    let pad: Pad;
    let dimRoundingMode: ConvCase['dimRoundingMode'];
    if (kind === 0) pad = 'same';
    else if (kind === 1) pad = 'valid';
    else if (kind === 2) {
      pad = rng.int(0, 2);
      dimRoundingMode = rng.pick(['floor', 'round', 'ceil'] as const);
    } else {
      pad = [[0, 0], [rng.int(0, 2), rng.int(0, 2)], [rng.int(0, 2), rng.int(0, 2)], [0, 0]];
    }
    cases.push({
      x: [rng.int(1, 3), h, w, rng.int(1, 5)],
      filter: [fh, fw, 0, rng.int(1, 6)],
      strides,
      pad,
      dimRoundingMode,
      dataFormat: i % 3 === 2 ? 'NCHW' : 'NHWC',
    });
    cases[i].filter[2] = cases[i].x[3];
  }
  return cases;
}

/** Shapes of x and dy as the kernel sees them (NCHW where asked), and the pad in that layout. */
function layout(c: ConvCase): { xShape: Shape4; dyShape: Shape4; pad: Pad } {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, c.dimRoundingMode, false, 'channelsLast');
  if (c.dataFormat === 'NHWC') return { xShape: c.x, dyShape: info.outShape, pad: c.pad };
  const [n, h, w, ch] = c.x;
  const [, ho, wo, co] = info.outShape;
  const pad = Array.isArray(c.pad) ? ([c.pad[0], c.pad[3], c.pad[1], c.pad[2]] as tf.backend_util.ExplicitPadding) : c.pad;
  return { xShape: [n, ch, h, w], dyShape: [n, co, ho, wo], pad };
}

const describeCase = (c: ConvCase) =>
  `x=[${c.x}] f=[${c.filter}] s=[${c.strides}] pad=${JSON.stringify(c.pad)} ${c.dimRoundingMode ?? ''} ${c.dataFormat}`;

/** The bench CNN's three layers (batch 2) and a few hand-picked corners. */
const fixedCases: ConvCase[] = [
  { x: [2, 64, 64, 3], filter: [3, 3, 3, 16], strides: [2, 2], pad: 'same', dataFormat: 'NHWC' },
  { x: [2, 32, 32, 16], filter: [3, 3, 16, 32], strides: [2, 2], pad: 'same', dataFormat: 'NHWC' },
  { x: [2, 16, 16, 32], filter: [3, 3, 32, 64], strides: [2, 2], pad: 'same', dataFormat: 'NHWC' },
  { x: [1, 5, 5, 1], filter: [5, 5, 1, 1], strides: [1, 1], pad: 'valid', dataFormat: 'NHWC' },
  { x: [2, 7, 9, 2], filter: [1, 1, 2, 3], strides: [3, 2], pad: 'valid', dataFormat: 'NHWC' },
  { x: [1, 6, 6, 4], filter: [3, 3, 4, 2], strides: [1, 1], pad: 'same', dataFormat: 'NCHW' },
];

describe('Conv2DBackpropFilter and Conv2DBackpropInput on wasm match cpu', () => {
  it('are registered for wasm', () => {
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  const cases = [...fixedCases, ...randomConvCases(9, 24)];
  it.each(cases.map((c) => [describeCase(c), c] as const))('%s', async (_name, c) => {
    const rng = new Rng(17).fork(describeCase(c));
    const { xShape, dyShape, pad } = layout(c);
    const x = { data: normals(rng, xShape.reduce((a, b) => a * b)), shape: xShape };
    const dy = { data: normals(rng, dyShape.reduce((a, b) => a * b)), shape: dyShape };
    const filter = { data: normals(rng, c.filter.reduce((a, b) => a * b)), shape: c.filter };
    const common = { strides: c.strides, pad, dataFormat: c.dataFormat, dimRoundingMode: c.dimRoundingMode };

    const fAttrs = { ...common, filterShape: c.filter };
    const fWasm = await kernelOn('wasm', 'Conv2DBackpropFilter', { x, dy }, fAttrs);
    const fCpu = await kernelOn('cpu', 'Conv2DBackpropFilter', { x, dy }, fAttrs);
    expect(fWasm.shape).toEqual(c.filter);
    expectClose(fWasm.data, fCpu.data, 2e-5, 'filter gradient');

    const iAttrs = { ...common, inputShape: xShape };
    const iWasm = await kernelOn('wasm', 'Conv2DBackpropInput', { dy, filter }, iAttrs);
    const iCpu = await kernelOn('cpu', 'Conv2DBackpropInput', { dy, filter }, iAttrs);
    expect(iWasm.shape).toEqual(xShape);
    expectClose(iWasm.data, iCpu.data, 2e-5, 'input gradient');
  });

  // tfjs's conv2d gradient refuses dilation, but the kernels take a `dilations` attribute: checked
  // as adjoints of cpu's forward Conv2D, <dy, conv(x, W)> = <dW(x, dy), W> = <x, dX(dy, W)>.
  const dilated = Array.from({ length: 4 }, (_, i) => {
    const r = new Rng(50 + i);
    const f: Shape4 = [r.int(2, 3), r.int(1, 3), r.int(1, 4), r.int(1, 4)];
    return { x: [r.int(1, 2), r.int(7, 10), r.int(7, 10), f[2]] as Shape4, filter: f, dilations: [r.int(1, 3), r.int(2, 3)] as [number, number], pad: (['same', 'valid'] as const)[i % 2] };
  });
  it.each(dilated.map((c) => [JSON.stringify(c), c] as const))('dilated %s', async (name, c) => {
    const r = new Rng(7).fork(name);
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, 1, c.dilations, c.pad);
    const x = { data: normals(r, c.x.reduce((a, b) => a * b)), shape: c.x };
    const dy = { data: normals(r, info.outShape.reduce((a, b) => a * b)), shape: info.outShape };
    const filter = { data: normals(r, c.filter.reduce((a, b) => a * b)), shape: c.filter };
    const attrs = { strides: 1, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations };
    const y = await kernelOn('cpu', 'Conv2D', { x, filter }, attrs);
    const dW = await kernelOn('wasm', 'Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.filter });
    const dX = await kernelOn('wasm', 'Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: c.x });
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    const ref = dot(dy.data, y.data);
    expect(Math.abs(dot(dW.data, filter.data) - ref)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(ref)));
    expect(Math.abs(dot(dX.data, x.data) - ref)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(ref)));
  });

  it('give the same result when the batch is cut into slices', async () => {
    const c: ConvCase = { x: [5, 9, 8, 3], filter: [3, 2, 3, 4], strides: [2, 1], pad: 'same', dataFormat: 'NHWC' };
    const rng = new Rng(5);
    const { dyShape } = layout(c);
    const x = { data: normals(rng, 5 * 9 * 8 * 3), shape: c.x };
    const dy = { data: normals(rng, dyShape.reduce((a, b) => a * b)), shape: dyShape };
    const filter = { data: normals(rng, 3 * 2 * 3 * 4), shape: c.filter };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
    const whole = [
      await kernelOn('wasm', 'Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.filter }),
      await kernelOn('wasm', 'Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: c.x }),
    ];
    columnBudget.maxFloats = 300; // about one image's columns: five slices
    const sliced = [
      await kernelOn('wasm', 'Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.filter }),
      await kernelOn('wasm', 'Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: c.x }),
    ];
    expectClose(sliced[0].data, whole[0].data, 1e-6, 'filter gradient');
    expectClose(sliced[1].data, whole[1].data, 0, 'input gradient');
  });

  it('serve tf.grad of conv2d and conv2dTranspose like cpu', async () => {
    const rng = new Rng(3);
    const xs = normals(rng, 2 * 10 * 7 * 3);
    const ws = normals(rng, 3 * 3 * 3 * 5);
    const run = async (backend: 'wasm' | 'cpu') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(xs, [2, 10, 7, 3]);
        const w = tf.tensor4d(ws, [3, 3, 3, 5]);
        const loss = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, [2, 1], 'same').square().sum();
        const [gx, gw] = tf.grads(loss as (...t: tf.Tensor[]) => tf.Tensor)([x, w]);
        const t = tf.conv2dTranspose(tf.conv2d(x, w, 2, 'valid'), w, [2, 10, 7, 3], 2, 'valid');
        return [gx.dataSync(), gw.dataSync(), t.dataSync()] as Float32Array[];
      });
    };
    const a = await run('wasm');
    const b = await run('cpu');
    for (let i = 0; i < 3; i++) expectClose(a[i], b[i], 2e-5, ['dx', 'dw', 'conv2dTranspose'][i]);
  });
});

describe('depthwise convolution gradients on wasm match cpu', () => {
  const rng = new Rng(12);
  const cases = Array.from({ length: 12 }, (_, i) => {
    const f: Shape4 = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 5), i % 3 === 0 ? 1 : rng.int(1, 3)];
    const dilations: [number, number] = i % 4 === 3 ? [rng.int(1, 2), rng.int(1, 2)] : [1, 1];
    const strides: [number, number] = dilations[0] > 1 || dilations[1] > 1 ? [1, 1] : [rng.int(1, 2), rng.int(1, 2)];
    const pad: Pad = i % 3 === 2 ? [[0, 0], [rng.int(0, 1), rng.int(0, 2)], [rng.int(0, 2), rng.int(0, 1)], [0, 0]] : (['same', 'valid'] as const)[i % 2];
    return { x: [rng.int(1, 2), rng.int(5, 10), rng.int(5, 10), f[2]] as Shape4, filter: f, strides, dilations, pad };
  });
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (name, c) => {
    const r = new Rng(6).fork(name);
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations, c.pad, undefined, true);
    const x = { data: normals(r, c.x.reduce((a, b) => a * b)), shape: c.x };
    const dy = { data: normals(r, info.outShape.reduce((a, b) => a * b)), shape: info.outShape };
    const filter = { data: normals(r, c.filter.reduce((a, b) => a * b)), shape: c.filter };
    const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad };
    const fAttrs = { ...attrs, filterShape: c.filter };
    const iAttrs = { ...attrs, inputShape: c.x };
    const fw = await kernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, fAttrs);
    const iw = await kernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, iAttrs);
    if (c.dilations[0] === 1 && c.dilations[1] === 1) {
      const fc = await kernelOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, fAttrs);
      expectClose(fw.data, fc.data, 2e-5, 'filter gradient');
      const ic = await kernelOn('cpu', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, iAttrs);
      expectClose(iw.data, ic.data, 2e-5, 'input gradient');
      return;
    }
    // cpu's depthwise gradients ignore dilation (tfjs's gradient refuses it before calling them),
    // so dilated cases are checked as adjoints of cpu's forward depthwise convolution, which
    // honours it: <dy, conv(x, W)> = <dW(x, dy), W> = <x, dX(dy, W)>.
    const y = await kernelOn('cpu', 'DepthwiseConv2dNative', { x, filter }, { ...attrs });
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    const ref = dot(dy.data, y.data);
    expect(Math.abs(dot(fw.data, filter.data) - ref)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(ref)));
    expect(Math.abs(dot(iw.data, x.data) - ref)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(ref)));
  });

  it('let a separable conv layer train on wasm like on cpu', async () => {
    const rng = new Rng(44);
    const xs = normals(rng, 4 * 8 * 8 * 3);
    const ys = normals(rng, 4 * 2);
    const train = async (backend: 'wasm' | 'cpu') => {
      await tf.setBackend(backend);
      const model = tf.sequential({
        layers: [
          tf.layers.separableConv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, depthMultiplier: 2, activation: 'relu',
            depthwiseInitializer: tf.initializers.glorotUniform({ seed: 1 }), pointwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        ],
      });
      const x = tf.tensor4d(xs, [4, 8, 8, 3]);
      const y = tf.tensor2d(ys, [4, 2]);
      const opt = tf.train.sgd(0.1);
      const losses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const l = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor), true) as tf.Scalar;
        losses.push((await l.data())[0]);
        l.dispose();
      }
      tf.dispose([x, y]);
      model.dispose();
      opt.dispose();
      return losses;
    };
    const a = await train('wasm');
    const b = await train('cpu');
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, b[i]));
    expect(a.at(-1)!).toBeLessThan(a[0]);
  });
});

describe('MaxPoolGrad and AvgPoolGrad on wasm match cpu', () => {
  const rng = new Rng(21);
  const cases = Array.from({ length: 12 }, (_, i) => {
    const k: [number, number] = [rng.int(1, 3), rng.int(1, 3)];
    return {
      x: [rng.int(1, 2), rng.int(k[0], 9), rng.int(k[1], 9), rng.int(1, 4)] as Shape4,
      filterSize: k,
      strides: [rng.int(1, 3), rng.int(1, 3)] as [number, number],
      pad: (['same', 'valid'] as const)[i % 2],
      // Shifted down so that many windows hold only negative values; rounded so that ties occur.
      offset: i % 3 === 0 ? -1.5 : 0,
      quantize: i % 4 === 1,
    };
  });
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const r = new Rng(8).fork(_name);
    const xs = normals(r, c.x.reduce((a, b) => a * b), c.offset);
    if (c.quantize) for (let i = 0; i < xs.length; i++) xs[i] = Math.round(xs[i]);
    const grads = async (backend: 'wasm' | 'cpu') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(xs, c.x);
        const weigh = (p: tf.Tensor) => p.mul(tf.range(1, p.size + 1).reshape(p.shape)).sum();
        const gMax = tf.grad((t: tf.Tensor) => weigh(tf.maxPool(t as tf.Tensor4D, c.filterSize, c.strides, c.pad)))(x);
        const gAvg = tf.grad((t: tf.Tensor) => weigh(tf.avgPool(t as tf.Tensor4D, c.filterSize, c.strides, c.pad)))(x);
        return [gMax.dataSync(), gAvg.dataSync()] as Float32Array[];
      });
    };
    const a = await grads('wasm');
    const b = await grads('cpu');
    expectClose(a[0], b[0], 0, 'MaxPoolGrad');
    expectClose(a[1], b[1], 1e-6, 'AvgPoolGrad');
  });
});

describe('im2col / col2im', () => {
  const rng = new Rng(33);
  const geometries = Array.from({ length: 10 }, () => {
    const x: Shape4 = [rng.int(1, 2), rng.int(4, 10), rng.int(4, 10), rng.int(1, 4)];
    const dil: [number, number] = [rng.int(1, 2), rng.int(1, 2)];
    const strides: [number, number] = dil[0] > 1 || dil[1] > 1 ? [1, 1] : [rng.int(1, 2), rng.int(1, 2)];
    const f: Shape4 = [rng.int(1, 3), rng.int(1, 3), x[3], rng.int(1, 3)];
    const pad = rng.pick(['same', 'valid'] as const);
    return geometryFromConvInfo(tf.backend_util.computeConv2DInfo(x, f, strides, dil, pad));
  });

  it.each(geometries.map((g) => [JSON.stringify(g), g] as const))('%s', async (_name, g) => {
    const r = new Rng(2).fork(_name);
    const K = g.filterHeight * g.filterWidth * g.inChannels;
    const M = g.batch * g.outHeight * g.outWidth;
    const x = normals(r, g.batch * g.inHeight * g.inWidth * g.inChannels);
    const col = new Float32Array(M * K).fill(NaN);
    im2col(x, g, 0, g.batch, col);
    const colT = new Float32Array(M * K).fill(NaN);
    im2colTransposed(x, g, 0, g.batch, colT);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) expect(colT[k * M + m]).toBe(col[m * K + k]);

    // col · W is the convolution (dilation included): compare with tf.conv2d on cpu.
    const Co = g.outChannels;
    const w = normals(r, K * Co);
    const y = new Float32Array(M * Co);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let o = 0; o < Co; o++) y[m * Co + o] += col[m * K + k] * w[k * Co + o];
    await tf.setBackend('cpu');
    const pad: [number, number] = [g.padTop, g.padLeft];
    const ref = tf.tidy(() =>
      tf
        .conv2d(
          tf.tensor4d(x, [g.batch, g.inHeight, g.inWidth, g.inChannels]),
          tf.tensor4d(w, [g.filterHeight, g.filterWidth, g.inChannels, Co]),
          [g.strideHeight, g.strideWidth],
          [[0, 0], [pad[0], padBottom(g)], [pad[1], padRight(g)], [0, 0]],
          'NHWC',
          [g.dilationHeight, g.dilationWidth],
        )
        .dataSync(),
    );
    expectClose(y, ref, 1e-5, 'im2col convolution');

    // col2im is im2col's adjoint: <im2col(x), c> = <x, col2im(c)>.
    const c = normals(r, M * K);
    const back = new Float32Array(x.length);
    col2im(c, g, 0, g.batch, back);
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < col.length; i++) lhs += col[i] * c[i];
    for (let i = 0; i < x.length; i++) rhs += x[i] * back[i];
    expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(lhs)));
  });
});

/** The padding below and right that makes the output size come out as the geometry says. */
function padBottom(g: ReturnType<typeof geometryFromConvInfo>): number {
  return Math.max(0, (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1 - g.inHeight - g.padTop);
}
function padRight(g: ReturnType<typeof geometryFromConvInfo>): number {
  return Math.max(0, (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1 - g.inWidth - g.padLeft);
}

describe('a small conv net', () => {
  it('trains on wasm with a falling loss that follows cpu step for step', async () => {
    const rng = new Rng(77);
    const batch = 8;
    const xs = normals(rng, batch * 16 * 16 * 3);
    // A learnable target: per-image means of two channels.
    const ys = new Float32Array(batch * 2);
    for (let b = 0; b < batch; b++) {
      for (let p = 0; p < 256; p++) {
        ys[b * 2] += xs[(b * 256 + p) * 3] / 256;
        ys[b * 2 + 1] += xs[(b * 256 + p) * 3 + 1] / 256;
      }
    }
    const train = async (backend: 'wasm' | 'cpu'): Promise<number[]> => {
      await tf.setBackend(backend);
      const seeds = new Rng(4);
      const init = () => tf.initializers.glorotUniform({ seed: seeds.int(1, 1e6) });
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: init() }),
          tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init() }),
          tf.layers.dense({ units: 2, kernelInitializer: init() }),
        ],
      });
      const x = tf.tensor4d(xs, [batch, 16, 16, 3]);
      const y = tf.tensor2d(ys, [batch, 2]);
      const opt = tf.train.sgd(0.2);
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const l = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor), true) as tf.Scalar;
        losses.push((await l.data())[0]);
        l.dispose();
      }
      model.dispose();
      x.dispose();
      y.dispose();
      opt.dispose();
      return losses;
    };
    const onWasm = await train('wasm');
    const onCpu = await train('cpu');
    expect(onWasm.at(-1)!).toBeLessThan(onWasm[0]);
    for (let i = 0; i < onWasm.length; i++) {
      expect(Math.abs(onWasm[i] - onCpu[i])).toBeLessThanOrEqual(1e-4 * Math.max(1e-3, Math.abs(onCpu[i])) + 1e-7);
    }
  });
});
