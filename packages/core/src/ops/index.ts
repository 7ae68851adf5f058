/**
 * `@zipper/core/ops`: the differentiable building blocks the tower is made of, for models built
 * on top of it (`@zipper/fuse`). Each is one op with a hand-written gradient on the fast paths of
 * the wasm backend (see each file's header and the package README, "Ops"); each also runs on
 * cpu and tfjs-node. Frozen weights: `withWatchedVariables` / `isFrozen` (ops/tape.ts).
 */
export { linear } from './linear.js';
export { headsFirst, headsLast, mergeHeads, splitHeads } from './heads.js';
export { embedding, tiedLogits } from './embedding.js';
export { attention, causalAttention, type AttentionOptions, type CausalAttentionOptions } from './attention.js';
export { prepareAttentionMask, type AttentionMaskOptions, type PreparedAttentionMask } from './attention-mask.js';
export { ctcLoss, ctcMinFrames, logAdd, type CtcOptions } from './ctc.js';
export { isFrozen, recordingGradients, withWatchedVariables } from './tape.js';
export { rmsNorm } from '../model/norm.js';
export { geluTanh, mlp } from '../model/mlp.js';
export { applyRope, applyRopeAt, ropeTables, ropeTablesAt } from '../model/rope.js';
