/**
 * Decoding: cached (self- and cross-attention caches) equals uncached, across a modality switch,
 * batched and ragged; sampling options; no tensor leak; typed errors for bad input.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, hashSeed, resolveSamplingConfig, Rng, sampleToken, TokenRangeError } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disposeZipperState,
  generateZipped,
  layoutBatch,
  noisyToken,
  SegmentError,
  UnknownTowerError,
  Zipper,
  type Example,
  type StreamInput,
} from '../src/index.js';
import { pairsTrainer, perturbFusion, SCHEDULE, setGates, setup, towers, values } from './helpers.js';

let z: Zipper;
/** The same with rotary cross positions (config.crossRope): the caches must carry each position's rotation. */
let zr: Zipper;
const CROSS_ROPE = [
  { to: 'text', from: 'speech', rate: 1.75 },
  { to: 'speech', from: 'text', rate: 0.57 },
];
beforeAll(async () => {
  await setup();
  z = Zipper.create(towers(), SCHEDULE, { seed: 3 });
  perturbFusion(z);
  setGates(z, 0.7);
  zr = Zipper.create(towers(), { ...SCHEDULE, crossRope: CROSS_ROPE }, { seed: 3 });
  perturbFusion(zr);
  setGates(zr, 0.7);
});
afterAll(() => {
  z.dispose();
  zr.dispose();
});

const INPUTS: Example[] = [
  [{ tower: 'speech', ids: [9, 1, 2, 3, 4, 5, 6, 10] }],
  [{ tower: 'speech', ids: [9, 8, 7, 6, 5, 4, 3, 10] }],
  [
    { tower: 'text', ids: [11, 2, 3, 12] },
    { tower: 'speech', ids: [9, 1, 1, 10] },
  ],
];

