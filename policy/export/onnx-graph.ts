/**
 * The ONNX graph being built for one tfjs model: nodes, initializers (weights), and the values
 * that flow between layers, each with its layout.
 *
 * tfjs keeps images channels-last (NHWC); ONNX's Conv, pooling, BatchNormalization and Resize
 * want channels-first (NCHW). A value therefore carries its layout: `native` (exactly the tfjs
 * tensor) or `nchw` (a 4-D tfjs tensor transposed to channels-first). Layers that care ask for
 * the layout they need (`native()`, `nchw()`) and a Transpose is added once per value; the graph's
 * inputs and outputs are always native, so the exported model takes and returns what the tfjs
 * model does.
 *
 * The protobuf messages are onnx-proto's (the ONNX schema compiled with protobufjs).
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

export const { onnx } = onnxProto;
export type Shape = ReadonlyArray<number | null>;
export type Layout = 'native' | 'nchw';

/** A tensor in the graph: its name, layout, and shape as tfjs reports it (batch first, null). */
export interface Value {
  name: string;
  layout: Layout;
  /** The tfjs (native) shape, whatever the layout; batch is null. */
  shape: Shape;
}

type Attr = Onnx.IAttributeProto;
const AT = onnx.AttributeProto.AttributeType;

export const attr = {
  int: (name: string, i: number): Attr => ({ name, type: AT.INT, i }),
  ints: (name: string, ints: number[]): Attr => ({ name, type: AT.INTS, ints }),
  float: (name: string, f: number): Attr => ({ name, type: AT.FLOAT, f }),
  string: (name: string, s: string): Attr => ({ name, type: AT.STRING, s: new TextEncoder().encode(s) }),
};

/** An error that names the layer and what the exporter would need. */
export class OnnxExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxExportError';
  }
}

export class OnnxGraph {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly transposed = new Map<string, Value>();

  /** A name not used yet, based on `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name exactly (graph inputs and outputs keep the tfjs names). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new OnnxExportError(`two tensors would be named ${name}`);
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns the name of its (first) output. */
  node(opType: string, inputs: string[], base: string, attributes: Attr[] = [], output?: string): string {
    const out = output ?? this.unique(`${base}/${opType}`);
    this.nodes.push({ opType, input: inputs, output: [out], name: this.unique(`${base}/${opType}_node`), attribute: attributes });
    return out;
  }

  /** A float32 initializer. */
  floats(base: string, dims: number[], data: Float32Array | number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new OnnxExportError(`${base}: ${values.length} values for shape [${dims.join(', ')}]`);
    const name = this.unique(base);
    const raw = new Uint8Array(values.byteLength);
    new Float32Array(raw.buffer).set(values); // little-endian on every platform tfjs runs on
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return name;
  }

  /** An int64 initializer (shapes, axes, pads). */
  int64s(base: string, values: number[]): string {
    const name = this.unique(base);
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw });
    return name;
  }

  /** The value in tfjs's own layout (a Transpose back from NCHW when needed, made once). */
  native(v: Value): Value {
    if (v.layout === 'native') return v;
    const key = `${v.name}>native`;
    let t = this.transposed.get(key);
    if (!t) {
      t = { name: this.node('Transpose', [v.name], `${v.name}/to_nhwc`, [attr.ints('perm', [0, 2, 3, 1])]), layout: 'native', shape: v.shape };
      this.transposed.set(key, t);
    }
    return t;
  }

  /** A 4-D value in channels-first layout (a Transpose from NHWC when needed, made once). */
  nchw(v: Value, layer: string): Value {
    if (v.layout === 'nchw') return v;
    if (v.shape.length !== 4) throw new OnnxExportError(`layer ${layer} expects a 4-D image tensor [batch, height, width, channels], got shape [${v.shape.join(', ')}]`);
    const key = `${v.name}>nchw`;
    let t = this.transposed.get(key);
    if (!t) {
      t = { name: this.node('Transpose', [v.name], `${v.name}/to_nchw`, [attr.ints('perm', [0, 3, 1, 2])]), layout: 'nchw', shape: v.shape };
      this.transposed.set(key, t);
    }
    return t;
  }

  /** Maps a tfjs axis of `v`'s native shape to the axis in its current layout. */
  axis(v: Value, tfjsAxis: number): number {
    const rank = v.shape.length;
    const a = tfjsAxis < 0 ? rank + tfjsAxis : tfjsAxis;
    if (v.layout === 'native') return a;
    return [0, 2, 3, 1][a]; // NHWC axis → NCHW axis
  }
}

/** Value info for a graph input or output: float32 with a symbolic batch. */
export function valueInfo(name: string, shape: Shape, doc?: string): Onnx.IValueInfoProto {
  return {
    name,
    docString: doc,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: shape.map((d) => (d === null ? { dimParam: 'batch' } : { dimValue: d })) } } },
  };
}
