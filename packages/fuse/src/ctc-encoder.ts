/**
 * The bidirectional encoder of a CTC head (`CtcHeadSpec.encoderLayers`, docs/zipper.md "CTC
 * head"; not in the paper): N pre-norm blocks (core's `decoderBlock` with a mask instead of the
 * causal staircase) over the head's projected source states, then an RMSNorm. A position sees
 * every real position of its own source segment, earlier and later; padding (global index -1)
 * is seen by none, and a padding row's output is never read. Rotary positions are the stream's
 * positions, so a score depends only on the distance within the segment.
 *
 * Weight keys under the head's prefix: `encoder.<i>.{ln1.scale, qkv.weight, out.weight,
 * ln2.scale, up.weight, down.weight}`, `encoder_norm.scale` (params.ts).
 *
 * Legend: B rows, S source positions of the stream, D the head's width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decoderBlock, rmsNorm, type BlockWeights } from '@zipper/core';

/** Which keys each query sees: [B, S, S], 1 where both are real and in the same segment (a run of consecutive global indices). */
export function segmentMaskHost(global: Int32Array, b: number, s: number): Uint8Array {
  const seg = new Int32Array(b * s).fill(-1);
  for (let r = 0; r < b; r++) {
    let id = -1;
    for (let i = 0; i < s; i++) {
      const g = global[r * s + i]!;
      if (g < 0) continue;
      const prev = i > 0 ? global[r * s + i - 1]! : -2;
      if (prev < 0 || g !== prev + 1) id++;
      seg[r * s + i] = id;
    }
  }
  const out = new Uint8Array(b * s * s);
  for (let r = 0; r < b; r++)
    for (let i = 0; i < s; i++) {
      const a = seg[r * s + i]!;
      if (a < 0) continue;
      for (let j = 0; j < s; j++) if (seg[r * s + j] === a) out[(r * s + i) * s + j] = 1;
    }
  return out;
}

/**
 * x [B, S, D] (the head's projection of the source states) -> [B, S, D]. `param(key)` returns the
 * weight under `prefix` (e.g. `ctc.text_from_speech`).
 */
export function ctcEncoder(
  param: (key: string) => tf.Tensor,
  prefix: string,
  x: tf.Tensor3D,
  global: Int32Array,
  layers: number,
  opts: { nHeads: number; ropeBase: number; normEps: number },
): tf.Tensor3D {
  const [b, s] = x.shape;
  return tf.tidy(() => {
    const mask = tf.tensor3d(segmentMaskHost(global, b, s), [b, s, s], 'bool');
    let h = x;
    for (let i = 0; i < layers; i++) {
      const p = `${prefix}.encoder.${i}`;
      const w: BlockWeights = {
        ln1: param(`${p}.ln1.scale`) as tf.Tensor1D,
        qkv: param(`${p}.qkv.weight`) as tf.Tensor2D,
        out: param(`${p}.out.weight`) as tf.Tensor2D,
        ln2: param(`${p}.ln2.scale`) as tf.Tensor1D,
        up: param(`${p}.up.weight`) as tf.Tensor2D,
        down: param(`${p}.down.weight`) as tf.Tensor2D,
      };
      h = decoderBlock(w, h, { start: 0, mask: { mask } }, opts).y;
    }
    return rmsNorm(h, param(`${prefix}.encoder_norm.scale`) as tf.Tensor1D, opts.normEps);
  });
}
