/** What the tests comparing our logits with the PyTorch twin's (tools/fuse/twin_logits.py) share. */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** twin_logits.py's JSON: per output, flat logits [B * T * V], their shape, and each row's real length per stream. */
export interface TwinLogits {
  logits: Record<string, number[]>;
  shape: Record<string, [number, number, number]>;
  lengths: Record<string, number[]>;
}

/**
 * Per output of `twin`: the largest |ours - twin| over real (unpadded) positions, relative to the
 * largest |twin|. `make` computes our outputs (in a tidy scope; they are disposed here).
 * `lengthsOf` names the stream whose row lengths an output has (default itself).
 */
export function worstRelative(
  make: () => Record<string, tf.Tensor3D>,
  twin: TwinLogits,
  lengthsOf: (name: string) => string = (n) => n,
): (readonly [string, number])[] {
  const ours = tf.tidy(make);
  try {
    return compare(ours, twin, lengthsOf);
  } finally {
    tf.dispose(Object.values(ours));
  }
}

function compare(ours: Record<string, tf.Tensor3D>, twin: TwinLogits, lengthsOf: (name: string) => string) {
  return Object.keys(twin.logits).map((name) => {
    const [B, T, V] = twin.shape[name]!;
    expect(ours[name]!.shape).toEqual([B, T, V]);
    const a = ours[name]!.dataSync();
    const ref = twin.logits[name]!;
    const lengths = twin.lengths[lengthsOf(name)]!;
    let scale = 1e-6;
    let m = 0;
    for (let i = 0; i < ref.length; i++) {
      if (Math.floor(i / V) % T >= lengths[Math.floor(i / (T * V))]!) continue; // padding
      scale = Math.max(scale, Math.abs(ref[i]!));
      m = Math.max(m, Math.abs(a[i]! - ref[i]!));
    }
    return [name, m / scale] as const;
  });
}
