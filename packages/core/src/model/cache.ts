/**
 * The key/value cache as explicit immutable state (flax gemma style): passed into
 * `Tower.forward` / `Tower.block` and a NEW cache returned; nothing is mutated in place.
 *
 * Ownership rule: a returned cache owns fresh tensors (never shared with the cache passed in).
 * The caller owns every cache it holds and disposes the old one once it has the new one:
 *
 *   let cache = emptyCache();
 *   const a = tower.forward(prompt, { cache });           // prefill
 *   disposeCache(cache); cache = a.cache!;                 // (emptyCache holds no tensors)
 *   const b = tower.forward(next, { cache });
 *   disposeCache(cache); cache = b.cache!;
 *
 * Legend: B batch, H heads, S cached positions, K head width.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** One layer's cached keys and values, [B, H, S, K] each (keys already rotated). */
export interface LayerKV {
  readonly k: tf.Tensor4D;
  readonly v: tf.Tensor4D;
}

export interface KVCache {
  /** One entry per layer, or none for an empty cache. */
  readonly layers: readonly LayerKV[];
  /** S: cached positions; the next token's position. */
  readonly length: number;
}

/** A cache with nothing in it (holds no tensors); pass it to start caching. */
export function emptyCache(): KVCache {
  return { layers: [], length: 0 };
}

/** Disposes every tensor of a cache (safe on an empty cache). */
export function disposeCache(cache: KVCache | undefined): void {
  if (!cache) return;
  for (const l of cache.layers) {
    l.k.dispose();
    l.v.dispose();
  }
}
