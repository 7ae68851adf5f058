/**
 * Held-out loss: the masked next-token cross-entropy of a model over batches, averaged over all
 * their mask-1 targets (the same quantity a training step reports), without gradients.
 *
 * Legend: B batch, T time, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import type { Batch } from './data.js';
import { batchTensors, countTargets } from './gradients.js';
import { maskedCrossEntropy } from './loss.js';
import type { TrainableModel } from './model.js';

export interface Evaluation {
  /** Mean NLL per counted target (nats). */
  readonly loss: number;
  /** exp(loss). */
  readonly perplexity: number;
  /** Counted targets. */
  readonly targets: number;
}

export function evaluateLoss(model: TrainableModel, batches: readonly Batch[]): Evaluation {
  const targets = countTargets(batches);
  if (targets === 0) throw new ShapeError('evaluateLoss: the batches hold no target with mask 1');
  let total = 0;
  for (const batch of batches) {
    total += tf.tidy(() => {
      const { inputs, targets: t, mask } = batchTensors(batch);
      // denominator 1: the summed NLL of this batch, so batches of any size combine exactly
      return maskedCrossEntropy(model.forward(inputs).logits, t, mask, 1).dataSync()[0]!;
    });
  }
  const loss = total / targets;
  return { loss, perplexity: Math.exp(loss), targets };
}
