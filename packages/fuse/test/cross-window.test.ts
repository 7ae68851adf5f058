/**
 * Cross windows (cross-window.ts): the host mask keeps exactly the source positions within `width`
 * of the clamped diagonal; what lies outside a reader position's window cannot change it (the text
 * after the window changed, the speech logits identical to the bit; without the window they move),
 * in one row and in a batch whose other row sees no text; decoding with a window wider than any
 * text equals decoding without one, and cached equals uncached with a narrow one; typed errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  crossMaskHost,
  generateZipped,
  layoutBatch,
  refuseCrossWindows,
  resolveCrossWindows,
  SingleDecoder,
  UnknownTowerError,
  Zipper,
  type CrossWindow,
  type Example,
} from '../src/index.js';
import { perturbFusion, SCHEDULE, setGates, setup, towers, values } from './helpers.js';

let z: Zipper;
/** No cross positions: no window can be placed. */
let blind: Zipper;
const RATE = 0.57; // text positions per speech position
beforeAll(async () => {
  await setup();
  z = Zipper.create(
    towers(),
    {
      ...SCHEDULE,
      crossRope: [
        { to: 'text', from: 'speech', rate: 1.75 },
        { to: 'speech', from: 'text', rate: RATE },
      ],
    },
    { seed: 3 },
  );
  perturbFusion(z);
  setGates(z, 0.7);
  blind = Zipper.create(towers(), SCHEDULE, { seed: 3 });
});
afterAll(() => {
  z.dispose();
  blind.dispose();
});

const WINDOW: CrossWindow[] = [{ to: 'speech', from: 'text', width: 1 }];

