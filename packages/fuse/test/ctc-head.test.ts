/**
 * The auxiliary CTC head (config.ctc, training.ts `ctcWeight`): its stream equals core's ctcLoss
 * on the head's logits over the step's label count; the total adds weight x that stream; the
 * head and the link projection it reads train (with both towers frozen) and its loss falls; with
 * ctcWeight 0 the losses and gradients are the plain model's; bad configs are typed errors; a
 * checkpoint keeps the head.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@zipper/core';
import { ctcLoss } from '@zipper/core/ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ByteLexicon,
  ctcGreedy,
  ctcLexiconBeam,
  ctcLogProbs,
  ctcTargets,
  ctcText,
  ctcTranscripts,
  fusedGradients,
  layoutBatch,
  loadZipper,
  resolveZipperConfig,
  saveZipper,
  segmentMaskHost,
  Zipper,
} from '../src/index.js';
import { examples, PAIRS, pairsTrainer, perturbFusion, SCHEDULE, setup, towers } from './helpers.js';

beforeAll(setup);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const CTC = { ...SCHEDULE, ctc: [{ from: 'speech', to: 'text' }] };

/** Levenshtein distance of two label sequences. */
function editDistance(a: readonly number[], b: readonly number[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Summed edit distance of the head's greedy decoding of each pair's speech to its text. */
const distanceToPairs = (z: Zipper) =>
  ctcGreedy(
    z,
    PAIRS.map((p) => [9, ...p.speech!, 10]),
  ).reduce((n, got, i) => n + editDistance(got, PAIRS[i]!.text!), 0);

describe('CTC head', () => {
  it('adds ctc.text_from_speech.{weight,bias} [D_text, V_text + 1] after the links; rejects heads without a link or tower', () => {
    const z = Zipper.create(towers(), CTC, { seed: 2 });
    const keys = [...z.params.keys()];
    expect(keys.slice(-2)).toEqual(['ctc.text_from_speech.weight', 'ctc.text_from_speech.bias']);
    expect(z.param('ctc.text_from_speech.weight').shape).toEqual([12, 14]);
    z.dispose();
    const base = { towers: towers().map((t) => ({ name: t.name, config: t.tower.config, bos: t.bos, eos: t.eos })) };
    expect(() =>
      resolveZipperConfig({
        ...base,
        schedule: [{ to: 'speech', toLayer: 1, from: 'text', fromLayer: 1 }],
        ctc: [{ from: 'speech', to: 'text' }],
      }),
    ).toThrow(/no link text <- speech/);
    expect(() => resolveZipperConfig({ ...base, ...CTC, ctc: [{ from: 'audio', to: 'text' }] })).toThrow(ConfigError);
    expect(() => resolveZipperConfig({ ...base, ...CTC, ctc: [{ from: 'speech', to: 'text', weight: 1 } as never] })).toThrow(
      /must be \{ from, to, labels\?, encoderLayers\?, feedLinks\?, search\? \}/,
    );
    expect(resolveZipperConfig({ ...base, ...SCHEDULE }).ctc).toEqual([]);
  });

  it('its stream is ctcLoss on the head logits over the step label count; the total adds weight x stream', () => {
    const z = Zipper.create(towers(), CTC, { seed: 2, crossGate: 0.3 });
    const batch = layoutBatch(z.config, examples());
    const t = ctcTargets(z.config, batch, z.config.ctc[0]!);
    // labels: the text content, bos/eos dropped, of all text segments; row 1 (6 tokens, 5 speech positions) cannot align
    expect(t.rows).toEqual([0, 2]);
    expect(t.labels).toEqual([
      [3, 1, 4],
      [1, 2, 9, 10, 0],
    ]);
    expect(t.frames).toEqual([9, 7]);
    const plain = fusedGradients(z);
    const withCtc = fusedGradients(z, undefined, { ctcWeight: 0.3 });
    expect(withCtc.countTargets(batch)['text_ctc']).toBe(8);
    const trainable = z.trainableKeys();
    const den = withCtc.countTargets(batch);
    const a = plain.computeGradients(batch, { trainable, denominator: 0, denominators: den });
    const b = withCtc.computeGradients(batch, { trainable, denominator: 0, denominators: den });
    const direct = tf.tidy(() => {
      const run = z.run(batch.streams, batch.batchSize, { ctc: true });
      const rows = tf.gather(run.ctc!['text_from_speech']!, tf.tensor1d(t.rows, 'int32'), 0) as tf.Tensor3D;
      return tf.sum(ctcLoss(rows, t.labels, { blank: 13, frameLengths: t.frames })).dataSync()[0]! / 8;
    });
    expect(b.streams!['text_ctc']).toBeCloseTo(direct, 5);
    expect(b.streams!['text']).toBeCloseTo(a.streams!['text']!, 6);
    expect(b.loss.dataSync()[0]).toBeCloseTo(a.loss.dataSync()[0]! + 0.3 * direct, 5);
    // the head and the link projection it reads get gradient; the attention weights' gradients are the plain model's plus nothing from CTC
    const head = b.grads.get('ctc.text_from_speech.weight')!;
    expect(tf.max(tf.abs(head)).dataSync()[0]).toBeGreaterThan(0);
    const projKey = 'cross.text_from_speech.1.proj.layers.0.weight';
    expect(tf.max(tf.abs(tf.sub(b.grads.get(projKey)!, a.grads.get(projKey)!))).dataSync()[0]).toBeGreaterThan(1e-6);
    const qKey = 'cross.text_from_speech.1.attn.q.weight';
    expect(tf.max(tf.abs(tf.sub(b.grads.get(qKey)!, a.grads.get(qKey)!))).dataSync()[0]).toBeLessThan(1e-7);
    tf.dispose([a.loss, b.loss, ...a.grads.values(), ...b.grads.values()]);
    z.dispose();
  });

  it('with both towers frozen, the CTC loss falls below a third of its start in 60 steps; ctcWeight 0 leaves the head untouched', async () => {
    for (const ctcWeight of [1, 0]) {
      const z = Zipper.create(towers(), { ...CTC, freeze: ['text', 'speech'] }, { seed: 2 });
      const head0 = z.param('ctc.text_from_speech.weight').dataSync().slice();
      const t = pairsTrainer(z, { ctcWeight });
      const before = ctcWeight > 0 ? distanceToPairs(z) : 0;
      const steps = await t.train(60);
      if (ctcWeight > 0) {
        // greedy decoding of the head follows its loss: closer to the pairs' text after training
        const after = distanceToPairs(z);
        console.log(`ctc head: greedy edit distance to the 4 pairs' text ${before} -> ${after}`);
        expect(after).toBeLessThan(before);
        const first = steps[0]!.streams['text_ctc']!.loss;
        const last = steps.at(-1)!.streams['text_ctc']!.loss;
        console.log(`ctc head: text_ctc ${first.toFixed(3)} -> ${last.toFixed(3)} nats/label in 60 steps`);
        expect(last).toBeLessThan(first / 3);
      } else {
        expect(steps[0]!.streams['text_ctc']).toBeUndefined();
        expect(Buffer.from(z.param('ctc.text_from_speech.weight').dataSync().buffer).equals(Buffer.from(head0.buffer))).toBe(true);
      }
      t.dispose();
      z.dispose();
    }
  });

  it('labels { classes, map }: each token stands for its label sequence; the head has classes + 1 outputs', () => {
    // text tokens 0..12 -> labels over 3 classes: token t -> [t % 3, (t + 1) % 3]; specials (11, 12) -> []
    const map = Array.from({ length: 13 }, (_, t) => (t >= 11 ? [] : [t % 3, (t + 1) % 3]));
    const z = Zipper.create(towers(), { ...SCHEDULE, ctc: [{ from: 'speech', to: 'text', labels: { classes: 3, map } }] }, { seed: 2 });
    expect(z.param('ctc.text_from_speech.weight').shape).toEqual([12, 4]);
    const batch = layoutBatch(z.config, examples());
    const t = ctcTargets(z.config, batch, z.config.ctc[0]!);
    expect(t.rows).toEqual([0]); // row 1: 12 labels in 5 positions; row 2: 10 labels with 3 repeats need 13, it has 7
    expect(t.labels[0]).toEqual([0, 1, 1, 2, 1, 2]); // tokens 3, 1, 4
    const g = fusedGradients(z, undefined, { ctcWeight: 1 });
    const r = g.computeGradients(batch, { trainable: z.trainableKeys(), denominator: 0, denominators: g.countTargets(batch) });
    expect(Number.isFinite(r.streams!['text_ctc']!)).toBe(true);
    tf.dispose([r.loss, ...r.grads.values()]);
    z.dispose();
    const base = { towers: towers().map((x) => ({ name: x.name, config: x.tower.config, bos: x.bos, eos: x.eos })), ...SCHEDULE };
    expect(() =>
      resolveZipperConfig({ ...base, ctc: [{ from: 'speech', to: 'text', labels: { classes: 3, map: map.slice(1) } }] }),
    ).toThrow(/one entry per token of tower "text" \(13\), got 12/);
    expect(() => resolveZipperConfig({ ...base, ctc: [{ from: 'speech', to: 'text', labels: { classes: 2, map } }] })).toThrow(
      /labels.map\[1\] must be a list of labels in \[0, 2\)/,
    );
  });

  it('greedy decoding: a batch of ragged rows decodes as each row alone; no blank in the output; a model without a head refuses', () => {
    const z = Zipper.create(towers(), CTC, { seed: 2 });
    perturbFusion(z, 9);
    const rows = PAIRS.map((p) => [9, ...p.speech!, 10]);
    const batch = ctcGreedy(z, rows);
    rows.forEach((r, i) => expect(ctcGreedy(z, [r])[0]).toEqual(batch[i]));
    expect(batch.flat().some((k) => k === 13)).toBe(false);
    expect(batch.flat().length).toBeGreaterThan(0);
    z.dispose();
    const plain = Zipper.create(towers(), SCHEDULE, { seed: 2 });
    expect(() => ctcGreedy(plain, rows)).toThrow(ConfigError);
    plain.dispose();
  });

  it('a fused checkpoint keeps the head and its config', async () => {
    const z = Zipper.create(towers(), CTC, { seed: 2 });
    const dir = mkdtempSync(path.join(tmpdir(), 'zipper-ctc-'));
    dirs.push(dir);
    await saveZipper(dir, z);
    const back = await loadZipper(dir);
    expect(back.config.ctc).toEqual([{ from: 'speech', to: 'text' }]);
    expect(back.param('ctc.text_from_speech.weight').dataSync()).toEqual(z.param('ctc.text_from_speech.weight').dataSync());
    back.dispose();
    z.dispose();
  });
});

describe('CTC head with a bidirectional encoder (encoderLayers)', () => {
  const ENC = { ...SCHEDULE, ctc: [{ from: 'speech', to: 'text', encoderLayers: 2 }] };
  const logits = (z: Zipper, rows: readonly (readonly number[])[]): number[][][] => {
    const s = Math.max(...rows.map((r) => r.length));
    const ids = new Int32Array(rows.length * s).fill(10);
    const global = new Int32Array(rows.length * s).fill(-1);
    rows.forEach((r, b) =>
      r.forEach((id, i) => {
        ids[b * s + i] = id;
        global[b * s + i] = i;
      }),
    );
    return tf.tidy(() => {
      const out = z.run({ speech: { length: s, ids, global } }, rows.length, { logits: [], ctc: true });
      return out.ctc!['text_from_speech']!.arraySync();
    });
  };
  const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i]![j]!))));

  it('adds encoder.<i>.* (core block layout) and encoder_norm before the head weights; 0 layers is the plain head; bad counts are typed errors', () => {
    const z = Zipper.create(towers(), ENC, { seed: 2 });
    const keys = [...z.params.keys()].filter((k) => k.startsWith('ctc.'));
    const block = ['ln1.scale', 'qkv.weight', 'out.weight', 'ln2.scale', 'up.weight', 'down.weight'];
    expect(keys).toEqual([
      ...[0, 1].flatMap((i) => block.map((b) => `ctc.text_from_speech.encoder.${i}.${b}`)),
      'ctc.text_from_speech.encoder_norm.scale',
      'ctc.text_from_speech.weight',
      'ctc.text_from_speech.bias',
    ]);
    expect(z.param('ctc.text_from_speech.encoder.1.up.weight').shape).toEqual([12, 48]); // the text tower's width and MLP ratio
    z.dispose();
    const base = { towers: towers().map((t) => ({ name: t.name, config: t.tower.config, bos: t.bos, eos: t.eos })), ...SCHEDULE };
    expect(resolveZipperConfig({ ...base, ctc: [{ from: 'speech', to: 'text', encoderLayers: 0 }] }).ctc).toEqual([
      { from: 'speech', to: 'text' },
    ]);
    for (const bad of [-1, 1.5, '2'])
      expect(() => resolveZipperConfig({ ...base, ctc: [{ from: 'speech', to: 'text', encoderLayers: bad as number }] })).toThrow(
        /encoderLayers must be an integer >= 0/,
      );
  });

  it('reads later positions (the plain head does not); a ragged batch gives each row as alone (1e-5); segments do not see each other', () => {
    const row = [9, 1, 2, 3, 4, 5, 6, 10];
    const changed = [9, 1, 2, 3, 4, 5, 7, 10];
    for (const [config, later] of [
      [ENC, true],
      [CTC, false],
    ] as const) {
      const z = Zipper.create(towers(), config, { seed: 2 });
      perturbFusion(z, 9);
      const [a, b] = [logits(z, [row])[0]!, logits(z, [changed])[0]!];
      if (later) expect(maxDiff([a[0]!], [b[0]!])).toBeGreaterThan(1e-4);
      else expect(maxDiff([a[0]!], [b[0]!])).toBe(0);
      const rows = [row, [9, 3, 1, 10], [9, 2, 2, 2, 2, 2, 2, 2, 2, 10]];
      const batch = logits(z, rows);
      rows.forEach((r, i) => expect(maxDiff(batch[i]!.slice(0, r.length), logits(z, [r])[0]!)).toBeLessThan(1e-5));
      z.dispose();
    }
    // [B=1, S=6]: global 0 1 2 | 5 6 | pad: two segments (a gap in the global indices) and padding
    const m = segmentMaskHost(Int32Array.from([0, 1, 2, 5, 6, -1]), 1, 6);
    const rowsOf = Array.from({ length: 6 }, (_, i) => Array.from(m.subarray(i * 6, i * 6 + 6)));
    expect(rowsOf).toEqual([
      [1, 1, 1, 0, 0, 0],
      [1, 1, 1, 0, 0, 0],
      [1, 1, 1, 0, 0, 0],
      [0, 0, 0, 1, 1, 0],
      [0, 0, 0, 1, 1, 0],
      [0, 0, 0, 0, 0, 0],
    ]);
  });

  it('with both towers frozen, the CTC loss falls below a third of its start in 60 steps and greedy decoding gets closer to the text', async () => {
    const z = Zipper.create(towers(), { ...ENC, freeze: ['text', 'speech'] }, { seed: 2 });
    const t = pairsTrainer(z, { ctcWeight: 1 });
    const before = distanceToPairs(z);
    const steps = await t.train(60);
    const after = distanceToPairs(z);
    const first = steps[0]!.streams['text_ctc']!.loss;
    const last = steps.at(-1)!.streams['text_ctc']!.loss;
    console.log(`ctc encoder head: text_ctc ${first.toFixed(3)} -> ${last.toFixed(3)}, greedy edit distance ${before} -> ${after}`);
    expect(last).toBeLessThan(first / 3);
    expect(after).toBeLessThan(before);
    t.dispose();
    z.dispose();
  });

  it('a fused checkpoint keeps encoderLayers and the encoder weights; a decoding state with past source positions is refused', async () => {
    const z = Zipper.create(towers(), ENC, { seed: 2 });
    perturbFusion(z, 3);
    const dir = mkdtempSync(path.join(tmpdir(), 'zipper-ctc-enc-'));
    dirs.push(dir);
    await saveZipper(dir, z);
    const back = await loadZipper(dir);
    expect(back.config.ctc).toEqual([{ from: 'speech', to: 'text', encoderLayers: 2 }]);
    const row = [9, 1, 2, 3, 10];
    expect(maxDiff(logits(back, [row])[0]!, logits(z, [row])[0]!)).toBe(0);
    back.dispose();
    const pre = z.run({ speech: { length: 5, ids: Int32Array.from(row), global: Int32Array.from([0, 1, 2, 3, 4]) } }, 1, {
      keepState: true,
    });
    expect(() =>
      z.run({ speech: { length: 1, ids: Int32Array.from([4]), global: Int32Array.from([5]) } }, 1, {
        state: pre.state!,
        ctc: true,
        logits: [],
      }),
    ).toThrow(/reads a whole source segment/);
    z.dispose();
  });
});

