/**
 * tfjs layers model → ONNX model (protobuf bytes), for running a policy outside the project:
 * onnxruntime in ROS 2 nodes, Python, C++, browsers.
 *
 * The tfjs model's topology is walked in order and each layer becomes ONNX nodes through the
 * per-class table in onnx-layers.ts; weights become float32 initializers. Normalization needs no
 * special case: the saved models hold it as fixed layers (policy/models/layers.ts), which export
 * like any other. The ONNX graph keeps the tfjs model's input and output names and shapes
 * (channels-last images, a symbolic batch dimension) and is opset 17, IR version 8.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { OnnxExportError, OnnxGraph, onnx, valueInfo } from './onnx-graph.ts';
import type { Value } from './onnx-graph.ts';
import { LAYERS } from './onnx-layers.ts';
import type { LayerView } from './onnx-layers.ts';

export { OnnxExportError } from './onnx-graph.ts';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Written as the model's doc string. */
  description?: string;
  /** Extra key/value metadata (e.g. the model card). */
  metadata?: Record<string, string>;
  /** Doc strings for graph inputs and outputs, by tfjs name. */
  docs?: Record<string, string>;
  producerVersion?: string;
}

export interface OnnxExport {
  bytes: Uint8Array;
  inputs: Array<{ name: string; shape: Array<number | null> }>;
  outputs: Array<{ name: string; shape: Array<number | null> }>;
  /** ONNX nodes by op type. */
  ops: Record<string, number>;
}

type InboundNode = Array<[string, number, number, unknown]>;
interface LayerJson {
  class_name: string;
  name?: string;
  config: { name: string; batch_input_shape?: Array<number | null> };
  inbound_nodes?: InboundNode[];
}
interface ModelJson {
  class_name: string;
  config: { layers: LayerJson[]; input_layers?: Array<[string, number, number]>; output_layers?: Array<[string, number, number]> } | LayerJson[];
}

function view(model: LayersModel, name: string): LayerView {
  const layer = model.getLayer(name);
  return {
    name,
    className: layer.getClassName(),
    config: layer.getConfig() as Record<string, unknown>,
    weights: layer.getWeights().map((w) => ({ shape: w.shape as number[], data: w.dataSync() as Float32Array })),
    outputShape: layer.outputShape as Array<number | null>,
  };
}

export function exportOnnx(model: LayersModel, options: OnnxExportOptions = {}): OnnxExport {
  const g = new OnnxGraph();
  const values = new Map<string, Value>();
  const inputs: OnnxExport['inputs'] = [];
  const json = model.toJSON(null, false) as unknown as ModelJson;
  const functional = !Array.isArray(json.config) && Array.isArray(json.config.layers) && json.config.input_layers !== undefined;

  const addInput = (name: string, shape: Array<number | null>): Value => {
    if (shape[0] !== null) throw new OnnxExportError(`input ${name} has a fixed batch size ${shape[0]}; the exporter expects a free batch dimension`);
    const v: Value = { name: g.reserve(name), layout: 'native', shape };
    inputs.push({ name, shape });
    return v;
  };
  const convert = (name: string, className: string, ins: Value[]): Value => {
    const convert = LAYERS[className];
    if (!convert) {
      throw new OnnxExportError(`layer ${name} is a ${className}, which the ONNX exporter does not know (known: ${Object.keys(LAYERS).join(', ')}); add an entry to LAYERS in policy/export/onnx-layers.ts`);
    }
    return convert(g, view(model, name), ins);
  };

  let outputNames: string[];
  if (functional) {
    const cfg = json.config as Exclude<ModelJson['config'], LayerJson[]>;
    for (const l of cfg.layers) {
      const name = l.config.name ?? l.name;
      if (l.class_name === 'InputLayer') {
        values.set(name, addInput(name, l.config.batch_input_shape ?? (model.getLayer(name).outputShape as Array<number | null>)));
        continue;
      }
      const inbound = l.inbound_nodes ?? [];
      if (inbound.length !== 1) throw new OnnxExportError(`layer ${name} is applied ${inbound.length} times; shared layers are not exported`);
      const ins = inbound[0].map(([from, nodeIndex, tensorIndex]) => {
        const v = values.get(from);
        if (!v || nodeIndex !== 0 || tensorIndex !== 0) throw new OnnxExportError(`layer ${name} reads ${from}[${nodeIndex}][${tensorIndex}], which the exporter has not produced`);
        return v;
      });
      values.set(name, convert(name, l.class_name, ins));
    }
    outputNames = cfg.output_layers!.map(([n, nodeIndex, tensorIndex]) => {
      if (nodeIndex !== 0 || tensorIndex !== 0) throw new OnnxExportError(`output ${n}[${nodeIndex}][${tensorIndex}]: only single-output layers are exported`);
      return n;
    });
  } else {
    // Sequential: one input, each layer feeds the next.
    const layers = model.layers;
    let v = addInput(`${model.name}_input`, model.inputs[0].shape as Array<number | null>);
    for (const layer of layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      v = convert(layer.name, layer.getClassName(), [v]);
      values.set(layer.name, v);
    }
    outputNames = [layers[layers.length - 1].name];
  }

  const outputs: OnnxExport['outputs'] = [];
  for (const name of outputNames) {
    const v = g.native(values.get(name)!);
    const out = g.reserve(name === v.name || inputs.some((i) => i.name === name) ? `${name}_output` : name);
    g.node('Identity', [v.name], name, [], out);
    outputs.push({ name: out, shape: [...v.shape] });
  }

  const docs = options.docs ?? {};
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'simreal',
    producerVersion: options.producerVersion ?? '',
    docString: options.description ?? '',
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: inputs.map((i) => valueInfo(i.name, i.shape, docs[i.name])),
      output: outputs.map((o) => valueInfo(o.name, o.shape, docs[o.name])),
    },
  });
  const ops: Record<string, number> = {};
  for (const n of g.nodes) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  return { bytes: onnx.ModelProto.encode(proto).finish(), inputs, outputs, ops };
}
