/**
 * A whole Tower forward + backward (masked cross-entropy, gradients of every weight) on the wasm
 * backend gives the same loss and gradients with the native GEMM on as with it off (the wasm
 * kernels: XNNPACK and bmm.c), within 1e-4 relative (float32 sums in a different order), and
 * leaks no tensor. Prime sizes (vocab 37, seq 11, batch 3) so a swapped axis cannot pass.
 * Skipped, with the reason printed, where the binary cannot load.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { loadNativeGemm, nativeInfo } from '../src/kernels/native.js';
import { Tower } from '../src/model/tower.js';
import { maskedCrossEntropy } from '../src/train/loss.js';

const native = loadNativeGemm();
if (!native) console.log(`native-tower: skipped: ${nativeInfo().reason}`);

const B = 3,
  T = 11,
  V = 37;
const ids = Array.from({ length: B * (T + 1) }, (_, i) => (i * 7 + 3) % V);

describe.skipIf(!native)('Tower fwd+bwd with the native GEMM on vs off', () => {
  let tower: Tower;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', native: true });
    tower = Tower.create({ vocabSize: V, dModel: 48, nLayers: 2, nHeads: 4 }, { seed: 7 });
  });
  afterAll(async () => {
    tower.dispose();
    await initBackend({ native: true });
  });

  function lossAndGrads(): { loss: number; grads: Map<string, Float32Array> } {
    const names = [...tower.params.keys()];
    const out = tf.tidy(() => {
      const all = tf.tensor2d(ids, [B, T + 1], 'int32');
      const inputs = tf.slice(all, [0, 0], [B, T]) as tf.Tensor2D;
      const targets = tf.slice(all, [0, 1], [B, T]) as tf.Tensor2D;
      const r = tf.variableGrads(
        () => maskedCrossEntropy(tower.forward(inputs).logits, targets),
        names.map((n) => tower.params.get(n)!),
      );
      return { loss: r.value, grads: names.map((n) => r.grads[tower.params.get(n)!.name]!) };
    });
    const result = { loss: out.loss.dataSync()[0]!, grads: new Map(names.map((n, i) => [n, out.grads[i]!.dataSync() as Float32Array])) };
    tf.dispose([out.loss, ...out.grads]);
    return result;
  }

  it('gives the same loss and gradients, and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    expect((await initBackend({ native: true })).native.used).toBe(true);
    const on = lossAndGrads();
    expect(tf.memory().numTensors).toBe(before);
    expect((await initBackend({ native: false })).native.used).toBe(false);
    const off = lossAndGrads();
    expect(tf.memory().numTensors).toBe(before);

    expect(on.loss).toBeGreaterThan(Math.log(V) - 1);
    expect(Math.abs(on.loss - off.loss)).toBeLessThan(1e-4 * off.loss);
    expect([...on.grads.keys()]).toEqual([...off.grads.keys()]);
    for (const [key, g] of off.grads) {
      const h = on.grads.get(key)!;
      const scale = Math.max(...g.map(Math.abs));
      expect(scale, key).toBeGreaterThan(0);
      let worst = 0;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(h[i]! - g[i]!));
      expect(worst / scale, key).toBeLessThan(1e-4);
    }
  });
});
