/**
 * Micro-benchmarks of the building blocks on the selected backend (default wasm), the
 * measurements behind the choices in packages/core/src/ops/. Prints one JSON line per case
 * (median ms of `--reps` runs after 2 warm-ups, GFLOP/s where meaningful).
 *
 *   npx vite-node tools/bench/ops.ts [-- --reps 7]            # ZIPPER_THREADS=2 for 2 threads
 *   npx vite-node tools/bench/ops.ts -- --native-only          # only native GEMM vs wasm products
 *
 * Shapes are those of the reference preset (d 256, 4 heads, seq 128, batch 8). The product
 * cases run twice, tagged `[native xN]` (the native GEMM addon, N = ZIPPER_NATIVE_THREADS) and
 * `[wasm]` (`initBackend({ native: false })`: XNNPACK / our bmm.c kernel), in the same process,
 * then whole decoding (128 tokens) in 8 native/wasm pairs of alternating order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../packages/core/src/backend.js';
import { causalAttention } from '../../packages/core/src/ops/attention.js';
import { embedding } from '../../packages/core/src/ops/embedding.js';
import { linear } from '../../packages/core/src/ops/linear.js';
import { generate } from '../../packages/core/src/generate/generate.js';
import { Tower } from '../../packages/core/src/model/tower.js';

const repsArg = process.argv.indexOf('--reps');
const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 7;

/**
 * `read`: also download the result (dataSync), as the older cases do. The product cases pass
 * false: wasm kernels run synchronously, and reading 3 MB back costs ~13 ms on its own.
 */
function time(name: string, flops: number, f: () => tf.Tensor | tf.Tensor[], read = true): void {
  const run = (): number => {
    const t0 = performance.now();
    const out = tf.tidy(() => {
      const r = f();
      const list = Array.isArray(r) ? r : [r];
      if (read) for (const t of list) t.dataSync();
      return list;
    });
    const dt = performance.now() - t0;
    tf.dispose(out);
    return dt;
  };
  run();
  run();
  const ts = Array.from({ length: reps }, run).sort((a, b) => a - b);
  const ms = ts[reps >> 1]!;
  console.log(JSON.stringify({ case: name, ms: +ms.toFixed(3), gflops: flops ? +(flops / ms / 1e6).toFixed(2) : undefined }));
}

const info = await initBackend();
console.log(JSON.stringify({ backend: info.backend, threads: info.threads, simd: info.simd, native: info.native }));

const N = 1024,
  D = 256,
  O = 768,
  V = 512,
  BH = 32,
  T = 128,
  K = 64;
const x = tf.randomNormal([N, D]),
  w = tf.randomNormal([D, O]),
  wT = tf.randomNormal([O, D]),
  dy = tf.randomNormal([N, O]);
const F = 2 * N * D * O;

/** The products of one training step and of decoding, native GEMM vs the wasm kernels. */
async function productCases(): Promise<void> {
  const h1 = tf.randomNormal([1, D]),
    tab = tf.randomNormal([V, D]),
    w4 = tf.randomNormal([D, 4 * D]);
  const qs = tf.randomNormal([BH, T, K]),
    ks = tf.randomNormal([BH, T, K]);
  const q1 = tf.randomNormal([1, 4, 1, K]),
    kc = tf.randomNormal([1, 4, T, K]);
  for (const native of [true, false]) {
    const b = await initBackend({ native });
    const tag = native ? `[native x${b.native.threads} ${b.native.isa}]` : '[wasm]';
    if (native && !b.native.used) {
      console.log(JSON.stringify({ case: 'native GEMM', skipped: b.native.reason }));
      continue;
    }
    time(`${tag} x@w [1024,256]@[256,768]`, F, () => tf.matMul(x, w), false);
    time(`${tag} x@w^T transposeB [1024,256]@[768,256]^T`, F, () => tf.matMul(x, wT, false, true), false);
    time(`${tag} x^T@dy transposeA [1024,256]^T@[1024,768]`, F, () => tf.matMul(x, dy, true, false), false);
    time(`${tag} dy@w^T [1024,768]@[256,768]^T`, F, () => tf.matMul(dy, w, false, true), false);
    time(`${tag} mlp up [1024,256]@[256,1024]`, 2 * N * D * 4 * D, () => tf.matMul(x, w4), false);
    time(`${tag} scores batched [32,128,64]@[32,128,64]^T`, 2 * BH * T * T * K, () => tf.matMul(qs, ks, false, true), false);
    time(`${tag} decode logits [1,256]@[512,256]^T`, 2 * D * V, () => tf.matMul(h1, tab, false, true), false);
    time(`${tag} decode linear [1,256]@[256,768]`, 2 * D * O, () => tf.matMul(h1, w), false);
    time(`${tag} decode scores [1,4,1,64]@[1,4,128,64]^T`, 2 * 4 * T * K, () => tf.matMul(q1, kc, false, true), false);
  }
  tf.dispose([h1, tab, w4, qs, ks, q1, kc]);
}

