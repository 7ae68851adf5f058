/**
 * The single-decoder baseline: the text tower with the speech tokens as new embedding rows, one
 * stream of the same segments, the same tasks and training loop.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hashSeed, resolveSamplingConfig, Rng, sampleToken, Trainer } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ASR, noisyToken, SingleDecoder, TaskMixture, TTS, type BaselineBatch, type Example } from '../src/index.js';
import { PAIRS, setup, towers, values } from './helpers.js';

beforeAll(setup);

function make(): SingleDecoder {
  const [text, speech] = towers();
  const s = speech!;
  const model = SingleDecoder.create(text!, [{ name: 'speech', config: s.tower.config, bos: s.bos, eos: s.eos }], { seed: 1 });
  s.tower.dispose();
  return model;
}

describe('single-decoder baseline', () => {
  it('extends the text vocabulary (13 + 11 = 24 rows) and at creation equals the text tower on text', () => {
    const [text, speech] = towers();
    const m = SingleDecoder.create(text!, [{ name: 'speech', config: speech!.tower.config, bos: 9, eos: 10 }], { seed: 1 });
    expect(m.tower.config.vocabSize).toBe(24);
    expect(m.offsets).toEqual({ text: 0, speech: 13 });
    const emb = values(m.tower.param('emb.weight'));
    expect(emb.slice(0, 13 * 12)).toEqual(values(text!.tower.param('emb.weight')));
    expect(Math.max(...emb.slice(13 * 12).map(Math.abs))).toBeGreaterThan(0);
    const ids = tf.tensor2d([[11, 3, 1, 4, 1, 5, 9]], [1, 7], 'int32');
    const a = m.tower.forward(ids).logits; // [1, 7, 24]
    const b = text!.tower.forward(ids).logits; // [1, 7, 13]
    const sliced = tf.slice(a, [0, 0, 0], [1, 7, 13]);
    values(sliced).forEach((x, i) => expect(Math.abs(x - values(b)[i]!)).toBeLessThan(1e-6));
    tf.dispose([ids, a, b, sliced]);
    // copies, not the same variables
    expect(m.tower.param('blocks.0.qkv.weight')).not.toBe(text!.tower.param('blocks.0.qkv.weight'));
    m.dispose();
    text!.tower.dispose();
    speech!.tower.dispose();
  });

  it('lays the segments out as one stream with speech ids offset and per-tower target masks', () => {
    const m = make();
    const batch = m.layout([
      [
        { tower: 'speech', ids: [9, 1, 2, 10] },
        { tower: 'text', ids: [11, 3, 12], target: true },
      ],
    ]);
    expect([...batch.ids]).toEqual([22, 14, 15, 23, 11, 3, 12]);
    expect([...batch.masks['text']!]).toEqual([0, 0, 0, 0, 1, 1, 0]);
    expect([...batch.targets]).toEqual([0, 0, 0, 0, 3, 12, 0]);
    m.dispose();
  });

  it('trains through the same Trainer and task mixture: ASR + TTS on four pairs, both losses below 0.3 within 150 steps; generates', async () => {
    const m = make();
    const data = new TaskMixture<BaselineBatch>(m.config, PAIRS, {
      batchSize: 4,
      seed: 7,
      tasks: [
        { task: ASR, weight: 1 },
        { task: TTS, weight: 1.26 },
      ],
      layout: (ex) => m.layout(ex),
    });
    const t = new Trainer(m, data, {
      strategy: m.gradients(),
      schedule: { peakLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 1000 },
      optimizer: { weightDecay: 0 },
    });
    const first = await t.trainStep();
    let last = first;
    for (let i = 0; i < 149 && !((last.streams['text']?.loss ?? Infinity) < 0.3 && (last.streams['speech']?.loss ?? Infinity) < 0.3); i++)
      last = await t.trainStep();
    console.log(
      `baseline overfit: step 1 text ${first.streams['text']!.loss.toFixed(3)} speech ${first.streams['speech']!.loss.toFixed(3)}; step ${last.step} text ${last.streams['text']!.loss.toFixed(3)} speech ${last.streams['speech']!.loss.toFixed(3)}`,
    );
    expect(last.streams['text']!.loss).toBeLessThan(0.3);
    expect(last.streams['speech']!.loss).toBeLessThan(0.3);
    t.dispose();
    const before = tf.memory().numTensors;
    const out = await m.generate([[{ tower: 'speech', ids: [9, 4, 4, 5, 6, 6, 7, 1, 10] }]], {
      output: ['text', 'speech'],
      maxNewTokens: 8,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(out.rows[0]!.map((s) => s.tower)).toEqual(['text', 'speech']);
    expect(out.rows[0]![0]).toEqual({ tower: 'text', ids: [1, 2, 3], finishReason: 'stop' }); // the memorized transcript
    // stopTokens end a segment as its eos does (as generateZipped), checked as generateZipped checks them
    const asr: Example[] = [[{ tower: 'speech', ids: [9, 4, 4, 5, 6, 6, 7, 1, 10] }]];
    for (const stopTokens of [[2], { text: [2] }]) {
      const cut = await m.generate(asr, { output: ['text', 'speech'], maxNewTokens: 8, stopTokens });
      expect(cut.rows[0]![0]).toEqual({ tower: 'text', ids: [1], finishReason: 'stop' });
      expect(cut.rows[0]![1]!.tower).toBe('speech');
    }
    await expect(m.generate(asr, { output: ['text'], maxNewTokens: 8, stopTokens: [13] })).rejects.toThrow(
      /stop token 13 is outside \[0, 13\) of tower "text"/,
    );
    await expect(m.generate(asr, { output: ['text'], maxNewTokens: 8, stopTokens: { speech: [1] } })).rejects.toThrow(
      /stopTokens names tower "speech", which is not in output \[text\]/,
    );

    // guidance: the greedy tokens of cond + 2 * (cond - uncond) (uncond: the empty text), by whole forwards
    const text: Example = [{ tower: 'text', ids: [11, 4, 5, 12] }];
    const empty: Example = [{ tower: 'text', ids: [11, 12] }];
    const opts = { output: ['speech'], maxNewTokens: 6 };
    const guided = await m.generate([text], { ...opts, guidance: { scale: 2, inputs: [empty] } });
    expect(tf.memory().numTensors).toBe(before);
    const off = m.offsets['speech']!;
    const lastLogits = (example: Example, ids: number[]): Float32Array => {
      const flat = [...m.layout([[...example, { tower: 'speech', ids: [9, ...ids] }]]).ids];
      const input = tf.tensor2d(flat, [1, flat.length], 'int32');
      const out = m.tower.forward(input);
      const all = values(out.logits);
      tf.dispose([input, out.logits]);
      return all.slice(all.length - m.tower.config.vocabSize);
    };
    const ids: number[] = [];
    let finishReason = 'length';
    while (ids.length < opts.maxNewTokens) {
      const c = lastLogits(text, ids);
      const u = lastLogits(empty, ids);
      const mixed = Array.from({ length: 11 }, (_, k) => (k === 9 ? -Infinity : c[off + k]! + 2 * (c[off + k]! - u[off + k]!)));
      const tok = mixed.indexOf(Math.max(...mixed));
      if (tok === 10) {
        finishReason = 'stop';
        break;
      }
      ids.push(tok);
    }
    expect(guided.rows[0]).toEqual([{ tower: 'speech', ids, finishReason }]);
    const free = await m.generate([text], opts);
    console.log(`single decoder TTS of [4, 5]: unguided ${JSON.stringify(free.rows[0]![0]!.ids)}, guided ${JSON.stringify(ids)}`);

    // inputNoise: sampled tokens equal whole forwards over the corrupted past (the noise PRNG as generateZipped's)
    const sampled = { output: ['speech'], maxNewTokens: 10, temperature: 1, seed: 3 };
    const noisy = await m.generate([text], { ...sampled, inputNoise: { rate: 0.5, towers: ['speech'] } });
    expect(tf.memory().numTensors).toBe(before);
    const sampler = new Rng(3);
    const noiseRng = new Rng(hashSeed(3, 'input-noise'));
    const got: number[] = [];
    const fed: number[] = [];
    let reason = 'length';
    while (got.length < sampled.maxNewTokens) {
      const c = lastLogits(text, fed);
      const row = Array.from({ length: 11 }, (_, k) => (k === 9 ? -Infinity : c[off + k]!));
      const tok = sampleToken(row, resolveSamplingConfig({ temperature: 1 }), sampler);
      if (tok === 10) {
        reason = 'stop';
        break;
      }
      got.push(tok);
      fed.push(noisyToken(m.config, 'speech', tok, 0.5, noiseRng));
    }
    expect(noisy.rows[0]).toEqual([{ tower: 'speech', ids: got, finishReason: reason }]);
    expect(fed).not.toEqual(got); // some fed token was replaced
    m.dispose();
  });
});

describe('single-decoder decoding', () => {
  it('never samples the bos of the open segment, nor a token of another tower (near-uniform sampling)', async () => {
    const m = make();
    try {
      const ids: number[] = [];
      for (let seed = 0; seed < 16; seed++) {
        const out = await m.generate([[{ tower: 'text', ids: [11, 1, 2, 12] }]], {
          output: ['speech'],
          maxNewTokens: 60,
          temperature: 50,
          seed,
        });
        ids.push(...out.rows[0]![0]!.ids);
      }
      expect(ids.length).toBeGreaterThan(60); // without the mask, P(no bos in 60 near-uniform draws of 11) < 0.4%
      expect(ids).not.toContain(9); // speech bos
      expect(ids.every((id) => id >= 0 && id < 11)).toBe(true);
    } finally {
      m.dispose();
    }
  });
});
