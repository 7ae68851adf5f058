// generate() and evaluateLoss() over the Decoder interface with a toy decoder that is not a
// Tower and has a cache type of its own: cached greedy equals uncached argmax (ragged prompts),
// seeded sampling repeats, stop tokens and maxSeqLen end rows, every cache the decoder hands
// out is disposed exactly once, nothing leaks; a decoder that returns no cache is refused.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  argmax,
  generate,
  initBackend,
  ShapeError,
  Tower,
  type Decoder,
  type DecoderForwardOptions,
  type DecoderOutput,
} from '../src/index.js';
import { batchTensors, evaluateLoss, maskedCrossEntropy, type Batch } from '../src/train/index.js';

/** The toy's cache: positions seen and each row's token counts so far ([B, V]). */
interface CountCache {
  readonly length: number;
  readonly counts: tf.Tensor2D | null;
}

/**
 * logits[b, t] = W[ids[b, t]] + 0.7 * (counts of every token in ids[b, 0..t]): the output
 * depends on the whole history, so a wrong cache changes the tokens.
 */
class CountingDecoder implements Decoder<CountCache> {
  readonly vocabSize = 7;
  readonly maxSeqLen = 12;
  /** Caches handed out and not yet disposed. */
  readonly live = new Set<CountCache>();
  disposals = 0;
  private readonly w = tf.tensor2d(
    Float32Array.from({ length: 49 }, (_, i) => 2 * Math.sin(1.3 * i + 0.4)),
    [7, 7],
  ); // [V, V]

  emptyCache(): CountCache {
    const c = { length: 0, counts: null };
    this.live.add(c);
    return c;
  }

  disposeCache(cache: CountCache): void {
    if (!this.live.delete(cache)) throw new Error('cache disposed twice or not ours');
    this.disposals++;
    cache.counts?.dispose();
  }

  forward(ids: tf.Tensor2D, options: DecoderForwardOptions<CountCache> = {}): DecoderOutput<CountCache> {
    const [B, T] = ids.shape;
    const V = this.vocabSize;
    const past = options.cache;
    if (past && past.length + T > this.maxSeqLen) throw new ShapeError('past maxSeqLen');
    const out = tf.tidy(() => {
      const onehot = tf.oneHot(ids, V) as tf.Tensor3D; // [B, T, V]
      let running = tf.cumsum(onehot, 1) as tf.Tensor3D; // [B, T, V]
      if (past?.counts) running = tf.add(running, tf.reshape(past.counts, [B, 1, V]));
      let logits = tf.add(tf.reshape(tf.gather(this.w, tf.reshape(ids, [B * T])), [B, T, V]), tf.mul(running, 0.7)) as tf.Tensor3D;
      if (options.lastOnly) logits = tf.slice(logits, [0, T - 1, 0], [B, 1, V]);
      const counts = tf.reshape(tf.slice(running, [0, T - 1, 0], [B, 1, V]), [B, V]) as tf.Tensor2D;
      return { logits, counts };
    });
    if (!past) {
      out.counts.dispose();
      return { logits: out.logits };
    }
    const cache = { length: past.length + T, counts: out.counts };
    this.live.add(cache);
    return { logits: out.logits, cache };
  }

  dispose(): void {
    this.w.dispose();
  }
}

/** Greedy by the uncached forward over the whole sequence, each step. */
function uncachedGreedy(d: CountingDecoder, prompt: number[], n: number): number[] {
  const row = [...prompt];
  for (let i = 0; i < n && row.length < d.maxSeqLen + 1; i++) {
    const last = tf.tidy(() => {
      const logits = d.forward(tf.tensor2d([row], undefined, 'int32')).logits;
      return tf.slice(logits, [0, row.length - 1, 0], [1, 1, d.vocabSize]).dataSync();
    });
    row.push(argmax(last));
  }
  return row.slice(prompt.length);
}

beforeAll(async () => {
  await initBackend();
});

