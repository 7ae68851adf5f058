/**
 * The browser entry of @zipper/core (package.json "exports" condition `browser`): everything
 * of index.ts that runs without Node built-ins, i.e. the model, generation, the ops and checkpoint
 * loading through `ModelFiles` (`fetchModelFiles(url)`), losses and gradients, with
 * `initBrowserBackend` in place of `initBackend`. Not here: the Trainer and its checkpoints,
 * data-parallel workers, the native GEMM (Node only). Saving and loading by path need a file
 * system: here they throw a CheckpointError saying to pass `fetchModelFiles(url)`.
 * test/browser-bundle.test.ts bundles this file for the browser and fails on any Node import.
 */
export * from './errors.js';
export * from './common-exports.js';
export * from './checkpoint/host-tensors.js';
export * from './checkpoint/tower-checkpoint.js';
export * from './model/preset.js';
// training's browser-safe parts (the Trainer and its checkpoints need Node's file system)
export * from './train/errors.js';
export * from './train/schedule.js';
export * from './train/adamw.js';
export * from './train/clip.js';
export * from './train/loss.js';
export * from './train/streams.js';
export * from './train/rng.js';
export * from './train/data.js';
export * from './train/model.js';
export * from './train/gradients.js';
export * from './train/loss-gradients.js';
export * from './train/evaluate.js';