describe('cross windows', () => {
  it('the host mask: source ranks within width of (start + i) * rate, the centre clamped to the last real source position', () => {
    const visibleOf = (start: number, reader: number[], source: number[], rate: number, width: number) => {
      const h = crossMaskHost(Int32Array.from(reader), Int32Array.from(source), 1, reader.length, source.length, { start, rate, width });
      return reader.map((_, i) => source.map((_, j) => h.mask[i * source.length + j]).join(''));
    };
    // centres 1, 1.5, 2 over source ranks 0..5 (all before the reader)
    expect(visibleOf(2, [10, 11, 12], [0, 1, 2, 3, 4, 5], 0.5, 1)).toEqual(['111000', '011000', '011100']);
    // centre 10 clamped to rank 5, the last real source position; ranks 6, 7 are padding
    expect(visibleOf(20, [30], [0, 1, 2, 3, 4, 5, -1, -1], 0.5, 1)).toEqual(['00001100']);
    // the causal cross mask still applies: source positions at or after the reader are never read
    expect(visibleOf(0, [2, 3], [0, 1, 5, 6], 1, 2)).toEqual(['1100', '1100']);
    // without a window the mask is the causal one
    const h = crossMaskHost(Int32Array.of(10), Int32Array.of(0, 1, 2), 1, 1, 3);
    expect(Array.from(h.mask)).toEqual([1, 1, 1]);
    expect(h.full).toBe(true);
  });

  it('text outside every speech position’s window cannot change the speech: identical logits; without the window they move', () => {
    // speech ranks 0..3 have centres 0, 0.57, 1.14, 1.71: with width 1 they read text ranks 0..2 only
    const tts = (tail: number[]): Example => [
      { tower: 'text', ids: [11, 1, 2, ...tail, 12] },
      { tower: 'speech', ids: [9, 3, 4, 5] },
    ];
    const asr: Example = [
      { tower: 'speech', ids: [9, 1, 2, 3, 10] },
      { tower: 'text', ids: [11, 4, 5] },
    ];
    for (const rows of [[0], [0, 1]]) {
      const batch = (tail: number[]) => rows.map((r) => (r === 0 ? tts(tail) : asr));
      const speechOf = (tail: number[], window?: CrossWindow[]) => {
        const l = layoutBatch(z.config, batch(tail));
        const out = z.run(l.streams, rows.length, { logits: ['speech'], ...(window ? { window } : {}) });
        const v = values(out.logits.speech!);
        tf.dispose(out.logits);
        const per = v.length / rows.length;
        return v.slice(0, (per * 4) / l.streams.speech!.length); // row 0's first 4 speech positions
      };
      const a = speechOf([3, 4, 5, 6], WINDOW);
      const b = speechOf([7, 8, 0, 1], WINDOW);
      expect(Array.from(b), `rows ${rows.join(',')}`).toEqual(Array.from(a));
      const c = speechOf([3, 4, 5, 6]);
      const d = speechOf([7, 8, 0, 1]);
      // (the same run twice gives the same bits, so any difference is the text's)
      expect(Math.max(...c.map((x, i) => Math.abs(x - d[i]!)))).toBeGreaterThan(1e-6);
      // the window changes what is read
      expect(Math.max(...a.map((x, i) => Math.abs(x - c[i]!)))).toBeGreaterThan(1e-6);
    }
  });

  it('decoding: a window wider than any text equals none; with a narrow one, cached equals uncached, batched, across [text, speech]', async () => {
    const inputs: Example[] = [
      [{ tower: 'text', ids: [11, 1, 2, 3, 4, 5, 6, 12] }],
      [{ tower: 'text', ids: [11, 7, 12] }],
      [{ tower: 'speech', ids: [9, 1, 2, 3, 10] }],
    ];
    const opts = { output: ['speech'], maxNewTokens: 12, temperature: 1, seed: 5 };
    const none = await generateZipped(z, inputs, opts);
    const wide = await generateZipped(z, inputs, { ...opts, crossWindow: [{ to: 'speech', from: 'text', width: 100 }] });
    expect(wide.rows).toEqual(none.rows);
    const both = { output: ['text', 'speech'], maxNewTokens: { text: 4, speech: 10 }, crossWindow: WINDOW };
    const cached = await generateZipped(z, inputs, both);
    const plain = await generateZipped(z, inputs, { ...both, useCache: false });
    expect(cached.rows).toEqual(plain.rows);
  });

  it('typed errors: unknown tower, no such link, no cross positions, a bad width, a pair twice, an unknown field; a single decoder has no links', async () => {
    const bad =
      (w: unknown, m: Zipper = z) =>
      () =>
        resolveCrossWindows(m.config, w as CrossWindow[]);
    expect(bad([{ to: 'image', from: 'text', width: 1 }])).toThrow(UnknownTowerError);
    expect(bad([{ to: 'speech', from: 'speech', width: 1 }])).toThrow(/no link speech <- speech/);
    expect(bad(WINDOW, blind)).toThrow(/no cross positions/);
    for (const width of [0, -1, NaN, Infinity, '2']) expect(bad([{ to: 'speech', from: 'text', width }])).toThrow(ConfigError);
    expect(bad([...WINDOW, ...WINDOW])).toThrow(/appears twice/);
    expect(bad([{ ...WINDOW[0], rate: 2 }])).toThrow(/must be \{ to, from, width \}/);
    expect(bad({ to: 'speech' })).toThrow(/must be a list/);
    expect(resolveCrossWindows(z.config, WINDOW)).toEqual([{ to: 'speech', from: 'text', width: 1, rate: RATE }]);
    const input: Example[] = [[{ tower: 'text', ids: [11, 1, 12] }]];
    await expect(generateZipped(blind, input, { output: ['speech'], maxNewTokens: 3, crossWindow: WINDOW })).rejects.toThrow(
      /no cross positions/,
    );
    const [text, speech] = towers();
    const sd = SingleDecoder.create(text!, [{ name: 'speech', config: speech!.tower.config, bos: 9, eos: 10 }], { seed: 1 });
    speech!.tower.dispose();
    try {
      await expect(sd.generate(input, { output: ['speech'], maxNewTokens: 3, crossWindow: WINDOW })).rejects.toThrow(
        /no cross-attention links/,
      );
      // the same check on its own, for callers that refuse before any work; none or [] passes
      expect(() => refuseCrossWindows(WINDOW)).toThrow(ConfigError);
      expect(() => refuseCrossWindows([])).not.toThrow();
      expect(() => refuseCrossWindows(undefined)).not.toThrow();
    } finally {
      sd.dispose();
    }
  });
});
