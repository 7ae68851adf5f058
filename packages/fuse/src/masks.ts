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
import { inCrossWindow, type PlacedCrossWindow } from './cross-window.js';

export interface HostCrossMask {
  /** [B, T, S]: 1 = may attend. */
  readonly mask: Uint8Array;
  /** [B, T]: 1 = sees at least one source position. */
  readonly visible: Float32Array;
  /** Whether any reader position sees any source position. */
  readonly any: boolean;
  /** Whether every reader position sees every source position (no padding): the mask is all ones. */
  readonly full: boolean;
}

/**
 * readerGlobal [B, T], sourceGlobal [B, S] (row-major, -1 = padding) -> the host mask; with
 * `window` (cross-window.ts) a source position must also lie in the reader position's window.
 */
export function crossMaskHost(
  readerGlobal: Int32Array,
  sourceGlobal: Int32Array,
  b: number,
  t: number,
  s: number,
  window?: PlacedCrossWindow,
): HostCrossMask {
  const mask = new Uint8Array(b * t * s);
  const visible = new Float32Array(b * t);
  let any = false;
  let full = true;
  for (let r = 0; r < b; r++) {
    let last = -1; // the row's last source position (its rank)
    if (window) for (let j = 0; j < s; j++) if ((sourceGlobal[r * s + j] as number) >= 0) last = j;
    for (let i = 0; i < t; i++) {
      const g = readerGlobal[r * t + i] as number;
      if (g < 0) {
        full = false;
        continue;
      }
      let seen = false;
      for (let j = 0; j < s; j++) {
        const h = sourceGlobal[r * s + j] as number;
        if (h >= 0 && h < g && (!window || inCrossWindow(window, i, j, last))) {
          mask[(r * t + i) * s + j] = 1;
          seen = true;
        } else full = false;
      }
      if (seen) {
        visible[r * t + i] = 1;
        any = true;
      }
    }
  }
  return { mask, visible, any, full: full && any };
}

/**
 * The cross mask of one link as tensors. `full`: every reader position sees every source position
 * (e.g. each decode step of TTS's speech reading its whole text), so attention needs no mask and
 * the gates no `visible`, and neither is uploaded.
 */
export type CrossMask =
  | { readonly full: true }
  | {
      readonly full?: false;
      /** bool [B, T, S] */
      readonly mask: tf.Tensor3D;
      /** float32 [B, T, 1] */
      readonly visible: tf.Tensor3D;
      /** The mask resolved once for every link of this reader/source pair (core's prepareAttentionMask, for H heads). */
      readonly prepared?: PreparedAttentionMask;
    };

/** The mask resolved for attention calls with `heads` heads (the caller disposes `prepared`). */
export function prepareCrossMask(m: CrossMask, heads: number): CrossMask {
  if (m.full) return m; // nothing to resolve
  const [b, t, s] = m.mask.shape;
  return { ...m, prepared: prepareAttentionMask({ mask: m.mask }, { batch: b, heads, queries: t, keys: s }) };
}

/** The mask as tensors (owned by the caller), or undefined when no reader position sees anything. */
export function crossMask(
  readerGlobal: Int32Array,
  sourceGlobal: Int32Array,
  b: number,
  t: number,
  s: number,
  window?: PlacedCrossWindow,
): CrossMask | undefined {
  const h = crossMaskHost(readerGlobal, sourceGlobal, b, t, s, window);
  if (!h.any) return undefined;
  if (h.full) return { full: true };
  return { mask: tf.tensor3d(h.mask, [b, t, s], 'bool'), visible: tf.tensor3d(h.visible, [b, t, 1], 'float32') };
}

/**
 * The alignment prior of one link (beyond the paper: DC-TTS's guided attention, Tachibana et al.
 * 2018), [B, T, S]: W = 1 - exp(-(n/N - m/M)^2 / (2 width^2)) with n the reader position's rank
 * among its row's real reader positions (N of them) and m the source position's among its row's
 * real source positions (M), both at their centres ((n + 0.5) / N). It is small near the diagonal
 * of the (reader, source) grid and near 1 far from it, so attention that walks through the source
 * as the reader advances pays little. With one segment per tower in a row (ASR `[speech][text]`,
 * TTS `[text][speech]`) the ranks are the positions within the segments. Padding gets 0.
 * With `sourceWeights` [B * S] (a weighted cross-rope pair, cross-positions.ts) a source position
 * spans its weight: m is the weight before it plus half its own, M the row's total (all 1: the
 * ranks, exactly).
 */
export function alignPriorHost(
  readerGlobal: Int32Array,
  sourceGlobal: Int32Array,
  b: number,
  t: number,
  s: number,
  width: number,
  sourceWeights?: ArrayLike<number>,
): Float32Array {
  const out = new Float32Array(b * t * s);
  const k = 1 / (2 * width * width);
  const weight = (r: number, j: number) => (sourceWeights ? (sourceWeights[r * s + j] as number) : 1);
  for (let r = 0; r < b; r++) {
    let nReal = 0;
    let mReal = 0;
    for (let i = 0; i < t; i++) if ((readerGlobal[r * t + i] as number) >= 0) nReal++;
    for (let j = 0; j < s; j++) if ((sourceGlobal[r * s + j] as number) >= 0) mReal += weight(r, j);
    let n = 0;
    for (let i = 0; i < t; i++) {
      if ((readerGlobal[r * t + i] as number) < 0) continue;
      const x = (n + 0.5) / nReal;
      let m = 0;
      for (let j = 0; j < s; j++) {
        if ((sourceGlobal[r * s + j] as number) < 0) continue;
        const w = weight(r, j);
        const d = x - (m + w / 2) / mReal;
        out[(r * t + i) * s + j] = 1 - Math.exp(-d * d * k);
        m += w;
      }
      n++;
    }
  }
  return out;
}