describe('ctcTranscripts', () => {
  it('greedy: ctcText of ctcGreedy; with a lexicon: ctcLexiconBeam of ctcLogProbs, row by row; a token head refuses a lexicon', () => {
    // a byte head over the tiny text tower: token t spells the letter "a" + t; specials nothing
    const map = Array.from({ length: 13 }, (_, t) => (t < 11 ? [97 + t] : []));
    const head = { from: 'speech', to: 'text', labels: { classes: 256, map } };
    const z = Zipper.create(towers(), { ...SCHEDULE, ctc: [head] }, { seed: 2 });
    perturbFusion(z, 9);
    const rows = PAIRS.map((p) => [9, ...p.speech!, 10]);
    const decodeTokens = () => 'never';
    const greedy = ctcTranscripts(z, rows, decodeTokens);
    expect(greedy).toEqual(ctcGreedy(z, rows).map((l) => ({ text: ctcText(z.config.ctc[0]!, l, decodeTokens), count: l.length })));
    const words = ['a', 'b', 'ab', 'ba', 'cab'];
    const lexicon = ByteLexicon.of({
      words,
      boundary: words.length,
      logProb: () => Math.log(1 / 6),
      unigramLogProb: () => Math.log(1 / 6),
    });
    const search = { labelThreshold: -1e9, beam: 8 };
    const got = ctcTranscripts(z, rows, decodeTokens, { lexicon, search });
    const { rows: lp, classes } = ctcLogProbs(z, rows);
    const want = lp.map((r) => ctcLexiconBeam(r, classes, lexicon, search)[0]!);
    expect(got).toEqual(want.map((h) => ({ text: h.text, count: h.words.length, unknown: 0, dictionary: 0 }))); // no unknown or dictionary words without their costs
    expect(got.some((t) => t.text !== '')).toBe(true);
    for (const t of got) for (const w of t.text.split(' ').filter(Boolean)) expect(words).toContain(w);
    z.dispose();
    const tokens = Zipper.create(towers(), CTC, { seed: 2 });
    expect(() => ctcTranscripts(tokens, rows, decodeTokens, { lexicon })).toThrow(/lexicon decoding spells UTF-8 bytes/);
    tokens.dispose();
  });
});

describe('ctcText', () => {
  it('reads 256-class labels as UTF-8 bytes, token heads through the tokenizer, and refuses other label maps', () => {
    const bytes = { from: 'speech', to: 'text', labels: { classes: 256, map: [] } };
    expect(ctcText(bytes, [...new TextEncoder().encode(' héllo ')], () => 'never')).toBe('héllo');
    expect(ctcText(bytes, [0xff], () => 'never')).toBe('\uFFFD');
    expect(ctcText({ from: 'speech', to: 'text' }, [3, 4], (ids) => ` ${ids.join('-')} `)).toBe('3-4');
    expect(() => ctcText({ from: 'speech', to: 'text', labels: { classes: 5, map: [] } }, [1], () => '')).toThrow(/5 classes/);
  });
});
