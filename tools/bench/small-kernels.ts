/**
 * The decode-size kernels (packages/core/src/kernels/rms-norm.ts, small-elementwise.ts) against
 * the TF.js op chains they replace, on a decode row and on a training-size input: the numbers
 * behind their size limit. Prints one JSON line per case (median ms of 51 calls, alternated).
 *
 *   npx vite-node -c vitest.config.ts tools/bench/small-kernels.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@zipper/core';
import { fusedRmsNorm } from '../../packages/core/src/kernels/rms-norm.js';
import { GELU_KERNEL, ROPE_KERNEL } from '../../packages/core/src/kernels/small-elementwise.js';
import { ropeTables } from '../../packages/core/src/model/rope.js';

const info = await initBackend({ backend: 'wasm' });
console.log(JSON.stringify({ backend: info.backend, threads: info.threads }));

function median(f: () => tf.Tensor): number {
  const ts: number[] = [];
  for (let i = 0; i < 51; i++) {
    const t0 = performance.now();
    const y = f();
    ts.push(performance.now() - t0);
    y.dispose();
  }
  return ts.sort((a, b) => a - b)[25]!;
}

const C = Math.sqrt(2 / Math.PI);
const a = 2 * C;
const b = 2 * C * 0.044715;
for (const shape of [
  [1, 1, 256],
  [8, 128, 256],
]) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const g = tf.randomNormal([256], 0, 1, 'float32', 2);
  const x4 = tf.reshape(x, [shape[0]!, shape[1]!, 4, 64]);
  const { cos, sin } = ropeTables(0, shape[1]!, 64, 10000);
  const cases: Record<string, [() => tf.Tensor, () => tf.Tensor]> = {
    rmsnorm: [
      () => tf.tidy(() => fusedRmsNorm(x, g, 1e-6)[0]),
      () => tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), g)),
    ],
    gelu: [
      () => tf.engine().runKernel(GELU_KERNEL, { x }, { a, b }) as tf.Tensor,
      () => tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(x, tf.add(tf.mul(tf.square(x), b), a))))),
    ],
    rope: [
      () => tf.engine().runKernel(ROPE_KERNEL, { x: x4 }, { cos: Array.from(cos), sin: Array.from(sin) }) as tf.Tensor,
      () =>
        tf.tidy(() => {
          // the ops path of model/rope.ts: x * cos' + (x @ S) * sin', tables and S made per call
          const t = shape[1]!;
          const rep = (v: Float32Array) =>
            tf.tensor3d(
              Float32Array.from({ length: 2 * v.length }, (_, i) => v[i >> 1]!),
              [t, 1, 64],
            );
          const m = new Float32Array(64 * 64);
          for (let i = 0; i < 64; i += 2) {
            m[(i + 1) * 64 + i] = -1;
            m[i * 64 + i + 1] = 1;
          }
          const swapped = tf.reshape(tf.matMul(tf.reshape(x4, [-1, 64]) as tf.Tensor2D, tf.tensor2d(m, [64, 64])), x4.shape);
          return tf.add(tf.mul(x4, rep(cos)), tf.mul(swapped, rep(sin)));
        }),
    ],
  };
  for (const [name, [one, ops]] of Object.entries(cases)) {
    const r = [median(one), median(ops), median(one), median(ops)];
    console.log(
      JSON.stringify({ case: name, shape, kernel_ms: +((r[0]! + r[2]!) / 2).toFixed(4), ops_ms: +((r[1]! + r[3]!) / 2).toFixed(4) }),
    );
  }
}
