/**
 * Autoregressive generation over any `Decoder` (model/decoder.ts: a Tower, a zipped model, ...)
 * with its cache: the prompt is prefilled in one forward, then one token per step. Prompts of
 * equal length run as one batch; ragged prompts are split into one batch per distinct length,
 * run one after the other (no padding or masks), and the results come back in the caller's row
 * order. The decoder's caches are disposed as soon as the next one exists; no tensors outlive
 * the call.
 *
 * Legend: B batch, T prompt length, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, TokenRangeError } from '../errors.js';
import { Mulberry32 } from '@zipper/common';
import type { Decoder } from '../model/decoder.js';
import { resolveSamplingConfig, sampleToken, type SamplingConfig } from './sampling.js';

export type FinishReason = 'stop' | 'length';

export interface TokenEvent {
  readonly row: number;
  readonly token: number;
  /** 0 for the first generated token. */
  readonly step: number;
}

export interface GenerateOptions extends Partial<SamplingConfig> {
  /** Upper bound on generated tokens per row (also capped by the decoder's maxSeqLen). */
  readonly maxNewTokens: number;
  /** Seed of the sampling PRNG (same seed => same tokens). Default 0. */
  readonly seed?: number;
  /** Generating one of these ends its row (the stop token is not included in `tokens`). */
  readonly stopTokens?: readonly number[];
  /**
   * A row cannot stop before it has this many tokens: until then its stop tokens' logits are
   * -Infinity before sampling (Hugging Face's `min_new_tokens`). Default 0; at most maxNewTokens.
   */
  readonly minNewTokens?: number;
  /** Streaming: called for every generated token (not for stop tokens), in row order per step (ragged prompts: one length group after the other). */
  readonly onToken?: (e: TokenEvent) => void;
}

export interface GenerateResult {
  /** Generated ids per row (prompt excluded, stop token excluded). */
  readonly tokens: number[][];
  /** 'stop': a stop token was produced; 'length': maxNewTokens or maxSeqLen was reached. */
  readonly finishReasons: FinishReason[];
}

function toRows(prompt: readonly number[] | readonly (readonly number[])[], vocab: number): number[][] {
  if (!Array.isArray(prompt) || prompt.length === 0)
    throw new ShapeError('prompt must be a non-empty array of token ids (or of equal-length rows)');
  const rows = (typeof prompt[0] === 'number' ? [prompt] : prompt) as readonly (readonly number[])[];
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length === 0) throw new ShapeError(`prompt row ${i} must be a non-empty array of token ids`);
    r.forEach((id, j) => {
      if (!Number.isInteger(id)) throw new ShapeError(`prompt[${i}][${j}] = ${id} is not an integer token id`);
      // checked here, before an Int32Array would wrap 2^32 + 5 to 5 (and show 2^31 as -2^31)
      if (id < 0 || id >= vocab)
        throw new TokenRangeError(
          `prompt[${i}][${j}] = ${id} is outside the vocabulary [0, ${vocab}); pass ids the tower's tokenizer produced`,
        );
    });
  });
  return rows.map((r) => [...r]);
}

/** Logits of the last position, [B, V], read to the host; disposes `logits`. */
async function lastLogits(logits: tf.Tensor3D): Promise<Float32Array> {
  const [b, t, v] = logits.shape;
  const last = tf.tidy(() => tf.reshape(tf.slice(logits, [0, t - 1, 0], [b, 1, v]), [b, v]));
  logits.dispose();
  try {
    return (await last.data()) as Float32Array;
  } finally {
    last.dispose();
  }
}

export async function generate<C>(
  decoder: Decoder<C>,
  prompt: readonly number[] | readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<GenerateResult> {
  const sampling = resolveSamplingConfig(options);
  const maxNew = options.maxNewTokens;
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new ConfigError(`maxNewTokens must be a positive integer, got ${maxNew}`);
  const minNew = options.minNewTokens ?? 0;
  if (!Number.isInteger(minNew) || minNew < 0 || minNew > maxNew)
    throw new ConfigError(`minNewTokens must be an integer in [0, maxNewTokens = ${maxNew}], got ${minNew}`);
  const rows = toRows(prompt, decoder.vocabSize);
  const rng = new Mulberry32(options.seed ?? 0);
  const groups = new Map<number, number[]>(); // prompt length -> row indices, in order of appearance
  rows.forEach((r, i) => groups.set(r.length, [...(groups.get(r.length) ?? []), i]));
  const tokens: number[][] = rows.map(() => []);
  const finishReasons: FinishReason[] = rows.map(() => 'length');
  for (const index of groups.values()) {
    const onToken = options.onToken;
    const res = await generateBatch(
      decoder,
      index.map((i) => rows[i] as number[]),
      sampling,
      options,
      rng,
      onToken && ((e) => onToken({ ...e, row: index[e.row] as number })),
    );
    index.forEach((i, j) => {
      tokens[i] = res.tokens[j] as number[];
      finishReasons[i] = res.finishReasons[j] as FinishReason;
    });
  }
  return { tokens, finishReasons };
}

/** One batch of equal-length prompts. */
async function generateBatch<C>(
  decoder: Decoder<C>,
  rows: number[][],
  sampling: SamplingConfig,
  options: GenerateOptions,
  rng: Mulberry32,
  onToken: ((e: TokenEvent) => void) | undefined,
): Promise<GenerateResult> {
  const maxNew = options.maxNewTokens;
  const minNew = options.minNewTokens ?? 0;
  const stops = new Set(options.stopTokens ?? []);
  const b = rows.length;
  const t = (rows[0] as number[]).length;
  const v = decoder.vocabSize;
  // token j (0-based) needs a forward over positions < t + j, all below maxSeqLen
  const limit = Math.min(maxNew, decoder.maxSeqLen - t + 1);
  const tokens: number[][] = rows.map(() => []);
  const reasons: (FinishReason | undefined)[] = rows.map(() => undefined);

  let cache: C = decoder.emptyCache();
  /** One forward with the cache; the old cache is disposed once the new one exists. */
  const advance = (ids: tf.Tensor2D, lastOnly: boolean): tf.Tensor3D => {
    let out;
    try {
      out = decoder.forward(ids, { cache, lastOnly });
    } finally {
      ids.dispose();
    }
    if (out.cache === undefined) {
      out.logits.dispose();
      throw new ShapeError(
        'the decoder returned no cache from forward(ids, { cache }); a Decoder must return the new cache when given one',
      );
    }
    decoder.disposeCache(cache);
    cache = out.cache;
    return out.logits;
  };
  try {
    let host = await lastLogits(advance(tf.tensor2d(rows.flat(), [b, t], 'int32'), true));
    for (let step = 0; step < limit; step++) {
      const next = new Array<number>(b).fill(0);
      for (let r = 0; r < b; r++) {
        if (reasons[r]) continue;
        const row = host.subarray(r * v, (r + 1) * v);
        if (step < minNew) for (const s of stops) if (s >= 0 && s < v) row[s] = -Infinity;
        const tok = sampleToken(row, sampling, rng);
        next[r] = tok;
        if (stops.has(tok)) {
          reasons[r] = 'stop';
          continue;
        }
        (tokens[r] as number[]).push(tok);
        onToken?.({ row: r, token: tok, step });
      }
      if (reasons.every((x) => x) || step === limit - 1) break;
      // finished rows feed a dummy id; their outputs are ignored
      host = await lastLogits(advance(tf.tensor2d(next, [b, 1], 'int32'), false));
    }
  } finally {
    decoder.disposeCache(cache);
  }
  return { tokens, finishReasons: reasons.map((r) => r ?? 'length') };
}
