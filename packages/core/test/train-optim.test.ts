// AdamW, global-norm clipping and the masked loss against PyTorch golden numbers
// (tools/golden/adamw.py -> tools/golden/adamw.json); the schedule against hand-computed values.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import {
  AdamW,
  clipByGlobalNorm,
  clipCoefficient,
  globalNormValue,
  defaultDecayFilter,
  learningRateAt,
  maskedCrossEntropy,
  resolveScheduleConfig,
} from '../src/train/index.js';
import { ConfigError, ShapeError } from '../src/errors.js';
import { ADAMW_KERNEL, canFuseAdamW } from '../src/kernels/adamw.js';

const golden = JSON.parse(readFileSync(new URL('../../../tools/golden/adamw.json', import.meta.url), 'utf8'));

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor));
  return m;
}

beforeAll(async () => {
  await initBackend();
});

describe('AdamW', () => {
  it('matches torch.optim.AdamW for 6 steps with changing lr and a no-decay param', () => {
    const g = golden.adamw;
    const params = new Map<string, tf.Variable>([
      ['w', tf.variable(tf.tensor(g.init.w, g.shapes.w))],
      ['scale', tf.variable(tf.tensor(g.init.scale, g.shapes.scale))],
    ]);
    const before = tf.memory().numTensors;
    const opt = new AdamW(params, ['w', 'scale'], { beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weight_decay });
    expect([...opt.decayed]).toEqual(['w']); // default filter: rank-1 `scale` does not decay
    const afterInit = tf.memory().numTensors;
    for (const s of g.steps) {
      const grads = new Map([
        ['w', tf.tensor(s.grads.w, g.shapes.w)],
        ['scale', tf.tensor(s.grads.scale, g.shapes.scale)],
      ]);
      opt.apply(grads, s.lr);
      for (const t of grads.values()) t.dispose();
      expect(tf.memory().numTensors).toBe(afterInit);
      expect(maxRelErr(params.get('w')!.dataSync(), s.params.w)).toBeLessThan(2e-6);
      expect(maxRelErr(params.get('scale')!.dataSync(), s.params.scale)).toBeLessThan(2e-6);
      const st = opt.stateTensors();
      expect(maxRelErr(st.get('w.exp_avg')!.dataSync(), s.exp_avg.w, 1e-4)).toBeLessThan(1e-5);
      expect(maxRelErr(st.get('w.exp_avg_sq')!.dataSync(), s.exp_avg_sq.w, 1e-6)).toBeLessThan(1e-5);
    }
    expect(opt.step).toBe(g.steps.length);
    // The zero-gradient entry w[2,1] moved, and only decay and momentum moved it: not equal to init.
    expect(params.get('w')!.dataSync()[2 * 3 + 1]).not.toBe(Math.fround(g.init.w[7]));
    opt.dispose();
    for (const v of params.values()) v.dispose();
    expect(tf.memory().numTensors).toBe(before - 2);
  });

  it('is bit-for-bit deterministic and rejects bad configs / gradients', () => {
    const run = () => {
      const p = new Map([['a.weight', tf.variable(tf.tensor2d([0.5, -1, 2, 3, 0.25, -0.75], [2, 3]))]]);
      const opt = new AdamW(p, ['a.weight'], { weightDecay: 0.1 });
      for (let i = 0; i < 5; i++) {
        const g = tf.tensor2d([Math.sin(i), 0.1, -0.2, 0.3 * i, 1e-3, -5], [2, 3]);
        opt.apply(new Map([['a.weight', g]]), 1e-2);
        g.dispose();
      }
      const out = Array.from(p.get('a.weight')!.dataSync());
      opt.dispose();
      p.get('a.weight')!.dispose();
      return out;
    };
    expect(run()).toEqual(run());
    expect(() => new AdamW(new Map(), [], { beta1: 1 })).toThrow(ConfigError);
    const p = new Map([['x', tf.variable(tf.zeros([7]))]]);
    const opt = new AdamW(p, ['x']);
    const wrong = tf.zeros([11]);
    expect(() => opt.apply(new Map([['x', wrong]]), 0.1)).toThrow(/gradient of "x" is \[11\]/);
    expect(() => opt.apply(new Map(), 0.1)).toThrow(ShapeError);
    expect(opt.step).toBe(0);
    wrong.dispose();
    opt.dispose();
    p.get('x')!.dispose();
    expect(defaultDecayFilter('blocks.0.ln1.scale', [7])).toBe(false);
    expect(defaultDecayFilter('blocks.0.qkv.weight', [7, 21])).toBe(true);
    expect(defaultDecayFilter('cross.a_from_b.1.gate_attn', [1, 1])).toBe(false);
  });
});

