/**
 * Checks an exported ONNX model against the tfjs model it came from: both run on the same seeded
 * random inputs (images: pixel values 0…255; vectors: around the model's own normalization when
 * known, else standard normal) and the largest absolute difference of any output is reported.
 * onnxruntime-node is loaded on demand (a development dependency: the export itself needs none).
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend.ts';
import { Rng } from '../../sim/rng.ts';
import type { OnnxExport } from './onnx.ts';

export interface OnnxCheckOptions {
  samples?: number;
  batch?: number;
  seed?: number;
  /** Per-input mean and std to draw vector inputs from (by tfjs input name). */
  normalization?: Record<string, { mean: number[]; std: number[] }>;
}

export interface OnnxCheck {
  samples: number;
  /** Largest |tfjs − onnxruntime| over every output value. */
  maxAbsDiff: number;
  /** Largest |output| (the scale the difference compares to). */
  maxAbsOutput: number;
  /**
   * How much the outputs depend on the input: the mean, over output values, of their range
   * (max − min) across the first batch of inputs. Near 0 means a constant model, whose agreement
   * would prove little.
   */
  outputSpread: number;
  onnxruntime: string;
}

export class OnnxRuntimeMissingError extends Error {
  constructor(cause: string) {
    super(`onnxruntime-node could not be loaded (${cause}); install it with \`npm install --save-dev onnxruntime-node\` or export without --check`);
    this.name = 'OnnxRuntimeMissingError';
  }
}

async function loadOrt(): Promise<typeof import('onnxruntime-node')> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    throw new OnnxRuntimeMissingError((e as Error).message.split('\n')[0]);
  }
}

export async function checkOnnxExport(tf: TF, model: LayersModel, exported: OnnxExport, options: OnnxCheckOptions = {}): Promise<OnnxCheck> {
  const ort = await loadOrt();
  const samples = options.samples ?? 1000;
  const batch = options.batch ?? 100;
  const rng = new Rng(options.seed ?? 1);
  const session = await ort.InferenceSession.create(exported.bytes);
  let maxAbsDiff = 0;
  let maxAbsOutput = 0;
  let outputSpread = 0;
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  try {
    for (let done = 0; done < samples; done += batch) {
      const n = Math.min(batch, samples - done);
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      const tfInputs: Tensor[] = [];
      for (const input of exported.inputs) {
        const dims = [n, ...input.shape.slice(1)] as number[];
        const size = dims.reduce((a, b) => a * b, 1);
        const data = new Float32Array(size);
        const norm = options.normalization?.[input.name];
        if (dims.length === 4) for (let i = 0; i < size; i++) data[i] = Math.floor(rng.next() * 256);
        else {
          const k = dims[dims.length - 1];
          for (let i = 0; i < size; i++) data[i] = norm ? norm.mean[i % k] + norm.std[i % k] * normal() : normal();
        }
        feeds[input.name] = new ort.Tensor('float32', data, dims);
        tfInputs.push(tf.tensor(data, dims));
      }
      const result = await session.run(feeds);
      const predicted = model.predict(tfInputs.length === 1 ? tfInputs[0] : tfInputs);
      const tfOutputs = Array.isArray(predicted) ? predicted : [predicted];
      exported.outputs.forEach((o, i) => {
        const a = tfOutputs[i].dataSync();
        const b = result[o.name].data as Float32Array;
        if (a.length !== b.length) throw new Error(`output ${o.name}: tfjs gave ${a.length} values, onnxruntime ${b.length}`);
        for (let j = 0; j < a.length; j++) {
          maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[j] - b[j]));
          maxAbsOutput = Math.max(maxAbsOutput, Math.abs(a[j]));
        }
        if (done === 0) {
          const per = a.length / n;
          let sum = 0;
          for (let k = 0; k < per; k++) {
            let lo = Infinity;
            let hi = -Infinity;
            for (let s = 0; s < n; s++) {
              lo = Math.min(lo, a[s * per + k]);
              hi = Math.max(hi, a[s * per + k]);
            }
            sum += hi - lo;
          }
          outputSpread = Math.max(outputSpread, sum / per);
        }
      });
      tf.dispose([...tfInputs, ...tfOutputs]);
    }
  } finally {
    await session.release();
  }
  return { samples, maxAbsDiff, maxAbsOutput, outputSpread, onnxruntime: `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim() };
}