/** Whole decoding (reference preset, 128 tokens), native on / off alternating: median ms/token. */
async function generatePairs(pairs: number): Promise<void> {
  const tower = Tower.create({ vocabSize: V, dModel: D, nLayers: 4, nHeads: 4, maxSeqLen: 256 }, { seed: 0 });
  const ms: Record<'native' | 'wasm', number[]> = { native: [], wasm: [] };
  for (let r = 0; r < pairs; r++) {
    for (const native of r % 2 ? [true, false] : [false, true]) {
      await initBackend({ native });
      await generate(tower, [0], { maxNewTokens: 8 });
      const t0 = performance.now();
      await generate(tower, [0], { maxNewTokens: 128 });
      ms[native ? 'native' : 'wasm'].push((performance.now() - t0) / 128);
    }
  }
  tower.dispose();
  const med = (a: number[]) => +[...a].sort((x, y) => x - y)[a.length >> 1]!.toFixed(3);
  console.log(
    JSON.stringify({
      case: `generate 128 tokens, ${pairs} alternating pairs`,
      native_ms_per_token: med(ms.native),
      wasm_ms_per_token: med(ms.wasm),
    }),
  );
}
await productCases();
if (info.native.used) await generatePairs(8);
if (process.argv.includes('--native-only')) process.exit(0);
await initBackend({ native: info.native.used });
time('matMul x@w plain 2-D [1024,256]@[256,768]', F, () => tf.matMul(x, w));
time('matMul x@w^T transposeB flag', F, () => tf.matMul(x, wT, false, true));
time('matMul x@transpose(w^T) explicit', F, () => tf.matMul(x, tf.transpose(wT)));
time('matMul x^T@dy transposeA flag', F, () => tf.matMul(x, dy, true, false));
time('matMul transpose(x)@dy explicit', F, () => tf.matMul(tf.transpose(x), dy));
const lin = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(linear(a, b as tf.Tensor2D)));
const linBuiltin = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)));
time('linear fwd+bwd, ops/linear custom gradient', 3 * F, () => lin([x, w]));
time('linear fwd+bwd, tf.matMul built-in gradient', 3 * F, () => linBuiltin([x, w]));

const q = tf.randomNormal([8, 4, T, K]) as tf.Tensor4D,
  k = tf.randomNormal([8, 4, T, K]) as tf.Tensor4D,
  v = tf.randomNormal([8, 4, T, K]) as tf.Tensor4D;
const FA = 2 * 2 * BH * T * T * K;
const q3 = tf.reshape(q, [BH, T, K]) as tf.Tensor3D,
  k3 = tf.reshape(k, [BH, T, K]) as tf.Tensor3D;
time('scores batched matMul, transposeB flag [32,128,64]', FA / 2, () => tf.matMul(q3, k3, false, true));
time('scores batched matMul, explicit transpose', FA / 2, () => tf.matMul(q3, tf.transpose(k3, [0, 2, 1])));
time('scores per-slice 2-D matMuls (32 x [128,64]@[64,128])', FA / 2, () => {
  const kt = tf.unstack(tf.transpose(k3, [0, 2, 1]));
  return tf.stack(tf.unstack(q3).map((a, i) => tf.matMul(a, kt[i]!)));
});
const plainAttn = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor => {
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
  const s = tf.add(tf.mul(tf.matMul(a, b, false, true), 1 / Math.sqrt(K)), tf.mul(tf.sub(1, mask), -1e9));
  return tf.matMul(tf.softmax(s, -1), c);
};
time('attention fwd, ops/attention [8,4,128,64]', FA, () => causalAttention(q, k, v));
time('attention fwd, plain TF.js', FA, () => plainAttn(q, k, v));
const attnG = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
  tf.sum(causalAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D)),
);
const plainG = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(plainAttn(a, b, c)));
time('attention fwd+bwd, ops/attention custom gradient', 3 * FA, () => attnG([q, k, v]));
time('attention fwd+bwd, plain TF.js built-in gradients', 3 * FA, () => plainG([q, k, v]));

const q1 = tf.randomNormal([1, 4, 1, K]) as tf.Tensor4D,
  kc = tf.randomNormal([1, 4, T, K]) as tf.Tensor4D,
  vc = tf.randomNormal([1, 4, T, K]) as tf.Tensor4D;
time('decode attention T=1 S=128, ops/attention (rank-4 matMuls)', 0, () => causalAttention(q1, kc, vc));
time('decode attention T=1 S=128, elementwise sum(q*k) formulation', 0, () => {
  const p = tf.softmax(tf.mul(tf.transpose(tf.sum(tf.mul(q1, kc), 3, true), [0, 1, 3, 2]), 1 / Math.sqrt(K)), -1); // [1, H, 1, S]
  return tf.sum(tf.mul(tf.transpose(p, [0, 1, 3, 2]), vc), 2, true);
});

const ids = tf.randomUniform([8, T], 0, V, 'int32') as tf.Tensor2D,
  table = tf.randomNormal([V, D]) as tf.Tensor2D;
const embG = tf.grad((t: tf.Tensor) => tf.sum(embedding(ids, t as tf.Tensor2D)));
time('embedding bwd, unsortedSegmentSum (wasm JS kernel)', 0, () => embG(table));
time('embedding bwd alternative, oneHot^T @ dy', 2 * N * V * D, () =>
  tf.matMul(tf.transpose(tf.oneHot(tf.reshape(ids, [-1]), V)), tf.ones([N, D])),
);
