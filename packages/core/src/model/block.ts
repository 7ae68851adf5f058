/**
 * One pre-norm decoder block: x + attn(ln1(x)), then + mlp(ln2(x)). Causal; with `state.mask` the
 * same block attends as that mask says (an encoder block: e.g. bidirectional within a segment).
 * A function of (weights, x, state) -> (y, cache), flax style: the cache is passed in and returned.
 *
 * Legend: B batch, T time, D model width.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionMaskOptions } from '../ops/attention-mask.js';
import type { LayerKV } from './cache.js';
import { selfAttention } from './attention.js';
import { mlp } from './mlp.js';
import { rmsNorm } from './norm.js';

export interface BlockWeights {
  readonly ln1: tf.Tensor1D;
  readonly qkv: tf.Tensor2D;
  readonly out: tf.Tensor2D;
  readonly ln2: tf.Tensor1D;
  readonly up: tf.Tensor2D;
  readonly down: tf.Tensor2D;
}

export interface BlockState {
  /** Position of x's first step (= cached length when a cache is given). */
  readonly start: number;
  /** Keys/values of positions 0 .. start-1 of this layer. */
  readonly cache?: LayerKV;
  /** Return a cache even when none was passed in (prefill from an empty cache). */
  readonly useCache?: boolean;
  /** The keys each query sees (attention's masks), instead of the causal staircase. */
  readonly mask?: AttentionMaskOptions;
}

export interface BlockResult {
  readonly y: tf.Tensor3D;
  /** A new cache covering positions 0 .. start+T-1 (when a cache was given or `useCache`). */
  readonly cache?: LayerKV;
}

export function decoderBlock(
  w: BlockWeights,
  x: tf.Tensor3D,
  state: BlockState,
  opts: { nHeads: number; ropeBase: number; normEps: number },
): BlockResult {
  return tf.tidy(() => {
    const attn = selfAttention({ qkv: w.qkv, out: w.out }, rmsNorm(x, w.ln1, opts.normEps), {
      nHeads: opts.nHeads,
      ropeBase: opts.ropeBase,
      start: state.start,
      ...(state.cache ? { cache: state.cache } : {}),
      ...(state.useCache ? { useCache: true } : {}),
      ...(state.mask ? { mask: state.mask } : {}),
    });
    const h = tf.add(x, attn.y) as tf.Tensor3D;
    const y = tf.add(h, mlp(rmsNorm(h, w.ln2, opts.normEps), w.up, w.down)) as tf.Tensor3D;
    return (attn.cache ? { y, cache: attn.cache } : { y }) as unknown as tf.TensorContainer;
  }) as unknown as BlockResult;
}
