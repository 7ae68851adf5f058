/**
 * Where a training step's time goes: tf.profile of one forward + backward of the reference
 * preset (same as `zipper bench train`, without the optimizer), aggregated per kernel.
 *
 *   npx vite-node -c vitest.config.ts tools/bench/profile.ts [train|generate]
 *
 * Prints one JSON line per kernel (total ms, calls, share), largest first.
 */
import * as tf from '@tensorflow/tfjs-core';
import { generate, initBackend, maskedCrossEntropy, Tower } from '@zipper/core';

const mode = process.argv[2] ?? 'train';
const info = await initBackend();
const tower = Tower.create({ vocabSize: 512, dModel: 256, nLayers: 4, nHeads: 4, maxSeqLen: 256 }, { seed: 0 });
const ids = tf.tensor2d(
  Array.from({ length: 8 * 129 }, (_, i) => (i * 7919) % 512),
  [8, 129],
  'int32',
);
const inputs = tf.slice(ids, [0, 0], [8, 128]) as tf.Tensor2D;
const targets = tf.slice(ids, [0, 1], [8, 128]) as tf.Tensor2D;
const mask = tf.onesLike(targets) as tf.Tensor2D;
const vars = [...tower.params.values()];

const work = async (): Promise<void> => {
  if (mode === 'train') {
    tf.tidy(() => {
      const r = tf.variableGrads(() => maskedCrossEntropy(tower.forward(inputs).logits, targets, mask, 8 * 128), vars);
      for (const g of Object.values(r.grads)) g.dataSync();
    });
  } else {
    await generate(tower, [0], { maxNewTokens: 128 });
  }
};
await work();
const t0 = performance.now();
await work();
const wall = performance.now() - t0;
const prof = await tf.profile(work as unknown as () => tf.TensorContainer);
const by = new Map<string, { ms: number; calls: number }>();
for (const k of prof.kernels) {
  const e = by.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += k.kernelTimeMs as number;
  e.calls += 1;
  by.set(k.name, e);
}
const total = [...by.values()].reduce((a, b) => a + b.ms, 0);
console.log(
  JSON.stringify({
    mode,
    backend: info.backend,
    threads: info.threads,
    wall_ms: +wall.toFixed(1),
    kernel_ms: +total.toFixed(1),
    kernels: prof.kernels.length,
  }),
);
for (const [name, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  console.log(JSON.stringify({ kernel: name, ms: +e.ms.toFixed(2), calls: e.calls, share: +(e.ms / total).toFixed(3) }));
}
