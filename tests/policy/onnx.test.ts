/**
 * ONNX export: the project's three models (saved and loaded as `simreal train` leaves them) and an
 * encoder–decoder built from every other layer type the exporter knows give the same outputs in
 * onnxruntime-node as in tfjs on 1,000 seeded random inputs each.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import type { TF } from '../../policy/backend.ts';
import { buildBcMlp, DEFAULT_MLP } from '../../policy/models/bc-mlp.ts';
import { buildHeatmapNet, DEFAULT_HEATMAP_ARCH } from '../../policy/models/pose-heatmap.ts';
import { buildVisuomotor, DEFAULT_VISUOMOTOR_ARCH } from '../../policy/models/visuomotor.ts';
import { loadLayersModel, saveLayersModel } from '../../policy/model-io.ts';
import { exportOnnx, OnnxExportError, ONNX_OPSET } from '../../policy/export/onnx.ts';
import { checkOnnxExport } from '../../policy/export/onnx-check.ts';
import { LAYERS, permute, samePads } from '../../policy/export/onnx-layers.ts';
import { Rng } from '../../sim/rng.ts';
import { runCli } from '../cli/run-cli.ts';
import { expertEpisodes, scenario, tempDir, wasmBackend } from './helpers.ts';
import { framesFromRecords } from '../../policy/data/load.ts';
import { readModelCard } from '../../policy/model-card.ts';
import { trainBc } from '../../policy/train/bc.ts';

const { onnx } = onnxProto;
let tf: TF;

beforeAll(async () => {
  tf = (await wasmBackend()).tf;
});

async function saveAndLoad(model: LayersModel): Promise<{ dir: string; model: LayersModel }> {
  const dir = tempDir('simreal-onnx-');
  await saveLayersModel(tf, model, dir);
  return { dir, model: await loadLayersModel(tf, dir) };
}

/** Exports, checks on 1,000 inputs, prints and returns the max abs difference. */
async function roundTrip(label: string, model: LayersModel, normalization?: Record<string, { mean: number[]; std: number[] }>): Promise<number> {
  const exported = exportOnnx(model);
  const c = await checkOnnxExport(tf, model, exported, { samples: 1000, batch: 125, seed: 11, normalization });
  expect(c.samples).toBe(1000);
  // The outputs must move with the input far more than the tolerance (1e-5), or agreement would prove little.
  expect(c.outputSpread).toBeGreaterThan(1e-3);
  console.log(`onnx ${label}: max abs difference ${c.maxAbsDiff.toExponential(2)} over 1000 inputs (outputs up to ${c.maxAbsOutput.toPrecision(3)}, mean range across inputs ${c.outputSpread.toPrecision(3)})`);
  return c.maxAbsDiff;
}

