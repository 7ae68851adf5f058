/**
 * The explicit decoding state of a zipped model (flax style: passed into `Zipper.run` and a new
 * one returned, never mutated): per tower its self-attention KV cache and the global index of
 * each of its positions so far; per link the projected source's cross-attention keys/values,
 * computed once per source position. Ownership: a returned state holds fresh tensors; the caller
 * disposes the old one (`disposeZipperState`).
 *
 * Legend: B batch, T new positions of a tower, S positions so far, H heads, K head width.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KVCache, LayerKV } from '@zipper/core';
import { pickRows } from './rows.js';

/** New positions of one tower, row-major [B, T]. */
export interface StreamInput {
  readonly length: number;
  readonly ids: Int32Array;
  /** Global index of each position; -1 = padding (attends nothing, is never attended). */
  readonly global: Int32Array;
}

export interface TowerState {
  /** Self-attention keys/values of the tower's positions so far. */
  readonly cache: KVCache;
  /** int32 [B, S]: global index of each position so far. */
  readonly global: Int32Array;
}

/** Everything a continuation needs (explicit state, flax style). */
export interface ZipperState {
  readonly batchSize: number;
  readonly towers: Readonly<Record<string, TowerState>>;
  /** Per link key: the projected source's keys/values [B, H_X, S_Y, K_X], S_Y = the source's positions so far. */
  readonly links: Readonly<Record<string, LayerKV>>;
  /**
   * Per weighted cross-rope pair `to<-from` (config.crossRope `sourceWeights`): float64 [B], the
   * weights of the source's positions so far, where its next positions' keys start (absent: none).
   */
  readonly sourceWeightSums?: Readonly<Record<string, Float64Array>>;
}

/** A state holding nothing, for `batchSize` rows. */
export function emptyZipperState(batchSize: number): ZipperState {
  return { batchSize, towers: {}, links: {} };
}

/** Disposes every tensor of a state. */
export function disposeZipperState(state: ZipperState | undefined): void {
  if (!state) return;
  for (const t of Object.values(state.towers)) for (const l of t.cache.layers) tf.dispose([l.k, l.v]);
  for (const l of Object.values(state.links)) tf.dispose([l.k, l.v]);
}

/** The rows `idx` of a state (fresh tensors; the input state is untouched). */
export function sliceZipperState(state: ZipperState, idx: readonly number[]): ZipperState {
  const pick = <A extends Int32Array | Float64Array>(g: A) => pickRows(g, idx, g.length / state.batchSize);
  return tf.tidy(() => {
    const rows = tf.tensor1d(Array.from(idx), 'int32');
    const g4 = (t: tf.Tensor4D) => tf.gather(t, rows, 0) as tf.Tensor4D;
    const towers = Object.fromEntries(
      Object.entries(state.towers).map(([n, t]) => [
        n,
        { cache: { layers: t.cache.layers.map((l) => ({ k: g4(l.k), v: g4(l.v) })), length: t.cache.length }, global: pick(t.global) },
      ]),
    );
    const links = Object.fromEntries(Object.entries(state.links).map(([k, l]) => [k, { k: g4(l.k), v: g4(l.v) }]));
    const sums = state.sourceWeightSums && {
      sourceWeightSums: Object.fromEntries(Object.entries(state.sourceWeightSums).map(([k, s]) => [k, pick(s)])),
    };
    return { batchSize: idx.length, towers, links, ...sums } as unknown as tf.TensorContainer;
  }) as unknown as ZipperState;
}
