// Input noise (input-noise.ts): fed tokens of target segments corrupted, targets kept; the
// layouts feed `Segment.fed`, the CTC labels stay the true tokens, the mixture's noise is exact on resume.
import { ConfigError, Rng, TokenRangeError } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ASR,
  ctcTargets,
  layoutBatch,
  resolveInputNoise,
  resolveZipperConfig,
  SegmentError,
  SingleDecoder,
  TaskMixture,
  TTS,
  UnknownTowerError,
  withInputNoise,
  type Example,
} from '../src/index.js';
import { PAIRS, setup, towers } from './helpers.js';

beforeAll(setup);

// text: V 13 (bos 11, eos 12); speech: V 11 (bos 9, eos 10), as in helpers.towers()
const config = resolveZipperConfig({
  towers: [
    { name: 'text', config: { vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2 }, bos: 11, eos: 12 },
    { name: 'speech', config: { vocabSize: 11, dModel: 8, nLayers: 3, nHeads: 2 }, bos: 9, eos: 10 },
  ],
  schedule: { every: 1 },
  ctc: [{ from: 'speech', to: 'text' }],
});

const TTS_EXAMPLE: Example = [
  { tower: 'text', ids: [11, 1, 2, 12] },
  { tower: 'speech', ids: [9, 4, 5, 6, 10], target: true, fed: [9, 4, 0, 6, 3] },
];

describe('Segment.fed', () => {
  it('layoutBatch feeds fed and takes the targets from ids', () => {
    const s = layoutBatch(config, [TTS_EXAMPLE]).streams['speech']!;
    expect([...s.ids]).toEqual([9, 4, 0, 6, 3]);
    expect([...s.targets]).toEqual([4, 5, 6, 10, 0]);
    expect([...s.mask]).toEqual([1, 1, 1, 1, 0]);
    expect([...layoutBatch(config, [TTS_EXAMPLE]).streams['text']!.ids]).toEqual([11, 1, 2, 12]);
  });

  it('the single decoder feeds fed (speech offset 13) and takes the targets from ids', () => {
    const [text, speech] = towers();
    const m = SingleDecoder.create(text!, [{ name: 'speech', config: speech!.tower.config, bos: 9, eos: 10 }], { seed: 1 });
    speech!.tower.dispose();
    const b = m.layout([TTS_EXAMPLE]);
    expect([...b.ids]).toEqual([11, 1, 2, 12, 22, 17, 13, 19, 16]);
    expect([...b.targets]).toEqual([0, 0, 0, 0, 17, 18, 19, 23, 0]);
    m.dispose();
  });

  it('rejects fed of another length, another first token or out of the vocabulary, with typed errors', () => {
    const bad = (fed: number[]): Example => [{ tower: 'speech', ids: [9, 4, 10], target: true, fed }];
    expect(() => layoutBatch(config, [bad([9, 4])])).toThrow(SegmentError);
    expect(() => layoutBatch(config, [bad([4, 4, 10])])).toThrow(SegmentError);
    expect(() => layoutBatch(config, [bad([9, 11, 10])])).toThrow(TokenRangeError);
  });

  it("the CTC labels are a target segment's true tokens, not its fed ones", () => {
    const clean: Example = [
      { tower: 'speech', ids: [9, 1, 2, 3, 4, 5, 6, 7, 8, 10] },
      { tower: 'text', ids: [11, 3, 1, 4, 12], target: true },
    ];
    const noisy: Example = [clean[0]!, { ...clean[1]!, fed: [11, 0, 0, 0, 7] }];
    const t = ctcTargets(config, layoutBatch(config, [noisy]), config.ctc[0]!);
    expect(t.labels).toEqual([[3, 1, 4]]);
    expect(t).toEqual(ctcTargets(config, layoutBatch(config, [clean]), config.ctc[0]!));
  });

  it('a row whose source frames were fed corrupted units is left out of the CTC targets; an unchanged fed keeps it', () => {
    const tts = (fed?: number[]): Example => [
      { tower: 'text', ids: [11, 3, 1, 12] },
      { tower: 'speech', ids: [9, 1, 2, 3, 4, 5, 10], target: true, ...(fed ? { fed } : {}) },
    ];
    const batch = layoutBatch(config, [tts(), tts([9, 1, 7, 3, 4, 5, 10]), tts([9, 1, 2, 3, 4, 5, 10]), tts([9, 1, 2, 3, 4, 5, 0])]);
    const t = ctcTargets(config, batch, config.ctc[0]!);
    expect(t.rows).toEqual([0, 2]);
    expect(t.labels).toEqual([
      [3, 1],
      [3, 1],
    ]);
    expect(t.frames).toEqual([7, 7]);
  });
});