describe('ONNX export', () => {
  it('BC MLP: onnxruntime matches tfjs on 1,000 inputs, normalization included', async () => {
    const rng = new Rng(1);
    const mean = Array.from({ length: 23 }, (_, i) => (i % 5) * 0.1 - 0.2);
    const std = Array.from({ length: 23 }, (_, i) => 0.05 + (i % 3) * 0.2);
    const { model } = await saveAndLoad(buildBcMlp(tf, { inputSize: 23, outputSize: 5, arch: DEFAULT_MLP, mean, std, rng }));
    const diff = await roundTrip('bc-mlp', model, { observation_state: { mean, std } });
    expect(diff).toBeLessThan(1e-5);
  });

  it('pose estimator (encoder-decoder to the centre-heatmap grid): onnxruntime matches tfjs on 1,000 images', async () => {
    const rng = new Rng(2);
    const { model } = await saveAndLoad(buildHeatmapNet(tf, { size: 64, arch: DEFAULT_HEATMAP_ARCH, rng }));
    expect(await roundTrip('pose-heatmap', model)).toBeLessThan(1e-5);
  }, 120_000);

  it('visuomotor (image + gripper state): onnxruntime matches tfjs on 1,000 inputs', async () => {
    const rng = new Rng(3);
    const mean = [0, 0, 0.1, 0, 0.04, 0, 0, 0];
    const std = [0.1, 0.1, 0.05, 1, 0.02, 0.1, 0.1, 1];
    const { model } = await saveAndLoad(buildVisuomotor(tf, { height: 48, width: 64, stateSize: 8, outputSize: 5, arch: DEFAULT_VISUOMOTOR_ARCH, mean, std, rng }));
    expect(await roundTrip('visuomotor', model, { gripper_state: { mean, std } })).toBeLessThan(1e-5);
  }, 120_000);

  it('an encoder–decoder heatmap net with every other layer type: onnxruntime matches tfjs on 1,000 images', async () => {
    const L = tf.layers;
    const init = (s: number, scale = 2) => tf.initializers.varianceScaling({ scale, mode: 'fanIn', distribution: 'normal', seed: s });
    // Sizes and kernels chosen so "same" padding is uneven (TensorFlow puts the extra pixel after).
    const input = tf.input({ shape: [32, 30, 3], name: 'image' });
    const ap = (layer: { apply: (x: SymbolicTensor | SymbolicTensor[]) => unknown }, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor => layer.apply(x) as SymbolicTensor;
    let x = ap(L.rescaling({ scale: 1 / 127.5, offset: -1 }), input);
    const e1 = ap(L.conv2d({ filters: 8, kernelSize: 4, padding: 'same', activation: 'relu', kernelInitializer: init(1) }), x); // 32×30, pads 1 before, 2 after
    x = ap(L.batchNormalization({ axis: -1, epsilon: 1e-3 }), e1);
    x = ap(L.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(2) }), x); // 16×15, pads 0 before, 1 after
    x = ap(L.leakyReLU({ alpha: 0.1 }), x);
    x = ap(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', depthwiseInitializer: init(3), activation: 'relu6' }), x); // 24 ch
    const e2 = ap(L.conv2d({ filters: 16, kernelSize: 5, strides: 2, padding: 'valid', activation: 'elu', kernelInitializer: init(4) }), x); // 6×6
    x = ap(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), e2); // 3×3, pads 0 before, 1 after
    x = ap(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }), x); // averages over real pixels only
    x = ap(L.conv2d({ filters: 16, kernelSize: 1, activation: 'selu', kernelInitializer: init(5) }), x);
    x = ap(L.upSampling2d({ size: [2, 2] }), x); // 6×6 nearest
    const skip = ap(L.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'tanh', kernelInitializer: init(6) }), e2);
    x = ap(L.add(), [x, skip]);
    x = ap(L.multiply(), [x, ap(L.activation({ activation: 'sigmoid' }), skip)]);
    x = ap(L.conv2dTranspose({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(7) }), x); // 12×12, cropped 0 before, 1 after
    x = ap(L.conv2dTranspose({ filters: 8, kernelSize: 4, strides: 2, padding: 'valid', kernelInitializer: init(8) }), x); // 26×26
    x = ap(L.batchNormalization({ axis: -1, center: false }), x);
    x = ap(L.zeroPadding2d({ padding: [[1, 2], [0, 1]] }), x); // 29×27
    x = ap(L.cropping2D({ cropping: [[1, 0], [1, 0]] }), x); // 28×26
    x = ap(L.upSampling2d({ size: [1, 1], interpolation: 'bilinear' }), x);
    const branchA = ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'softplus', kernelInitializer: init(9) }), x);
    const branchB = ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'softsign', kernelInitializer: init(10) }), x);
    x = ap(L.concatenate({ axis: -1 }), [branchA, branchB, ap(L.maximum(), [branchA, branchB]), ap(L.minimum(), [branchA, branchB])]);
    x = ap(L.average(), [ap(L.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: init(13) }), x), ap(L.dropout({ rate: 0.5 }), ap(L.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: init(14) }), x))]);
    x = ap(L.reLU({ maxValue: 1.5 }), x);
    x = ap(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }), ap(L.maxPooling2d({ poolSize: 2 }), x)); // 28×26 again
    x = ap(L.conv2d({ filters: 2, kernelSize: 1, activation: 'hardSigmoid', kernelInitializer: init(11, 50) }), x);
    const heat = ap(L.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'sigmoid', kernelInitializer: init(12, 20), name: 'heatmaps' }), x);
    const model = tf.model({ inputs: input, outputs: heat, name: 'encoder_decoder' });
    // Batch normalization with non-trivial statistics (a fresh layer has mean 0, variance 1): γ, σ² in [0.5, 1.5), β, μ in [−0.5, 0.5).
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      const rng = new Rng(layer.name.length);
      layer.setWeights(layer.getWeights().map((w, i, all) => tf.tensor(Float32Array.from({ length: w.size }, () => (i === 0 || i === all.length - 1 ? 0.5 + rng.next() : rng.uniform(-0.5, 0.5))), w.shape)));
    }
    const { model: loaded } = await saveAndLoad(model);
    const used = new Set(loaded.layers.map((l) => l.getClassName()));
    for (const c of ['Conv2D', 'DepthwiseConv2D', 'Conv2DTranspose', 'BatchNormalization', 'MaxPooling2D', 'AveragePooling2D', 'UpSampling2D', 'Add', 'Multiply', 'Concatenate', 'Activation', 'ReLU', 'LeakyReLU', 'ZeroPadding2D', 'Cropping2D']) expect(used, c).toContain(c);
    const exported = exportOnnx(loaded);
    expect(exported.outputs).toEqual([{ name: 'heatmaps', shape: [null, 28, 26, 2] }]);
    expect(Object.keys(exported.ops)).toEqual(expect.arrayContaining(['Conv', 'ConvTranspose', 'BatchNormalization', 'MaxPool', 'AveragePool', 'Resize', 'Sum', 'Concat', 'Pad', 'Slice', 'Sigmoid']));
    expect(await roundTrip('encoder-decoder', loaded)).toBeLessThan(1e-5);
  }, 180_000);

  it('a sequential model with pooling, softmax and global pooling heads exports too', async () => {
    const model = tf.sequential({
      name: 'seq',
      layers: [
        tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, activation: 'swish', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.globalMaxPooling2d({}),
        tf.layers.dense({ units: 6, activation: 'gelu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        tf.layers.reshape({ targetShape: [2, 3] }),
        tf.layers.permute({ dims: [2, 1] }),
        tf.layers.softmax({ axis: -1 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      ],
    });
    expect(await roundTrip('sequential', model)).toBeLessThan(1e-5);
  });

  it('writes a valid ONNX model: opset, names, shapes with a free batch, metadata', () => {
    const model = buildBcMlp(tf, { inputSize: 4, outputSize: 5, arch: { hidden: [8] }, mean: [0, 0, 0, 0], std: [1, 1, 1, 1], rng: new Rng(1) });
    const e = exportOnnx(model, { metadata: { 'simreal.model_card': '{"kind":"bc"}' }, docs: { observation_state: 'raw state' } });
    const m = onnx.ModelProto.decode(e.bytes);
    expect(Number(m.irVersion)).toBe(8);
    expect(m.opsetImport.map((o) => Number(o.version))).toEqual([ONNX_OPSET]);
    const graph = m.graph!;
    const input = graph.input!;
    expect(input.map((i) => i.name)).toEqual(['observation_state']);
    expect(input[0].docString).toBe('raw state');
    expect(input[0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 4]);
    expect(graph.output!.map((o) => o.name)).toEqual(['action']);
    expect(m.metadataProps.find((p) => p.key === 'simreal.model_card')?.value).toBe('{"kind":"bc"}');
    // The normalization layer is in the graph as a constant affine map.
    expect(graph.initializer!.map((t) => t.name)).toContain('normalize/kernel');
  });

  it('refuses a layer it does not know with the layer, the class, and where to add it', () => {
    const input = tf.input({ shape: [6, 4] });
    const out = tf.layers.lstm({ units: 3 }).apply(input) as SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(() => exportOnnx(model)).toThrow(OnnxExportError);
    expect(() => exportOnnx(model)).toThrow(/is a LSTM, which the ONNX exporter does not know .*add an entry to LAYERS in policy\/export\/onnx-layers\.ts/);
  });

  it('helpers: TensorFlow "same" pads and the kernel transpose', () => {
    expect(samePads(31, 3, 2)).toEqual([1, 1]);
    expect(samePads(32, 3, 2)).toEqual([0, 1]);
    expect(samePads(29, 5, 1, 2)).toEqual([4, 4]);
    // [2, 3] → [3, 2]
    expect(Array.from(permute(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0]))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Object.keys(LAYERS)).toEqual(expect.arrayContaining(['Dense', 'Conv2D', 'DepthwiseConv2D', 'MaxPooling2D', 'GlobalAveragePooling2D', 'UpSampling2D', 'Conv2DTranspose', 'BatchNormalization', 'Concatenate', 'Add', 'Activation', 'ReLU', 'Softmax', 'Reshape', 'Flatten', 'Permute', 'Rescaling']));
  });

  it('simreal export onnx: a trained policy folder → an ONNX file carrying its model card, checked, never overwritten', async () => {
    const sc = scenario('stack-2');
    const frames = framesFromRecords(expertEpisodes(sc, 6), { scenario: sc, randomization: 'train' });
    const dir = tempDir('simreal-onnx-bc-');
    await trainBc({ datasets: [], frames, out: dir, choice: await wasmBackend(), epochs: 1, hidden: [32, 32], batchSize: 128, seed: 3, selectEpisodes: 0, overwrite: true });
    const card = readModelCard(dir);
    const out = path.join(tempDir('simreal-onnx-out-'), 'policy.onnx');
    const r = await runCli(['export', 'onnx', dir, '--out', out, '--check', '--samples', '200']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/check: tfjs and onnxruntime-node .* on 200 random inputs: max abs difference/);
    expect(r.stdout).toMatch(new RegExp(`inputs:  observation_state \\[batch, ${card.inputs.state!.size}\\]`));
    expect(r.stdout).toMatch(/outputs: action \[batch, 5\]/);
    const m = onnx.ModelProto.decode(fs.readFileSync(out));
    expect(JSON.parse(m.metadataProps!.find((p) => p.key === 'simreal.model_card')!.value!)).toEqual(card);
    expect(m.graph!.input![0].docString).toContain(card.inputs.state!.names[0]);
    const again = await runCli(['export', 'onnx', dir, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/policy\.onnx exists; choose another --out or add --overwrite/);
    const missing = await runCli(['export', 'onnx', path.join(dir, 'nope'), '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist; train one with/);
  }, 120_000);
});
