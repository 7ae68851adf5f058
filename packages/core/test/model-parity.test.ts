/**
 * Tower parity with the PyTorch reference (golden values from fixtures/make_torch_golden.py,
 * weights written by torch in fixtures/torch_tower.safetensors), cached vs uncached decoding,
 * causality, the composability seam, and leaks.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeCache, emptyCache, initBackend, loadTensors, Tower, type KVCache, type LayerKV } from '../src/index.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const golden = JSON.parse(readFileSync(fixture('torch_golden.json'), 'utf8')) as {
  config: { vocabSize: number; dModel: number; nLayers: number; nHeads: number };
  ids: number[][];
  logits: number[];
  logitsShape: number[];
  greedy: number[][];
  loss: number;
};

let torchTower: Tower;

beforeAll(async () => {
  await initBackend();
  const { tensors } = await loadTensors(fixture('torch_tower.safetensors'));
  torchTower = Tower.fromTensors(golden.config, tensors);
  for (const t of tensors.values()) t.dispose();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const ids2d = (rows: number[][]) => tf.tensor2d(rows, undefined, 'int32');

describe('Tower vs the PyTorch reference', () => {
  it('gives the reference logits [B=3, T=11, V=13] from the reference weights', () => {
    const before = tf.memory().numTensors;
    const ids = ids2d(golden.ids);
    const { logits } = torchTower.forward(ids);
    expect(logits.shape).toEqual(golden.logitsShape);
    const diff = maxAbsDiff(logits.dataSync(), golden.logits);
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([ids, logits]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the reference loss gradient for every weight (next-token cross-entropy)', async () => {
    const { tensors: want } = await loadTensors(fixture('torch_grads.safetensors'));
    const before = tf.memory().numTensors;
    const [b, t] = [golden.ids.length, golden.ids[0]!.length];
    const v = golden.config.vocabSize;
    const ids = ids2d(golden.ids);
    const targets = tf.tidy(() =>
      tf.oneHot(
        tf.tensor1d(
          golden.ids.flatMap((r) => r.slice(1)),
          'int32',
        ),
        v,
      ),
    );
    const { value, grads } = tf.variableGrads(() => {
      const logits = tf.slice(torchTower.forward(ids).logits, [0, 0, 0], [b, t - 1, v]);
      return tf.losses.softmaxCrossEntropy(targets, tf.reshape(logits, [b * (t - 1), v])) as tf.Scalar;
    }, [...torchTower.params.values()]);
    expect(value.dataSync()[0]).toBeCloseTo(golden.loss, 5);
    for (const [key, p] of torchTower.params) {
      const got = grads[p.name]!.dataSync();
      const ref = want.get(key)!.dataSync();
      const scale = Math.max(...Array.from(ref, Math.abs));
      expect(scale, key).toBeGreaterThan(0);
      expect(maxAbsDiff(got, ref) / scale, key).toBeLessThan(1e-3);
    }
    tf.dispose([ids, targets, value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...want.values()]);
  });

  it('keys and order equal the reference state dict', () => {
    expect([...torchTower.params.keys()]).toEqual([
      'emb.weight',
      ...[0, 1].flatMap((i) =>
        ['ln1.scale', 'qkv.weight', 'out.weight', 'ln2.scale', 'up.weight', 'down.weight'].map((k) => `blocks.${i}.${k}`),
      ),
      'norm.scale',
    ]);
  });
});

describe('KV cache', () => {
  // prime-ish sizes: V=13, D=28, H=2 (K=14), T=11, B=3
  const cfg = { vocabSize: 13, dModel: 28, nLayers: 2, nHeads: 2 };
  const rows = [
    [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5],
    [8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2],
    [6, 4, 3, 3, 8, 3, 2, 7, 9, 5, 0],
  ];

  it('prefill + step-by-step logits equal one full forward (tolerance 1e-4), and nothing leaks', () => {
    const tower = Tower.create(cfg, { seed: 5 });
    const before = tf.memory().numTensors;
    const ids = ids2d(rows);
    const full = tower.forward(ids);
    const fullData = full.logits.arraySync();
    for (const split of [1, 4]) {
      let cache: KVCache = emptyCache();
      const got: number[][][] = rows.map(() => []);
      const prefill = tf.slice(ids, [0, 0], [3, split]) as tf.Tensor2D;
      let r = tower.forward(prefill, { cache });
      prefill.dispose();
      cache = r.cache as KVCache;
      expect(cache.length).toBe(split);
      const collect = (l: tf.Tensor3D) => {
        const a = l.arraySync();
        a.forEach((row, b) => got[b]?.push(...row));
        l.dispose();
      };
      collect(r.logits);
      for (let t = split; t < 11; t++) {
        const step = tf.slice(ids, [0, t], [3, 1]) as tf.Tensor2D;
        r = tower.forward(step, { cache });
        step.dispose();
        disposeCache(cache);
        cache = r.cache as KVCache;
        collect(r.logits);
      }
      expect(cache.length).toBe(11);
      expect(cache.layers[0]?.k.shape).toEqual([3, 2, 11, 14]);
      disposeCache(cache);
      const diff = maxAbsDiff(got.flat(2), fullData.flat(2));
      expect(diff).toBeLessThan(1e-4);
    }
    tf.dispose([ids, full.logits]);
    expect(tf.memory().numTensors).toBe(before);
    tower.dispose();
  });

  it('greedy decoding with the cache reproduces the reference greedy continuation', async () => {
    const { generate } = await import('../src/index.js');
    const res = await generate(torchTower, golden.ids, { maxNewTokens: golden.greedy[0]!.length });
    expect(res.tokens).toEqual(golden.greedy);
  });
});

describe('causality and the composability seam', () => {
  const cfg = { vocabSize: 13, dModel: 28, nLayers: 3, nHeads: 2 };

  it('changing a future token changes no earlier logits (and does change later ones)', () => {
    const tower = Tower.create(cfg, { seed: 11 });
    const a = [[1, 2, 3, 4, 5, 6, 7]];
    const b = [[1, 2, 3, 4, 12, 6, 7]]; // position 4 differs
    const la = tf.tidy(() => tower.forward(ids2d(a)).logits.arraySync()[0]!);
    const lb = tf.tidy(() => tower.forward(ids2d(b)).logits.arraySync()[0]!);
    for (let t = 0; t < 4; t++) expect(maxAbsDiff(la[t]!, lb[t]!)).toBe(0);
    for (let t = 4; t < 7; t++) expect(maxAbsDiff(la[t]!, lb[t]!)).toBeGreaterThan(1e-4);
    tower.dispose();
  });

  it('embed -> block(i) -> head equals forward, and hidden[0..L] are the stage outputs', () => {
    const tower = Tower.create(cfg, { seed: 3 });
    const before = tf.memory().numTensors;
    const ids = ids2d([
      [1, 2, 3, 4, 5, 6, 7],
      [7, 6, 5, 4, 3, 2, 1],
    ]);
    const full = tower.forward(ids, { collectHidden: true });
    expect(full.hidden).toHaveLength(4);
    const manual = tf.tidy(() => {
      let x = tower.embed(ids);
      const hs = [x];
      for (let i = 0; i < 3; i++) {
        x = tower.block(i, x, { start: 0 }).y;
        hs.push(x);
      }
      return { logits: tower.head(x), hs };
    });
    expect(maxAbsDiff(manual.logits.dataSync(), full.logits.dataSync())).toBe(0);
    manual.hs.forEach((h, i) => expect(maxAbsDiff(h.dataSync(), full.hidden![i]!.dataSync())).toBe(0));
    expect(full.hidden![0]!.shape).toEqual([2, 7, 28]);
    const last = tower.forward(ids, { lastOnly: true }).logits;
    expect(last.shape).toEqual([2, 1, 13]);
    const fullLast = tf.slice(full.logits, [0, 6, 0], [2, 1, 13]);
    expect(maxAbsDiff(last.dataSync(), fullLast.dataSync())).toBeLessThan(1e-5); // not bit-equal: the matMul kernel blocks by row count
    tf.dispose([last, fullLast]);
    tf.dispose([ids, full.logits, ...full.hidden!, manual.logits, ...manual.hs]);
    expect(tf.memory().numTensors).toBe(before);
    tower.dispose();
  });

  it('block-by-block decoding with per-layer caches (the fuse pattern) equals forward with a cache', () => {
    const tower = Tower.create(cfg, { seed: 4 });
    const before = tf.memory().numTensors;
    const rows = [[5, 1, 12, 7, 3, 3, 9]];
    let layers: LayerKV[] = [];
    let cache: KVCache = emptyCache();
    for (let t = 0; t < 7; t++) {
      const step = tf.tensor2d([[rows[0]![t]!]], undefined, 'int32');
      const viaBlocks = tf.tidy(() => {
        let x = tower.embed(step);
        const next: LayerKV[] = [];
        for (let i = 0; i < 3; i++) {
          const r = tower.block(i, x, { start: t, ...(layers[i] ? { cache: layers[i] } : {}), useCache: true });
          x = r.y;
          next.push(r.cache!);
        }
        return { logits: tower.head(x), ks: next.map((l) => l.k), vs: next.map((l) => l.v) };
      });
      const viaForward = tower.forward(step, { cache });
      expect(maxAbsDiff(viaBlocks.logits.dataSync(), viaForward.logits.dataSync())).toBeLessThan(1e-6);
      layers.forEach((l) => tf.dispose([l.k, l.v]));
      layers = viaBlocks.ks.map((k, i) => ({ k, v: viaBlocks.vs[i]! }));
      disposeCache(cache);
      cache = viaForward.cache!;
      tf.dispose([step, viaBlocks.logits, viaForward.logits]);
    }
    expect(layers[2]!.k.shape).toEqual([1, 2, 7, 14]);
    layers.forEach((l) => tf.dispose([l.k, l.v]));
    disposeCache(cache);
    expect(tf.memory().numTensors).toBe(before);
    tower.dispose();
  });

  it('works inside tf.variableGrads, for all params or a frozen subset, without leaks', () => {
    const tower = Tower.create(cfg, { seed: 9 });
    const ids = ids2d([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]);
    const targets = tf.oneHot(tf.tensor1d([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'int32'), 13);
    const before = tf.memory().numTensors;
    const loss = () => tf.losses.softmaxCrossEntropy(targets, tf.reshape(tower.forward(ids).logits, [11, 13])) as tf.Scalar;
    const all = tf.variableGrads(loss, [...tower.params.values()]);
    expect(Object.keys(all.grads)).toHaveLength(tower.params.size);
    for (const [key, v] of tower.params) {
      const g = all.grads[v.name]!;
      expect(g.shape, key).toEqual(v.shape);
      expect(
        tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!),
        key,
      ).toBeGreaterThan(0);
    }
    const trainable = ['blocks.2.up.weight', 'norm.scale'].map((k) => tower.param(k));
    const some = tf.variableGrads(loss, trainable);
    expect(Object.keys(some.grads).sort()).toEqual(trainable.map((v) => v.name).sort());
    expect(maxAbsDiff(some.grads[trainable[0]!.name]!.dataSync(), all.grads[trainable[0]!.name]!.dataSync())).toBeLessThan(1e-6);
    tf.dispose([all.value, some.value, ...Object.values(all.grads), ...Object.values(some.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ids, targets]);
    tower.dispose();
  });
});
