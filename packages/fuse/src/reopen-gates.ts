/**
 * Re-opening the cross-attention gates of a trained zipped model without changing what it computes
 * (not in the paper). A cross-attention layer adds `tanh(gate) * W_out(...)` to the reader's
 * residual stream (`attn.out` after the attention, `ff.down` after the feed-forward), so only the
 * product `tanh(gate) * W_out` matters. Training drives the gates of our runs to about 0 (the
 * fourth release's four attention gates were within 0.031 of it, docs/zipper.md "Initialization"),
 * so the product rests on a tiny factor (our reading, not measured: AdamW's steps do not grow with
 * a weight, and weight decay holds `W_out` back). `reopenGates(zipper, gate)` sets every gate to `gate`
 * (its raw value, as `crossGate` of Zipper.create: tanh(1) = 0.762) and scales that layer's output
 * weight by `tanh(old) / tanh(gate)`, so every output stays the same (to float rounding) while
 * the gate is open again: with the gates then held (`freezePrefixes(zipper, { gates: true })`),
 * the links train at a scale where they can matter.
 *
 *   const changed = reopenGates(zipper, 1);   // every cross gate at tanh 0.762, outputs unchanged
 *   freezePrefixes(zipper, { gates: true });  // and kept there while training
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@zipper/core';
import { isCrossGate } from './params.js';
import type { Zipper } from './zipper.js';

/** What reopenGates reads and writes: a zipped model's weights by key (a Zipper, or a run's model). */
export type GatedWeights = Pick<Zipper, 'params'>;

/** One gate `reopenGates` changed: its key, tanh of its value before and after, the output weight it rescaled. */
export interface ReopenedGate {
  readonly key: string;
  readonly from: number;
  readonly to: number;
  readonly output: string;
}

/** The output weight a cross-attention gate scales: `attn.out.weight` for `gate_attn`, `ff.down.weight` for `gate_ff`. */
export function gatedOutputKey(gateKey: string): string {
  if (gateKey.endsWith('.gate_attn')) return `${gateKey.slice(0, -'gate_attn'.length)}attn.out.weight`;
  if (gateKey.endsWith('.gate_ff')) return `${gateKey.slice(0, -'gate_ff'.length)}ff.down.weight`;
  throw new ConfigError(`${gateKey} is not a cross-attention gate`);
}

/**
 * Sets every cross-attention gate of `zipper` to `gate` (raw value; finite, tanh(gate) != 0) and
 * rescales each gate's output weight so the model's outputs do not change. Returns the gates in
 * key order. A gate already at `gate` is left as it is (and listed with from = to).
 */
export function reopenGates(zipper: GatedWeights, gate: number): ReopenedGate[] {
  const to = Math.tanh(gate);
  if (!Number.isFinite(gate) || to === 0)
    throw new ConfigError(`reopenGates: the gate value must be finite and not 0 (tanh(0) = 0 would shut every link), got ${gate}`);
  const keys = [...zipper.params.keys()].filter(isCrossGate).sort();
  return keys.map((key) => {
    const output = gatedOutputKey(key);
    const g = zipper.params.get(key)!;
    const w = zipper.params.get(output);
    if (!w) throw new ConfigError(`reopenGates: ${key} has no output weight ${output}`);
    const raw = g.dataSync()[0]!;
    const from = Math.tanh(raw);
    if (raw !== gate) {
      tf.tidy(() => {
        w.assign(tf.mul(w, tf.scalar(from / to)));
        g.assign(tf.fill(g.shape, gate));
      });
    }
    return { key, from, to, output };
  });
}
