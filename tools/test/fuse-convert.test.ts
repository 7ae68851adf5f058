/**
 * A fused checkpoint of ours (saveZipper) through tools/interop/convert.py to PyTorch and back.
 *
 * Two fresh towers (text V=17 D=20 L=2 H=2, speech V=19 D=12 L=3 H=2), zipped with the paper's
 * symmetric schedule (every block reads the other tower's same block), 3-layer source
 * projections, text frozen; every gate set to 0.5 so that cross-attention moves the logits (the
 * fusion weights keep their scale-preserving init: scaled 20x, as when the init was std 0.02,
 * their activations saturate and float32 rounding alone split the twins by 0.76 relative). Checks: to-torch loads the twin strictly (the frozen text
 * tower read from its checkpoint, sha256 verified); the twin's logits equal ours; to-zipper brings
 * it back and loadZipper gives bit-identical weights. A second model with the options beyond the
 * paper that change the numbers (crossRope: rotary cross positions; ctc: a CTC head with a label
 * map): the twin's tower logits and CTC logits equal ours, and the twin refuses an option it does
 * not implement instead of silently computing something else. A third with weighted source
 * positions (crossRope sourceWeights): the twin computes the same logits. Needs PyTorch (requireTorchPython).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, saveTower, Tower } from '@zipper/core';
import {
  layoutBatch,
  loadTowerEntry,
  loadZipper,
  saveZipper,
  Zipper,
  type Example,
  type FusedBatch,
  type TowerEntry,
  type ZipperOptions,
} from '@zipper/fuse';
import { requireTorchPython, torchEnv } from '../setup/system.mjs';
import { worstRelative, type TwinLogits } from './twin-logits.js';

const fuse = new URL('../fuse/', import.meta.url).pathname;
const convert = new URL('../interop/convert.py', import.meta.url).pathname;
/** Runs the torch interpreter asynchronously (a long synchronous child would block vitest's worker RPC); resolves to stdout. */
async function python(py: string, args: readonly string[]): Promise<string> {
  return (await promisify(execFile)(py, [...args], { env: torchEnv(), maxBuffer: 256 << 20 })).stdout;
}

const examples: Example[] = [
  [
    { tower: 'speech', ids: [17, 3, 5, 7, 11, 2, 18] },
    { tower: 'text', ids: [15, 4, 9, 16], target: true },
  ],
  [
    { tower: 'text', ids: [15, 1, 2, 3, 14, 16] },
    { tower: 'speech', ids: [17, 13, 0, 18], target: true },
  ],
  [
    { tower: 'text', ids: [15, 6, 16] },
    { tower: 'speech', ids: [17, 8, 8, 1, 18] },
    { tower: 'text', ids: [15, 12, 16], target: true },
  ],
];

/** The two tiny fresh towers both models zip (text V=17 D=20 L=2 H=2, speech V=19 D=12 L=3 H=2), saved and loaded as entries. */
async function tinyTowers(dirs: { text: string; speech: string }) {
  await saveTower(dirs.text, Tower.create({ vocabSize: 17, dModel: 20, nLayers: 2, nHeads: 2, maxSeqLen: 64 }, { seed: 1 }));
  await saveTower(dirs.speech, Tower.create({ vocabSize: 19, dModel: 12, nLayers: 3, nHeads: 2, maxSeqLen: 64 }, { seed: 2 }));
  return towerEntries(dirs);
}

async function towerEntries(dirs: { text: string; speech: string }): Promise<[TowerEntry, TowerEntry]> {
  return [
    await loadTowerEntry(dirs.text, { name: 'text', bos: 15, eos: 16 }),
    await loadTowerEntry(dirs.speech, { name: 'speech', bos: 17, eos: 18 }),
  ];
}

/** Every gate at 0.5, so that cross-attention moves the logits. */
function openGates(zipper: Zipper): void {
  tf.tidy(() => {
    for (const [k, v] of zipper.params) {
      if (/\.(gate|gate_attn|gate_ff)$/.test(k)) v.assign(tf.fill(v.shape, 0.5));
    }
  });
}

/** The paper's symmetric schedule (every block reads the other tower's same block), 3-layer projections, text frozen. */
const SYMMETRIC: ZipperOptions = { schedule: { intervals: { text: 1, speech: 1 } }, projectionLayers: 3, freeze: ['text'] };

/** The two tiny towers zipped with `options` (seed 3), every gate opened, saved to dirs.zipped. */
async function savedZipper(dirs: { text: string; speech: string; zipped: string }, options: ZipperOptions): Promise<Zipper> {
  const zipper = Zipper.create(await tinyTowers(dirs), options, { seed: 3 });
  openGates(zipper);
  await saveZipper(dirs.zipped, zipper);
  return zipper;
}