describe('AdamW on wasm: the fused kernel (kernels/adamw.ts)', () => {
  it('equals the element-wise ops bit for bit: decay and none, lr scales, several steps', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(canFuseAdamW()).toBe(true);
    const shapes: Record<string, number[]> = { w: [67, 31], scale: [31], emb: [13, 7, 5] };
    const run = (fused: boolean) => {
      const config = tf.getKernel(ADAMW_KERNEL, 'wasm')!;
      if (!fused) tf.unregisterKernel(ADAMW_KERNEL, 'wasm');
      try {
        expect(canFuseAdamW()).toBe(fused);
        let seed = 1;
        const params = new Map(
          Object.entries(shapes).map(([n, s]) => [n, tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', seed++)))]),
        );
        const opt = new AdamW(params, [...params.keys()], { weightDecay: 0.1, lrScale: (n) => (n === 'emb' ? 0.3 : 1) });
        const w0 = Array.from(params.get('w')!.dataSync());
        for (let step = 0; step < 4; step++) {
          const grads = new Map(
            Object.entries(shapes).map(([n, s]) => [n, tf.randomNormal(s, 0, step === 2 ? 1e-6 : 0.5, 'float32', 100 * step + seed++)]),
          );
          opt.apply(grads, 1e-2 / (step + 1), step === 1 ? 0.37 : 1); // step 1 clipped (gradScale)
          for (const t of grads.values()) t.dispose();
        }
        const out = new Map([...params].map(([n, v]) => [n, Array.from(v.dataSync())]));
        expect(out.get('w')!.filter((x, i) => x !== w0[i]).length).toBe(w0.length); // every weight moved
        for (const [k, t] of opt.stateTensors()) out.set(k, Array.from(t.dataSync()));
        opt.dispose();
        for (const v of params.values()) v.dispose();
        return out;
      } finally {
        if (!fused) tf.registerKernel(config);
      }
    };
    const before = tf.memory().numTensors;
    const fused = run(true);
    const ops = run(false);
    expect(tf.memory().numTensors).toBe(before);
    expect([...fused.keys()].sort()).toEqual([...ops.keys()].sort());
    expect(fused.size).toBe(9);
    for (const [k, a] of fused) expect(a, k).toEqual(ops.get(k));
  });
});

describe('AdamW learning-rate scales (param groups)', () => {
  it('steps a parameter at scale s like a lone parameter at lr * s (PyTorch param group semantics, decay included); scale 0 freezes', () => {
    const init = [0.5, -1, 2, 3, 0.25, -0.75];
    const grad = (i: number) => tf.tensor2d([Math.sin(i), 0.1, -0.2, 0.3 * i, 1e-3, -5], [2, 3]);
    const lrs = [1e-2, 5e-3, 2e-3, 1e-3];
    const run = (scales: Record<string, number>, lrMul: number) => {
      const names = ['tower.w', 'fusion.w', 'still.w'];
      const p = new Map(names.map((n) => [n, tf.variable(tf.tensor2d(init, [2, 3]))] as const));
      const opt = new AdamW(p, names, { weightDecay: 0.1, lrScale: (n) => scales[n] ?? 1 });
      lrs.forEach((lr, i) => {
        const grads = new Map(names.map((n) => [n, grad(i)] as const));
        opt.apply(grads, lr * lrMul);
        for (const g of grads.values()) g.dispose();
      });
      const out = Object.fromEntries(names.map((n) => [n, Array.from(p.get(n)!.dataSync())]));
      const lrScales = Object.fromEntries(opt.lrScales);
      opt.dispose();
      for (const v of p.values()) v.dispose();
      return { out, lrScales };
    };
    const grouped = run({ 'tower.w': 0.1, 'still.w': 0 }, 1);
    expect(grouped.lrScales).toEqual({ 'tower.w': 0.1, 'still.w': 0 });
    const full = run({}, 1);
    const tenth = run({}, 0.1);
    expect(grouped.out['fusion.w']).toEqual(full.out['fusion.w']);
    grouped.out['tower.w']!.forEach((v, i) => expect(v).toBeCloseTo(tenth.out['tower.w']![i]!, 6));
    expect(maxRelErr(grouped.out['tower.w']!, full.out['tower.w']!)).toBeGreaterThan(1e-3);
    expect(grouped.out['still.w']).toEqual(init.map(Math.fround));
    const p = new Map([['x', tf.variable(tf.zeros([2, 2]))]]);
    expect(() => new AdamW(p, ['x'], { lrScale: () => -1 })).toThrow(/lrScale of "x" must be finite and >= 0/);
    expect(() => new AdamW(p, ['x'], { lrScale: () => NaN })).toThrow(ConfigError);
    p.get('x')!.dispose();
  });
});

describe('AdamW gradScale (the clipping folded into the update)', () => {
  it('equals the update with the gradients multiplied first, bit for bit; rejects a bad scale', () => {
    const run = (fold: boolean) => {
      const params = new Map([['w', tf.tidy(() => tf.variable(tf.randomNormal([37, 11], 0, 1, 'float32', 3)))]]);
      const opt = new AdamW(params, ['w'], { weightDecay: 0.1 });
      for (let step = 0; step < 3; step++) {
        const g = tf.randomNormal([37, 11], 0, 2, 'float32', 10 + step);
        const scale = Math.fround(0.1 + 0.2 * step);
        if (fold) opt.apply(new Map([['w', g]]), 1e-2, scale);
        else tf.tidy(() => opt.apply(new Map([['w', tf.mul(g, tf.scalar(scale))]]), 1e-2));
        g.dispose();
      }
      const out = Array.from(params.get('w')!.dataSync());
      opt.dispose();
      params.get('w')!.dispose();
      return out;
    };
    const before = tf.memory().numTensors;
    expect(run(true)).toEqual(run(false));
    expect(tf.memory().numTensors).toBe(before);
    const p = new Map([['x', tf.variable(tf.zeros([2, 2]))]]);
    const opt = new AdamW(p, ['x']);
    const g = new Map([['x', tf.ones([2, 2])]]);
    expect(() => opt.apply(g, 1e-3, NaN)).toThrow(/gradScale must be finite and >= 0/);
    expect(() => opt.apply(g, 1e-3, -1)).toThrow(ConfigError);
    opt.dispose();
    tf.dispose([p.get('x')!, g.get('x')!]);
  });
});

describe('global norm and clip coefficient', () => {
  it('natively: the sum of squares in double precision, equal to the float32 ops within float32 rounding', async () => {
    const grads = new Map(
      [[67, 31], [5], [13, 7, 5], [0]].map((s, i) => [`g${i}`, tf.randomNormal(s, 0, 10 ** (i - 2), 'float32', 40 + i) as tf.Tensor]),
    );
    let want = 0; // the double-precision sum, in map order
    for (const g of grads.values()) for (const x of g.dataSync()) want += x * x;
    const native = globalNormValue(grads);
    expect(Math.abs(native - Math.sqrt(want)) / Math.sqrt(want)).toBeLessThan(1e-12); // the lanes' order differs only in double rounding
    expect((await initBackend({ native: false })).native.used).toBe(false);
    try {
      const ops = globalNormValue(grads); // TF.js Square / Sum / Add in float32
      expect(Math.abs(ops - native) / native).toBeLessThan(1e-6);
    } finally {
      expect((await initBackend({ native: true })).native.used).toBe(true);
    }
    for (const g of grads.values()) g.dispose();
    // the coefficient: float32 as PyTorch's min(1, max / (norm + 1e-6))
    expect(clipCoefficient(4, 1)).toBe(Math.fround(Math.fround(1) / Math.fround(4 + Math.fround(1e-6))));
    expect(clipCoefficient(0.5, 1)).toBe(1);
    expect(clipCoefficient(1e9, Infinity)).toBe(1);
    expect(() => clipCoefficient(1, 0)).toThrow(ConfigError);
  });
});

describe('clipByGlobalNorm', () => {
  for (const name of ['clip_large', 'clip_small'] as const) {
    it(`matches torch clip_grad_norm_ (${name})`, () => {
      const c = golden[name];
      const before = tf.memory().numTensors;
      const grads = new Map([
        ['a', tf.tensor(c.grads.a, c.shapes.a)],
        ['b', tf.tensor(c.grads.b, c.shapes.b)],
      ]);
      const { grads: out, norm } = clipByGlobalNorm(grads, c.max_norm);
      expect(Math.abs(norm.dataSync()[0]! - c.total_norm) / c.total_norm).toBeLessThan(1e-6);
      expect(maxRelErr(out.get('a')!.dataSync(), c.clipped.a)).toBeLessThan(1e-6);
      expect(maxRelErr(out.get('b')!.dataSync(), c.clipped.b)).toBeLessThan(1e-6);
      for (const t of [...grads.values(), ...out.values(), norm]) t.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('maskedCrossEntropy', () => {
  it('matches F.cross_entropy averaged over mask-1 positions, value and gradient', () => {
    const c = golden.masked_loss;
    const [B, T, V] = c.shape as [number, number, number];
    const before = tf.memory().numTensors;
    const logits = tf.tensor3d(c.logits, [B, T, V]);
    const targets = tf.tensor2d(c.targets, [B, T], 'int32');
    const mask = tf.tensor2d(c.mask, [B, T]);
    const { value, grads } = tf.tidy(() => {
      const f = (x: tf.Tensor) => maskedCrossEntropy(x as tf.Tensor3D, targets, mask);
      const r = tf.valueAndGrad(f)(logits);
      return { value: r.value, grads: r.grad };
    });
    expect(Math.abs(value.dataSync()[0]! - c.loss) / c.loss).toBeLessThan(1e-6);
    expect(maxRelErr(grads.dataSync(), c.grad_logits, 1e-3)).toBeLessThan(1e-5);
    // Masked-out positions get exactly zero gradient.
    const g = grads.dataSync();
    for (let i = 0; i < B * T; i++) if (c.mask[i] === 0) for (let v = 0; v < V; v++) expect(Math.abs(g[i * V + v]!)).toBe(0);
    // A custom denominator scales the loss: sum / 3.
    const count = (c.mask as number[]).reduce((s, x) => s + x, 0);
    const scaled = maskedCrossEntropy(logits, targets, mask, 3);
    expect(scaled.dataSync()[0]! / ((c.loss * count) / 3)).toBeCloseTo(1, 5);
    const empty = tf.zerosLike(mask) as tf.Tensor2D;
    expect(() => maskedCrossEntropy(logits, targets, empty)).toThrow(/mask selects no position/);
    expect(() => maskedCrossEntropy(logits, tf.zeros([B, T + 1], 'int32') as tf.Tensor2D, mask)).toThrow(ShapeError);
    for (const t of [logits, targets, mask, value, grads, scaled, empty]) t.dispose();
    expect(tf.memory().numTensors).toBe(before + 1); // the tensor built inline for the ShapeError check
  });
});

describe('warmup + cosine schedule', () => {
  it('gives hand-computed learning rates', () => {
    const s = resolveScheduleConfig({ peakLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 });
    expect(learningRateAt(s, 0)).toBeCloseTo(1e-4, 12); // 1e-3 * 1/10
    expect(learningRateAt(s, 4)).toBeCloseTo(5e-4, 12);
    expect(learningRateAt(s, 9)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(s, 10)).toBeCloseTo(1e-3, 12); // cosine start
    expect(learningRateAt(s, 60)).toBeCloseTo(5.5e-4, 12); // halfway: (1e-3 + 1e-4) / 2
    expect(learningRateAt(s, 35)).toBeCloseTo(1e-4 + (9e-4 * (1 + Math.SQRT1_2)) / 2, 12); // quarter: cos(pi/4)
    expect(learningRateAt(s, 110)).toBe(1e-4);
    expect(learningRateAt(s, 500)).toBe(1e-4);
    expect(() => resolveScheduleConfig({ warmupSteps: 20, totalSteps: 10 })).toThrow(ConfigError);
    expect(() => resolveScheduleConfig({ peakLr: 1e-3, minLr: 1e-2 })).toThrow(/minLr/);
  });
});
