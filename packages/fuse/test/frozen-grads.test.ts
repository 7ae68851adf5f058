/**
 * Freezing a tower changes which gradients are computed, never their values: the fusion weights'
 * gradients with every tower frozen equal those with nothing frozen (same weights, same batch).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedGradients, layoutBatch, Zipper } from '../src/index.js';
import { examples, perturbFusion, SCHEDULE, setGates, setup, towers } from './helpers.js';

beforeAll(setup);

async function fusionGrads(freeze: string[]): Promise<Map<string, Float32Array>> {
  const z = Zipper.create(towers(), { ...SCHEDULE, freeze }, { seed: 3 });
  perturbFusion(z);
  setGates(z, 0.7);
  const batch = layoutBatch(z.config, examples());
  const trainable = [...z.params.keys()].filter((k) => !freeze.some((f) => k.startsWith(`towers.${f}.`)));
  const strategy = fusedGradients(z);
  const counts = strategy.countTargets!(batch) as Record<string, number>;
  const denominators = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.max(v, 1)]));
  const r = await strategy.computeGradients(batch, { trainable, denominator: 1, denominators });
  const out = new Map<string, Float32Array>();
  for (const [k, g] of r.grads) if (!k.startsWith('towers.')) out.set(k, g.dataSync() as Float32Array);
  tf.dispose([...r.grads.values(), r.loss]);
  z.dispose();
  return out;
}

describe('frozen towers', () => {
  it("leave the fusion weights' gradients unchanged (every tower frozen vs none)", async () => {
    const free = await fusionGrads([]);
    const frozen = await fusionGrads(['text', 'speech']);
    expect([...frozen.keys()].sort()).toEqual([...free.keys()].sort());
    let worst = 0;
    let worstKey = '';
    for (const [k, a] of free) {
      const b = frozen.get(k)!;
      const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i]! - b[i]!) / scale;
        if (d > worst) [worst, worstKey] = [d, k];
      }
    }
    console.log(`worst relative difference ${worst.toExponential(2)} at ${worstKey}`);
    expect(worst).toBeLessThan(1e-4);
  });
});