/** The largest change of `tower`'s logits of `batch` when `zipper`'s weights run under `options` instead. */
async function logitsMoved(
  zipper: Zipper,
  dirs: { text: string; speech: string },
  options: ZipperOptions,
  batch: FusedBatch,
  tower: string,
) {
  const other = Zipper.create(await towerEntries(dirs), options, { seed: 3 });
  tf.tidy(() => {
    for (const [k, v] of zipper.params) other.param(k).assign(v);
  });
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(other.forward(batch)[tower]!, zipper.forward(batch)[tower]!))).dataSync()[0]!);
  other.dispose();
  return diff;
}

/** twin_logits.py on `examples` (written to `file`). */
async function twinLogits(
  py: string,
  dirs: { zipped: string; text: string },
  file: string,
  extra: readonly string[] = [],
  rows: readonly Example[] = examples,
): Promise<TwinLogits> {
  writeFileSync(file, JSON.stringify(rows));
  return JSON.parse(
    await python(py, [
      path.join(fuse, 'twin_logits.py'),
      '--model',
      dirs.zipped,
      '--tower',
      `text=${dirs.text}`,
      '--examples',
      file,
      ...extra,
    ]),
  ) as TwinLogits;
}

describe('fused checkpoints of @zipper/fuse through convert.py', () => {
  let PY = '';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-fuse-convert-'));
  const dirs = {
    text: path.join(tmp, 'text'),
    speech: path.join(tmp, 'speech'),
    zipped: path.join(tmp, 'zipped'),
    pt: path.join(tmp, 'zipped.pt'),
    back: path.join(tmp, 'back'),
  };
  let zipper: Zipper;

  beforeAll(async () => {
    PY = requireTorchPython(); // throws with the install command when no python3 has torch
    await initBackend();
    zipper = await savedZipper(dirs, SYMMETRIC);
  });
  afterAll(() => {
    zipper?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('to-torch loads the twin strictly, and its logits equal ours', async () => {
    const res = JSON.parse(
      (await python(PY, [convert, 'to-torch', '--in', dirs.zipped, '--tower', `text=${dirs.text}`, '--out', dirs.pt, '--check']))
        .trim()
        .split('\n')
        .pop()!,
    );
    expect(res.check).toMatchObject({ strict_load: true, finite: true });
    const twin = await twinLogits(PY, dirs, path.join(tmp, 'examples.json'));
    const batch = layoutBatch(zipper.config, examples);
    const results = worstRelative(() => zipper.forward(batch) as Record<string, tf.Tensor3D>, twin);
    for (const [name, d] of results) expect(d, name).toBeLessThan(1e-5);
  });

  it('cross-attention matters in this model (gates at 0 change the logits)', () => {
    const batch = layoutBatch(zipper.config, examples);
    const gates = [...zipper.params].filter(([k]) => /^cross\..*\.(gate_attn|gate_ff)$/.test(k)).map(([, v]) => v);
    const diff = tf.tidy(() => {
      const a = zipper.forward(batch).text!;
      for (const g of gates) g.assign(tf.zeros(g.shape));
      const b = zipper.forward(batch).text!;
      for (const g of gates) g.assign(tf.fill(g.shape, 0.5));
      return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number;
    });
    expect(diff).toBeGreaterThan(0.05);
  });

  it('to-zipper brings it back: loadZipper gives bit-identical weights, text still frozen', async () => {
    await python(PY, [convert, 'to-torch', '--in', dirs.zipped, '--tower', `text=${dirs.text}`, '--out', dirs.pt]);
    await python(PY, [convert, 'to-zipper', '--in', dirs.pt, '--tower', `text=${dirs.text}`, '--out', dirs.back]);
    const back = await loadZipper(dirs.back, { text: dirs.text });
    expect(back.config.freeze).toEqual(['text']);
    expect([...back.params.keys()].sort()).toEqual([...zipper.params.keys()].sort());
    for (const [k, v] of zipper.params) expect(Array.from(back.param(k).dataSync()), k).toEqual(Array.from(v.dataSync()));
    back.dispose();
  });
});

describe('the twin with cross positions and a CTC head (options beyond the paper)', () => {
  let PY = '';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-fuse-convert-rope-'));
  const dirs = {
    text: path.join(tmp, 'text'),
    speech: path.join(tmp, 'speech'),
    zipped: path.join(tmp, 'zipped'),
    odd: path.join(tmp, 'odd'),
  };
  let zipper: Zipper;

  beforeAll(async () => {
    PY = requireTorchPython();
    await initBackend();
    // labels: each text token spells as 1-2 of 5 classes (as bytes do)
    const map = Array.from({ length: 17 }, (_, t) => (t >= 15 ? [] : t % 3 === 0 ? [t % 5, (t + 2) % 5] : [t % 5]));
    zipper = await savedZipper(dirs, {
      ...SYMMETRIC,
      crossRope: [
        { to: 'text', from: 'speech', rate: 2.37 },
        { to: 'speech', from: 'text', rate: 1 / 2.37 },
      ],
      // feedLinks: the text <- speech links read the head's encoder (the plain links are the first suite's)
      ctc: [{ from: 'speech', to: 'text', labels: { classes: 5, map }, encoderLayers: 2, feedLinks: true }],
    });
  });
  afterAll(() => {
    zipper?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the twin loads it strictly; its tower logits and CTC logits (bidirectional encoder included, read by the links) equal ours; the rotary positions matter', async () => {
    // a row with two speech segments: the CTC encoder sees each segment alone
    const rows: Example[] = [
      ...examples,
      [
        { tower: 'speech', ids: [17, 3, 4, 18] },
        { tower: 'text', ids: [15, 5, 16] },
        { tower: 'speech', ids: [17, 9, 10, 11, 18], target: true },
      ],
    ];
    const twin = await twinLogits(PY, dirs, path.join(tmp, 'examples.json'), ['--ctc'], rows);
    expect(Object.keys(twin.logits).sort()).toEqual(['speech', 'text', 'text_from_speech']);
    const batch = layoutBatch(zipper.config, rows);
    const worst = worstRelative(
      () => {
        const r = zipper.run(batch.streams, batch.batchSize, { ctc: true });
        return { ...r.logits, ...r.ctc } as Record<string, tf.Tensor3D>;
      },
      twin,
      (n) => (n === 'text_from_speech' ? 'speech' : n),
    );
    for (const [name, d] of worst) expect(d, name).toBeLessThan(1e-5);
    // without the rotary positions the text logits differ: the parity above is not vacuous
    expect(await logitsMoved(zipper, dirs, { ...SYMMETRIC, ctc: zipper.config.ctc }, batch, 'text')).toBeGreaterThan(1e-3);
  });

  it("a CTC head's lexicon search settings (decoding only, no weights) load in the twin and change no logit", async () => {
    const doc = JSON.parse(readFileSync(path.join(dirs.zipped, 'zipper.json'), 'utf8')) as { options: { ctc: Record<string, unknown>[] } };
    doc.options.ctc[0]!['search'] = { wordBonus: -1, blankPenalty: 1 };
    const searched = path.join(tmp, 'searched');
    cpSync(dirs.zipped, searched, { recursive: true });
    writeFileSync(path.join(searched, 'zipper.json'), JSON.stringify(doc));
    const plain = await twinLogits(PY, dirs, path.join(tmp, 'examples.json'), ['--ctc']);
    const carried = await twinLogits(PY, { zipped: searched, text: dirs.text }, path.join(tmp, 'examples.json'), ['--ctc']);
    expect(Object.keys(carried.logits).sort()).toEqual(['speech', 'text', 'text_from_speech']);
    expect(carried.logits).toEqual(plain.logits);
  });

  it('the twin refuses an option it does not implement', async () => {
    const doc = JSON.parse(readFileSync(path.join(dirs.zipped, 'zipper.json'), 'utf8')) as { options: Record<string, unknown> };
    doc.options['crossGateScale'] = 2;
    cpSync(dirs.zipped, dirs.odd, { recursive: true });
    writeFileSync(path.join(dirs.odd, 'zipper.json'), JSON.stringify(doc));
    const err = await twinLogits(PY, { zipped: dirs.odd, text: dirs.text }, path.join(tmp, 'examples.json')).catch(
      (e: unknown) => e as { stderr: string },
    );
    expect((err as Partial<TwinLogits>).logits).toBeUndefined();
    expect((err as { stderr: string }).stderr).toMatch(/options crossGateScale are not implemented by the PyTorch twin/);
  });
});

describe('the twin with weighted source positions (crossRope sourceWeights, beyond the paper)', () => {
  let PY = '';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-fuse-convert-weights-'));
  const dirs = { text: path.join(tmp, 'text'), speech: path.join(tmp, 'speech'), zipped: path.join(tmp, 'zipped') };
  let zipper: Zipper;
  // one weight per text id, none of them 1: the speech <- text keys sit at sums of these
  const sourceWeights = Array.from({ length: 17 }, (_, id) => (id % 4) + 0.5 + id / 100);

  beforeAll(async () => {
    PY = requireTorchPython();
    await initBackend();
    zipper = await savedZipper(dirs, {
      ...SYMMETRIC,
      crossRope: [
        { to: 'text', from: 'speech', rate: 2.37 },
        { to: 'speech', from: 'text', rate: 1 / 2.37, sourceWeights },
      ],
    });
  });
  afterAll(() => {
    zipper?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("the twin's logits equal ours (rows of several lengths, a row with two text segments); the weights matter", async () => {
    const twin = await twinLogits(PY, dirs, path.join(tmp, 'examples.json'));
    const batch = layoutBatch(zipper.config, examples);
    const worst = worstRelative(() => zipper.run(batch.streams, batch.batchSize).logits as Record<string, tf.Tensor3D>, twin);
    for (const [name, d] of worst) expect(d, name).toBeLessThan(1e-5);
    // the same weights counted by rank give other speech logits: the parity above is not vacuous
    const ranks = { ...SYMMETRIC, crossRope: zipper.config.crossRope.map(({ to, from, rate }) => ({ to, from, rate })) };
    expect(await logitsMoved(zipper, dirs, ranks, batch, 'speech')).toBeGreaterThan(1e-3);
  });
});
