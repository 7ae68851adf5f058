/**
 * The decoder tower: token embedding tied to the output softmax, pre-norm RMSNorm blocks with
 * rotary causal self-attention and a GELU(tanh) MLP, final RMSNorm, no biases. Matches the
 * PyTorch reference (../shared/bench/torch_reference.py next to the repository) weight for weight.
 *
 * Composability seam (for @zipper/fuse, which inserts cross-attention between blocks of N towers):
 * the pieces are separately callable and every one is pure (tensors in, new tensors out):
 *   embed(ids)                      ids [B, T] int32 -> hidden 0 [B, T, D]
 *   block(i, x, { start, cache })   x [B, T, D] -> { y: hidden i+1, cache? }   (i in 0..nLayers-1)
 *   head(x)                         final norm + projection -> logits [B, T, V]
 *   forward(ids, { cache, collectHidden }) = head(block(n-1, ... block(0, embed(ids))))
 * and `forward(..., { collectHidden: true })` returns hidden[0..nLayers] (0 = embedding output,
 * l = output of block l, the numbering of @zipper/fuse's schedule).
 *
 * Training: every call is differentiable and may run inside `tf.variableGrads` / `tf.grad`;
 * `params` holds trainable `tf.Variable`s keyed by checkpoint key, so freezing is passing a
 * subset of them as the var list.
 *
 * Caching: see cache.ts for the ownership rule (a new cache is returned; the caller disposes
 * the old one). With a cache, `ids` (and `hidden`) cover only the new positions.
 * Ownership: every tensor a method returns (logits, hidden states, caches) belongs to the
 * caller; inputs are never disposed. The tower owns its variables until `dispose()`.
 * Speed: the KV cache grows by concatenation (a fresh [B, H, S, K] per layer per step); TF.js
 * has no in-place update, so a preallocated buffer would need a copy per step as well.
 *
 * Legend: B batch, T time, S cached positions, D model width, H heads, K head width, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, TokenRangeError } from '../errors.js';
import { embedding, tiedLogits } from '../ops/embedding.js';
import { linear } from '../ops/linear.js';
import { decoderBlock, type BlockResult, type BlockState, type BlockWeights } from './block.js';
import { disposeCache, emptyCache, type KVCache, type LayerKV } from './cache.js';
import { headDim, resolveTowerConfig, type TowerConfig, type TowerConfigInput } from './config.js';
import type { Decoder } from './decoder.js';
import { rmsNorm } from './norm.js';
import { shapesOf } from './keys.js';
import { initParam, paramSetProblems, towerParamSpecs } from './params.js';

export interface TowerForwardOptions {
  /** Past keys/values; pass `emptyCache()` to start caching. The result then has a new cache. */
  readonly cache?: KVCache;
  /** Also return hidden[0..nLayers] ([B, T, D] each). */
  readonly collectHidden?: boolean;
  /** Compute logits for the last position only ([B, 1, V]): a prefill needs no more. */
  readonly lastOnly?: boolean;
}

export interface TowerForwardResult {
  /** [B, T, V] ([B, 1, V] with `lastOnly`) */
  readonly logits: tf.Tensor3D;
  readonly cache?: KVCache;
  readonly hidden?: tf.Tensor3D[];
}

/** A `Decoder` (decoder.ts) whose cache is the KV cache: `generate(tower, ...)` and `evaluateLoss(tower, ...)` take it. */
export class Tower implements Decoder<KVCache> {
  readonly config: TowerConfig;
  /** Ordered like the reference's state dict; keys are checkpoint keys. */
  readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly blockWeights: readonly BlockWeights[];
  private disposed = false;

  private constructor(config: TowerConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
    const p = (key: string) => params.get(key) as tf.Variable;
    this.blockWeights = Array.from({ length: config.nLayers }, (_, i) => ({
      ln1: p(`blocks.${i}.ln1.scale`) as tf.Tensor as tf.Tensor1D,
      qkv: p(`blocks.${i}.qkv.weight`) as tf.Tensor as tf.Tensor2D,
      out: p(`blocks.${i}.out.weight`) as tf.Tensor as tf.Tensor2D,
      ln2: p(`blocks.${i}.ln2.scale`) as tf.Tensor as tf.Tensor1D,
      up: p(`blocks.${i}.up.weight`) as tf.Tensor as tf.Tensor2D,
      down: p(`blocks.${i}.down.weight`) as tf.Tensor as tf.Tensor2D,
    }));
  }

