/**
 * The browser entry of @zipper/fuse (package.json "exports" condition `browser`): index.ts
 * without the data-parallel replica (replica.ts: worker threads, Node only).
 */
export * from './errors.js';
export * from './schedule.js';
export * from './config.js';
export * from './segments.js';
export * from './masks.js';
export * from './cross-window.js';
export * from './cross-positions.js';
export * from './params.js';
export * from './projection.js';
export * from './input-projection.js';
export * from './cross-attention.js';
export * from './state.js';
export * from './zipper.js';
export * from './input-noise.js';
export * from './self-feed.js';
export * from './tasks.js';
export * from './training.js';
export * from './reopen-gates.js';
export * from './ctc-encoder.js';
export * from './ctc-decode.js';
export * from './ctc-joint.js';
export * from './ctc-lexicon.js';
export * from './ctc-transcribe.js';
export * from './asr-decoders.js';
export * from './target-log-probs.js';
export * from './generate.js';
export * from './checkpoint.js';
export * from './baseline.js';
