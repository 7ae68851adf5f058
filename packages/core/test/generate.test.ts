/** Generation: greedy parity with uncached argmax, seeded sampling, stop tokens, streaming, leaks. */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmax, ConfigError, generate, initBackend, resolveSamplingConfig, Rng, sampleToken, Tower } from '../src/index.js';

let tower: Tower;
const V = 13;
beforeAll(async () => {
  await initBackend();
  // untied head: with a tied 0.02-std table an untrained tower just repeats its last token
  tower = Tower.create({ vocabSize: V, dModel: 28, nLayers: 2, nHeads: 2, maxSeqLen: 24, tieEmbeddings: false }, { seed: 7 });
  tf.tidy(() => tower.param('head.weight').assign(tf.mul(tower.param('head.weight'), 3)));
});
afterAll(() => tower.dispose());

/** Greedy continuation by re-running the full (uncached) forward each step. */
function uncachedGreedy(prompt: number[][], n: number): number[][] {
  const rows = prompt.map((r) => [...r]);
  for (let i = 0; i < n; i++) {
    const last = tf.tidy(() => {
      const logits = tower.forward(tf.tensor2d(rows, undefined, 'int32')).logits;
      const t = rows[0]!.length;
      return tf.reshape(tf.slice(logits, [0, t - 1, 0], [rows.length, 1, V]), [rows.length, V]).arraySync() as number[][];
    });
    last.forEach((row, b) => rows[b]!.push(argmax(row)));
  }
  return rows.map((r) => r.slice(prompt[0]!.length));
}

const prompts = [
  [1, 5, 2, 11, 3],
  [7, 7, 0, 4, 12],
  [2, 9, 9, 1, 6],
];

