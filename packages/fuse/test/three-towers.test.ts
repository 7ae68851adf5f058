/**
 * N towers: three towers trained and decoded end to end (three segments), and a tower added to an
 * already zipped, trained pair: the old weights stay bit-identical, only the new ones train.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Trainer } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ASR,
  fusedGradients,
  generateZipped,
  layoutBatch,
  linkKey,
  TaskMixture,
  TTS,
  Zipper,
  type AlignedItem,
  type TaskSpec,
} from '../src/index.js';
import { examples, imageTower, perturbFusion, SCHEDULE, setGates, setup, towers, values } from './helpers.js';

beforeAll(setup);

const ITEMS: AlignedItem[] = [
  { text: [1, 2, 3], speech: [4, 4, 5, 6, 7], image: [1, 2, 3, 4] },
  { text: [4, 5], speech: [2, 3, 8, 0], image: [0, 0, 4] },
  { text: [6, 7, 8, 9], speech: [1, 5, 2, 7, 3, 3], image: [2, 1] },
];
const CAPTION_TO_SPEECH: TaskSpec = { inputs: ['image', 'text'], output: 'speech' };
const DESCRIBE: TaskSpec = { inputs: ['image', 'speech'], output: 'text' };
/** image as the output: the links into image see earlier text and speech */
const DRAW: TaskSpec = { inputs: ['speech', 'text'], output: 'image' };
const ALL = [
  { task: DESCRIBE, weight: 1 },
  { task: CAPTION_TO_SPEECH, weight: 1 },
  { task: DRAW, weight: 1 },
];

const bytes = (v: tf.Tensor) => Buffer.from((v.dataSync() as Float32Array).slice().buffer);

function trainer(z: Zipper, tasks: { task: TaskSpec; weight: number }[], trainable?: (k: string) => boolean) {
  return new Trainer(z, new TaskMixture(z.config, ITEMS, { batchSize: 3, seed: 1, tasks }), {
    strategy: fusedGradients(z),
    schedule: { peakLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 100 },
    optimizer: { weightDecay: 0 },
    ...(trainable ? { trainable } : {}),
  });
}

describe('three towers', () => {
  it('train end to end on three-segment examples and decode across three segments (cached = uncached)', async () => {
    const z = Zipper.create([...towers(), imageTower()], { schedule: { intervals: { text: 1, speech: 3, image: 1 } } }, { seed: 5 });
    expect(z.config.schedule.links.map(linkKey)).toContain('cross.image_from_speech.1');
    expect(z.config.schedule.links.map(linkKey)).toContain('cross.text_from_image.2');
    const t = trainer(z, ALL);
    const gates0 = new Map([...z.params].filter(([k]) => k.endsWith('gate_attn')).map(([k, v]) => [k, bytes(v)]));
    const steps = await t.train(3);
    for (const s of steps) expect(Number.isFinite(s.loss)).toBe(true);
    expect(steps.some((s) => s.streams['text'] && s.streams['speech'] && s.streams['image'])).toBe(true);
    // every link's gate received gradient (image links included)
    for (const [k, b] of gates0) expect(bytes(z.param(k)).equals(b), k).toBe(false);
    t.dispose();

    const inputs = [[{ tower: 'image', ids: [5, 1, 2, 3, 6] }], [{ tower: 'image', ids: [5, 4, 6] }]];
    const opts = { output: ['text', 'speech'], maxNewTokens: { text: 4, speech: 5 } };
    const cached = await generateZipped(z, inputs, opts);
    const plain = await generateZipped(z, inputs, { ...opts, useCache: false });
    expect(cached.rows).toEqual(plain.rows);
    for (const r of cached.rows) expect(r.map((s) => s.tower)).toEqual(['text', 'speech']);
    z.dispose();
  });

  it('a tower added later: old weights bit-identical (and old outputs unchanged at addition), only new links train', async () => {
    const ab = Zipper.create(towers(), SCHEDULE, { seed: 3 });
    perturbFusion(ab);
    setGates(ab, 0.3);
    const tab = trainer(ab, [
      { task: ASR, weight: 1 },
      { task: TTS, weight: 1 },
    ]);
    await tab.train(2);
    tab.dispose();
    const batch = layoutBatch(ab.config, examples());
    const before = ab.forward(batch);
    const old = new Map([...ab.params].map(([k, v]) => [k, bytes(v)]));

    const { model: abc, newKeys } = ab.addTower(imageTower(), [
      { to: 'text', toLayer: 2, from: 'image', fromLayer: 2 },
      { to: 'image', toLayer: 1, from: 'text', fromLayer: 1 },
      { to: 'image', toLayer: 2, from: 'speech', fromLayer: 3 },
    ]);
    expect(() => ab.forward(batch)).toThrow(/consumed by addTower/);
    expect(newKeys.filter((k) => k.startsWith('cross.')).map((k) => k.split('.').slice(0, 3).join('.'))).toContain(
      'cross.text_from_image.2',
    );
    expect(newKeys.some((k) => old.has(k))).toBe(false);
    // at addition the new gates are 0: text and speech outputs on text/speech examples are unchanged
    const after = abc.forward(batch);
    for (const n of ['text', 'speech']) expect(bytes(after[n]!).equals(bytes(before[n]!))).toBe(true);
    tf.dispose([before, after]);

    const fresh = new Set(newKeys);
    const t = trainer(abc, ALL, (k) => fresh.has(k));
    expect([...t.trainable].sort()).toEqual([...newKeys].sort());
    const n0 = new Map(newKeys.map((k) => [k, bytes(abc.param(k))]));
    await t.train(2);
    t.dispose();
    for (const [k, b] of old) expect(bytes(abc.param(k)).equals(b), k).toBe(true);
    expect(newKeys.filter((k) => k.endsWith('gate_attn') && !bytes(abc.param(k)).equals(n0.get(k)!)).length).toBe(3);
    expect(values(abc.param('cross.text_from_image.2.gate_attn'))[0]).not.toBe(0);
    abc.dispose();
  });
});
