/**
 * What freezing saves: one forward + backward (tf.variableGrads of the masked cross-entropy) of
 * the reference preset tower (V 512, D 256, 4 layers, 4 heads; batch 8 x 128 tokens, as
 * `zipper bench train`) in three modes, interleaved round by round:
 *   all          every weight trained
 *   frozen-old   only emb.weight trained, no watched set: the ops still compute every dW (the
 *                cost before ops/tape.ts's withWatchedVariables)
 *   frozen       only emb.weight trained, inside withWatchedVariables([emb.weight]): the block
 *                weights and norm scales are constants, no dW
 * Prints one JSON line per mode (median / min ms over the rounds, BatchMatMul calls from one
 * tf.profile), then the same-run ratios.
 *
 *   flock /tmp/zipper-bench.lock npx vite-node -c vitest.config.ts tools/bench/frozen.ts [-- --rounds 9]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, maskedCrossEntropy, Tower, withWatchedVariables } from '@zipper/core';

const arg = process.argv.indexOf('--rounds');
const rounds = arg > 0 ? Number(process.argv[arg + 1]) : 9;
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
const all = [...tower.params.values()];
const emb = [tower.params.get('emb.weight')!];

const step = (vars: tf.Variable[]) => (): void =>
  tf.tidy(() => {
    const r = tf.variableGrads(() => maskedCrossEntropy(tower.forward(inputs).logits, targets, mask, 8 * 128), vars);
    for (const g of Object.values(r.grads)) g.dataSync();
  });
const modes: Record<string, () => void> = {
  all: step(all),
  'frozen-old': step(emb),
  frozen: () => withWatchedVariables(emb, step(emb)),
};

const times = new Map<string, number[]>(Object.keys(modes).map((m) => [m, []]));
for (const f of Object.values(modes)) f(); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const [name, f] of Object.entries(modes)) {
    const t0 = performance.now();
    f();
    times.get(name)!.push(performance.now() - t0);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const med = new Map<string, number>();
for (const [name, f] of Object.entries(modes)) {
  const prof = await tf.profile(() => {
    f();
    return [];
  });
  const bmm = prof.kernels.filter((k) => k.name === 'BatchMatMul');
  const t = times.get(name)!;
  med.set(name, median(t));
  console.log(
    JSON.stringify({
      mode: name,
      backend: info.backend,
      native: info.native.used,
      rounds,
      median_ms: +median(t).toFixed(1),
      min_ms: +Math.min(...t).toFixed(1),
      batchmatmul_calls: bmm.length,
      batchmatmul_ms: +bmm.reduce((a, k) => a + (k.kernelTimeMs as number), 0).toFixed(1),
    }),
  );
}
console.log(
  JSON.stringify({
    frozen_over_all: +(med.get('frozen')! / med.get('all')!).toFixed(3),
    frozen_over_frozen_old: +(med.get('frozen')! / med.get('frozen-old')!).toFixed(3),
  }),
);
tf.dispose([ids, inputs, targets, mask]);
tower.dispose();
