/**
 * `saveTensors` / `loadTensors`: any named tensors <-> one safetensors file (atomic write, `writeFileAtomic` of @zipper/common/node).
 * Used for tower weights and reusable for optimizer state. Loaded tensors belong to the caller.
 */
import { promises as fs } from 'node:fs';
import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors } from '@zipper/common';
import { writeFileAtomic, type WriteHook } from '@zipper/common/node';
import { toHostTensors, toTfTensors } from './host-tensors.js';

export { toHostTensors, toTfTensors } from './host-tensors.js';

export interface SaveTensorsOptions {
  /** Storage of float tensors; int32 tensors are stored as I32. Default float32. */
  readonly dtype?: 'float32' | 'float16';
  readonly metadata?: Readonly<Record<string, string>>;
  /** Fault injection for tests (see atomic.ts). */
  readonly hook?: WriteHook;
}

export async function saveTensors(
  file: string,
  tensors: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>,
  options: SaveTensorsOptions = {},
): Promise<void> {
  const bytes = encodeSafetensors(await toHostTensors(tensors), options);
  await writeFileAtomic(file, bytes, options.hook);
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
