/**
 * The cross mask of one link (docs/zipper.md, "Cross mask"): a reader position with global index
 * g attends exactly the source positions with global index < g; padding (global index -1) never
 * attends and is never attended. `visible` is 1 for a reader position that sees at least one
 * source position and 0 otherwise; the gated block multiplies both residual branches by it, so
 * such a position keeps exactly its own tower's output.
 *
 * Legend: B batch, T reader positions, S source positions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { prepareAttentionMask, type PreparedAttentionMask } from '@zipper/core/ops';

export interface HostCrossMask {
  /** [B, T, S]: 1 = may attend. */
  readonly mask: Uint8Array;
  /** [B, T]: 1 = sees at least one source position. */
  readonly visible: Float32Array;
  /** Whether any reader position sees any source position. */
  readonly any: boolean;
}

/** readerGlobal [B, T], sourceGlobal [B, S] (row-major, -1 = padding) -> the host mask. */
export function crossMaskHost(readerGlobal: Int32Array, sourceGlobal: Int32Array, b: number, t: number, s: number): HostCrossMask {
  const mask = new Uint8Array(b * t * s);
  const visible = new Float32Array(b * t);
  let any = false;
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < t; i++) {
      const g = readerGlobal[r * t + i] as number;
      if (g < 0) continue;
      let seen = false;
      for (let j = 0; j < s; j++) {
        const h = sourceGlobal[r * s + j] as number;
        if (h >= 0 && h < g) {
          mask[(r * t + i) * s + j] = 1;
          seen = true;
        }
      }
      if (seen) {
        visible[r * t + i] = 1;
        any = true;
      }
    }
  }
  return { mask, visible, any };
}

export interface CrossMask {
  /** bool [B, T, S] */
  readonly mask: tf.Tensor3D;
  /** float32 [B, T, 1] */
  readonly visible: tf.Tensor3D;
  /** The mask resolved once for every link of this reader/source pair (core's prepareAttentionMask, for H heads). */
  readonly prepared?: PreparedAttentionMask;
}

/** The mask resolved for attention calls with `heads` heads (the caller disposes `prepared`). */
export function prepareCrossMask(m: CrossMask, heads: number): CrossMask {
  const [b, t, s] = m.mask.shape;
  return { ...m, prepared: prepareAttentionMask({ mask: m.mask }, { batch: b, heads, queries: t, keys: s }) };
}

/** The mask as tensors (owned by the caller), or undefined when no reader position sees anything. */
export function crossMask(readerGlobal: Int32Array, sourceGlobal: Int32Array, b: number, t: number, s: number): CrossMask | undefined {
  const h = crossMaskHost(readerGlobal, sourceGlobal, b, t, s);
  if (!h.any) return undefined;
  return { mask: tf.tensor3d(h.mask, [b, t, s], 'bool'), visible: tf.tensor3d(h.visible, [b, t, 1], 'float32') };
}
