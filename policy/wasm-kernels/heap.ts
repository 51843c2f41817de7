/**
 * The wasm backend's heap as the kernels here use it: tensors allocated by the backend, typed
 * views onto their memory, and the backend's own kernels (XNNPACK matmul, transpose) called
 * through tfjs's kernel registry on that memory, so no data leaves the heap.
 *
 * Views must be taken after the last allocation that precedes their use: an allocation can
 * grow the wasm memory, which detaches every earlier view.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataType, TensorInfo } from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's `BackendWasm` these kernels touch. */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number; dtype: DataType } | undefined };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number, values?: Float32Array): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function asWasmBackend(backend: unknown): WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  if (b == null || b.wasm == null || b.dataIdMap == null || typeof b.makeOutput !== 'function') {
    throw new Error('these kernels run on the tfjs wasm backend only');
  }
  return b as WasmBackend;
}

/** A float32 view of a tensor's memory; take it again after any allocation. */
export function f32(backend: WasmBackend, t: TensorInfo): Float32Array {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null) throw new Error('tensor is not on the wasm backend (was it disposed?)');
  if (data.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${data.dtype}`);
  const size = t.shape.reduce((a, b) => a * b, 1);
  return new Float32Array(backend.wasm.HEAPU8.buffer, data.memoryOffset, size);
}

/** A new float32 tensor on the heap, contents undefined. */
export function alloc(backend: WasmBackend, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

export function free(backend: WasmBackend, t: TensorInfo): void {
  backend.disposeData(t.dataId);
}

/** The same memory seen with another shape of the same size (no copy, no new reference). */
export function viewAs(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function runKernel(name: string, backend: WasmBackend, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>): TensorInfo {
  const config = tf.getKernel(name, 'wasm');
  if (config == null) throw new Error(`the wasm backend has no ${name} kernel`);
  return config.kernelFunc({ inputs, backend: backend as object, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
}

/**
 * out[M, N] = a[M, K] · b[K, N], by the wasm backend's BatchMatMul, which runs XNNPACK's fully
 * connected operator when neither side is transposed (its transposed paths are plain loops).
 * XNNPACK packs `b` once and caches the packed copy under b's tensor id until b is disposed:
 * so `b` must be a tensor whose contents never change while it lives (a fresh one per call).
 */
export function matMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[1] !== b.shape[0]) {
    throw new Error(`matMul: shapes [${a.shape}] and [${b.shape}] do not multiply`);
  }
  return runKernel('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
}

/** The wasm backend's Transpose kernel (a new tensor). */
export function transpose(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runKernel('Transpose', backend, { x }, { perm });
}
