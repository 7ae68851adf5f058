/**
 * Weighted source positions (crossRope `sourceWeights`, cross-positions.ts): the host positions
 * are the sums of the weights before each position, padding weighing 0; every weight 1 is the
 * plain pair bit for bit (logits and the alignment prior); a position's key depends on the weights
 * before it only (the last text weight changes nothing, the first moves every speech logit);
 * cached decoding equals uncached; the checkpoint keeps the weights; typed errors. The PyTorch
 * twin computes the same logits (tools/test/fuse-convert.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, saveTower } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alignPriorHost,
  disposeZipperState,
  emptyZipperState,
  generateZipped,
  layoutBatch,
  loadTowerEntry,
  loadZipper,
  resolveCrossWindows,
  resolveZipperConfig,
  saveZipper,
  sliceZipperState,
  sourcePositionWeights,
  weightedPositions,
  Zipper,
  type CrossRopeSpec,
  type Example,
} from '../src/index.js';
import { examples, perturbFusion, SCHEDULE, setGates, setup, towers, values } from './helpers.js';

const TEXT_VOCAB = 13; // towers(): text V = 13 (bos 11, eos 12)
const RATE = 0.57;
const WEIGHTS = Array.from({ length: TEXT_VOCAB }, (_, id) => 0.4 + ((id * 7) % 5) * 0.3);

/** The helpers' towers zipped with cross positions; `weights` on the speech <- text pair. */
function zipped(weights?: readonly number[]): Zipper {
  const z = Zipper.create(
    towers(),
    {
      ...SCHEDULE,
      crossRope: [
        { to: 'text', from: 'speech', rate: 1.75 },
        { to: 'speech', from: 'text', rate: RATE, ...(weights ? { sourceWeights: weights } : {}) },
      ],
    },
    { seed: 3 },
  );
  perturbFusion(z);
  setGates(z, 0.7);
  // sharper speech <- text attention, so that where a key sits shows in the logits (else the scores
  // of these tiny towers are near 0, the attention near uniform, and positions barely matter)
  for (const [k, v] of z.params) if (/^cross\.speech_from_text\..*\.attn\.q\.weight$/.test(k)) v.assign(tf.mul(v, 40));
  return z;
}

function speechLogits(z: Zipper, rows: Example[]): Float32Array {
  const l = layoutBatch(z.config, rows);
  const out = z.run(l.streams, rows.length, { logits: ['speech'] });
  const v = values(out.logits.speech!).slice();
  tf.dispose(out.logits);
  return v;
}

type Fwd = ReturnType<Zipper['forward']>;
const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

beforeAll(setup);

