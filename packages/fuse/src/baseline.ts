/**
 * The paper's "Single Decoder" baseline (docs/zipper.md): the text tower with its vocabulary
 * extended by the other towers' tokens (units + their bos/eos) as new embedding rows, every
 * weight fine-tuned on the same tasks and data by the same training loop. A sequence is the same
 * segments concatenated into one stream; a token of tower X is stored as `offset_X + id`
 * (offset of the base tower 0, of the next V_base, and so on).
 *
 * Creation copies the base tower's weights (rows 0..V_base-1 of the embedding unchanged) and
 * initializes the new rows from core's seeded initializer (normal(0, 0.02), as a tower's
 * embedding), so a text-only sequence's logits over the text vocabulary equal the text tower's.
 * Loss streams are named after the tower of the predicted token, as in the zipped model.
 * Decoding samples only among the open segment's tower's tokens (its slice of the logits), the
 * same choice a zipped model's per-tower head makes.
 *
 * Legend: B batch, T positions of the one stream, V the extended vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  disposeCache,
  emptyCache,
  hashSeed,
  initParam,
  LossGradients,
  Rng,
  resolveSamplingConfig,
  sampleToken,
  Tower,
  type KVCache,
  type LossSpec,
  type StreamCounts,
  type TowerConfig,
} from '@zipper/core';
import { resolveZipperConfig, towerSpec, type ZipperConfig, type ZipperTowerInput } from './config.js';
import { UnknownTowerError } from './errors.js';
import { noisyToken, resolveInputNoise } from './input-noise.js';
import {
  resolveGuidance,
  resolveStopTokens,
  type GeneratedSegment,
  type ZippedGenerateOptions,
  type ZippedGenerateResult,
} from './generate.js';
import type { CrossWindow } from './cross-window.js';
import { checkExample, type Example } from './segments.js';
import type { TowerEntry } from './zipper.js';

/** One batch of the single stream, row-major [B, T]. */
export interface BaselineBatch {
  readonly batchSize: number;
  readonly length: number;
  readonly ids: Int32Array;
  readonly lengths: Int32Array;
  readonly targets: Int32Array;
  /** Per tower name: 1 where the target is a token of that tower's target segment. */
  readonly masks: Readonly<Record<string, Float32Array>>;
}

/**
 * A single decoder has no cross-attention links, so a cross window (`ZippedGenerateOptions`
 * `crossWindow`) given to it is a ConfigError; none or an empty list passes. `generate` checks it;
 * a caller can check it before any other work, as `resolveCrossWindows` does for a zipped model.
 */
export function refuseCrossWindows(windows: readonly CrossWindow[] | undefined): void {
  if (windows && windows.length > 0) throw new ConfigError('crossWindow: a single decoder has no cross-attention links to window');
}

export class SingleDecoder {
  /** The modalities (the base tower first), for segments and tasks; its schedule is empty. */
  readonly config: ZipperConfig;
  readonly tower: Tower;
  /** Per tower name: where its ids start in the extended vocabulary. */
  readonly offsets: Readonly<Record<string, number>>;

  private constructor(config: ZipperConfig, tower: Tower, offsets: Record<string, number>) {
    this.config = config;
    this.tower = tower;
    this.offsets = offsets;
  }

  /**
   * The base tower (copied, not taken) with its vocabulary extended by the `others`' tokens;
   * new embedding rows from core's initializer with `seed`.
   */
  static create(base: TowerEntry, others: readonly ZipperTowerInput[], init: { seed?: number } = {}): SingleDecoder {
    const config = resolveZipperConfig({
      towers: [{ name: base.name, config: base.tower.config, bos: base.bos, eos: base.eos }, ...others],
      schedule: [],
    });
    const { extended, offsets } = extendedVocabulary(config);
    const b = base.tower.config;
    const rows = extended.vocabSize - b.vocabSize;
    const fresh = tf.tensor2d(
      initParam({ key: 'emb.weight', shape: [rows, b.dModel], init: { kind: 'normal', std: 0.02 } }, init.seed ?? 0),
      [rows, b.dModel],
    );
    const emb = tf.concat([base.tower.param('emb.weight'), fresh], 0);
    let tower: Tower;
    try {
      tower = Tower.fromTensors(extended, new Map<string, tf.Tensor>([...base.tower.params, ['emb.weight', emb]]));
    } finally {
      tf.dispose([fresh, emb]);
    }
    return new SingleDecoder(config, tower, offsets);
  }