  /** A freshly initialized tower; the same config and seed give identical weights. */
  static create(config: TowerConfigInput | TowerConfig, options: { seed?: number } = {}): Tower {
    const c = resolveTowerConfig(config);
    const seed = options.seed ?? 0;
    const params = new Map<string, tf.Variable>();
    for (const spec of towerParamSpecs(c)) {
      const init = tf.tensor(initParam(spec, seed), [...spec.shape], 'float32');
      params.set(spec.key, tf.variable(init, true));
      init.dispose();
    }
    return new Tower(c, params);
  }

  /**
   * A tower holding copies of the given tensors (the caller keeps ownership of them). Throws
   * ShapeError naming missing/unexpected keys and wrong shapes.
   */
  static fromTensors(config: TowerConfigInput | TowerConfig, tensors: ReadonlyMap<string, tf.Tensor>): Tower {
    const c = resolveTowerConfig(config);
    const specs = towerParamSpecs(c);
    const problems = paramSetProblems(specs, shapesOf(tensors));
    if (problems.length > 0) throw new ShapeError(`weights do not match the tower config: ${problems.join('; ')}`);
    const params = new Map<string, tf.Variable>();
    for (const spec of specs) {
      const t = tensors.get(spec.key) as tf.Tensor;
      const src = t.dtype === 'float32' ? t : tf.cast(t, 'float32');
      params.set(spec.key, tf.variable(src, true));
      if (src !== t) src.dispose();
    }
    return new Tower(c, params);
  }

  /** ids [B, T] int32 in [0, V) -> embeddings [B, T, D]. */
  embed(ids: tf.Tensor2D): tf.Tensor3D {
    this.checkIds(ids);
    return embedding(ids, this.param('emb.weight') as tf.Tensor2D);
  }

  /** Block i (0-based) on x [B, T, D]; see BlockState for caching. */
  block(i: number, x: tf.Tensor3D, state: BlockState): BlockResult {
    this.checkAlive();
    if (!Number.isInteger(i) || i < 0 || i >= this.config.nLayers)
      throw new ShapeError(`block index ${i} outside 0..${this.config.nLayers - 1}`);
    this.checkHidden(x, 'block input');
    this.checkState(x, state);
    return decoderBlock(this.blockWeights[i] as BlockWeights, x, state, this.config);
  }

  /** Final norm + output projection (tied to `emb.weight` by default): x [B, T, D] -> logits [B, T, V]. */
  head(x: tf.Tensor3D): tf.Tensor3D {
    this.checkAlive();
    this.checkHidden(x, 'head input');
    return tf.tidy(() => {
      const n = rmsNorm(x, this.param('norm.scale') as tf.Tensor1D, this.config.normEps);
      return this.config.tieEmbeddings
        ? tiedLogits(n, this.param('emb.weight') as tf.Tensor2D)
        : linear(n, this.param('head.weight') as tf.Tensor2D);
    });
  }

  /** The whole tower; with `cache`, ids are the positions after the cached ones. */
  forward(ids: tf.Tensor2D, options: TowerForwardOptions = {}): TowerForwardResult {
    this.checkAlive();
    const cache = options.cache;
    if (cache) this.checkCache(cache, ids.shape[0]);
    const start = cache?.length ?? 0;
    return tf.tidy(() => {
      let x = this.embed(ids);
      const hidden: tf.Tensor3D[] = options.collectHidden ? [x] : [];
      const layers: LayerKV[] = [];
      for (let i = 0; i < this.config.nLayers; i++) {
        const layerCache = cache?.layers[i];
        const r = this.block(i, x, { start, ...(layerCache ? { cache: layerCache } : {}), ...(cache ? { useCache: true } : {}) });
        x = r.y;
        if (r.cache) layers.push(r.cache);
        if (options.collectHidden) hidden.push(x);
      }
      const [b, t, d] = x.shape;
      const logits = this.head(options.lastOnly && t > 1 ? (tf.slice(x, [0, t - 1, 0], [b, 1, d]) as tf.Tensor3D) : x);
      const out: { logits: tf.Tensor3D; cache?: KVCache; hidden?: tf.Tensor3D[] } = { logits };
      if (cache) out.cache = { layers, length: start + ids.shape[1] };
      if (options.collectHidden) out.hidden = hidden;
      return out as unknown as tf.TensorContainer;
    }) as unknown as TowerForwardResult;
  }

  /** V (Decoder). */
  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** Longest sequence (Decoder). */
  get maxSeqLen(): number {
    return this.config.maxSeqLen;
  }

