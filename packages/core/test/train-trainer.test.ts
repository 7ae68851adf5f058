// The Trainer on a real (tiny) Tower: accumulation equivalence, freezing, no leaks, nothing
// changed by a failed step, NaN -> TrainingError, determinism, progress records, overfitting.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRel, snapshot } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { Tower } from '../src/model/tower.js';
import {
  BatchIterator,
  InProcessGradients,
  Trainer,
  batchTensors,
  loadTrainingCheckpoint,
  maskedCrossEntropy,
  saveTrainingCheckpoint,
  type Batch,
  type BatchSource,
  type DataState,
  TrainingError,
  accumulateGradients,
  concatBatches,
  evaluateLoss,
  type GradientStrategy,
  type StepProgress,
} from '../src/train/index.js';
import { ConfigError } from '../src/errors.js';

const TOWER = { vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2, maxSeqLen: 16 } as const;

/** Sequences of prime-ish lengths with a repeating pattern (learnable) and per-token masks. */
function corpus(): { tokens: number[]; mask: number[] }[] {
  return Array.from({ length: 7 }, (_, s) => {
    const n = 9 + 4 * s;
    return {
      tokens: Array.from({ length: n }, (_, i) => (3 * i + s) % 13),
      mask: Array.from({ length: n }, (_, i) => ((i + s) % 5 === 0 ? 0 : 1)),
    };
  });
}

beforeAll(async () => {
  await initBackend();
});

