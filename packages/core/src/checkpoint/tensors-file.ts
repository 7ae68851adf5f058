/**
 * `saveTensors` / `loadTensors`: any named tensors <-> one safetensors file (atomic write, `writeFileAtomic` of @zipper/common/node).
 * Used for tower weights and reusable for optimizer state. Loaded tensors belong to the caller.
 */
import { promises as fs } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type HostTensor } from '@zipper/common';
import { writeFileAtomic, type WriteHook } from '@zipper/common/node';

export interface SaveTensorsOptions {
  /** Storage of float tensors; int32 tensors are stored as I32. Default float32. */
  readonly dtype?: 'float32' | 'float16';
  readonly metadata?: Readonly<Record<string, string>>;
  /** Fault injection for tests (see atomic.ts). */
  readonly hook?: WriteHook;
}

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

export async function saveTensors(
  file: string,
  tensors: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>,
  options: SaveTensorsOptions = {},
): Promise<void> {
  const bytes = encodeSafetensors(await toHostTensors(tensors), options);
  await writeFileAtomic(file, bytes, options.hook);
}

/** Host tensors -> tf tensors (the caller owns them). */
export function toTfTensors(host: ReadonlyMap<string, HostTensor>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, t] of host) out.set(name, tf.tensor(t.data, [...t.shape], t.data instanceof Int32Array ? 'int32' : 'float32'));
  return out;
}

export async function readFileOrThrow(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw new CheckpointError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function loadTensors(file: string): Promise<{ tensors: Map<string, tf.Tensor>; metadata: Record<string, string> }> {
  const bytes = await readFileOrThrow(file, 'safetensors file');
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  return { tensors: toTfTensors(tensors), metadata };
}