describe('weighted source positions', () => {
  let z: Zipper;
  beforeAll(() => {
    z = zipped(WEIGHTS);
  });
  afterAll(() => z.dispose());

  it('host: each position at the sum of the weights before it in its row; padding weighs 0', () => {
    const ids = Int32Array.of(11, 3, 5, 12, 11, 4, 12, 12);
    const global = Int32Array.of(0, 1, 2, 3, 5, 6, 7, -1);
    const w = sourcePositionWeights([0.5, 1, 2, 4, 8, 16, 1, 1, 1, 1, 1, 0.25, 3], ids, global, 2, 4);
    expect(Array.from(w)).toEqual([0.25, 4, 16, 3, 0.25, 8, 3, 0]);
    const { positions, sums } = weightedPositions(w, 2, 4);
    expect(Array.from(positions)).toEqual([0, 0.25, 4.25, 20.25, 0, 0.25, 8.25, 11.25]);
    expect(Array.from(sums)).toEqual([23.25, 11.25]);
    expect(Array.from(weightedPositions(w, 2, 4, Float64Array.of(1, 2)).positions)).toEqual([1, 1.25, 5.25, 21.25, 2, 2.25, 10.25, 13.25]);
  });

  it('the alignment prior: weights 1 give the ranks bit for bit; a weighted source position sits at its centre', () => {
    const reader = Int32Array.of(4, 5, 6);
    const source = Int32Array.of(0, 1, 2, -1);
    const plain = alignPriorHost(reader, source, 1, 3, 4, 0.2);
    expect(Array.from(alignPriorHost(reader, source, 1, 3, 4, 0.2, Float32Array.of(1, 1, 1, 0)))).toEqual(Array.from(plain));
    // weights 1, 2, 1 (total 4): source centres 0.5 / 4, 2 / 4, 3.5 / 4; reader 1 of 3 at 1.5 / 3
    const w = alignPriorHost(reader, source, 1, 3, 4, 0.2, Float32Array.of(1, 2, 1, 0));
    const want = (x: number, m: number) => 1 - Math.exp(-((x - m) ** 2) / (2 * 0.2 * 0.2));
    expect(w[4]).toBeCloseTo(want(0.5, 0.125), 6);
    expect(w[5]).toBeCloseTo(want(0.5, 0.5), 6);
    expect(w[6]).toBeCloseTo(want(0.5, 0.875), 6);
    expect(w[7]).toBe(0); // padding
  });

  it('every weight 1 is the plain pair, bit for bit; other weights change the speech', () => {
    const plain = zipped();
    const ones = zipped(Array.from({ length: TEXT_VOCAB }, () => 1));
    const batch = layoutBatch(plain.config, examples());
    const [a, b, c] = [plain, ones, z].map((m) => m.forward(batch)) as [Fwd, Fwd, Fwd];
    for (const n of ['text', 'speech']) expect(Buffer.from(values(b[n]!).buffer).equals(Buffer.from(values(a[n]!).buffer)), n).toBe(true);
    // (a model gives the same bits every run, so any difference is the weights'; these tiny towers'
    // speech logits move by 4e-5 at most when the whole text changes)
    expect(maxDiff(values(c.speech!), values(a.speech!))).toBeGreaterThan(1e-6);
    tf.dispose([a, b, c]);
    plain.dispose();
    ones.dispose();
  });

  it("a key sits at the weights before it: the last text position's weight changes no logit, the first's moves them", () => {
    const rows: Example[] = [
      [
        { tower: 'text', ids: [11, 1, 2, 3, 12] },
        { tower: 'speech', ids: [9, 3, 4, 5, 6, 7] },
      ],
    ];
    const base = speechLogits(z, rows);
    const withWeight = (id: number, w: number) => {
      const m = zipped(WEIGHTS.map((x, i) => (i === id ? w : x)));
      const v = speechLogits(m, rows);
      m.dispose();
      return v;
    };
    expect(Array.from(withWeight(12, 5))).toEqual(Array.from(base)); // eos, last: nothing after it
    expect(maxDiff(withWeight(11, 5), base)).toBeGreaterThan(1e-6); // bos, first: every key moves
  });

  it('decoding: cached equals uncached, batched over texts of different lengths, and across [text, speech] (the text grows token by token); sliced states keep their sums', async () => {
    const inputs: Example[] = [
      [{ tower: 'text', ids: [11, 1, 2, 3, 4, 5, 6, 12] }],
      [{ tower: 'text', ids: [11, 7, 12] }],
      [{ tower: 'speech', ids: [9, 1, 2, 3, 10] }],
    ];
    for (const output of [['speech'], ['text', 'speech']]) {
      const opts = { output, maxNewTokens: output.length === 1 ? 10 : { text: 4, speech: 8 }, temperature: 1, seed: 5 };
      const cached = await generateZipped(z, inputs, opts);
      const plain = await generateZipped(z, inputs, { ...opts, useCache: false });
      expect(cached.rows, output.join(',')).toEqual(plain.rows);
    }
    // the speech after a text given in two runs reads it as after the whole text (the keys of the
    // second run start at the state's sums; started at 0 instead, the logits move by 6e-6)
    /** A stream of equally long rows, their global indices from `start`. */
    const streamOf = (rows: number[][], start = 0) => ({
      ids: Int32Array.from(rows.flat()),
      global: Int32Array.from(rows.flatMap((r) => r.map((_, i) => start + i))),
      length: rows[0]!.length,
    });
    const a = z.run({ text: streamOf([[11, 1]]) }, 1, { keepState: true, logits: [], state: emptyZipperState(1) });
    const b = z.run({ text: streamOf([[2, 3, 12]], 2) }, 1, { keepState: true, logits: [], state: a.state! });
    const stepped = z.run({ speech: streamOf([[9, 3, 4, 5]], 5) }, 1, { state: b.state!, logits: ['speech'] });
    const whole = speechLogits(z, [
      [
        { tower: 'text', ids: [11, 1, 2, 3, 12] },
        { tower: 'speech', ids: [9, 3, 4, 5] },
      ],
    ]);
    expect(maxDiff(values(stepped.logits.speech!), whole)).toBeLessThan(1e-7);
    tf.dispose(stepped.logits);
    disposeZipperState(a.state);
    disposeZipperState(b.state);
    // the state's sums: the weights of each row's text so far; a slice keeps its rows'
    const first = z.run(
      {
        text: streamOf([
          [11, 1, 2],
          [11, 7, 12],
        ]),
      },
      2,
      { keepState: true, logits: [], state: emptyZipperState(2) },
    );
    const sums = first.state!.sourceWeightSums!['speech<-text']!;
    expect(Array.from(sums)).toEqual([WEIGHTS[11]! + WEIGHTS[1]! + WEIGHTS[2]!, WEIGHTS[11]! + WEIGHTS[7]! + WEIGHTS[12]!]);
    const one = sliceZipperState(first.state!, [1]);
    expect(Array.from(one.sourceWeightSums!['speech<-text']!)).toEqual([sums[1]]);
    disposeZipperState(first.state);
    disposeZipperState(one);
    const stateless = { ...emptyZipperState(1) };
    const past = z.run({ text: streamOf([[11, 1, 2]]) }, 1, { keepState: true, logits: [], state: stateless });
    const { sourceWeightSums: _, ...lost } = past.state!;
    expect(() =>
      z.run({ text: { ids: Int32Array.of(3), global: Int32Array.of(3), length: 1 } }, 1, { state: lost, keepState: true, logits: [] }),
    ).toThrow(/without their sum \(sourceWeightSums\)/);
    disposeZipperState(past.state);
  });

  it('the checkpoint keeps the weights: the same config and logits after loading', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'zipper-cross-positions-'));
    try {
      const [text, speech] = towers();
      await saveTower(path.join(root, 'text'), text!.tower);
      await saveTower(path.join(root, 'speech'), speech!.tower);
      text!.tower.dispose();
      speech!.tower.dispose();
      const entries = [
        await loadTowerEntry(path.join(root, 'text'), { name: 'text', bos: 11, eos: 12 }),
        await loadTowerEntry(path.join(root, 'speech'), { name: 'speech', bos: 9, eos: 10 }),
      ];
      const m = Zipper.create(entries, { ...SCHEDULE, crossRope: z.config.crossRope }, { seed: 3 });
      perturbFusion(m);
      setGates(m, 0.7);
      await saveZipper(path.join(root, 'fused'), m);
      const back = await loadZipper(path.join(root, 'fused'));
      expect(back.config.crossRope).toEqual(m.config.crossRope);
      expect(back.config.crossRope[1]!.sourceWeights).toEqual(WEIGHTS);
      const batch = layoutBatch(m.config, examples());
      const [a, b] = [m, back].map((x) => x.forward(batch)) as [Fwd, Fwd];
      expect(Buffer.from(values(b.speech!).buffer).equals(Buffer.from(values(a.speech!).buffer))).toBe(true);
      tf.dispose([a, b]);
      m.dispose();
      back.dispose();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('typed errors: weights of the wrong count or not positive, an unknown field; a cross window on a weighted pair', () => {
    const entries = towers();
    const specs = entries.map((t) => ({ name: t.name, config: t.tower.config, bos: t.bos, eos: t.eos }));
    for (const t of entries) t.tower.dispose();
    const create = (r: unknown) => () =>
      resolveZipperConfig({ towers: specs, schedule: SCHEDULE.schedule, crossRope: [r as CrossRopeSpec] });
    const pair = { to: 'speech', from: 'text', rate: RATE };
    expect(create({ ...pair, sourceWeights: [1, 2] })).toThrow(/list of 13 weights.*got 2 entries/);
    expect(create({ ...pair, sourceWeights: WEIGHTS.map((w, i) => (i === 4 ? 0 : w)) })).toThrow(/sourceWeights\[4\] must be a positive/);
    expect(create({ ...pair, sourceWeights: WEIGHTS.map((w, i) => (i === 2 ? '1' : w)) })).toThrow(ConfigError);
    expect(create({ ...pair, sourceWeights: 'bytes' })).toThrow(/list of 13 weights/);
    expect(create({ ...pair, width: 2 })).toThrow(/must be \{ to, from, rate, \[sourceWeights\] \}/);
    expect(() => resolveCrossWindows(z.config, [{ to: 'speech', from: 'text', width: 2 }])).toThrow(
      /count their source positions by weight/,
    );
  });
});
