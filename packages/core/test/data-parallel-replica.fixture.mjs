// A replica factory for the data-parallel tests (plain JS: workers load it with Node directly).
// A tiny bigram model, { params, forward }, with deterministic weights; `failOnCall: n` makes
// forward throw on its n-th call, `exitOnCall: n` ends the worker thread (exit code 3) there and
// `hangOnCall: n` never returns from it; `throwOnCreate` makes the factory itself throw.
import * as tf from '@tensorflow/tfjs-core';

export function createBigram(args = {}) {
  const { vocab = 11, width = 6, failOnCall = 0, exitOnCall = 0, hangOnCall = 0, throwOnCreate = false } = args;
  if (throwOnCreate) throw new Error('bigram replica: planned failure in the factory');
  const values = (n, phase) => Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(1.7 * i + phase));
  const params = new Map([
    ['emb.weight', tf.variable(tf.tensor2d(values(vocab * width, 0.1), [vocab, width]), true, 'bigram.emb')],
    ['out.weight', tf.variable(tf.tensor2d(values(width * vocab, 0.7), [width, vocab]), true, 'bigram.out')],
  ]);
  let calls = 0;
  return {
    params,
    forward(ids) {
      calls += 1;
      if (calls === failOnCall) throw new Error(`bigram replica: planned failure on call ${calls}`);
      if (calls === exitOnCall) process.exit(3);
      if (calls === hangOnCall) for (;;);
      const [B, T] = ids.shape;
      const x = tf.reshape(tf.gather(params.get('emb.weight'), tf.reshape(ids, [B * T])), [B * T, width]);
      return { logits: tf.reshape(tf.matMul(x, params.get('out.weight')), [B, T, vocab]) };
    },
    dispose() {
      for (const v of params.values()) v.dispose();
    },
  };
}
