/**
 * `Identity` for the wasm backend without a copy. TF.js's wasm Identity copies the whole
 * tensor; it runs for every `tf.clone`, including each tensor a custom gradient saves for the
 * backward pass (`save([...])` clones), i.e. every activation our ops keep during training.
 * Like the backend's own Reshape, this shares the data and bumps its reference count: wasm
 * tensor data is never written after creation, so sharing is safe.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown };

export function makeIdentityWasm(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return original(args as never);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as tf.KernelFunc;
}