  /**
   * A single decoder of `config` (a `SingleDecoder`'s `config`) with every weight fresh from
   * core's initializer: the data-parallel worker replica (replica.ts), whose weights are then
   * overwritten from the main thread's every step.
   */
  static fromConfig(config: ZipperConfig, init: { seed?: number } = {}): SingleDecoder {
    const c = resolveZipperConfig(config);
    if (c.schedule.links.length > 0) throw new ConfigError('a single-decoder config has no fusion links (its schedule is empty)');
    const { extended, offsets } = extendedVocabulary(c);
    return new SingleDecoder(c, Tower.create(extended, init), offsets);
  }

  get params(): ReadonlyMap<string, tf.Variable> {
    return this.tower.params;
  }

  /** Examples -> one right-padded stream per row (pad id: the base tower's eos). */
  layout(examples: readonly Example[]): BaselineBatch {
    if (!Array.isArray(examples) || examples.length === 0) throw new ConfigError('a batch needs at least one example');
    examples.forEach((ex, i) => checkExample(this.config, ex, i));
    const B = examples.length;
    const lengths = Int32Array.from(examples.map((ex: Example) => ex.reduce((n: number, s) => n + s.ids.length, 0)));
    const T = Math.max(...lengths);
    const ids = new Int32Array(B * T).fill(this.config.towers[0]!.eos);
    const targets = new Int32Array(B * T);
    const masks: Record<string, Float32Array> = Object.fromEntries(this.config.towers.map((t) => [t.name, new Float32Array(B * T)]));
    examples.forEach((ex: Example, b: number) => {
      let i = 0;
      for (const seg of ex) {
        const off = this.offsets[seg.tower] as number;
        const fed = seg.fed ?? seg.ids;
        seg.ids.forEach((_: number, k: number) => {
          ids[b * T + i] = off + (fed[k] as number);
          if (seg.target && k + 1 < seg.ids.length) {
            targets[b * T + i] = off + (seg.ids[k + 1] as number);
            (masks[seg.tower] as Float32Array)[b * T + i] = 1;
          }
          i++;
        });
      }
    });
    return { batchSize: B, length: T, ids, lengths, targets, masks };
  }

  /** The per-tower next-token loss on `BaselineBatch`es (for core's LossGradients / evaluateStreams); `weights` per stream (default 1). */
  loss(weights?: StreamCounts): LossSpec<BaselineBatch> {
    const count = (m: Float32Array) => m.reduce((n, x) => n + (x !== 0 ? 1 : 0), 0);
    return {
      loss: (batch) => {
        const shape: [number, number] = [batch.batchSize, batch.length];
        const logits = this.tower.forward(tf.tensor2d(batch.ids, shape, 'int32')).logits;
        const targets = tf.tensor2d(batch.targets, shape, 'int32');
        const names = Object.keys(batch.masks).filter((n) => count(batch.masks[n] as Float32Array) > 0);
        return {
          streams: Object.fromEntries(
            names.map((n) => [n, { logits, targets, mask: tf.tensor2d(batch.masks[n] as Float32Array, shape, 'float32') }]),
          ),
        };
      },
      countTargets: (batch) => Object.fromEntries(Object.entries(batch.masks).map(([n, m]) => [n, count(m)])),
      countTokens: (batch) => batch.lengths.reduce((a, b) => a + b, 0),
      ...(weights ? { weights } : {}),
    };
  }

  /** A core gradient strategy for the baseline (loss streams = tower names); on both cores: `singleDecoderDataParallel` (replica.ts). */
  gradients(weights?: StreamCounts): LossGradients<BaselineBatch> {
    return new LossGradients<BaselineBatch>({ params: this.tower.params, ...this.loss(weights) });
  }