describe('Trainer', () => {
  it('k = 3 micro-batches give the loss and gradients of one batch 3 times the size', async () => {
    const tower = Tower.create(TOWER, { seed: 5 });
    const data = new BatchIterator(corpus(), { batchSize: 2, seqLen: 7, seed: 1 });
    const micro = [data.next(), data.next(), data.next()];
    const names = [...tower.params.keys()];
    const strategy = new InProcessGradients(tower);
    const before = tf.memory().numTensors;
    const acc = await accumulateGradients(strategy, micro, names);
    const one = await accumulateGradients(strategy, [concatBatches(micro)], names);
    expect(Math.abs(acc.loss.dataSync()[0]! - one.loss.dataSync()[0]!)).toBeLessThan(1e-5);
    expect(Math.abs(evaluateLoss(tower, micro).loss - one.loss.dataSync()[0]!)).toBeLessThan(1e-5);
    for (const k of names) expect(maxRel(acc.grads.get(k)!.dataSync(), one.grads.get(k)!.dataSync()), k).toBeLessThan(1e-5);
    // The masks differ between micro-batches, so a per-micro-batch mean would not match:
    const naive = await Promise.all(micro.map((b) => accumulateGradients(strategy, [b], names)));
    const naiveLoss = naive.reduce((s, r) => s + r.loss.dataSync()[0]!, 0) / 3;
    expect(Math.abs(naiveLoss - one.loss.dataSync()[0]!)).toBeGreaterThan(1e-4);
    for (const r of [acc, one, ...naive]) tf.dispose([r.loss, ...r.grads.values()]);
    expect(tf.memory().numTensors).toBe(before);
    tower.dispose();
  });

  it('freezes by prefix and predicate; frozen weights do not change, the rest does; no leaked tensors', async () => {
    const tower = Tower.create(TOWER, { seed: 2 });
    const data = new BatchIterator(corpus(), { batchSize: 3, seqLen: 7, seed: 4 });
    const trainer = new Trainer(tower, data, {
      freezePrefixes: ['emb.', 'blocks.0.'],
      trainable: (k) => k !== 'norm.scale',
      schedule: { peakLr: 1e-2, totalSteps: 10 },
      accumulationSteps: 2,
    });
    expect(trainer.trainable).toEqual([...tower.params.keys()].filter((k) => k.startsWith('blocks.1.')));
    const start = snapshot(tower.params);
    await trainer.trainStep();
    const afterFirst = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await trainer.trainStep();
      expect(tf.memory().numTensors).toBe(afterFirst);
    }
    const end = snapshot(tower.params);
    for (const [k, v] of start) {
      if (trainer.trainable.includes(k)) expect(end.get(k), k).not.toEqual(v);
      else expect(end.get(k), k).toEqual(v);
    }
    expect(() => new Trainer(tower, data, { freezePrefixes: ['embedding.'] })).toThrow(ConfigError);
    expect(() => new Trainer(tower, data, { trainable: () => false })).toThrow(/no trainable parameter/);
    trainer.dispose();
    tower.dispose();
  });

  it('a failing step (throw mid-accumulation, NaN loss) changes nothing and names the step', async () => {
    const tower = Tower.create(TOWER, { seed: 3 });
    const inner = new InProcessGradients(tower);
    let mode: 'ok' | 'throw' | 'nan' = 'ok';
    let calls = 0;
    const flaky: GradientStrategy = {
      computeGradients(batch, ctx) {
        calls++;
        if (mode === 'throw' && calls % 2 === 0) throw new Error('worker died');
        const r = inner.computeGradients(batch, ctx);
        if (mode !== 'nan') return r;
        const loss = tf.mul(r.loss, NaN) as tf.Scalar;
        r.loss.dispose();
        return { loss, grads: r.grads };
      },
    };
    const data = new BatchIterator(corpus(), { batchSize: 2, seqLen: 7, seed: 9 });
    const trainer = new Trainer(tower, data, { strategy: flaky, accumulationSteps: 2, schedule: { peakLr: 1e-2, totalSteps: 20 } });
    await trainer.train(2);
    const p1 = trainer.trainStep();
    await expect(trainer.trainStep()).rejects.toThrow(/already running/);
    await p1;
    const params = snapshot(tower.params);
    const state = snapshot(trainer.optimizer.stateTensors());
    const position = data.state;
    const tensors = tf.memory().numTensors;
    for (const m of ['throw', 'nan'] as const) {
      mode = m;
      const err = await trainer.trainStep().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrainingError);
      expect((err as TrainingError).step).toBe(4);
      expect((err as Error).message).toMatch(m === 'nan' ? /step 4: loss is NaN/ : /step 4 failed: worker died/);
      expect(snapshot(tower.params)).toEqual(params);
      expect(snapshot(trainer.optimizer.stateTensors())).toEqual(state);
      expect(data.state).toEqual(position);
      expect(trainer.step).toBe(3);
      expect(trainer.optimizer.step).toBe(3);
      expect(tf.memory().numTensors).toBe(tensors);
    }
    // After the failures the run continues exactly as an uninterrupted one.
    mode = 'ok';
    const resumed = (await trainer.train(2)).map((p) => p.loss);
    const tower2 = Tower.create(TOWER, { seed: 3 });
    const clean = new Trainer(tower2, new BatchIterator(corpus(), { batchSize: 2, seqLen: 7, seed: 9 }), {
      accumulationSteps: 2,
      schedule: { peakLr: 1e-2, totalSteps: 20 },
    });
    const cleanLosses = (await clean.train(5)).map((p) => p.loss);
    expect(resumed).toEqual(cleanLosses.slice(3));
    for (const x of [trainer, clean, tower, tower2]) x.dispose();
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`is bit-for-bit deterministic on ${backend} and reports progress`, async () => {
      await tf.setBackend(backend);
      const run = async () => {
        const tower = Tower.create(TOWER, { seed: 8 });
        const seen: StepProgress[] = [];
        const firstBatch = new BatchIterator(corpus(), { batchSize: 3, seqLen: 7, seed: 2 }).next();
        const evalBefore = tf.memory().numTensors;
        const ev = evaluateLoss(tower, [firstBatch]);
        expect(tf.memory().numTensors).toBe(evalBefore);
        const trainer = new Trainer(tower, new BatchIterator(corpus(), { batchSize: 3, seqLen: 7, seed: 2 }), {
          schedule: { peakLr: 5e-3, minLr: 5e-4, warmupSteps: 2, totalSteps: 5 },
          onStep: (p) => seen.push(p),
        });
        await trainer.train(4);
        const w = snapshot(tower.params);
        trainer.dispose();
        tower.dispose();
        return { seen, w, eval: ev };
      };
      const a = await run();
      const b = await run();
      expect(a.seen.map((p) => p.loss)).toEqual(b.seen.map((p) => p.loss));
      expect(a.w).toEqual(b.w);
      expect(a.eval.loss).toBeCloseTo(a.seen[0]!.loss, 5); // a step reports the loss before its update
      expect(a.eval.targets).toBe(a.seen[0]!.targets);
      expect(a.seen.map((p) => p.step)).toEqual([1, 2, 3, 4]);
      expect(a.seen.map((p) => p.lr)).toEqual([2.5e-3, 5e-3, 5e-3, 5e-4 + 4.5e-3 * 0.75].map((x) => expect.closeTo(x, 12)));
      for (const p of a.seen) {
        expect(p.tokens).toBe(3 * 7);
        expect(p.targets).toBeGreaterThan(0);
        expect(p.targets).toBeLessThanOrEqual(21);
        expect(p.gradNorm).toBeGreaterThan(0);
        expect(p.tokensPerSecond).toBeGreaterThan(0);
      }
      await tf.setBackend('wasm');
    });
  }

  it('overfits one batch: loss < 0.02 within 40 steps', async () => {
    const tower = Tower.create({ ...TOWER, dModel: 32, nHeads: 4 }, { seed: 1 });
    // One random sequence of 14 tokens: with T = 13 the only window is the whole sequence.
    const tokens = [4, 11, 0, 7, 7, 2, 12, 9, 1, 5, 3, 10, 6, 8];
    const data = new BatchIterator([tokens], { batchSize: 1, seqLen: 13, seed: 0 });
    const trainer = new Trainer(tower, data, {
      schedule: { peakLr: 2e-2, minLr: 1e-3, warmupSteps: 5, totalSteps: 40 },
      optimizer: { weightDecay: 0 },
    });
    const losses = (await trainer.train(40)).map((p) => p.loss);
    expect(losses[0]).toBeGreaterThan(2); // ~ln(13) = 2.56 at init
    const reached = losses.findIndex((l) => l < 0.02);
    expect(reached).toBeGreaterThan(-1);
    console.log(JSON.stringify({ overfit: { first: losses[0], last: losses.at(-1), stepBelow002: reached + 1 } }));
    trainer.dispose();
    tower.dispose();
  });

  it('trains a two-stream model (fused-style) through a custom batch type, source and strategy; resumes it exactly', async () => {
    // Two towers in one weight map (`a.*` frozen, `b.*` trained) and a batch of two streams:
    // the shape of @zipper/fuse's training, without the cross-attention.
    const build = () => {
      const ta = Tower.create({ ...TOWER, vocabSize: 13 }, { seed: 1 });
      const tb = Tower.create({ ...TOWER, vocabSize: 11 }, { seed: 2 });
      const params = new Map<string, tf.Variable>([
        ...[...ta.params].map(([k, v]) => [`a.${k}`, v] as const),
        ...[...tb.params].map(([k, v]) => [`b.${k}`, v] as const),
      ]);
      const ia = new BatchIterator(corpus(), { batchSize: 2, seqLen: 7, seed: 1 });
      const ib = new BatchIterator(
        corpus().map((s) => ({ tokens: s.tokens.map((t) => t % 11) })),
        { batchSize: 2, seqLen: 7, seed: 2 },
      );
      type Pair = { a: Batch; b: Batch };
      const source: BatchSource<Pair, { a: DataState; b: DataState }> = {
        next: () => ({ a: ia.next(), b: ib.next() }),
        get state() {
          return { a: ia.state, b: ib.state };
        },
        restore: (s) => (ia.restore(s.a), ib.restore(s.b)),
      };
      const maskSum = (b: Batch) => b.mask.reduce((x, y) => x + y, 0);
      const trainer = new Trainer<Pair>({ params }, source, {
        freezePrefixes: ['a.'],
        schedule: { peakLr: 3e-2, totalSteps: 12 },
        strategy: {
          countTargets: (p) => maskSum(p.a) + maskSum(p.b),
          countTokens: () => 2 * 2 * 7,
          computeGradients(p, ctx) {
            const vars = ctx.trainable.map((k) => params.get(k)!);
            const out = tf.tidy(() => {
              const xa = batchTensors(p.a);
              const xb = batchTensors(p.b);
              const r = tf.variableGrads(
                () =>
                  tf.add(
                    maskedCrossEntropy(ta.forward(xa.inputs).logits, xa.targets, xa.mask, ctx.denominator),
                    maskedCrossEntropy(tb.forward(xb.inputs).logits, xb.targets, xb.mask, ctx.denominator),
                  ) as tf.Scalar,
                vars,
              );
              return { loss: r.value, grads: vars.map((v) => r.grads[v.name]!) };
            });
            return { loss: out.loss, grads: new Map(ctx.trainable.map((k, i) => [k, out.grads[i]!])) };
          },
        },
      });
      return { trainer, params, tb, dispose: () => (trainer.dispose(), ta.dispose(), tb.dispose()) };
    };
    expect(() => new Trainer({ params: new Map() }, new BatchIterator(corpus(), { batchSize: 1, seqLen: 7 }))).toThrow(/no forward/);
    const straight = build();
    const start = snapshot(straight.params);
    // stream b's held-out loss on fixed batches (a step's loss varies with its batch)
    const heldOut = new BatchIterator(
      corpus().map((s) => ({ tokens: s.tokens.map((t) => t % 11) })),
      { batchSize: 4, seqLen: 7, seed: 9 },
    );
    const fixed = [heldOut.next(), heldOut.next()];
    const before = evaluateLoss(straight.tb, fixed).loss;
    const losses = (await straight.trainer.train(8)).map((p) => p.loss);
    const after = evaluateLoss(straight.tb, fixed).loss;
    console.log(JSON.stringify({ twoStreamCustom: { before, after } }));
    expect(after).toBeLessThan(before - 0.2); // only stream b can learn
    for (const [k, v] of snapshot(straight.params)) {
      if (k.startsWith('a.')) expect(v, k).toEqual(start.get(k));
      else expect(v, k).not.toEqual(start.get(k));
    }
    straight.dispose();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-two-stream-'));
    const first = build();
    await first.trainer.train(4);
    await saveTrainingCheckpoint(dir, first.trainer);
    first.dispose();
    const second = build();
    await loadTrainingCheckpoint(dir, second.trainer);
    expect((await second.trainer.train(4)).map((p) => p.loss)).toEqual(losses.slice(4));
    second.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  });
});
