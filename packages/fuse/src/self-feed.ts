/**
 * Self-feeding (docs/zipper.md, "Self-feeding"; not in the paper): scheduled sampling for teacher
 * forcing. A training step first runs the batch as it is, without gradients, and takes each
 * position's most likely next token; then, in the target segments of the chosen towers, each fed
 * token after the bos is replaced, with probability `rate`, by the model's own prediction of it
 * (the greedy token at the position before). The targets stay the true next tokens, so the model
 * learns to continue from pasts like those it will generate, not only from gold ones: free-running
 * synthesis is fed its own units from the first sampled one on (exposure bias; arXiv 2509.17021
 * mixes teacher forcing with free running for the same reason). A position whose fed token is
 * already not the true one (input noise) is left as it is, and so are predicted bos and eos.
 *
 * The draws are a function of each row: a PRNG per row seeded by `seed` and a hash of the row's fed
 * ids, so a resumed run draws what an uninterrupted one draws, and a row draws the same whichever
 * batch (or data-parallel worker's share of one) holds it.
 */
import { ConfigError, hashSeed, Rng } from '@zipper/core';
import * as tf from '@tensorflow/tfjs-core';
import { towerSpec, type ZipperConfig } from './config.js';
import { UnknownTowerError } from './errors.js';
import type { FusedBatch, TowerStream } from './segments.js';
import type { Zipper } from './zipper.js';

export interface SelfFeed {
  /** Probability of feeding the model's prediction in place of each true token after the bos, in [0, 1]. */
  readonly rate: number;
  /** The towers whose target segments are fed their predictions (e.g. ['speech']: TTS's units). */
  readonly towers: readonly string[];
  /** Seeds the draws (with each row's hash; default 0). */
  readonly seed?: number;
}

/** Checks `feed` against `config`; returns it frozen. */
export function resolveSelfFeed(config: ZipperConfig, feed: SelfFeed): Required<SelfFeed> {
  if (feed === null || typeof feed !== 'object') throw new ConfigError('selfFeed must be { rate, towers, seed? }');
  const { rate, towers, seed = 0 } = feed;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))
    throw new ConfigError(`selfFeed rate must be a number in [0, 1], got ${String(rate)}`);
  if (!Array.isArray(towers) || towers.length === 0) throw new ConfigError('selfFeed needs at least one tower');
  for (const t of towers)
    if (!config.towers.some((x) => x.name === t))
      throw new UnknownTowerError(
        `selfFeed names tower "${String(t)}"; this model's towers are ${config.towers.map((x) => x.name).join(', ')}`,
      );
  if (!Number.isSafeInteger(seed)) throw new ConfigError(`selfFeed seed must be an integer, got ${String(seed)}`);
  return Object.freeze({ rate, towers: Object.freeze([...towers]), seed });
}

/** A 32-bit FNV-1a hash of row b's fed ids in every stream (the batch's tower order), padding left out. */
function rowHash(batch: FusedBatch, b: number): string {
  let h = 0x811c9dc5;
  for (const s of Object.values(batch.streams))
    for (let t = 0; t < s.length; t++) {
      if ((s.global[b * s.length + t] as number) < 0) continue;
      h ^= s.ids[b * s.length + t] as number;
      h = Math.imul(h, 0x01000193);
    }
  return String(h >>> 0);
}

/**
 * `batch` with the fed ids of `feed.towers`' target segments partly replaced by `zipper`'s greedy
 * predictions (see the file header); the other streams, the targets and the masks unchanged.
 * Runs the model once without gradients (its ops stay out of any gradient: the predictions reach
 * the second run as host ids).
 */
export function selfFedBatch(zipper: Zipper, batch: FusedBatch, feed: Required<SelfFeed>): FusedBatch {
  const names = feed.towers.filter((n) => batch.streams[n]?.mask.some((m) => m !== 0));
  if (names.length === 0 || feed.rate === 0) return batch;
  const preds = tf.tidy(() => {
    const logits = zipper.run(batch.streams, batch.batchSize, { logits: names }).logits;
    return names.map((n) => tf.argMax(logits[n] as tf.Tensor3D, -1) as tf.Tensor2D);
  });
  const host = preds.map((p) => p.dataSync() as Int32Array);
  tf.dispose(preds);
  const fed = names.map((n) => Int32Array.from(batch.streams[n]!.ids));
  for (let b = 0; b < batch.batchSize; b++) {
    const rng = new Rng(hashSeed(feed.seed, rowHash(batch, b))); // drawn before any id of the row changes
    names.forEach((n, k) => {
      const s = batch.streams[n]!;
      const { bos, eos } = towerSpec(zipper.config, n);
      const ids = fed[k]!;
      const pred = host[k]!;
      for (let t = 0; t + 1 < s.length; t++) {
        const j = b * s.length + t;
        const truth = s.targets[j] as number;
        // position t + 1 is fed the true token at t's target, in the same segment
        if (s.mask[j] === 0 || truth === eos || truth === bos || ids[j + 1] !== truth) continue;
        if (rng.next() >= feed.rate) continue;
        const p = pred[j] as number;
        if (p !== bos && p !== eos) ids[j + 1] = p;
      }
    });
  }
  const streams: Record<string, TowerStream> = { ...batch.streams };
  names.forEach((n, k) => (streams[n] = { ...batch.streams[n]!, ids: fed[k]! }));
  return { batchSize: batch.batchSize, streams };
}
