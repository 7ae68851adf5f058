/**
 * Links that read a CTC head's encoder (config.ctc[].feedLinks; docs/zipper.md "CTC head"): the
 * weight keys (the head's link keeps its projection, the other fed links have none), typed errors
 * for configs that cannot work, the text of an ASR row reading the encoder (its weights change the
 * text logits; they change nothing without feedLinks), cached decoding equal to the uncached
 * forward and to uncached generation, a refusal to feed a link from a source that grows step by
 * step, a checkpoint round trip, and the ASR text loss falling with both towers frozen (on these
 * tiny towers as much as without feedLinks: whether it helps is measured on the real towers, docs/eval.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disposeZipperState,
  generateZipped,
  layoutBatch,
  loadZipper,
  resolveZipperConfig,
  saveZipper,
  Zipper,
  type Example,
  type StreamInput,
  type ZipperOptions,
} from '../src/index.js';
import { pairsTrainer, perturbFusion, SCHEDULE, setGates, setup, towers, values } from './helpers.js';

beforeAll(setup);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const HEAD = { from: 'speech', to: 'text', encoderLayers: 1 };
const FEED = { ...SCHEDULE, ctc: [{ ...HEAD, feedLinks: true }] };
const ENC = { ...SCHEDULE, ctc: [HEAD] };

/** A fed model with every fusion weight non-trivial and the gates open. */
function fedModel(config: ZipperOptions = FEED, seed = 3): Zipper {
  const z = Zipper.create(towers(), config, { seed });
  perturbFusion(z, 7);
  setGates(z, 0.7);
  return z;
}

const ASR_ROW: Example = [
  { tower: 'speech', ids: [9, 1, 2, 3, 4, 5, 6, 10] },
  { tower: 'text', ids: [11, 4, 5, 6, 12], target: true },
];
const TTS_ROW: Example = [
  { tower: 'text', ids: [11, 4, 5, 12] },
  { tower: 'speech', ids: [9, 1, 2, 3, 10], target: true },
];

