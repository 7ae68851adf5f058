// Losses over several output streams (streams.ts) and the loss-function strategy
// (loss-gradients.ts): one stream of weight 1 is the single-stream loss bit for bit; each
// stream keeps its own whole-step denominator, so accumulation stays exact per stream; the
// Trainer reports every stream, freezes a tower, resumes a two-stream run exactly; held-out
// evaluation gives the same per-stream numbers as a training step.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRel, snapshot } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { ConfigError, ShapeError } from '../src/errors.js';
import { Tower } from '../src/model/tower.js';
import {
  BatchIterator,
  InProcessGradients,
  LossGradients,
  Trainer,
  accumulateGradients,
  batchTensors,
  evaluateStreams,
  withPrefixedStreams,
  loadTrainingCheckpoint,
  maskedCrossEntropy,
  saveTrainingCheckpoint,
  streamLoss,
  type Batch,
  type BatchSource,
  type DataState,
  type LossSpec,
  type StepProgress,
} from '../src/train/index.js';
// @ts-expect-error plain-JS fixture without types
import { createTwoStream, countPair, TEXT_VOCAB, SPEECH_VOCAB } from './two-stream.fixture.mjs';

type Pair = { text: Batch; speech: Batch };
type TwoStream = LossSpec<Pair> & { params: Map<string, tf.Variable>; dispose(): void };

beforeAll(async () => {
  await initBackend();
});

/** Sequences over `vocab` with a learnable pattern; `every`-th target masked out. */
function corpus(vocab: number, n: number, every: number): { tokens: number[]; mask: number[] }[] {
  return Array.from({ length: 5 }, (_, s) => {
    const len = n + 3 * s;
    return {
      tokens: Array.from({ length: len }, (_, i) => (2 * i + s) % vocab),
      mask: Array.from({ length: len }, (_, i) => ((i + s) % every === 0 ? 0 : 1)),
    };
  });
}

/** Text rows of 5 positions and speech rows of 13 (about 3x the targets), same batch size. */
class PairSource implements BatchSource<Pair, { text: DataState; speech: DataState }> {
  readonly text = new BatchIterator(corpus(TEXT_VOCAB, 7, 3), { batchSize: 3, seqLen: 5, seed: 11 });
  readonly speech = new BatchIterator(corpus(SPEECH_VOCAB, 17, 7), { batchSize: 3, seqLen: 13, seed: 12 });
  next(): Pair {
    return { text: this.text.next(), speech: this.speech.next() };
  }
  get state() {
    return { text: this.text.state, speech: this.speech.state };
  }
  restore(s: { text: DataState; speech: DataState }): void {
    this.text.restore(s.text);
    this.speech.restore(s.speech);
  }
}

const rowsOf = (pairs: Pair[]): Pair => {
  const cat = (bs: Batch[]): Batch => ({
    batchSize: bs.reduce((s, b) => s + b.batchSize, 0),
    seqLen: bs[0]!.seqLen,
    inputs: Int32Array.from(bs.flatMap((b) => [...b.inputs])),
    targets: Int32Array.from(bs.flatMap((b) => [...b.targets])),
    mask: Float32Array.from(bs.flatMap((b) => [...b.mask])),
  });
  return { text: cat(pairs.map((p) => p.text)), speech: cat(pairs.map((p) => p.speech)) };
};

describe('streamLoss', () => {
  it('one stream of weight 1 is maskedCrossEntropy bit for bit; weights and denominators apply per stream', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const logits = (b: number, t: number, v: number, seed: number) =>
        tf.tensor3d(
          Float32Array.from({ length: b * t * v }, (_, i) => Math.sin(0.37 * i + seed)),
          [b, t, v],
        );
      const ids = (b: number, t: number, v: number) =>
        tf.tensor2d(
          Int32Array.from({ length: b * t }, (_, i) => (5 * i + 2) % v),
          [b, t],
          'int32',
        );
      const mask = (b: number, t: number) =>
        tf.tensor2d(
          Float32Array.from({ length: b * t }, (_, i) => (i % 3 === 1 ? 0 : 1)),
          [b, t],
        );
      const a = { logits: logits(2, 7, 11, 0), targets: ids(2, 7, 11), mask: mask(2, 7) };
      const s = { logits: logits(2, 13, 5, 1), targets: ids(2, 13, 5), mask: mask(2, 13) };
      const single = streamLoss({ a }, { a: 17 });
      expect(single.loss.dataSync()[0]).toBe(maskedCrossEntropy(a.logits, a.targets, a.mask, 17).dataSync()[0]);
      const two = streamLoss({ a, s }, { a: 9, s: 17 }, { s: 0.25 });
      const la = maskedCrossEntropy(a.logits, a.targets, a.mask, 9).dataSync()[0]!;
      const ls = maskedCrossEntropy(s.logits, s.targets, s.mask, 17).dataSync()[0]!;
      expect(two.streams['a']!.dataSync()[0]).toBe(la);
      expect(two.streams['s']!.dataSync()[0]).toBe(ls);
      expect(two.loss.dataSync()[0]).toBeCloseTo(la + 0.25 * ls, 6);
      // A stream with no target in the whole step is left out (no 0/0).
      const skip = streamLoss({ a, s }, { a: 9, s: 0 });
      expect(Object.keys(skip.streams)).toEqual(['a']);
      expect(skip.loss.dataSync()[0]).toBe(la);
      expect(() => streamLoss({ a, s }, { a: 9 })).toThrow(/stream "s" but the target counts name only "a"/);
      expect(() => streamLoss({}, {})).toThrow(ShapeError);
    });
    expect(tf.memory().numTensors).toBe(before);
    const m = createTwoStream() as TwoStream;
    expect(() => new LossGradients({ ...m, weights: { text: -1 } })).toThrow(ConfigError);
    expect(() => new LossGradients({ ...m, weights: { text: NaN } })).toThrow(/weight of stream "text" must be a finite number >= 0/);
    m.dispose();
  });
});

