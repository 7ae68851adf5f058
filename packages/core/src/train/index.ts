/**
 * Training for @zipper/core.
 *
 * ```ts
 * const tower = Tower.create({ vocabSize: 512, dModel: 128, nLayers: 4, nHeads: 4 }, { seed: 1 });
 * const data = new BatchIterator(sequences, { batchSize: 8, seqLen: 128, seed: 7 });   // data.ts
 * const trainer = new Trainer(tower, data, {                                          // trainer.ts
 *   schedule: { peakLr: 3e-4, minLr: 3e-5, warmupSteps: 100, totalSteps: 5000 },     // schedule.ts
 *   optimizer: { beta1: 0.9, beta2: 0.95, weightDecay: 0.1 },                          // adamw.ts
 *   maxGradNorm: 1.0, accumulationSteps: 4,                                            // clip.ts, gradients.ts
 *   freezePrefixes: ['emb.'], trainable: (key) => true,                                // model.ts
 *   checkpoint: { dir: 'runs/a', every: 500, keep: 2 },                                // checkpoint.ts
 *   onStep: ({ step, loss, lr, gradNorm, tokensPerSecond }) => console.log(step, loss),
 * });
 * const last = await latestCheckpoint('runs/a');
 * if (last) await trainer.resume(last);          // same loss curve as an uninterrupted run
 * await trainer.train(5000 - trainer.step);
 * ```
 *
 * - The Trainer needs only a weight map (`TrainableParams`) and a `GradientStrategy`. For a
 *   `Tower` (anything with `forward(ids) -> { logits }`) the default `InProcessGradients` trains
 *   `Batch`es (inputs, targets, mask [B, T]) on the masked next-token cross-entropy averaged over
 *   the mask-1 targets of the whole step. Any other model (e.g. a zipped multi-tower model)
 *   trains through `LossGradients({ params, loss, countTargets, countTokens, weights })`
 *   (loss-gradients.ts): a loss function over its own batch type returning one or more output
 *   streams, each with its own weight and its own whole-step denominator (streams.ts);
 *   `freezePrefixes: ['towers.text.']` freezes a tower. Progress and `evaluateStreams` report
 *   every stream's loss and target count.
 * - `GradientStrategy.computeGradients(batch, { trainable, denominator, denominators })
 *   -> { loss, grads, streams }` is also the seam for data-parallel workers
 *   (`DataParallelGradients`). The strategy may be async; the update itself (finite checks,
 *   clipping, AdamW) runs synchronously in one tidy after every micro-batch's gradients exist,
 *   so a failure changes nothing.
 * - Errors: `TrainingError` (NaN/Inf loss or gradient norm, failing strategy; has `.step`),
 *   `ConfigError` for bad options, `CheckpointError` for unusable checkpoints.
 */
export * from './errors.js';
export * from './schedule.js';
export * from './adamw.js';
export * from './clip.js';
export * from './loss.js';
export * from './streams.js';
export * from './rng.js';
export * from './data.js';
export * from './model.js';
export * from './gradients.js';
export * from './loss-gradients.js';
export * from './evaluate.js';
export * from './trainer.js';
export * from './checkpoint.js';