  /** An empty KV cache (Decoder; holds no tensors). */
  emptyCache(): KVCache {
    return emptyCache();
  }

  /** Disposes a KV cache's tensors (Decoder). */
  disposeCache(cache: KVCache): void {
    disposeCache(cache);
  }

  /** The variable of one key; throws ShapeError for an unknown key. */
  param(key: string): tf.Variable {
    const v = this.params.get(key);
    if (!v) throw new ShapeError(`no parameter "${key}"; keys are ${[...this.params.keys()].join(', ')}`);
    return v;
  }

  /** Number of scalar weights. */
  get numParams(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Disposes every variable; the tower is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.params.values()) v.dispose();
  }

  private checkAlive(): void {
    if (this.disposed) throw new ShapeError('this tower was disposed; create or load a new one');
  }

  private checkIds(ids: tf.Tensor2D): void {
    this.checkAlive();
    if (!(ids instanceof tf.Tensor))
      throw new ShapeError('token ids must be a tf.Tensor2D of int32 [B, T]; use tf.tensor2d(ids, undefined, "int32")');
    if (ids.rank !== 2) throw new ShapeError(`token ids must have rank 2 [B, T], got shape [${ids.shape.join(', ')}]`);
    if (ids.dtype !== 'int32') throw new ShapeError(`token ids must be int32, got ${ids.dtype}; cast with tf.cast(ids, "int32")`);
    if (ids.shape[0] < 1 || ids.shape[1] < 1) throw new ShapeError(`token ids must be non-empty, got shape [${ids.shape.join(', ')}]`);
    const v = this.config.vocabSize;
    const data = ids.dataSync();
    for (let i = 0; i < data.length; i++) {
      const id = data[i] as number;
      if (id < 0 || id >= v) {
        const t = ids.shape[1];
        throw new TokenRangeError(
          `token id ${id} at [${Math.floor(i / t)}, ${i % t}] is outside [0, ${v}); the tokenizer and the tower's vocabSize disagree`,
        );
      }
    }
  }

  private checkHidden(x: tf.Tensor3D, what: string): void {
    if (!(x instanceof tf.Tensor) || x.rank !== 3)
      throw new ShapeError(`${what} must be [B, T, D], got shape [${x instanceof tf.Tensor ? x.shape.join(', ') : typeof x}]`);
    if (x.shape[2] !== this.config.dModel)
      throw new ShapeError(`${what} must have last axis dModel = ${this.config.dModel}, got shape [${x.shape.join(', ')}]`);
    if (x.dtype !== 'float32') throw new ShapeError(`${what} must be float32, got ${x.dtype}`);
  }

  private checkState(x: tf.Tensor3D, state: BlockState): void {
    const { start, cache } = state;
    if (!Number.isInteger(start) || start < 0) throw new ShapeError(`block state start must be a non-negative integer, got ${start}`);
    const end = start + x.shape[1];
    if (end > this.config.maxSeqLen)
      throw new ShapeError(`positions up to ${end} exceed maxSeqLen ${this.config.maxSeqLen}; shorten the input or raise maxSeqLen`);
    if (!cache) {
      if (start !== 0 && state.useCache)
        throw new ShapeError(`start ${start} with useCache but no cache: the cache would miss positions 0..${start - 1}`);
      return;
    }
    const [b, h, s, k] = cache.k.shape;
    const want = [x.shape[0], this.config.nHeads, start, headDim(this.config)];
    if (
      cache.k.rank !== 4 ||
      b !== want[0] ||
      h !== want[1] ||
      s !== want[2] ||
      k !== want[3] ||
      cache.v.shape.join() !== cache.k.shape.join()
    ) {
      throw new ShapeError(
        `layer cache must be k, v [B, H, S=start, K] = [${want.join(', ')}], got k [${cache.k.shape.join(', ')}], v [${cache.v.shape.join(', ')}]`,
      );
    }
  }

  private checkCache(cache: KVCache, batch: number): void {
    if (cache.layers.length !== 0 && cache.layers.length !== this.config.nLayers) {
      throw new ShapeError(
        `cache has ${cache.layers.length} layers, the tower ${this.config.nLayers}; use emptyCache() or a cache this tower returned`,
      );
    }
    if (cache.layers.length === 0 && cache.length !== 0) throw new ShapeError(`an empty cache must have length 0, got ${cache.length}`);
    const first = cache.layers[0];
    if (first && first.k.shape[0] !== batch) throw new ShapeError(`cache batch ${first.k.shape[0]} differs from ids batch ${batch}`);
  }
}