describe('zipped decoding', () => {
  it.each([
    ['position-blind', () => z],
    ['crossRope', () => zr],
  ])('%s: cached step logits equal the uncached forward, feeding tokens one by one across a switch of tower', (_, model) => {
    const z = model();
    // [speech 7][text: bos a b eos][speech: bos c d], fed as prefill of the first 8 positions, then one position at a time
    const full: Example = [
      { tower: 'speech', ids: [9, 1, 2, 3, 4, 5, 10] },
      { tower: 'text', ids: [11, 4, 5, 12] },
      { tower: 'speech', ids: [9, 6, 7] },
    ];
    const seq = full.flatMap((s) => s.ids.map((id) => ({ tower: s.tower, id })));
    const whole = z.forward(layoutBatch(z.config, [full]));
    const streamIndex = seq.map((p, g) => seq.slice(0, g).filter((q) => q.tower === p.tower).length);
    const prefix = 8;
    const pre = layoutBatch(z.config, [[full[0]!, { tower: 'text', ids: [11] }]]);
    let r = z.run(pre.streams, 1, { keepState: true, logits: ['text'] });
    let state = r.state!;
    tf.dispose(r.logits);
    let compared = 0;
    for (let g = prefix; g < seq.length; g++) {
      const p = seq[g]!;
      const input: StreamInput = { length: 1, ids: Int32Array.of(p.id), global: Int32Array.of(g) };
      r = z.run({ [p.tower]: input }, 1, { state, keepState: true });
      disposeZipperState(state);
      state = r.state!;
      const got = values(r.logits[p.tower]!);
      const V = got.length;
      const want = values(whole[p.tower]!).slice(streamIndex[g]! * V, (streamIndex[g]! + 1) * V);
      got.forEach((x, k) => expect(Math.abs(x - want[k]!), `${p.tower} at global ${g}`).toBeLessThan(1e-5));
      compared++;
      tf.dispose(r.logits);
    }
    expect(compared).toBe(seq.length - prefix);
    disposeZipperState(state);
    tf.dispose(whole);
  });

  it.each([
    ['position-blind', () => z],
    ['crossRope', () => zr],
  ])('%s: generates the same tokens with and without caches, batched and ragged, across [text, speech]', async (_, model) => {
    const z = model();
    for (const sampling of [{}, { temperature: 1, topK: 5, topP: 0.9, seed: 11 }]) {
      const opts = { output: ['text', 'speech'], maxNewTokens: { text: 5, speech: 6 }, ...sampling };
      const cached = await generateZipped(z, INPUTS, opts);
      const plain = await generateZipped(z, INPUTS, { ...opts, useCache: false });
      expect(cached.rows).toEqual(plain.rows);
      for (const row of cached.rows) {
        expect(row.map((s) => s.tower)).toEqual(['text', 'speech']);
        for (const s of row) expect(s.ids.length).toBeLessThanOrEqual(s.tower === 'text' ? 5 : 6);
      }
    }
  });

  it('stops at eos: a tower whose eos dominates ends its segment with finishReason "stop"', async () => {
    const t = z.towers.get('text')!;
    const emb = t.param('emb.weight');
    const saved = emb.clone();
    // make text's eos row huge, so every text position predicts eos
    emb.assign(tf.tidy(() => tf.concat([tf.slice(saved, [0, 0], [12, 12]), tf.mul(tf.ones([1, 12]), 30)], 0)));
    let out: Awaited<ReturnType<typeof generateZipped>>;
    try {
      out = await generateZipped(z, INPUTS.slice(0, 2), { output: ['text', 'speech'], maxNewTokens: 4 });
    } finally {
      // restored even on failure: the later tests share z
      emb.assign(saved);
      saved.dispose();
    }
    for (const row of out.rows) {
      expect(row[0]).toEqual({ tower: 'text', ids: [], finishReason: 'stop' });
      expect(row[1]!.tower).toBe('speech');
    }
  });

  it('stopTokens end a segment as eos does: the greedy tokens up to the stop, then the next tower, cached = uncached', async () => {
    const opts = { output: ['text', 'speech'], maxNewTokens: { text: 5, speech: 4 } };
    const free = await generateZipped(z, INPUTS, opts);
    // stop text at the first row's third token: every row ends where that token first appears
    const stop = free.rows[0]![0]!.ids[2]!;
    expect(stop).toBeDefined();
    for (const stopTokens of [[stop], { text: [stop] }]) {
      const cached = await generateZipped(z, INPUTS, { ...opts, stopTokens });
      const plain = await generateZipped(z, INPUTS, { ...opts, stopTokens, useCache: false });
      expect(cached.rows).toEqual(plain.rows);
      cached.rows.forEach((row, r) => {
        const ids = free.rows[r]![0]!.ids;
        const at = ids.indexOf(stop);
        expect(row[0]).toEqual(at < 0 ? free.rows[r]![0] : { tower: 'text', ids: ids.slice(0, at), finishReason: 'stop' });
        expect(row[1]!.tower).toBe('speech');
      });
      expect(cached.rows[0]![0]!.ids.length).toBeLessThan(free.rows[0]![0]!.ids.length); // the first row was cut
    }
    // a stop list for speech only leaves text as it was
    const speechOnly = await generateZipped(z, INPUTS, { ...opts, stopTokens: { speech: [] } });
    expect(speechOnly.rows).toEqual(free.rows);
    await expect(generateZipped(z, INPUTS, { ...opts, stopTokens: [11] })).rejects.toThrow(
      /stop token 11 is outside \[0, 11\) of tower "speech"/,
    );
    await expect(generateZipped(z, INPUTS, { ...opts, stopTokens: { video: [1] } })).rejects.toThrow(UnknownTowerError);
  });

  it('rows that switch tower at different steps split into groups; cached still equals uncached', async () => {
    const t = z.towers.get('text')!;
    const emb = t.param('emb.weight');
    const saved = emb.clone();
    // a larger eos row makes eos likely but not certain: rows end their text segment at different steps
    emb.assign(tf.tidy(() => tf.concat([tf.slice(saved, [0, 0], [12, 12]), tf.mul(tf.ones([1, 12]), 1)], 0)));
    const inputs = [...INPUTS, ...INPUTS, ...INPUTS];
    const opts = { output: ['text', 'speech'], maxNewTokens: { text: 6, speech: 3 }, temperature: 1, seed: 5 };
    let cached: Awaited<ReturnType<typeof generateZipped>>;
    let plain: Awaited<ReturnType<typeof generateZipped>>;
    try {
      cached = await generateZipped(z, inputs, opts);
      plain = await generateZipped(z, inputs, { ...opts, useCache: false });
    } finally {
      emb.assign(saved);
      saved.dispose();
    }
    expect(cached.rows).toEqual(plain.rows);
    const textLengths = new Set(cached.rows.map((r) => r[0]!.ids.length));
    console.log('text segment lengths per row:', cached.rows.map((r) => `${r[0]!.ids.length}:${r[0]!.finishReason}`).join(' '));
    expect(textLengths.size).toBeGreaterThan(1);
    expect(cached.rows.some((r) => r[0]!.finishReason === 'stop')).toBe(true);
  });

  it('guidance: greedy tokens equal a reference of whole forwards sampling cond + s * (cond - uncond); uncond = cond changes nothing', async () => {
    // trained on PAIRS (nothing frozen) so that the speech depends on the text: untrained, the
    // text moves the tiny speech tower's logits by ~4e-5 and no guidance scale changes a token
    const z = Zipper.create(towers(), SCHEDULE, { seed: 3 });
    try {
      await guidanceChecks(z);
    } finally {
      z.dispose();
    }
  });

  /** The guidance test's body on its own model `z` (disposed by the caller whatever happens). */
  async function guidanceChecks(z: Zipper): Promise<void> {
    perturbFusion(z);
    const t = pairsTrainer(z, {}, []);
    try {
      await t.train(120);
    } finally {
      t.dispose();
    }
    const inputs: Example[] = [[{ tower: 'text', ids: [11, 1, 2, 3, 12] }], [{ tower: 'text', ids: [11, 4, 5, 12] }]];
    const empty: Example = [{ tower: 'text', ids: [11, 12] }];
    const scale = 2;
    const opts = { output: ['speech'], maxNewTokens: 6 };
    const guided = await generateZipped(z, inputs, { ...opts, guidance: { scale, inputs: [empty, empty] } });
    const plain = await generateZipped(z, inputs, { ...opts, guidance: { scale, inputs: [empty, empty] }, useCache: false });
    expect(guided.rows).toEqual(plain.rows);
    /** The speech logits after `example` and the speech segment [bos, ...ids], by one whole forward. */
    const lastLogits = (example: Example, ids: number[]): Float32Array => {
      const out = z.forward(layoutBatch(z.config, [[...example, { tower: 'speech', ids: [9, ...ids] }]]));
      const all = values(out.speech!);
      tf.dispose(out);
      return all.slice(all.length - 11);
    };
    for (const [r, example] of inputs.entries()) {
      const ids: number[] = [];
      let finishReason = 'length';
      while (ids.length < opts.maxNewTokens) {
        const c = lastLogits(example, ids);
        const u = lastLogits(empty, ids);
        const mixed = c.map((x, k) => x + scale * (x - u[k]!));
        mixed[9] = -Infinity; // the open segment's bos is never sampled
        const tok = mixed.indexOf(Math.max(...mixed));
        if (tok === 10) {
          finishReason = 'stop';
          break;
        }
        ids.push(tok);
      }
      expect(guided.rows[r]).toEqual([{ tower: 'speech', ids, finishReason }]);
    }
    const free = await generateZipped(z, inputs, opts);
    console.log('unguided', JSON.stringify(free.rows.map((r) => r[0]!.ids)), 'guided', JSON.stringify(guided.rows.map((r) => r[0]!.ids)));
    expect(free.rows).not.toEqual(guided.rows); // the guidance changed the tokens
    // an unconditional input equal to the row's own: cond - uncond is 0, the tokens are the unguided ones (sampled too)
    const sampled = { ...opts, temperature: 1, seed: 4 };
    expect((await generateZipped(z, inputs, { ...sampled, guidance: { scale: 3, inputs } })).rows).toEqual(
      (await generateZipped(z, inputs, sampled)).rows,
    );
    expect((await generateZipped(z, inputs, { ...sampled, guidance: { scale: 0, inputs: [] } })).rows).toEqual(
      (await generateZipped(z, inputs, sampled)).rows,
    );
    await expect(generateZipped(z, inputs, { ...opts, guidance: { scale: 1, inputs: [empty] } })).rejects.toThrow(
      /guidance.inputs must hold one unconditional example per input \(2\), got 1/,
    );
    await expect(generateZipped(z, inputs, { ...opts, guidance: { scale: -1, inputs: [empty, empty] } })).rejects.toThrow(ConfigError);
    await expect(
      generateZipped(z, inputs, { ...opts, guidance: { scale: 1, inputs: [empty, [{ tower: 'text', ids: [1] }]] } }),
    ).rejects.toThrow(/example 1, segment 0 \(text\) starts with 1/);
  }

  it('inputNoise: sampled tokens equal a reference of whole forwards over the corrupted past; rate 0 is plain decoding; cached = uncached', async () => {
    const inputs: Example[] = [[{ tower: 'text', ids: [11, 1, 2, 3, 12] }], [{ tower: 'text', ids: [11, 4, 5, 12] }]];
    const opts = { output: ['speech'], maxNewTokens: 12, temperature: 1, seed: 5 };
    const inputNoise = { rate: 0.5, towers: ['speech'] };
    const noisy = await generateZipped(z, inputs, { ...opts, inputNoise });
    expect((await generateZipped(z, inputs, { ...opts, inputNoise, useCache: false })).rows).toEqual(noisy.rows);
    const plain = await generateZipped(z, inputs, opts);
    expect((await generateZipped(z, inputs, { ...opts, inputNoise: { rate: 0, towers: ['speech'] } })).rows).toEqual(plain.rows);
    expect(noisy.rows).not.toEqual(plain.rows); // the corrupted past changed the tokens
    // the reference: per round, rows in order (one group while both are open), each row's next token
    // sampled (the sampling PRNG, seed 5) after its corrupted past, then its noise drawn (the noise PRNG)
    const sampler = new Rng(5);
    const rng = new Rng(hashSeed(5, 'input-noise'));
    const ids: number[][] = inputs.map(() => []);
    const fed: number[][] = inputs.map(() => []);
    const done = inputs.map(() => false);
    let replaced = 0;
    for (let step = 0; step < opts.maxNewTokens && done.includes(false); step++)
      for (const [r, example] of inputs.entries()) {
        if (done[r]) continue;
        const out = z.forward(layoutBatch(z.config, [[...example, { tower: 'speech', ids: [9, ...fed[r]!] }]]));
        const logits = values(out.speech!).slice(-11);
        tf.dispose(out);
        logits[9] = -Infinity; // the open segment's bos is never sampled
        const tok = sampleToken(logits, resolveSamplingConfig({ temperature: 1 }), sampler);
        if (tok === 10) {
          done[r] = true;
          continue;
        }
        ids[r]!.push(tok);
        const f = noisyToken(z.config, 'speech', tok, 0.5, rng);
        if (f !== tok) replaced++;
        fed[r]!.push(f);
      }
    expect(noisy.rows.map((row) => row[0]!.ids)).toEqual(ids);
    expect(replaced).toBeGreaterThan(2);
    await expect(generateZipped(z, inputs, { ...opts, inputNoise: { rate: 1, towers: ['speech'] } })).rejects.toThrow(
      /input noise rate must be a number in \[0, 1\), got 1/,
    );
    await expect(generateZipped(z, inputs, { ...opts, inputNoise: { rate: 0.5, towers: ['image'] } })).rejects.toThrow(UnknownTowerError);
  });

  it('leaks no tensor across generate calls', async () => {
    await generateZipped(z, INPUTS, { output: ['speech'], maxNewTokens: 3 });
    const before = tf.memory().numTensors;
    await generateZipped(z, INPUTS, { output: ['text', 'speech'], maxNewTokens: 3 });
    await generateZipped(z, INPUTS, { output: ['speech'], maxNewTokens: 3, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad input with a typed error naming what is wrong', async () => {
    await expect(generateZipped(z, INPUTS, { output: ['video'], maxNewTokens: 3 })).rejects.toThrow(UnknownTowerError);
    await expect(generateZipped(z, INPUTS, { output: ['video'], maxNewTokens: 3 })).rejects.toThrow(/output names tower "video"/);
    await expect(generateZipped(z, [[{ tower: 'image', ids: [1] }]], { output: ['text'], maxNewTokens: 3 })).rejects.toThrow(
      /example 0, segment 0 names tower "image"/,
    );
    await expect(generateZipped(z, [[{ tower: 'image', ids: [1] }]], { output: ['text'], maxNewTokens: 3 })).rejects.toThrow(
      UnknownTowerError,
    );
    await expect(generateZipped(z, [[{ tower: 'speech', ids: [9, 11, 10] }]], { output: ['text'], maxNewTokens: 3 })).rejects.toThrow(
      TokenRangeError,
    );
    await expect(generateZipped(z, [[{ tower: 'speech', ids: [9, 11, 10] }]], { output: ['text'], maxNewTokens: 3 })).rejects.toThrow(
      /token id 11 is outside \[0, 11\) of tower "speech"/,
    );
    await expect(generateZipped(z, [[{ tower: 'speech', ids: [] }]], { output: ['text'], maxNewTokens: 3 })).rejects.toThrow(SegmentError);
    await expect(generateZipped(z, [[{ tower: 'speech', ids: [1, 2] }]], { output: ['text'], maxNewTokens: 3 })).rejects.toThrow(
      /starts with 1, not the tower's bos 9/,
    );
    await expect(generateZipped(z, [[]], { output: ['text'], maxNewTokens: 3 })).rejects.toThrow(/example 0 has no segment/);
    expect(() => layoutBatch(z.config, [[{ tower: 'text', ids: [11, -1] }]])).toThrow(TokenRangeError);
  });

  it('never samples the bos of the open segment: near-uniform sampling over 8 seeds gives > 60 speech ids, none of them bos', async () => {
    const speechIds: number[] = [];
    const textIds: number[] = [];
    for (let seed = 0; seed < 8; seed++) {
      const out = await generateZipped(z, INPUTS, { output: ['speech', 'text'], maxNewTokens: 40, temperature: 50, seed });
      for (const row of out.rows) for (const s of row) (s.tower === 'speech' ? speechIds : textIds).push(...s.ids);
    }
    // at temperature 50 the 11 speech ids are near-uniform: without the mask, P(no bos in 60 draws) < 0.4%
    expect(speechIds.length).toBeGreaterThan(60);
    expect(speechIds).not.toContain(9);
    expect(textIds).not.toContain(11);
    expect(new Set(speechIds).size).toBe(9); // every id but bos (9) and eos (10, which ends the segment)
  });
});
