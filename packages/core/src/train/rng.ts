/**
 * The data order's generator is the project's one seeded PRNG, `Mulberry32` of @zipper/common:
 * its whole state is one uint32 (`state`), so a checkpoint saves it and `new ShuffleRng(state)`
 * continues the same sequence; `permutation(n)` is Fisher-Yates over rejection-sampled integers.
 * `mix32` (murmur3's finalizer) derives each epoch's seed.
 */
export { Mulberry32 as ShuffleRng, mix32 } from '@zipper/common';
