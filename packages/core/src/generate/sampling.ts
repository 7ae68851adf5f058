/**
 * Choosing the next token from one row of logits: greedy (temperature 0), or sampling with
 * temperature, top-k and top-p (nucleus) from a seeded PRNG. Pure JS on host values.
 */
import { ConfigError } from '../errors.js';
import type { Mulberry32 } from '@zipper/common';

export interface SamplingConfig {
  /** 0 = greedy (argmax). Default 0. */
  readonly temperature: number;
  /** Keep the k most likely tokens (0 = all). Default 0. */
  readonly topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = all). Default 1. */
  readonly topP: number;
}

export function resolveSamplingConfig(p: Partial<SamplingConfig>): SamplingConfig {
  const temperature = p.temperature ?? 0;
  const topK = p.topK ?? 0;
  const topP = p.topP ?? 1;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0)
    throw new ConfigError(`temperature must be a finite number >= 0 (0 = greedy), got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new ConfigError(`topK must be an integer >= 0 (0 = no limit), got ${topK}`);
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw new ConfigError(`topP must be in (0, 1], got ${topP}`);
  return { temperature, topK, topP };
}

/** Index of the largest value (the lowest index among ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

export function sampleToken(row: ArrayLike<number>, c: SamplingConfig, rng: Mulberry32): number {
  if (c.temperature === 0 || c.topK === 1) return argmax(row);
  // candidates sorted by logit, descending (ties: lower index first)
  const order = Array.from({ length: row.length }, (_, i) => i).sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
  const kept = c.topK > 0 ? order.slice(0, c.topK) : order;
  const top = (row[kept[0] as number] as number) / c.temperature;
  const probs = kept.map((i) => Math.exp((row[i] as number) / c.temperature - top));
  let total = probs.reduce((a, b) => a + b, 0);
  let n = probs.length;
  if (c.topP < 1) {
    let cum = 0;
    for (let j = 0; j < probs.length; j++) {
      cum += (probs[j] as number) / total;
      if (cum >= c.topP) {
        n = j + 1;
        break;
      }
    }
    total = probs.slice(0, n).reduce((a, b) => a + b, 0);
  }
  let u = rng.next() * total;
  for (let j = 0; j < n; j++) {
    u -= probs[j] as number;
    if (u < 0) return kept[j] as number;
  }
  return kept[n - 1] as number;
}
