/**
 * The zipped forward pass: identity at initialization, causality across segments, tokens and
 * padding, and the exact own-tower output of a position that sees no source position.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { layoutBatch, Zipper, type Example } from '../src/index.js';
import { examples, perturbFusion, row, SCHEDULE, setGates, setup, towers, values } from './helpers.js';

beforeAll(setup);

/** Logits of a lone tower on the same padded stream ids. */
function lone(z: Zipper, name: string, ex: readonly Example[]): tf.Tensor3D {
  const s = layoutBatch(z.config, ex).streams[name]!;
  const ids = tf.tensor2d(s.ids, [ex.length, s.length], 'int32');
  const out = z.towers.get(name)!.forward(ids).logits;
  ids.dispose();
  return out;
}

describe('Zipper forward', () => {
  it('at initialization returns each lone tower logits exactly (bit-identical), towers of different widths', () => {
    const entries = towers();
    const z = Zipper.create(entries, SCHEDULE, { seed: 3 });
    // the zipper's tower weights are the towers' own variables, not copies
    for (const e of entries) for (const [k, v] of e.tower.params) expect(z.params.get(`towers.${e.name}.${k}`)).toBe(v);
    const ex = examples();
    const logits = z.forward(layoutBatch(z.config, ex));
    for (const name of ['text', 'speech']) {
      const alone = lone(z, name, ex);
      expect(logits[name]!.shape).toEqual(alone.shape);
      expect(Buffer.from(values(logits[name]!).buffer).equals(Buffer.from(values(alone).buffer))).toBe(true);
      alone.dispose();
    }
    // the gates are 0 but the fusion branches are live: with gates open the logits move
    setGates(z, 0.7);
    const moved = z.forward(layoutBatch(z.config, ex));
    expect(Math.max(...values(tf.abs(tf.sub(moved['text']!, logits['text']!))))).toBeGreaterThan(1e-4);
    tf.dispose([logits, moved]);
    z.dispose();
  });

  it("crossGate: every cross-attention gate starts at the value, the input projections' gates at 0, every other weight as with gate 0", () => {
    const a = Zipper.create(towers(), SCHEDULE, { seed: 3 });
    const b = Zipper.create(towers(), SCHEDULE, { seed: 3, crossGate: 0.1 });
    let gates = 0;
    for (const [k, v] of a.params) {
      if (k.startsWith('towers.')) continue;
      const x = values(v);
      const y = values(b.params.get(k)!);
      if (/^cross\..*\.gate_(attn|ff)$/.test(k)) {
        gates++;
        expect([...x]).toEqual([0]);
        expect([...y]).toEqual([Math.fround(0.1)]);
      } else expect(Buffer.from(y.buffer).equals(Buffer.from(x.buffer))).toBe(true);
    }
    expect(gates).toBe(2 * a.config.schedule.links.length);
    // open gates from step 0: the logits move off the lone towers'
    const ex = examples();
    const la = a.forward(layoutBatch(a.config, ex));
    const lb = b.forward(layoutBatch(b.config, ex));
    expect(Math.max(...values(tf.abs(tf.sub(lb['text']!, la['text']!))))).toBeGreaterThan(1e-4);
    tf.dispose([la, lb]);
    a.dispose();
    b.dispose();
    const entries = towers();
    expect(() => Zipper.create(entries, SCHEDULE, { crossGate: Number.NaN })).toThrow(/crossGate must be a finite number/);
    for (const e of entries) e.tower.dispose();
  });

  it('zeroOutput with gates 1: the cross output weights start at 0, so the logits are the lone towers; only those weights get gradient at first', () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 3, crossGate: 1, zeroOutput: true });
    const plain = Zipper.create(towers(), SCHEDULE, { seed: 3 });
    for (const [k, v] of z.params) {
      if (k.startsWith('towers.')) continue;
      const x = values(v);
      if (/^cross\..*\.(attn\.out|ff\.down)\.weight$/.test(k)) expect(x.every((a) => a === 0)).toBe(true);
      else if (/^cross\..*\.gate_(attn|ff)$/.test(k)) expect([...x]).toEqual([1]);
      else expect(Buffer.from(x.buffer).equals(Buffer.from(values(plain.params.get(k)!).buffer)), k).toBe(true);
    }
    const ex = examples();
    const batch = layoutBatch(z.config, ex);
    const logits = z.forward(batch);
    for (const name of ['text', 'speech']) {
      const alone = lone(z, name, ex);
      expect(Buffer.from(values(logits[name]!).buffer).equals(Buffer.from(values(alone).buffer))).toBe(true);
      alone.dispose();
    }
    // d loss / d W: the output weights get gradient, the attention's q (behind a zero output) none
    const keys = ['cross.text_from_speech.1.attn.out.weight', 'cross.text_from_speech.1.attn.q.weight'];
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.square(z.forward(batch)['text']!)) as tf.Scalar,
      keys.map((k) => z.param(k)),
    );
    expect(Math.max(...values(tf.abs(grads[z.param(keys[0]!).name]!)))).toBeGreaterThan(0);
    expect(Math.max(...values(tf.abs(grads[z.param(keys[1]!).name]!)))).toBe(0);
    tf.dispose([logits, ...Object.values(grads)]);
    z.dispose();
    plain.dispose();
  });

  it('a position that sees no position of the other tower equals the lone tower, even with gates 0.7', () => {
    const z = Zipper.create(towers(), { ...SCHEDULE, inputProjection: 'none' }, { seed: 3 });
    perturbFusion(z);
    setGates(z, 0.7);
    // ASR: no speech position sees text; TTS: no text position sees speech
    const ex: Example[] = [
      [
        { tower: 'speech', ids: [9, 1, 2, 3, 4, 5, 6] },
        { tower: 'text', ids: [11, 3, 1, 4, 12] },
      ],
      [
        { tower: 'text', ids: [11, 2, 7, 1, 8, 2, 12] },
        { tower: 'speech', ids: [9, 5, 5, 3, 10] },
      ],
    ];
    const logits = z.forward(layoutBatch(z.config, ex));
    const aloneSpeech = lone(z, 'speech', ex);
    const aloneText = lone(z, 'text', ex);
    expect(Buffer.from(row(logits['speech']!, 0).buffer).equals(Buffer.from(row(aloneSpeech, 0).buffer))).toBe(true);
    expect(Buffer.from(row(logits['text']!, 1).buffer).equals(Buffer.from(row(aloneText, 1).buffer))).toBe(true);
    // and the reading side does differ (the branches are live)
    expect(row(logits['text']!, 0)).not.toEqual(row(aloneText, 0));
    expect(row(logits['speech']!, 1)).not.toEqual(row(aloneSpeech, 1));
    expect(values(logits['text']!).every(Number.isFinite)).toBe(true);
    tf.dispose([logits, aloneSpeech, aloneText]);
    z.dispose();
  });

  describe('causality (gates 0.7, every fusion weight non-trivial)', () => {
    let z: Zipper;
    beforeAll(() => {
      z = Zipper.create(towers(), SCHEDULE, { seed: 3 });
      perturbFusion(z);
      setGates(z, 0.7);
    });

    /** Per tower, per row: (global index, logits row [V]) of every real position. */
    function positions(ex: Example[]): Map<string, { g: number; v: number[] }[][]> {
      const batch = layoutBatch(z.config, ex);
      const logits = z.forward(batch);
      const out = new Map<string, { g: number; v: number[] }[][]>();
      for (const [name, s] of Object.entries(batch.streams)) {
        const l = logits[name]!;
        const V = l.shape[2];
        const data = values(l);
        out.set(
          name,
          ex.map((_, b) =>
            Array.from({ length: s.lengths[b]! }, (_, i) => ({
              g: s.global[b * s.length + i]!,
              v: Array.from(data.slice((b * s.length + i) * V, (b * s.length + i + 1) * V)),
            })),
          ),
        );
      }
      tf.dispose(logits);
      return out;
    }

    /** Every position with global index < limit[b] must be bit-identical (or within tol). */
    function expectEarlierEqual(
      a: Map<string, { g: number; v: number[] }[][]>,
      b: Map<string, { g: number; v: number[] }[][]>,
      limit: number[],
      tol = 0,
    ): number {
      let checked = 0;
      for (const [name, rowsA] of a) {
        rowsA.forEach((posA, r) => {
          const posB = b.get(name)![r]!;
          posA.forEach((p, i) => {
            if (p.g >= limit[r]!) return;
            checked++;
            if (tol === 0) expect(posB[i]!.v, `${name} row ${r} position ${i}`).toEqual(p.v);
            else p.v.forEach((x, k) => expect(Math.abs(x - posB[i]!.v[k]!), `${name} row ${r} position ${i}`).toBeLessThanOrEqual(tol));
          });
        });
      }
      return checked;
    }

    it('changing a later segment changes no earlier logit', () => {
      const base = examples();
      const changed = base.map((ex) => [
        ...ex.slice(0, -1),
        { ...ex[ex.length - 1]!, ids: ex[ex.length - 1]!.ids.map((id, k) => (k === 0 ? id : (id + 3) % 9)) },
      ]);
      const starts = base.map((ex) => ex.slice(0, -1).reduce((n, s) => n + s.ids.length, 0));
      const a = positions(base);
      const b = positions(changed);
      expect(
        expectEarlierEqual(
          a,
          b,
          starts.map((s) => s + 1),
        ),
      ).toBeGreaterThan(30);
      // the later segment itself did change
      expect(b.get('text')![0]!.at(-1)!.v).not.toEqual(a.get('text')![0]!.at(-1)!.v);
    });

    it('changing one token changes no logit at an earlier global index, in either tower', () => {
      const base = examples();
      for (const [r, seg, k] of [
        [0, 0, 3],
        [1, 0, 4],
        [2, 1, 2],
      ] as const) {
        const changed = base.map((ex) => ex.map((s) => ({ ...s, ids: [...s.ids] })));
        const ids = changed[r]![seg]!.ids as number[];
        ids[k] = (ids[k]! + 1) % 7;
        const g = base[r]!.slice(0, seg).reduce((n, s) => n + s.ids.length, 0) + k;
        const limit = base.map((_, i) => (i === r ? g : Infinity));
        const a = positions(base);
        const b = positions(changed);
        expectEarlierEqual(a, b, limit);
        // something at or after g changed
        const name = base[r]![seg]!.tower;
        expect(
          b
            .get(name)!
            [r]!.filter((p) => p.g >= g)
            .map((p) => p.v),
        ).not.toEqual(
          a
            .get(name)!
            [r]!.filter((p) => p.g >= g)
            .map((p) => p.v),
        );
      }
    });

    it('padding changes no real logit (a longer neighbour in the batch)', () => {
      const base = examples().slice(0, 2);
      const long: Example = [
        { tower: 'speech', ids: [9, ...Array.from({ length: 13 }, (_, i) => i % 9), 10] },
        { tower: 'text', ids: [11, ...Array.from({ length: 11 }, (_, i) => i % 11), 12] },
      ];
      const a = positions(base);
      const b = positions([...base, long]);
      b.forEach((rows) => rows.pop());
      expect(expectEarlierEqual(a, b, [Infinity, Infinity], 1e-5)).toBeGreaterThan(20);
    });
  });
});