  /**
   * Decoding with an output-modality schedule, as `generateZipped` (same options and result,
   * `inputNoise` too);
   * each row runs alone with the KV cache (with `guidance`, its unconditional twin beside it with
   * a cache of its own).
   */
  async generate(inputs: readonly Example[], options: ZippedGenerateOptions): Promise<ZippedGenerateResult> {
    const c = this.config;
    const sampling = resolveSamplingConfig(options);
    const output = options.output;
    if (!Array.isArray(output) || output.length === 0) throw new ConfigError('output must name at least one tower, e.g. ["text"]');
    for (const o of output)
      if (!c.towers.some((t) => t.name === o))
        throw new UnknownTowerError(`output names tower "${String(o)}"; this model's towers are ${c.towers.map((t) => t.name).join(', ')}`);
    const stops = resolveStopTokens(c, output, options.stopTokens);
    inputs.forEach((ex, i) => checkExample(c, ex, i));
    const guidance = resolveGuidance(c, inputs.length, options.guidance);
    refuseCrossWindows(options.crossWindow);
    const rng = new Rng(options.seed ?? 0);
    const noise = options.inputNoise ? resolveInputNoise(c, options.inputNoise) : undefined;
    const noiseRng = new Rng(hashSeed(options.seed ?? 0, 'input-noise')); // as generateZipped: rows in order, tokens in order
    const rows: GeneratedSegment[][] = [];
    /** Feeds `feed` after `cache`: the last position's logits (host) and the new cache (the old one disposed). */
    const step = async (feed: number[], cache: KVCache): Promise<{ logits: Float32Array; cache: KVCache }> => {
      const input = tf.tensor2d(feed, [1, feed.length], 'int32');
      const out = this.tower.forward(input, { cache, lastOnly: true });
      input.dispose();
      disposeCache(cache);
      try {
        return { logits: (await out.logits.data()) as Float32Array, cache: out.cache as KVCache };
      } finally {
        out.logits.dispose();
      }
    };
    for (let r = 0; r < inputs.length; r++) {
      const segments: GeneratedSegment[] = [];
      let feed = [...this.layout([inputs[r]!]).ids];
      let cache: KVCache = emptyCache();
      // the unconditional twin: the same tokens fed after its own input
      const twin = guidance.scale > 0 ? { feed: [...this.layout([guidance.inputs[r]!]).ids], cache: emptyCache() } : undefined;
      try {
        for (let k = 0; k < output.length; k++) {
          const spec = towerSpec(c, output[k]!);
          const off = this.offsets[spec.name] as number;
          const limit = typeof options.maxNewTokens === 'number' ? options.maxNewTokens : (options.maxNewTokens[spec.name] as number);
          if (!Number.isInteger(limit) || limit < 1)
            throw new ConfigError(`maxNewTokens for tower "${spec.name}" must be a positive integer, got ${String(limit)}`);
          feed.push(off + spec.bos);
          twin?.feed.push(off + spec.bos);
          const ids: number[] = [];
          let reason: 'stop' | 'length' = 'length';
          for (;;) {
            const cond = await step(feed, cache);
            cache = cond.cache;
            let logits = cond.logits;
            let room = cache.length + 2 <= this.tower.config.maxSeqLen;
            if (twin) {
              const u = await step(twin.feed, twin.cache);
              twin.cache = u.cache;
              logits = logits.map((x, j) => x + guidance.scale * (x - (u.logits[j] as number)));
              room &&= twin.cache.length + 2 <= this.tower.config.maxSeqLen;
            }
            logits[off + spec.bos] = -Infinity; // a segment holds its bos only at its start (as generateZipped)
            let tok =
              ids.length >= limit || !room ? spec.eos : sampleToken(logits.subarray(off, off + spec.config.vocabSize), sampling, rng);
            if (stops.get(spec.name)!.has(tok)) tok = spec.eos; // ends the segment as eos does
            if (tok === spec.eos) {
              if (ids.length < limit && room) reason = 'stop';
              feed = [off + spec.eos];
              if (twin) twin.feed = [off + spec.eos];
              break;
            }
            ids.push(tok);
            options.onToken?.({ row: r, tower: spec.name, token: tok, segment: k, step: ids.length - 1 });
            // fed back: the token, or with inputNoise its replacement (the result keeps the token)
            const fed = noise?.towers.includes(spec.name) ? noisyToken(c, spec.name, tok, noise.rate, noiseRng) : tok;
            feed = [off + fed];
            if (twin) twin.feed = [off + fed];
          }
          segments.push({ tower: spec.name, ids, finishReason: reason });
        }
      } finally {
        disposeCache(cache);
        if (twin) disposeCache(twin.cache);
      }
      rows.push(segments);
    }
    return { rows };
  }

  dispose(): void {
    this.tower.dispose();
  }
}

/** The base tower's config with every tower's tokens in one vocabulary, and where each tower's ids start. */
function extendedVocabulary(config: ZipperConfig): { extended: TowerConfig; offsets: Record<string, number> } {
  const offsets: Record<string, number> = {};
  let v = 0;
  for (const t of config.towers) {
    offsets[t.name] = v;
    v += t.config.vocabSize;
  }
  const b = config.towers[0]!.config;
  if (!b.tieEmbeddings)
    throw new ConfigError('the single-decoder baseline needs a base tower with tied embeddings (it extends emb.weight)');
  return { extended: { ...b, vocabSize: v }, offsets };
}