describe('links that read the CTC head encoder (feedLinks)', () => {
  it('the head link keeps its projection, the other fed link has none, the speech links keep theirs; bad configs are typed errors', () => {
    const z = Zipper.create(towers(), FEED, { seed: 2 });
    const proj = [...z.params.keys()].filter((k) => k.includes('.proj.'));
    const three = (p: string) => [0, 1, 2].flatMap((i) => [`${p}.proj.layers.${i}.weight`, `${p}.proj.layers.${i}.bias`]);
    expect(proj.sort()).toEqual(
      [...three('cross.text_from_speech.1'), ...three('cross.speech_from_text.2'), ...three('cross.speech_from_text.3')].sort(),
    );
    expect(z.config.ctc).toEqual([{ from: 'speech', to: 'text', encoderLayers: 1, feedLinks: true }]);
    z.dispose();
    const base = { towers: towers().map((t) => ({ name: t.name, config: t.tower.config, bos: t.bos, eos: t.eos })), ...SCHEDULE };
    expect(resolveZipperConfig({ ...base, ctc: [{ ...HEAD, feedLinks: false }] }).ctc).toEqual([HEAD]); // false is not stored
    expect(() => resolveZipperConfig({ ...base, ctc: [{ from: 'speech', to: 'text', feedLinks: true }] })).toThrow(ConfigError);
    expect(() => resolveZipperConfig({ ...base, ctc: [{ from: 'speech', to: 'text', feedLinks: true }] })).toThrow(
      /needs encoderLayers >= 1/,
    );
    expect(() => resolveZipperConfig({ ...base, ctc: [{ ...HEAD, feedLinks: 'yes' as unknown as boolean }] })).toThrow(/must be a boolean/);
    // a later link reading a lower source layer than the head's link: the encoder would read a later state
    const low = {
      ...base,
      schedule: [
        { to: 'text', toLayer: 1, from: 'speech', fromLayer: 2 },
        { to: 'text', toLayer: 2, from: 'speech', fromLayer: 1 },
      ],
      ctc: [{ ...HEAD, feedLinks: true }],
    };
    expect(() => resolveZipperConfig(low)).toThrow(/reads a lower source layer than the head's link/);
  });

  it("an ASR row's text reads the encoder (its weights change the text logits only with feedLinks); a TTS row's speech does not", () => {
    for (const [config, reads] of [
      [FEED, true],
      [ENC, false],
    ] as const) {
      const z = fedModel(config);
      const batch = layoutBatch(z.config, [ASR_ROW, TTS_ROW]);
      const before = tf.tidy(() => z.forward(batch));
      const w = z.param('ctc.text_from_speech.encoder.0.up.weight');
      tf.tidy(() => w.assign(tf.mul(w, 1.5)));
      const after = tf.tidy(() => z.forward(batch));
      const diff = (x: string) => tf.tidy(() => tf.max(tf.abs(tf.sub(before[x]!, after[x]!))).dataSync()[0]!);
      if (reads) expect(diff('text')).toBeGreaterThan(1e-4);
      else expect(diff('text')).toBe(0);
      expect(diff('speech')).toBe(0); // speech <- text links are not fed
      tf.dispose([before, after]);
      z.dispose();
    }
  });

  it('cached step logits equal the uncached forward (encoder keys computed once over the prompt); generation equals uncached, batched and ragged', async () => {
    const z = fedModel();
    const full: Example = [
      { tower: 'speech', ids: [9, 1, 2, 3, 4, 5, 10] },
      { tower: 'text', ids: [11, 4, 5, 6, 7] },
    ];
    const whole = z.forward(layoutBatch(z.config, [full]));
    const pre = layoutBatch(z.config, [[full[0]!, { tower: 'text', ids: [11] }]]);
    let r = z.run(pre.streams, 1, { keepState: true, logits: ['text'], futureReaders: ['text'] });
    let state = r.state!;
    tf.dispose(r.logits);
    const V = 13;
    const ids = full[1]!.ids;
    for (let i = 1; i < ids.length; i++) {
      const input: StreamInput = { length: 1, ids: Int32Array.of(ids[i]!), global: Int32Array.of(7 + i) };
      r = z.run({ text: input }, 1, { state, keepState: true, futureReaders: ['text'] });
      disposeZipperState(state);
      state = r.state!;
      const got = values(r.logits['text']!);
      const want = values(whole['text']!).slice(i * V, (i + 1) * V);
      got.forEach((x, k) => expect(Math.abs(x - want[k]!), `text position ${i}`).toBeLessThan(1e-5));
      tf.dispose(r.logits);
    }
    disposeZipperState(state);
    tf.dispose(whole);
    const inputs: Example[] = [[{ tower: 'speech', ids: [9, 1, 2, 3, 4, 5, 6, 10] }], [{ tower: 'speech', ids: [9, 8, 7, 10] }]];
    for (const sampling of [{}, { temperature: 1, topK: 5, seed: 11 }]) {
      const opts = { output: ['text'], maxNewTokens: { text: 6 }, ...sampling };
      const cached = await generateZipped(z, inputs, opts);
      const plain = await generateZipped(z, inputs, { ...opts, useCache: false });
      expect(cached.rows).toEqual(plain.rows);
    }
    z.dispose();
  });

  it('refuses to feed a link from speech given step by step (the encoder reads a whole segment), with a typed error', () => {
    const z = fedModel();
    const pre = z.run({ speech: { length: 3, ids: Int32Array.of(9, 1, 2), global: Int32Array.of(0, 1, 2) } }, 1, { keepState: true });
    expect(() =>
      z.run({ speech: { length: 1, ids: Int32Array.of(3), global: Int32Array.of(3) } }, 1, { state: pre.state!, keepState: true }),
    ).toThrow(/give the whole source segment in one run/);
    disposeZipperState(pre.state!);
    z.dispose();
  });

  it('a fused checkpoint keeps feedLinks and gives the same logits', async () => {
    const z = fedModel();
    const dir = mkdtempSync(path.join(tmpdir(), 'zipper-feed-'));
    dirs.push(dir);
    await saveZipper(dir, z);
    const back = await loadZipper(dir);
    expect(back.config.ctc).toEqual(z.config.ctc);
    expect([...back.params.keys()]).toEqual([...z.params.keys()]);
    const batch = layoutBatch(z.config, [ASR_ROW, TTS_ROW]);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(back.forward(batch).text!, z.forward(batch).text!))).dataSync()[0]!);
    expect(d).toBe(0);
    back.dispose();
    z.dispose();
  });

  it('with both towers frozen, the ASR text loss and the CTC loss fall in 60 steps (as with links reading the source)', async () => {
    for (const [name, config] of [
      ['fed', FEED],
      ['source', ENC],
    ] as const) {
      const z = Zipper.create(towers(), { ...config, freeze: ['text', 'speech'] }, { seed: 2 });
      const t = pairsTrainer(z, { ctcWeight: 1 });
      const steps = await t.train(60);
      // steps without an ASR row have no text stream: the mean over the steps that have one
      const mean = (a: typeof steps, k: string) => {
        const v = a.flatMap((x) => (x.streams[k] ? [x.streams[k].loss] : []));
        return v.reduce((s, x) => s + x, 0) / v.length;
      };
      const [first, last] = [steps.slice(0, 10), steps.slice(-10)];
      console.log(
        `${name}: text ${mean(first, 'text').toFixed(3)} -> ${mean(last, 'text').toFixed(3)}, text_ctc ${mean(first, 'text_ctc').toFixed(3)} -> ${mean(last, 'text_ctc').toFixed(3)}`,
      );
      expect(mean(last, 'text')).toBeLessThan(mean(first, 'text'));
      expect(mean(last, 'text_ctc')).toBeLessThan(mean(first, 'text_ctc') / 3);
      t.dispose();
      z.dispose();
    }
  });
});