describe('withInputNoise', () => {
  it('replaces each fed token after the bos with probability rate (0.3 of 20,000 within 3 standard deviations) by a token other than bos and eos', () => {
    const ids = [9, ...Array.from({ length: 20_000 }, (_, i) => i % 9), 10];
    const ex: Example = [
      { tower: 'text', ids: [11, 1, 12] },
      { tower: 'speech', ids, target: true },
    ];
    const out = withInputNoise(config, ex, { rate: 0.3, towers: ['speech'] }, new Rng(5));
    expect(out[0]).toBe(ex[0]); // not a target of a noisy tower: unchanged
    const { fed } = out[1]!;
    expect(out[1]!.ids).toBe(ids);
    expect(fed![0]).toBe(9);
    let draws = 0;
    const counts = new Array<number>(11).fill(0);
    fed!.forEach((x, k) => {
      if (k === 0) return;
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).not.toBe(9);
      expect(x === 10).toBe(k === ids.length - 1 && x === ids[k]); // eos only where it was kept
      if (x !== ids[k]) counts[x]!++;
    });
    for (let k = 1; k < ids.length; k++) if (fed![k] !== ids[k]) draws++;
    // a replacement equal to the original leaves the token unchanged: expected 0.3 x 8/9 of tokens change
    const n = ids.length - 1;
    const p = 0.3 * (8 / 9);
    expect(Math.abs(draws - n * p)).toBeLessThan(3 * Math.sqrt(n * p * (1 - p)));
    expect(counts[9]).toBe(0);
    expect(counts[10]).toBe(0);
    // the replacements spread over the 9 units: each within 3 standard deviations of a ninth
    for (let u = 0; u < 9; u++) expect(Math.abs(counts[u]! - draws / 9)).toBeLessThan(3 * Math.sqrt((draws * 8) / 81) + 1);
    // the same rng state gives the same example; rate 0 changes nothing
    expect(withInputNoise(config, ex, { rate: 0.3, towers: ['speech'] }, new Rng(5))[1]!.fed).toEqual(fed);
    expect(withInputNoise(config, ex, { rate: 0, towers: ['speech'] }, new Rng(5))[1]!.fed).toEqual(ids);
  });

  it('resolveInputNoise rejects a rate outside [0, 1) and unknown towers', () => {
    expect(() => resolveInputNoise(config, { rate: 1, towers: ['speech'] })).toThrow(ConfigError);
    expect(() => resolveInputNoise(config, { rate: -0.1, towers: ['speech'] })).toThrow(ConfigError);
    expect(() => resolveInputNoise(config, { rate: Number.NaN, towers: ['speech'] })).toThrow(ConfigError);
    expect(() => resolveInputNoise(config, { rate: 0.2, towers: [] })).toThrow(ConfigError);
    expect(() => resolveInputNoise(config, { rate: 0.2, towers: ['image'] })).toThrow(UnknownTowerError);
    expect(resolveInputNoise(config, { rate: 0.2, towers: ['speech'] })).toEqual({ rate: 0.2, towers: ['speech'] });
  });
});

describe('TaskMixture inputNoise', () => {
  const tasks = [
    { task: ASR, weight: 1 },
    { task: TTS, weight: 1.26 },
  ];

  it("corrupts only TTS's speech, keeps every example's ids, and restores to the same noisy batches", () => {
    const plain = new TaskMixture(config, PAIRS, { batchSize: 3, seed: 4, tasks });
    const noisy = new TaskMixture(config, PAIRS, { batchSize: 3, seed: 4, tasks, inputNoise: { rate: 0.5, towers: ['speech'] } });
    let changed = 0;
    for (let n = 0; n < 40; n++) {
      const a = plain.example(n);
      const b = noisy.example(n);
      expect(b.map((s) => s.ids)).toEqual(a.map((s) => s.ids));
      for (const s of b) {
        if (s.tower === 'speech' && s.target) changed += s.fed!.filter((x, k) => x !== s.ids[k]).length;
        else expect(s.fed).toBeUndefined();
      }
    }
    expect(changed).toBeGreaterThan(20);
    noisy.next();
    noisy.next();
    const state = noisy.state;
    const third = noisy.next();
    const again = new TaskMixture(config, PAIRS, { batchSize: 3, seed: 4, tasks, inputNoise: { rate: 0.5, towers: ['speech'] } });
    again.restore(state);
    expect(again.next()).toEqual(third);
    expect(() => new TaskMixture(config, PAIRS, { batchSize: 3, tasks, inputNoise: { rate: 1.5, towers: ['speech'] } })).toThrow(
      ConfigError,
    );
  });
});
