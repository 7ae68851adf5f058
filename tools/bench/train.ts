/**
 * Training-step benchmark on the selected backend (default wasm). Prints one JSON line per case:
 * median ms of `--reps` runs after 2 warm-ups, and tokens/s for whole steps.
 *
 *   npx vite-node tools/bench/train.ts [-- --reps 5]
 *
 * Shapes: the reference preset (d 256, 4 layers, 4 heads), V 512, batch 8, seq 128.
 * Cases: a whole Trainer step; its parts (gradients of one batch, clip + AdamW update); the
 * masked loss with its gradient; and, as references measured in the same run, TF.js's own
 * `tf.train.adam` update on the same gradients, the autodiff logSoftmax * one-hot loss and a
 * gather-based cross-entropy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../packages/core/src/backend.js';
import { Tower } from '../../packages/core/src/model/tower.js';
import {
  AdamW,
  BatchIterator,
  InProcessGradients,
  Trainer,
  clipByGlobalNorm,
  countTargets,
  maskedCrossEntropy,
} from '../../packages/core/src/train/index.js';

const repsArg = process.argv.indexOf('--reps');
const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 5;

async function time(
  name: string,
  f: () => unknown | Promise<unknown>,
  extra: (ms: number) => Record<string, number> = () => ({}),
): Promise<number> {
  const run = async () => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  await run();
  await run();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) ts.push(await run());
  ts.sort((a, b) => a - b);
  const ms = ts[reps >> 1]!;
  console.log(JSON.stringify({ case: name, ms: +ms.toFixed(2), ...extra(ms) }));
  return ms;
}

const info = await initBackend();
console.log(JSON.stringify({ backend: info.backend, threads: info.threads, simd: info.simd, reps }));

const V = 512,
  B = 8,
  T = 128;
const config = { vocabSize: V, dModel: 256, nLayers: 4, nHeads: 4, maxSeqLen: T };
const tower = Tower.create(config, { seed: 1 });
const seqs = Array.from({ length: 64 }, (_, s) => Array.from({ length: T + 1 }, (_, i) => (i * 31 + s * 17 + ((i * i) % 7)) % V));
const data = new BatchIterator(seqs, { batchSize: B, seqLen: T, seed: 1 });
const trainer = new Trainer(tower, data, { schedule: { peakLr: 1e-4, totalSteps: 1000 } });
const tokens = B * T;
const before = tf.memory().numTensors;
await time(
  'trainer step (grads + clip + AdamW), B 8, T 128',
  () => trainer.trainStep(),
  (ms) => ({ tokensPerSecond: Math.round(tokens / (ms / 1000)) }),
);
console.log(JSON.stringify({ case: 'tensor count change over the step runs', delta: tf.memory().numTensors - before }));

const names = [...tower.params.keys()];
const strategy = new InProcessGradients(tower);
const batch = data.next();
const denominator = countTargets([batch]);
const grads = await strategy.computeGradients(batch, { trainable: names, denominator });
await time('gradients of one batch (forward + backward)', () => {
  const r = strategy.computeGradients(batch, { trainable: names, denominator });
  tf.dispose([r.loss, ...r.grads.values()]);
});

// Updates on copies so the tower is untouched; both optimizers see the same gradients.
const copies = new Map([...tower.params].map(([k, v]) => [k, tf.variable(v.clone(), true)]));
const adamw = new AdamW(copies, names, { weightDecay: 0.1 });
const ours = await time('clip + AdamW update (ours)', () => {
  tf.tidy(() => adamw.apply(clipByGlobalNorm(grads.grads, 1).grads, 1e-4));
  return copies.get('emb.weight')!.data();
});
const ref = tf.train.adam(1e-4, 0.9, 0.95, 1e-8);
const named = names.map((k) => ({ name: copies.get(k)!.name, tensor: grads.grads.get(k)! }));
const theirs = await time('tf.train.adam update, no clipping (reference)', () => {
  ref.applyGradients(named);
  return copies.get('emb.weight')!.data();
});
console.log(JSON.stringify({ case: 'update ratio ours / tf.train.adam', ratio: +(ours / theirs).toFixed(2) }));

const logits = tf.randomNormal([B, T, V]) as tf.Tensor3D;
const targets = tf.tensor2d(batch.targets, [B, T], 'int32');
const mask = tf.tensor2d(batch.mask, [B, T]);
const lossGrad = tf.grad((x: tf.Tensor) => maskedCrossEntropy(x as tf.Tensor3D, targets, mask));
const oursMs = await time('masked CE value + gradient [8,128,512] (ours: fused custom gradient)', () =>
  tf.tidy(() => lossGrad(logits).dataSync()),
);
const plainGrad = tf.grad((x: tf.Tensor) => {
  const logp = tf.logSoftmax(tf.reshape(x, [B * T, V]));
  const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(tf.reshape(targets, [-1]), V)), 1));
  return tf.div(tf.sum(tf.mul(nll, tf.reshape(mask, [-1]))), tf.sum(mask));
});
const plainMs = await time('masked CE value + gradient, autodiff logSoftmax * one-hot (reference)', () =>
  tf.tidy(() => plainGrad(logits).dataSync()),
);
const flatIdx = tf.tensor1d(
  Array.from(batch.targets, (t, n) => n * V + t),
  'int32',
);
const gatherGrad = tf.grad((x: tf.Tensor) => {
  const x2 = tf.reshape(x, [B * T, V]);
  const nll = tf.sub(tf.logSumExp(x2, 1), tf.gather(tf.reshape(x2, [-1]), flatIdx));
  return tf.div(tf.sum(tf.mul(nll, tf.reshape(mask, [-1]))), tf.sum(mask));
});
const gatherMs = await time('masked CE value + gradient, gather + logSumExp (reference)', () =>
  tf.tidy(() => gatherGrad(logits).dataSync()),
);
console.log(JSON.stringify({ case: 'loss ratio ours / autodiff one-hot reference', ratio: +(oursMs / plainMs).toFixed(2) }));
console.log(JSON.stringify({ case: 'loss ratio ours / gather reference', ratio: +(oursMs / gatherMs).toFixed(2) }));
