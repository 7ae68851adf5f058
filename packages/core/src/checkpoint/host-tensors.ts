/** Tensors <-> host arrays for safetensors (browser-safe; files: tensors-file.ts, tower-checkpoint.ts). */
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '@zipper/common';
import { CheckpointError } from '../errors.js';

/** Reads tensor values to the host (float32 or int32) for encoding. */
export async function toHostTensors(
  tensors: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>,
): Promise<Map<string, HostTensor>> {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const out = new Map<string, HostTensor>();
  for (const [name, t] of entries) {
    if (!(t instanceof tf.Tensor)) throw new CheckpointError(`"${name}" is not a tf.Tensor`);
    let data: Float32Array | Int32Array;
    if (t.dtype === 'float32') data = (await t.data()) as Float32Array;
    else if (t.dtype === 'int32' || t.dtype === 'bool') data = Int32Array.from((await t.data()) as Int32Array | Uint8Array);
    else throw new CheckpointError(`tensor "${name}" has dtype ${t.dtype}; only float32, int32 and bool can be saved`);
    out.set(name, { shape: t.shape, data });
  }
  return out;
}

/** Host tensors -> tf tensors (the caller owns them). */
export function toTfTensors(host: ReadonlyMap<string, HostTensor>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, t] of host) out.set(name, tf.tensor(t.data, [...t.shape], t.data instanceof Int32Array ? 'int32' : 'float32'));
  return out;
}
