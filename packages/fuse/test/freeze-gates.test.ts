/**
 * freezePrefixes(zipper, { gates: true }): the Trainer keeps every cross-attention gate at its
 * initial value, bit for bit, while the rest of the fusion weights train; the input projections'
 * gates are not cross-attention gates and train.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { freezePrefixes, Zipper } from '../src/index.js';
import { pairsTrainer, SCHEDULE, setup, towers } from './helpers.js';

beforeAll(setup);

describe('freezePrefixes with gates', () => {
  it('lists the towers, then every cross gate; training keeps those gates bit-identical and moves the other fusion weights', async () => {
    const z = Zipper.create(towers(), { ...SCHEDULE, freeze: ['text'] }, { seed: 2, crossGate: 1, zeroOutput: true });
    const prefixes = freezePrefixes(z, { gates: true });
    expect(prefixes[0]).toBe('towers.text.');
    expect(prefixes.slice(1)).toEqual([...z.params.keys()].filter((k) => /^cross\..*\.gate_(attn|ff)$/.test(k)));
    expect(prefixes).toHaveLength(1 + 2 * 4); // 4 links, 2 gates each
    expect(freezePrefixes(z)).toEqual(['towers.text.']);
    const before = new Map([...z.params].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
    const t = pairsTrainer(z, {}, prefixes);
    await t.train(10);
    const moved = (k: string) => before.get(k)!.some((x, i) => x !== z.param(k).dataSync()[i]);
    for (const k of prefixes.slice(1)) {
      expect(moved(k), k).toBe(false);
      expect(z.param(k).dataSync()[0]).toBe(1);
    }
    for (const k of ['inproj.text.gate', 'cross.text_from_speech.2.attn.out.weight', 'cross.speech_from_text.3.ff.down.weight'])
      expect(moved(k), k).toBe(true);
    expect([...z.params.keys()].filter((k) => k.startsWith('towers.text.')).some(moved)).toBe(false);
    t.dispose();
    z.dispose();
  });
});
