import { Xoshiro128 } from '@zipper/common';
import { sha256 } from '@zipper/common/node';

/**
 * The builder's random streams: `Xoshiro128` (xoshiro128**, @zipper/common) seeded from SHA-256 of
 * a label. Every random choice of the builder derives its own stream from `(seed, label)`, so an
 * item's audio depends only on its own label, never on the order in which workers finish; and
 * the streams are those the committed manifest hashes were built with (docs/data.md).
 */
export type Prng = Xoshiro128;

/** The stream of a label: xoshiro128** seeded with the first 16 bytes of SHA-256(label). */
export function prngOf(label: string): Prng {
  return Xoshiro128.fromBytes(sha256(label));
}

/** The PRNG stream of one labelled decision under a build seed. */
export function prngFor(seed: number, label: string): Prng {
  return prngOf(`zipper-data/${seed}/${label}`);
}
