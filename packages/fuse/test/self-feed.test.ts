/**
 * Self-feeding (self-feed.ts): at rate 1 every true fed token of the chosen towers' target segments
 * becomes the model's greedy prediction of it, other streams, targets and masks unchanged; a row
 * draws the same alone or in a batch; training steps see it, evaluation does not, and a step leaks
 * no tensor; typed errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, evaluateStreams } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fusedGradients,
  fusedLoss,
  layoutBatch,
  resolveSelfFeed,
  selfFedBatch,
  UnknownTowerError,
  Zipper,
  type Example,
  type FusedBatch,
} from '../src/index.js';
import { perturbFusion, SCHEDULE, setGates, setup, towers } from './helpers.js';

let z: Zipper;
beforeAll(async () => {
  await setup();
  z = Zipper.create(towers(), SCHEDULE, { seed: 3 });
  perturbFusion(z);
  setGates(z, 0.7);
});
afterAll(() => z.dispose());

// speech: V 11 (bos 9, eos 10); text: V 13 (bos 11, eos 12)
const EXAMPLES: Example[] = [
  [
    { tower: 'text', ids: [11, 1, 2, 3, 12] },
    { tower: 'speech', ids: [9, 4, 4, 5, 6, 6, 7, 10], target: true },
  ],
  [
    { tower: 'speech', ids: [9, 1, 2, 3, 10] },
    { tower: 'text', ids: [11, 4, 5, 12], target: true },
  ],
  [
    { tower: 'text', ids: [11, 7, 12] },
    { tower: 'speech', ids: [9, 2, 2, 3, 10], target: true },
  ],
];

/** The greedy prediction at every position of `batch`'s speech stream. */
function greedy(batch: FusedBatch): Int32Array {
  const out = z.run(batch.streams, batch.batchSize, { logits: ['speech'] });
  const a = tf.argMax(out.logits.speech!, -1);
  const v = a.dataSync() as Int32Array;
  tf.dispose([a, ...Object.values(out.logits)]);
  return v;
}

describe('self-feeding', () => {
  it('rate 1: each true fed unit after the bos becomes the greedy prediction before it (bos and eos kept); the rest unchanged', () => {
    const batch = layoutBatch(z.config, EXAMPLES);
    const fed = selfFedBatch(z, batch, resolveSelfFeed(z.config, { rate: 1, towers: ['speech'] }));
    const s = batch.streams.speech!;
    const f = fed.streams.speech!;
    const pred = greedy(batch);
    let replaced = 0;
    for (let j = 0; j < s.ids.length; j++) {
      const t = j % s.length;
      const fromTarget = t > 0 && s.mask[j - 1] !== 0 && s.targets[j - 1] !== 10;
      const p = pred[j - 1] as number;
      const want = fromTarget && p !== 9 && p !== 10 ? p : s.ids[j];
      expect(f.ids[j], `position ${j}`).toBe(want);
      if (f.ids[j] !== s.ids[j]) replaced++;
    }
    expect(replaced).toBeGreaterThan(3);
    expect(Array.from(f.targets)).toEqual(Array.from(s.targets));
    expect(Array.from(f.mask)).toEqual(Array.from(s.mask));
    expect(fed.streams.text).toBe(batch.streams.text);
    // the ASR row (speech not a target) is untouched
    expect(Array.from(f.ids.subarray(s.length, 2 * s.length))).toEqual(Array.from(s.ids.subarray(s.length, 2 * s.length)));
    // rate 0: the batch as given
    expect(selfFedBatch(z, batch, resolveSelfFeed(z.config, { rate: 0, towers: ['speech'] }))).toBe(batch);
  });

  it('a row draws the same alone as in a batch (rate 0.5), and another seed draws otherwise', () => {
    const feed = resolveSelfFeed(z.config, { rate: 0.5, towers: ['speech'], seed: 7 });
    const all = selfFedBatch(z, layoutBatch(z.config, EXAMPLES), feed).streams.speech!;
    const alone = selfFedBatch(z, layoutBatch(z.config, [EXAMPLES[0]!]), feed).streams.speech!;
    expect(Array.from(all.ids.subarray(0, alone.length))).toEqual(Array.from(alone.ids));
    const seeds = [1, 2, 3, 4, 5].map((seed) =>
      Array.from(
        selfFedBatch(z, layoutBatch(z.config, EXAMPLES), resolveSelfFeed(z.config, { rate: 0.5, towers: ['speech'], seed })).streams.speech!
          .ids,
      ).join(),
    );
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it('fusedLoss: training steps are self-fed, evaluation is not; a gradient step leaks no tensor', () => {
    const batch = layoutBatch(z.config, EXAMPLES);
    const selfFeed = { rate: 1, towers: ['speech'] };
    const plain = evaluateStreams(fusedLoss(z), [batch]);
    expect(evaluateStreams(fusedLoss(z, undefined, { selfFeed }), [batch])).toEqual(plain);
    const step = (options: Parameters<typeof fusedGradients>[2]) => {
      const g = fusedGradients(z, undefined, options);
      const counts = g.countTargets(batch);
      const r = g.computeGradients(batch, { trainable: [...z.params.keys()], denominator: 1, denominators: counts });
      const out = { loss: r.loss.dataSync()[0]!, streams: r.streams ?? {} };
      r.loss.dispose();
      for (const t of r.grads.values()) t.dispose();
      return out;
    };
    const a = step({});
    const before = tf.memory().numTensors;
    const b = step({ selfFeed });
    expect(tf.memory().numTensors).toBe(before);
    expect(b.streams['text']).toBeCloseTo(a.streams['text']!, 5); // the text stream is fed as before
    expect(Math.abs(b.streams['speech']! - a.streams['speech']!)).toBeGreaterThan(1e-4);
    // the self-fed batch's speech loss is that step's
    const fed = selfFedBatch(z, batch, resolveSelfFeed(z.config, selfFeed));
    expect(evaluateStreams(fusedLoss(z), [fed]).streams['speech']!.loss).toBeCloseTo(b.streams['speech']!, 4);
  });

  it('typed errors: a rate outside [0, 1], no tower, an unknown tower, a bad seed', () => {
    const bad = (f: unknown) => () => resolveSelfFeed(z.config, f as never);
    for (const rate of [-0.1, 1.5, NaN, '0.5']) expect(bad({ rate, towers: ['speech'] })).toThrow(ConfigError);
    expect(bad({ rate: 0.5, towers: [] })).toThrow(/at least one tower/);
    expect(bad({ rate: 0.5, towers: ['image'] })).toThrow(UnknownTowerError);
    expect(bad({ rate: 0.5, towers: ['speech'], seed: 1.5 })).toThrow(/seed must be an integer/);
    expect(() => fusedLoss(z, undefined, { selfFeed: { rate: 2, towers: ['speech'] } })).toThrow(ConfigError);
  });
});
