/**
 * The threaded wasm build under Node (src/parallel/wasm-threads.ts): `initBackend({ threads: 2 })`
 * reports 2 threads, products large enough to be split across the pool equal the cpu backend's,
 * and the process-global state patched during initialization (Blob, URL.createObjectURL,
 * os.cpus) is restored. Runs in its own process (vitest forks per file), so the single-threaded
 * files are unaffected.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';

describe('threaded wasm backend', () => {
  it('starts with 2 threads, computes like cpu, restores patched globals', async () => {
    const blob = globalThis.Blob;
    const create = URL.createObjectURL;
    const cpus = os.cpus().length;
    const info = await initBackend({ backend: 'wasm', threads: 2 });
    expect(info.backend).toBe('wasm');
    expect(info.threads).toBe(2);
    expect(globalThis.Blob).toBe(blob);
    expect(URL.createObjectURL).toBe(create);
    expect(os.cpus().length).toBe(cpus);

    const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k));
    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor2d(values(257 * 131, 0.3), [257, 131]);
        const b = tf.tensor2d(values(131 * 127, 0.7), [131, 127]);
        return Array.from(tf.matMul(a, b).dataSync());
      });
    const got = run();
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    got.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 3));
  });

  it('rejects an out-of-range thread count with a message that names the range', async () => {
    await expect(initBackend({ backend: 'wasm', threads: 9 })).rejects.toThrow(/1 to 4/);
  });
});
