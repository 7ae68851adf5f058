/**
 * Fine-tuning a zipped model through core's Trainer (docs/zipper.md, "Training loss"): one loss
 * stream per tower, named after it (`text`, `speech`, ...), each with its own weight and its
 * own denominator (its targets in the whole step), via core's `LossGradients`.
 *
 *   const trainer = new Trainer(zipper, new TaskMixture(zipper.config, items, { batchSize: 8, tasks }), {
 *     strategy: fusedGradients(zipper), freezePrefixes: freezePrefixes(zipper), schedule: { ... },
 *   });
 *
 * Frozen towers (`config.freeze`) are left out of the trained keys, so their weights stay
 * bit-identical and, inside core's watched-variable scope, cost no weight-gradient work.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LossGradients, type LossSpec, type StreamCounts } from '@zipper/core';
import { countStreamTargets, type FusedBatch } from './segments.js';
import type { Zipper } from './zipper.js';

/** The per-tower next-token loss of a zipped model on `FusedBatch`es. */
export function fusedLoss(zipper: Zipper, weights?: StreamCounts): LossSpec<FusedBatch> {
  return {
    loss: (batch) => {
      const counts = countStreamTargets(batch);
      const names = Object.keys(counts).filter((n) => (counts[n] as number) > 0);
      const logits = zipper.forward(batch, { logits: names });
      const streams = Object.fromEntries(
        names.map((n) => {
          const s = batch.streams[n]!;
          const shape: [number, number] = [batch.batchSize, s.length];
          return [
            n,
            {
              logits: logits[n] as tf.Tensor3D,
              targets: tf.tensor2d(s.targets, shape, 'int32'),
              mask: tf.tensor2d(s.mask, shape, 'float32'),
            },
          ];
        }),
      );
      return { streams };
    },
    countTargets: (batch) => {
      const counts = countStreamTargets(batch);
      return Object.fromEntries(zipper.config.towers.map((t) => [t.name, counts[t.name] ?? 0]));
    },
    countTokens: (batch) => Object.values(batch.streams).reduce((n, s) => n + s.lengths.reduce((a, b) => a + b, 0), 0),
    ...(weights ? { weights } : {}),
  };
}

/** A core gradient strategy for the zipped model (loss streams = tower names). */
export function fusedGradients(zipper: Zipper, weights?: StreamCounts): LossGradients<FusedBatch> {
  return new LossGradients<FusedBatch>({ params: zipper.params, ...fusedLoss(zipper, weights) });
}

/** Trainer `freezePrefixes` for the towers the config freezes (`towers.<X>.`). */
export function freezePrefixes(zipper: Zipper): string[] {
  return zipper.config.freeze.map((n) => `towers.${n}.`);
}
