/**
 * What both entries of @zipper/core export (index.ts for Node, browser.ts for browsers): the
 * modules that run without Node built-ins. One list, so the two entries cannot drift apart.
 */
export * from './backend-browser.js';
export * from './model/config.js';
export * from './model/cache.js';
export * from './model/decoder.js';
export { Mulberry32, Mulberry32 as Rng, hashSeed } from '@zipper/common';
export * from './model/keys.js';
export { averageWeights, interpolateWeights } from './model/interpolate.js';
export * from './model/params.js';
export * from './model/tower.js';
export { decoderBlock, type BlockState, type BlockResult, type BlockWeights } from './model/block.js';
export { rmsNorm } from './model/norm.js';
export { applyRope, applyRopeAt, ropeTables, ropeTablesAt } from './model/rope.js';
export { geluTanh } from './model/mlp.js';
export { isFrozen, withWatchedVariables } from './ops/tape.js';
export * from './generate/sampling.js';
export * from './generate/generate.js';
export {
  bfloat16ArrayToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16Bits,
} from '@zipper/common';
export {
  decodeSafetensors,
  encodeSafetensors,
  type DecodedTensor,
  type EncodeOptions,
  type HostTensor,
  type StoredDtype,
} from '@zipper/common';
export * from './checkpoint/model-files.js';
export { checkpointCreatedAt } from './checkpoint/created-at.js';
