/**
 * The decoder interface that generation (generate/generate.ts) and held-out evaluation
 * (train/evaluate.ts) work over: a next-token model with an explicit, opaque cache. `Tower`
 * implements it with its KV cache; a zipped multi-tower model implements it with a cache of its
 * own (self- and cross-attention state), and `generate` drives either the same way.
 *
 * Cache rules (cache.ts's, for any cache type C):
 *  - `emptyCache()` starts caching; `forward(ids, { cache })` treats `ids` as the positions after
 *    the cached ones and returns a NEW cache (never sharing tensors with the one passed in);
 *  - the caller owns every cache it holds and disposes the old one with `disposeCache` once it
 *    has the new one (`disposeCache` of an empty cache is safe);
 *  - without a cache, `forward(ids)` is the plain uncached pass over the whole sequence and
 *    returns no cache: this is what training and evaluation call.
 *
 * Legend: B batch, T time (new positions), V vocabulary.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface DecoderForwardOptions<C> {
  /** Past state; pass `emptyCache()` to start caching. The result then has a new cache. */
  readonly cache?: C;
  /** Compute logits for the last position only ([B, 1, V]): a prefill needs no more. */
  readonly lastOnly?: boolean;
}

export interface DecoderOutput<C> {
  /** [B, T, V] ([B, 1, V] with `lastOnly`) */
  readonly logits: tf.Tensor3D;
  /** The new cache, when a cache was passed in. */
  readonly cache?: C;
}

export interface Decoder<C = unknown> {
  /** V: token ids are in [0, V). */
  readonly vocabSize: number;
  /** Positions a sequence may reach (cached + new). */
  readonly maxSeqLen: number;
  /** ids int32 [B, T] -> logits [B, T, V] (+ the new cache); usable inside `tf.variableGrads` without a cache. */
  forward(ids: tf.Tensor2D, options?: DecoderForwardOptions<C>): DecoderOutput<C>;
  /** A cache holding nothing yet. */
  emptyCache(): C;
  /** Frees a cache's tensors. */
  disposeCache(cache: C): void;
}
