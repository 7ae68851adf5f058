/**
 * The alignment prior (training.ts `alignWeight`, masks.ts `alignPriorHost`; DC-TTS's guided
 * attention): the prior is 0-centred on the diagonal of each row's real positions and padding
 * does not move it; with uniform attention (q = 0) the penalty equals the prior's mean over the
 * visible keys, summed over links, heads and reader positions (a host computation), on a ragged
 * batch whose links run on row subsets; its gradient reaches q, k and the projection but not the
 * output or feed-forward weights of a tower's last link; training on it with both towers frozen lowers it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignPriorHost, alignTargets, crossMaskHost, fusedGradients, layoutBatch, Zipper } from '../src/index.js';
import { examples, pairsTrainer, perturbFusion, SCHEDULE, setup, towers } from './helpers.js';

beforeAll(setup);

describe('alignment prior', () => {
  it('is smallest on the diagonal of the real positions; padding is 0 and does not shift the ranks', () => {
    // row 0: reader 3 real positions, source 6; row 1: the same with padding interleaved (-1)
    const reader = Int32Array.from([10, 11, 12, -1, 10, -1, 11, 12]);
    const source = Int32Array.from([0, 1, 2, 3, 4, 5, -1, -1, 0, -1, 1, 2, 3, 4, -1, 5]);
    const w = alignPriorHost(reader, source, 2, 4, 8, 0.2);
    const at = (b: number, t: number, s: number) => w[(b * 4 + t) * 8 + s]!;
    // reader rank n sits at (n + 0.5) / 3; source rank 2n + 0.5 sits at the same place: ranks 2n and 2n + 1 are equally near
    for (let n = 0; n < 3; n++) {
      const rowVals = Array.from({ length: 6 }, (_, m) => at(0, n, m));
      const best = Math.min(...rowVals);
      expect(rowVals[2 * n]).toBeCloseTo(best, 6);
      expect(rowVals[2 * n + 1]).toBeCloseTo(best, 6);
      expect(best).toBeLessThan(0.1);
    }
    expect(at(0, 0, 5)).toBeGreaterThan(0.9); // far corner
    // the same real positions in row 1 (padding at other places) get the same values
    const realR = [0, 2, 3];
    const realS = [0, 2, 3, 4, 5, 7];
    for (let n = 0; n < 3; n++) for (let m = 0; m < 6; m++) expect(at(1, realR[n]!, realS[m]!)).toBeCloseTo(at(0, n, m), 7);
    expect(at(0, 3, 0)).toBe(0);
    expect(at(1, 1, 0)).toBe(0);
    expect(at(1, 0, 1)).toBe(0);
  });

  it('with q = 0 (uniform attention) the penalty is the prior mean over visible keys, summed over links, heads and reader positions', () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 2, crossGate: 0.5 });
    perturbFusion(z, 3);
    for (const [k, v] of z.params) if (k.endsWith('attn.q.weight')) v.assign(tf.zerosLike(v));
    const batch = layoutBatch(z.config, examples());
    const B = batch.batchSize;
    let expected = 0;
    let count = 0;
    for (const link of z.config.schedule.links) {
      const r = batch.streams[link.to]!;
      const s = batch.streams[link.from]!;
      const m = crossMaskHost(r.global, s.global, B, r.length, s.length);
      const prior = alignPriorHost(r.global, s.global, B, r.length, s.length, 0.3);
      const heads = z.config.towers.find((t) => t.name === link.to)!.config.nHeads;
      for (let b = 0; b < B; b++)
        for (let i = 0; i < r.length; i++) {
          if (!m.visible[b * r.length + i]) continue;
          let sum = 0;
          let n = 0;
          for (let j = 0; j < s.length; j++) {
            const at = (b * r.length + i) * s.length + j;
            if (m.mask[at]) {
              sum += prior[at]!;
              n++;
            }
          }
          expected += (heads * sum) / n;
          count += heads;
        }
    }
    expect(alignTargets(z.config, batch)).toBe(count);
    const got = tf.tidy(() => z.run(batch.streams, B, { align: { width: 0.3 } }).align!.dataSync()[0]!);
    expect(count).toBeGreaterThan(20);
    expect(got).toBeCloseTo(expected, 4);
    // the logits are the plain run's
    const plain = tf.tidy(() => z.run(batch.streams, B).logits['text']!.dataSync());
    const withAlign = tf.tidy(() => z.run(batch.streams, B, { align: { width: 0.3 } }).logits['text']!.dataSync());
    expect(Array.from(withAlign)).toEqual(Array.from(plain));
    expect(() => z.run(batch.streams, B, { align: { width: 0.3 }, keepState: true })).toThrow(ConfigError);
    expect(() => z.run(batch.streams, B, { align: { width: 0 } })).toThrow(ConfigError);
    z.dispose();
  });

  it("its stream is the mean penalty; its gradient reaches q, kv and the projection, not a last link's out or ff", () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 2, crossGate: 0.5 });
    perturbFusion(z, 4);
    const batch = layoutBatch(z.config, examples());
    const plain = fusedGradients(z);
    const aligned = fusedGradients(z, undefined, { alignWeight: 2 });
    const den = aligned.countTargets(batch);
    expect(den['align']).toBe(alignTargets(z.config, batch));
    const trainable = z.trainableKeys();
    const a = plain.computeGradients(batch, { trainable, denominator: 0, denominators: den });
    const b = aligned.computeGradients(batch, { trainable, denominator: 0, denominators: den });
    const mean = tf.tidy(() => z.run(batch.streams, batch.batchSize, { align: { width: 0.2 } }).align!.dataSync()[0]! / den['align']!);
    expect(b.streams!['align']).toBeCloseTo(mean, 6);
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(1);
    expect(b.loss.dataSync()[0]).toBeCloseTo(a.loss.dataSync()[0]! + 2 * mean, 5);
    const diff = (key: string) => tf.max(tf.abs(tf.sub(b.grads.get(key)!, a.grads.get(key)!))).dataSync()[0]!;
    for (const link of ['text_from_speech.1', 'text_from_speech.2', 'speech_from_text.2', 'speech_from_text.3']) {
      expect(diff(`cross.${link}.attn.q.weight`)).toBeGreaterThan(1e-6);
      expect(diff(`cross.${link}.attn.kv.weight`)).toBeGreaterThan(1e-6);
      expect(diff(`cross.${link}.proj.layers.0.weight`)).toBeGreaterThan(1e-6);
    }
    // a tower's last link: its output feeds only the logits, so the penalty does not reach its out or ff
    // (an earlier link's output does reach the queries of the later links)
    for (const link of ['text_from_speech.2', 'speech_from_text.3']) {
      expect(diff(`cross.${link}.attn.out.weight`)).toBe(0);
      expect(diff(`cross.${link}.ff.up.weight`)).toBe(0);
    }
    expect(diff('cross.text_from_speech.1.attn.out.weight')).toBeGreaterThan(1e-9);
    tf.dispose([a.loss, b.loss, ...a.grads.values(), ...b.grads.values()]);
    expect(() => fusedGradients(z, undefined, { alignWeight: -1 })).toThrow(ConfigError);
    z.dispose();
  });

  it('with both towers frozen, training on it lowers the penalty by a quarter in 40 steps', async () => {
    const z = Zipper.create(towers(), { ...SCHEDULE, freeze: ['text', 'speech'] }, { seed: 2, crossGate: 0.5 });
    const t = pairsTrainer(z, { alignWeight: 1 });
    const steps = await t.train(40);
    const first = steps[0]!.streams['align']!.loss;
    const last = steps.at(-1)!.streams['align']!.loss;
    console.log(`align prior: penalty ${first.toFixed(4)} -> ${last.toFixed(4)} in 40 steps`);
    expect(last).toBeLessThan(0.75 * first);
    t.dispose();
    z.dispose();
  });
});