describe('generate', () => {
  it('greedy equals the argmax of uncached logits, batch of 3, and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const res = await generate(tower, prompts, { maxNewTokens: 9 });
    expect(tf.memory().numTensors).toBe(before);
    expect(res.tokens).toEqual(uncachedGreedy(prompts, 9));
    expect(new Set(res.tokens.flat()).size).toBeGreaterThan(3); // not a degenerate repeat
    expect(res.finishReasons).toEqual(['length', 'length', 'length']);
  });

  it('top-k = 1 equals greedy even at high temperature', async () => {
    const greedy = await generate(tower, prompts, { maxNewTokens: 6 });
    const k1 = await generate(tower, prompts, { maxNewTokens: 6, temperature: 5, topK: 1, seed: 3 });
    expect(k1.tokens).toEqual(greedy.tokens);
  });

  it('sampling is deterministic per seed and differs across seeds', async () => {
    const opts = { maxNewTokens: 12, temperature: 1, topP: 0.95 };
    const a = await generate(tower, prompts[0]!, { ...opts, seed: 1 });
    const b = await generate(tower, prompts[0]!, { ...opts, seed: 1 });
    const c = await generate(tower, prompts[0]!, { ...opts, seed: 2 });
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    expect(a.tokens[0]).toHaveLength(12);
  });

  it('stop tokens end their row only; the stop token is not returned', async () => {
    const greedy = (await generate(tower, prompts, { maxNewTokens: 9 })).tokens;
    const stop = greedy[1]![3]!; // row 1 produces it at step 3 (or earlier)
    const firstStop = (r: number[]) => r.indexOf(stop);
    const res = await generate(tower, prompts, { maxNewTokens: 9, stopTokens: [stop] });
    res.tokens.forEach((row, b) => {
      const at = firstStop(greedy[b]!);
      if (at < 0) {
        expect(row).toEqual(greedy[b]);
        expect(res.finishReasons[b]).toBe('length');
      } else {
        expect(row).toEqual(greedy[b]!.slice(0, at));
        expect(res.finishReasons[b]).toBe('stop');
      }
    });
    expect(res.finishReasons[1]).toBe('stop');
  });

  it('minNewTokens: no row stops before it; greedy takes the best other token there, then stops as before', async () => {
    const greedy = (await generate(tower, prompts, { maxNewTokens: 9 })).tokens;
    const stop = greedy[0]![0]!; // row 0's first greedy token
    expect((await generate(tower, prompts, { maxNewTokens: 9, stopTokens: [stop] })).tokens[0]).toEqual([]);
    const res = await generate(tower, prompts, { maxNewTokens: 9, stopTokens: [stop], minNewTokens: 4 });
    // step 0 of row 0: the argmax with the stop token's logit at -Infinity
    const logits = tf.tidy(() => {
      const l = tower.forward(tf.tensor2d([prompts[0]!], undefined, 'int32')).logits;
      return Array.from(tf.slice(l, [0, 4, 0], [1, 1, V]).dataSync());
    });
    logits[stop] = -Infinity;
    expect(res.tokens[0]![0]).toBe(argmax(logits));
    res.tokens.forEach((row, b) => {
      expect(row.length, `row ${b}`).toBeGreaterThanOrEqual(4);
      expect(row.slice(0, 4)).not.toContain(stop);
      if (res.finishReasons[b] === 'length') expect(row.length).toBe(9);
    });
    // sampled: the same holds for every seed tried
    for (let seed = 0; seed < 5; seed++) {
      const r = await generate(tower, prompts, { maxNewTokens: 6, stopTokens: [stop], minNewTokens: 6, temperature: 1.5, seed });
      r.tokens.forEach((row, b) => {
        expect(row.length).toBe(6);
        expect(row).not.toContain(stop);
        expect(r.finishReasons[b]).toBe('length');
      });
    }
    await expect(generate(tower, prompts, { maxNewTokens: 3, minNewTokens: 4 })).rejects.toThrow(
      /minNewTokens must be an integer in \[0, maxNewTokens = 3\], got 4/,
    );
    await expect(generate(tower, prompts, { maxNewTokens: 3, minNewTokens: 1.5 })).rejects.toThrow(ConfigError);
  });

  it('onToken streams every returned token in order', async () => {
    const seen: number[][] = [[], [], []];
    const steps: number[] = [];
    const res = await generate(tower, prompts, {
      maxNewTokens: 5,
      temperature: 0.8,
      seed: 4,
      onToken: (e) => (seen[e.row]!.push(e.token), steps.push(e.step)),
    });
    expect(seen).toEqual(res.tokens);
    expect(steps).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
  });

  it('ragged prompts: each row gets what it gets alone, in the caller row order', async () => {
    const before = tf.memory().numTensors;
    const ragged = [[4, 8, 1], [1, 5, 2, 11, 3], [9], [2, 2, 7]];
    const streamed: number[][] = [[], [], [], []];
    const res = await generate(tower, ragged, { maxNewTokens: 6, onToken: (e) => streamed[e.row]!.push(e.token) });
    for (let i = 0; i < ragged.length; i++)
      expect(res.tokens[i]).toEqual((await generate(tower, ragged[i]!, { maxNewTokens: 6 })).tokens[0]);
    expect(streamed).toEqual(res.tokens);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops at maxSeqLen with finish reason "length"', async () => {
    const before = tf.memory().numTensors;
    const res = await generate(tower, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { maxNewTokens: 50 });
    expect(res.tokens[0]).toHaveLength(24 - 10 + 1);
    expect(res.finishReasons).toEqual(['length']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a throwing onToken leaks nothing', async () => {
    const before = tf.memory().numTensors;
    await expect(
      generate(tower, prompts, {
        maxNewTokens: 5,
        onToken: () => {
          throw new Error('consumer gone');
        },
      }),
    ).rejects.toThrow('consumer gone');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sampleToken', () => {
  const logits = [Math.log(1), Math.log(2), Math.log(3), -50];

  it('draws with softmax(logits / T) frequencies', () => {
    const rng = new Rng(123);
    const c = resolveSamplingConfig({ temperature: 1 });
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 6000; i++) counts[sampleToken(logits, c, rng)]!++;
    [1 / 6, 2 / 6, 3 / 6, 0].forEach((p, i) => expect(Math.abs(counts[i]! / 6000 - p)).toBeLessThan(0.025));
  });

  it('top-k and top-p restrict the support', () => {
    const rng = new Rng(9);
    const k2 = resolveSamplingConfig({ temperature: 1, topK: 2 });
    const p = resolveSamplingConfig({ temperature: 1, topP: 0.5 }); // token 2 alone has 1/2
    const p84 = resolveSamplingConfig({ temperature: 1, topP: 0.8 }); // tokens 2, 1 (5/6)
    const seen = { k2: new Set<number>(), p: new Set<number>(), p84: new Set<number>() };
    for (let i = 0; i < 500; i++) {
      seen.k2.add(sampleToken(logits, k2, rng));
      seen.p.add(sampleToken(logits, p, rng));
      seen.p84.add(sampleToken(logits, p84, rng));
    }
    expect([...seen.k2].sort()).toEqual([1, 2]);
    expect([...seen.p]).toEqual([2]);
    expect([...seen.p84].sort()).toEqual([1, 2]);
  });

  it('Rng is a fixed stream per seed', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Rng(6).next()).not.toBe(xs[0]);
  });
});
