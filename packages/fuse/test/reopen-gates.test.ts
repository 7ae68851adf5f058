/**
 * reopenGates(zipper, gate): every cross-attention gate set to `gate`, each output weight rescaled
 * by tanh(old) / tanh(gate), so the logits stay those of the model before (to float rounding),
 * whatever the gates were (small, negative, already open); the input projections' gates are left
 * alone; a gate of 0 is refused.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatedOutputKey, layoutBatch, reopenGates, Zipper } from '../src/index.js';
import { examples, perturbFusion, SCHEDULE, setup, towers, values } from './helpers.js';

beforeAll(setup);

/** Collapsed gates as training leaves them (the shipped model's are -0.031 .. 0.415 in tanh). */
const COLLAPSED: Record<string, number> = {
  'cross.speech_from_text.2.gate_attn': -0.031,
  'cross.speech_from_text.2.gate_ff': 0.02,
  'cross.text_from_speech.1.gate_attn': 0.011,
  'cross.text_from_speech.1.gate_ff': 0.44,
};

function logitsOf(z: Zipper): Record<string, Float32Array> {
  const out = z.forward(layoutBatch(z.config, examples()));
  const r = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Float32Array.from(values(t))]));
  tf.dispose(Object.values(out));
  return r;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('reopenGates', () => {
  it('sets every cross gate, rescales its output weight, and leaves every logit as it was', () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 4 });
    perturbFusion(z);
    for (const [k, v] of Object.entries(COLLAPSED)) z.param(k).assign(tf.fill([1], Math.atanh(v)));
    const before = logitsOf(z);
    const inproj = Float32Array.from(values(z.param('inproj.text.gate')));
    const outputs = new Map(
      [...z.params.keys()]
        .filter((k) => /^cross\..*\.(attn\.out|ff\.down)\.weight$/.test(k))
        .map((k) => [k, Float32Array.from(values(z.param(k)))]),
    );

    const changed = reopenGates(z, 1);
    expect(changed.map((c) => c.key)).toEqual([...z.params.keys()].filter((k) => /^cross\..*\.gate_(attn|ff)$/.test(k)).sort());
    for (const c of changed) {
      expect(values(z.param(c.key))[0]).toBe(1);
      expect(c.to).toBeCloseTo(Math.tanh(1), 7);
      if (COLLAPSED[c.key] !== undefined) expect(c.from).toBeCloseTo(COLLAPSED[c.key]!, 6);
      // the output weight is the old one times tanh(old) / tanh(new)
      const old = outputs.get(c.output)!;
      const now = values(z.param(c.output));
      const ratio = c.from / c.to;
      for (let i = 0; i < old.length; i += 7) expect(now[i]).toBeCloseTo(old[i]! * ratio, 6);
    }
    // the input projections' gates are not cross gates
    expect(values(z.param('inproj.text.gate'))).toEqual(inproj);

    const after = logitsOf(z);
    for (const name of ['text', 'speech']) {
      expect(maxDiff(after[name]!, before[name]!), name).toBeLessThan(1e-4);
      // and the gates did matter: shutting them moves the logits
    }
    for (const c of changed) z.param(c.key).assign(tf.zeros([1]));
    const shut = logitsOf(z);
    expect(maxDiff(shut['text']!, before['text']!)).toBeGreaterThan(1e-3);
    z.dispose();
  });

  it('a gate already at the value is left bit-identical, its output weight too; a second call changes nothing', () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 4, crossGate: 0.5 });
    perturbFusion(z);
    const key = 'cross.speech_from_text.2.gate_attn';
    z.param(key).assign(tf.fill([1], 0.5));
    const w = Float32Array.from(values(z.param(gatedOutputKey(key))));
    reopenGates(z, 0.5);
    expect(values(z.param(gatedOutputKey(key)))).toEqual(w);
    const once = new Map([...z.params].map(([k, v]) => [k, Float32Array.from(values(v))]));
    reopenGates(z, 0.5);
    for (const [k, v] of z.params) expect(values(v), k).toEqual(once.get(k));
    z.dispose();
  });

  it('refuses a gate value of 0 (or not finite), and a key that is no cross gate', () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 4 });
    expect(() => reopenGates(z, 0)).toThrow(ConfigError);
    expect(() => reopenGates(z, Number.NaN)).toThrow(/finite and not 0/);
    expect(() => gatedOutputKey('inproj.text.gate')).toThrow(ConfigError);
    expect(gatedOutputKey('cross.text_from_speech.1.gate_ff')).toBe('cross.text_from_speech.1.ff.down.weight');
    z.dispose();
  });
});
