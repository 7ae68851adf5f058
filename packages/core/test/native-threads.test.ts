/**
 * The native GEMM on the threaded wasm build (ZIPPER_THREADS=2): the wasm heap is then a
 * SharedArrayBuffer, and the addon reads and writes views of it in place. Products (2-D with
 * flags, batched) equal the cpu backend's, with 1 and 2 native threads. Runs in its own process
 * (vitest forks per file). Skipped, with the reason printed, where the binary cannot load.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { loadNativeGemm, nativeInfo } from '../src/kernels/native.js';

const native = loadNativeGemm();
if (!native) console.log(`native-threads: skipped: ${nativeInfo().reason}`);

const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k));

describe.skipIf(!native)('native GEMM on the threaded wasm build', () => {
  it('works in place on the SharedArrayBuffer heap and equals the cpu backend', async () => {
    const info = await initBackend({ backend: 'wasm', threads: 2, native: true });
    expect(info.threads).toBe(2);
    expect(info.native.used).toBe(true);
    const probe = tf.zeros([4]);
    const heap = (tf.backend() as BackendWasm).typedArrayFromHeap(probe);
    expect(heap.buffer).toBeInstanceOf(SharedArrayBuffer);
    probe.dispose();

    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor2d(values(257 * 131, 0.3), [257, 131]);
        const b = tf.tensor2d(values(127 * 131, 0.7), [127, 131]);
        const q = tf.tensor3d(values(6 * 13 * 11, 0.1), [6, 13, 11]);
        const k = tf.tensor3d(values(6 * 7 * 11, 0.2), [6, 7, 11]);
        return [
          ...tf.matMul(a, b, false, true).dataSync(),
          ...tf.matMul(tf.transpose(a), b, true, true).dataSync(),
          ...tf.matMul(q, k, false, true).dataSync(),
        ];
      });
    const got: number[][] = [];
    for (const threads of [1, 2]) {
      expect((await initBackend({ nativeThreads: threads })).native.threads).toBe(threads);
      got.push(run());
    }
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    for (const g of got) {
      expect(g.length).toBe(ref.length);
      g.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref[i]!))));
    }
    await initBackend({ nativeThreads: 1 });
  });

  it('rejects a bad thread count with a message that names the range', async () => {
    await expect(initBackend({ nativeThreads: 9 })).rejects.toThrow(/1 to 8/);
  });
});