describe('generate over a non-Tower Decoder', () => {
  it('greedy equals uncached argmax for ragged prompts; every cache disposed once; no leak', async () => {
    const d = new CountingDecoder();
    const prompts = [
      [1, 2, 3],
      [6, 0],
      [4, 4, 5],
    ];
    const before = tf.memory().numTensors;
    const res = await generate(d, prompts, { maxNewTokens: 6 });
    expect(tf.memory().numTensors).toBe(before);
    expect(d.live.size).toBe(0);
    expect(d.disposals).toBe(2 * (1 + 6)); // two length groups: the empty cache + one per forward
    prompts.forEach((p, i) => expect(res.tokens[i], `row ${i}`).toEqual(uncachedGreedy(d, p, 6)));
    expect(new Set(res.tokens.flat()).size).toBeGreaterThan(2); // not a constant sequence
    d.dispose();
  });

  it('keeps the sampling options: seeded sampling repeats, stop tokens and maxSeqLen end rows', async () => {
    const d = new CountingDecoder();
    const opts = { maxNewTokens: 8, temperature: 1.5, topK: 4, topP: 0.9 } as const;
    const a = await generate(d, [2, 5], { ...opts, seed: 3 });
    const b = await generate(d, [2, 5], { ...opts, seed: 3 });
    expect(a).toEqual(b);
    const seeds = await Promise.all([4, 5, 6, 7].map((seed) => generate(d, [2, 5], { ...opts, seed })));
    expect(seeds.some((r) => JSON.stringify(r.tokens) !== JSON.stringify(a.tokens))).toBe(true);
    const greedy = (await generate(d, [1, 2, 3], { maxNewTokens: 6 })).tokens[0]!;
    const stop = greedy[2]!;
    const stopped = await generate(d, [1, 2, 3], { maxNewTokens: 6, stopTokens: [stop] });
    expect(stopped.tokens[0]).toEqual(greedy.slice(0, greedy.indexOf(stop)));
    expect(stopped.finishReasons).toEqual(['stop']);
    const long = await generate(d, [1, 2, 3], { maxNewTokens: 50 }); // 3 prompt + 10 new = maxSeqLen + 1
    expect(long.tokens[0]).toHaveLength(10);
    expect(long.finishReasons).toEqual(['length']);
    await expect(generate(d, [1, 7], { maxNewTokens: 2 })).rejects.toThrow(/outside the vocabulary \[0, 7\)/);
    expect(d.live.size).toBe(0);
    d.dispose();
  });

  it('refuses a decoder that returns no cache, leaking nothing', async () => {
    const d = new CountingDecoder();
    const forgetful: Decoder<CountCache> = {
      vocabSize: d.vocabSize,
      maxSeqLen: d.maxSeqLen,
      emptyCache: () => d.emptyCache(),
      disposeCache: (c) => d.disposeCache(c),
      forward: (ids, o) => {
        const r = d.forward(ids, o);
        if (r.cache) d.disposeCache(r.cache);
        return { logits: r.logits };
      },
    };
    const before = tf.memory().numTensors;
    await expect(generate(forgetful, [1, 2], { maxNewTokens: 3 })).rejects.toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(before);
    expect(d.live.size).toBe(0);
    d.dispose();
  });

  it('a Tower is a Decoder; evaluateLoss takes any decoder', () => {
    const tower = Tower.create({ vocabSize: 7, dModel: 8, nLayers: 1, nHeads: 2, maxSeqLen: 12 }, { seed: 1 });
    const asDecoder: Decoder<unknown> = tower as Decoder<unknown>;
    expect([asDecoder.vocabSize, asDecoder.maxSeqLen]).toEqual([7, 12]);
    tower.dispose();
    const d = new CountingDecoder();
    const batch: Batch = {
      batchSize: 2,
      seqLen: 5,
      inputs: Int32Array.from([1, 2, 3, 4, 5, 6, 0, 1, 2, 3]),
      targets: Int32Array.from([2, 3, 4, 5, 6, 0, 1, 2, 3, 4]),
      mask: Float32Array.from([1, 1, 0, 1, 1, 1, 1, 1, 0, 1]),
    };
    const ev = evaluateLoss(d, [batch]);
    const direct = tf.tidy(() => {
      const { inputs, targets, mask } = batchTensors(batch);
      return maskedCrossEntropy(d.forward(inputs).logits, targets, mask).dataSync()[0]!;
    });
    expect(ev.targets).toBe(8);
    expect(Math.abs(ev.loss - direct)).toBeLessThan(1e-6);
    expect(ev.streams).toEqual({ tokens: { loss: ev.loss, perplexity: ev.perplexity, targets: 8 } });
    d.dispose();
  });
});