describe('LossGradients', () => {
  it('InProcessGradients (its single-stream case) gives the loss and gradients of the direct formula bit for bit', () => {
    const tower = Tower.create({ vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2, maxSeqLen: 16 }, { seed: 4 });
    const data = new BatchIterator(corpus(13, 9, 4), { batchSize: 3, seqLen: 7, seed: 1 });
    const batch = data.next();
    const trainable = [...tower.params.keys()].filter((k) => !k.startsWith('blocks.0.'));
    const denominator = 19;
    const before = tf.memory().numTensors;
    const a = new InProcessGradients(tower).computeGradients(batch, { trainable, denominator });
    const vars = trainable.map((k) => tower.params.get(k)!);
    const b = tf.tidy(() => {
      const { inputs, targets, mask } = batchTensors(batch);
      const r = tf.variableGrads(() => maskedCrossEntropy(tower.forward(inputs).logits, targets, mask, denominator), vars);
      return { loss: r.value, grads: vars.map((v) => r.grads[v.name]!) };
    });
    expect(a.loss.dataSync()[0]).toBe(b.loss.dataSync()[0]);
    expect(a.streams).toEqual({ tokens: b.loss.dataSync()[0] });
    trainable.forEach((k, i) =>
      expect(Buffer.from(a.grads.get(k)!.dataSync().buffer).equals(Buffer.from(b.grads[i]!.dataSync().buffer)), k).toBe(true),
    );
    tf.dispose([a.loss, ...a.grads.values(), b.loss, ...b.grads]);
    expect(tf.memory().numTensors).toBe(before);
    // Without per-stream denominators, only a single-stream loss can run.
    const m = createTwoStream() as TwoStream;
    const pair = new PairSource().next();
    expect(() => new LossGradients(m).computeGradients(pair, { trainable: [...m.params.keys()], denominator: 40 })).toThrow(
      /this loss has 2 streams \(text, speech\); pass context.denominators/,
    );
    expect(tf.memory().numTensors).toBe(before + m.params.size);
    m.dispose();
    tower.dispose();
  });

  it('k micro-batches with per-stream step denominators equal one batch k times the size, per stream', async () => {
    const m = createTwoStream() as TwoStream;
    const strategy = new LossGradients<Pair>(m);
    const src = new PairSource();
    const micro = [src.next(), src.next(), src.next()];
    const keys = [...m.params.keys()];
    const before = tf.memory().numTensors;
    const acc = await accumulateGradients(strategy, micro, keys);
    const one = await accumulateGradients(strategy, [rowsOf(micro)], keys);
    const counts = countPair(rowsOf(micro)) as Record<string, number>;
    expect(acc.targets).toEqual(counts);
    expect(counts['speech']!).toBeGreaterThan(2.5 * counts['text']!); // the imbalance the per-stream denominators are for
    expect(Math.abs(acc.loss.dataSync()[0]! - one.loss.dataSync()[0]!)).toBeLessThan(1e-6);
    for (const s of ['text', 'speech']) expect(Math.abs(acc.streams[s]! - one.streams[s]!), s).toBeLessThan(1e-6);
    // total = text mean + speech mean (weights 1), each mean over its own targets
    expect(Math.abs(one.loss.dataSync()[0]! - (one.streams['text']! + one.streams['speech']!))).toBeLessThan(1e-6);
    for (const k of keys) expect(maxRel(acc.grads.get(k)!.dataSync(), one.grads.get(k)!.dataSync()), k).toBeLessThan(1e-5);
    // Held-out evaluation of the same batches gives the same per-stream means and targets.
    const ev = evaluateStreams(m, micro);
    for (const s of ['text', 'speech']) {
      expect(Math.abs(ev.streams[s]!.loss - one.streams[s]!), s).toBeLessThan(1e-6);
      expect(ev.streams[s]!.targets).toBe(counts[s]);
    }
    expect(Math.abs(ev.loss - one.loss.dataSync()[0]!)).toBeLessThan(1e-6);
    // A second held-out set beside it: its streams prefixed, the total and targets the first set's.
    const second = evaluateStreams(m, micro.slice(0, 1));
    const both = withPrefixedStreams(ev, second, 'noisy_');
    expect(Object.keys(both.streams).sort()).toEqual(['noisy_speech', 'noisy_text', 'speech', 'text']);
    expect([both.loss, both.targets, both.streams['text']]).toEqual([ev.loss, ev.targets, ev.streams['text']]);
    expect(both.streams['noisy_speech']).toEqual(second.streams['speech']);
    expect(() => withPrefixedStreams(ev, second, 'Noisy')).toThrow(ConfigError);
    expect(() => withPrefixedStreams(both, second, 'noisy_')).toThrow(ConfigError);
    expect(() => withPrefixedStreams(both, second, 'noisy_')).toThrow(/noisy_\w+ is already/);
    tf.dispose([acc.loss, ...acc.grads.values(), one.loss, ...one.grads.values()]);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});

describe('Trainer with a multi-stream loss', () => {
  const build = (weights?: Record<string, number>) => {
    const m = createTwoStream(weights ? { weights } : {}) as TwoStream;
    const data = new PairSource();
    const seen: StepProgress[] = [];
    const trainer = new Trainer<Pair>(m, data, {
      strategy: new LossGradients<Pair>(m),
      freezePrefixes: ['towers.text.'],
      accumulationSteps: 2,
      schedule: { peakLr: 5e-2, minLr: 5e-3, warmupSteps: 2, totalSteps: 12 },
      onStep: (p) => seen.push(p),
    });
    return { m, data, trainer, seen, dispose: () => (trainer.dispose(), m.dispose()) };
  };

  it('reports each stream, weights the total, freezes a tower; the loss falls', async () => {
    const run = build({ text: 1, speech: 0.5 });
    const first = [run.data.text.state, run.data.speech.state];
    const start = snapshot(run.m.params);
    const before = tf.memory().numTensors;
    await run.trainer.train(10);
    expect(tf.memory().numTensors).toBe(before);
    const [p1] = run.seen;
    expect(Object.keys(p1!.streams)).toEqual(['text', 'speech']);
    expect(p1!.streams['text']!.targets + p1!.streams['speech']!.targets).toBe(p1!.targets);
    expect(Math.abs(p1!.loss - (p1!.streams['text']!.loss + 0.5 * p1!.streams['speech']!.loss))).toBeLessThan(1e-6);
    expect(p1!.tokens).toBe(2 * 3 * (5 + 13));
    // the first step's streams are the held-out losses of its two micro-batches at init
    const fresh = createTwoStream({ weights: { text: 1, speech: 0.5 } }) as TwoStream;
    const replay = new PairSource();
    replay.text.restore(first[0]!);
    replay.speech.restore(first[1]!);
    const ev = evaluateStreams(fresh, [replay.next(), replay.next()]);
    for (const s of ['text', 'speech']) expect(Math.abs(ev.streams[s]!.loss - p1!.streams[s]!.loss), s).toBeLessThan(1e-6);
    expect(Math.abs(ev.loss - p1!.loss)).toBeLessThan(1e-6);
    fresh.dispose();
    const last = run.seen.at(-1)!;
    console.log(JSON.stringify({ twoStream: { first: p1!.streams, last: last.streams } }));
    expect(last.streams['speech']!.loss).toBeLessThan(p1!.streams['speech']!.loss - 0.1);
    for (const [k, v] of snapshot(run.m.params)) {
      if (k.startsWith('towers.text.')) expect(Buffer.from(v.buffer).equals(Buffer.from(start.get(k)!.buffer)), k).toBe(true);
      else expect(v, k).not.toEqual(start.get(k));
    }
    run.dispose();
  });

  it('save at step 4, resume in fresh objects: the curve equals the uninterrupted run bit for bit', async () => {
    const straight = build();
    const curve = (await straight.trainer.train(8)).map((p) => [p.loss, p.streams['text']!.loss, p.streams['speech']!.loss]);
    const final = snapshot(straight.m.params);
    straight.dispose();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-streams-'));
    try {
      const first = build();
      await first.trainer.train(4);
      await saveTrainingCheckpoint(dir, first.trainer);
      first.dispose();
      const second = build();
      await loadTrainingCheckpoint(dir, second.trainer);
      expect(second.trainer.step).toBe(4);
      const rest = (await second.trainer.train(4)).map((p) => [p.loss, p.streams['text']!.loss, p.streams['speech']!.loss]);
      expect(rest).toEqual(curve.slice(4));
      for (const [k, v] of snapshot(second.m.params)) expect(Buffer.from(v.buffer).equals(Buffer.from(final.get(k)!.buffer)), k).toBe(true);
      second.dispose();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
