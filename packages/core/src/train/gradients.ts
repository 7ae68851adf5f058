/**
 * Gradient computation, pluggable: the Trainer asks a `GradientStrategy` for the loss and the
 * gradients of one micro-batch. The default, `InProcessGradients`, runs `tf.variableGrads` over
 * the trained parameters in this process; a data-parallel strategy (src/parallel/) can implement
 * the same interface with workers.
 *
 * Ownership: the tensors of a `GradientResult` belong to the caller, who disposes them.
 * Accumulation: every micro-batch of a step divides its summed masked NLL by the same
 * `denominator` (the count of mask-1 targets over the whole step), so the summed losses and
 * gradients of k micro-batches equal those of one batch k times the size.
 *
 * Legend: B batch, T time, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';
import type { Batch } from './data.js';
import { maskedCrossEntropy } from './loss.js';
import type { TrainableModel } from './model.js';

export interface GradientContext {
  /** Keys of the trained parameters, in model order; the result must hold a gradient for each. */
  readonly trainable: readonly string[];
  /** Divide this micro-batch's summed masked NLL by this number (> 0). */
  readonly denominator: number;
}

export interface GradientResult {
  /** This micro-batch's share of the step loss: sum(mask * nll) / denominator. */
  readonly loss: tf.Scalar;
  /** d loss / d parameter for every trained key (zeros for a parameter the loss does not reach). */
  readonly grads: ReadonlyMap<string, tf.Tensor>;
}

/**
 * Computes one micro-batch's loss share and gradients. `B` is the batch type (default: the
 * single-stream `Batch`); strategies for other batch types must also say how many loss targets
 * and input tokens a batch has (for the shared denominator and for progress).
 */
export interface GradientStrategy<B = Batch> {
  computeGradients(batch: B, context: GradientContext): GradientResult | Promise<GradientResult>;
  /** Loss targets in a batch (default for `Batch`: entries with mask 1). */
  countTargets?(batch: B): number;
  /** Input tokens in a batch, for tokens/s (default for `Batch`: B * T). */
  countTokens?(batch: B): number;
  dispose?(): void;
}

/** Whether `b` is a single-stream `Batch` (typed arrays and a batch size). */
export function isBatch(b: unknown): b is Batch {
  const x = b as Batch;
  return typeof x === 'object' && x !== null && x.mask instanceof Float32Array && x.inputs instanceof Int32Array && typeof x.batchSize === 'number';
}

/** Loss targets of `batch` as the strategy counts them. */
export function targetsOf<B>(strategy: GradientStrategy<B>, batch: B): number {
  if (strategy.countTargets) return strategy.countTargets(batch);
  if (isBatch(batch)) return countTargets([batch]);
  throw new ShapeError('this batch is not a single-stream Batch; its GradientStrategy must implement countTargets(batch)');
}

/** Input tokens of `batch` as the strategy counts them. */
export function tokensOf<B>(strategy: GradientStrategy<B>, batch: B): number {
  if (strategy.countTokens) return strategy.countTokens(batch);
  if (isBatch(batch)) return batch.batchSize * batch.seqLen;
  throw new ShapeError('this batch is not a single-stream Batch; its GradientStrategy must implement countTokens(batch)');
}

/** The batch's arrays as tensors: inputs/targets int32 [B, T], mask float32 [B, T]. */
export function batchTensors(batch: Batch): { inputs: tf.Tensor2D; targets: tf.Tensor2D; mask: tf.Tensor2D } {
  const { batchSize: B, seqLen: T } = batch;
  const n = B * T;
  if (batch.inputs.length !== n || batch.targets.length !== n || batch.mask.length !== n) {
    throw new ShapeError(`batch arrays must hold B * T = ${n} entries (inputs ${batch.inputs.length}, targets ${batch.targets.length}, mask ${batch.mask.length})`);
  }
  return {
    inputs: tf.tensor2d(batch.inputs, [B, T], 'int32'),
    targets: tf.tensor2d(batch.targets, [B, T], 'int32'),
    mask: tf.tensor2d(batch.mask, [B, T], 'float32'),
  };
}

/** Number of targets with mask 1 over the given batches. */
export function countTargets(batches: readonly Batch[]): number {
  let n = 0;
  for (const b of batches) for (let i = 0; i < b.mask.length; i++) n += b.mask[i]! !== 0 ? 1 : 0;
  return n;
}

/** Masked next-token cross-entropy of `model` on `batch`, differentiated in this process. */
export class InProcessGradients implements GradientStrategy {
  constructor(private readonly model: TrainableModel) {}

  computeGradients(batch: Batch, context: GradientContext): GradientResult {
    const vars = context.trainable.map((k) => {
      const v = this.model.params.get(k);
      if (!v) throw new ShapeError(`no parameter "${k}" in the model`);
      return v;
    });
    const out = tf.tidy(() => {
      const { inputs, targets, mask } = batchTensors(batch);
      const r = tf.variableGrads(() => maskedCrossEntropy(this.model.forward(inputs).logits, targets, mask, context.denominator), vars);
      return { loss: r.value, grads: vars.map((v) => r.grads[v.name] ?? tf.zerosLike(v)) };
    });
    const loss = out.loss;
    const grads = new Map(context.trainable.map((k, i) => [k, out.grads[i]!]));
    return { loss, grads };
  }
}

/**
 * Sum the results of `strategy` over `batches` (the micro-batches of one step) with a shared
 * denominator. Returns tensors owned by the caller. On a throw, everything computed so far is
 * disposed and nothing else changes.
 */
export async function accumulateGradients<B>(strategy: GradientStrategy<B>, batches: readonly B[], trainable: readonly string[]): Promise<GradientResult> {
  const denominator = batches.reduce((s, b) => s + targetsOf(strategy, b), 0);
  if (denominator === 0) throw new ShapeError('the loss mask selects no target in this step; every step needs at least one target with mask 1');
  let loss: tf.Scalar | undefined;
  let grads: Map<string, tf.Tensor> | undefined;
  try {
    for (const batch of batches) {
      const r = await strategy.computeGradients(batch, { trainable, denominator });
      try {
        for (const k of trainable) if (!r.grads.has(k)) throw new ShapeError(`gradient strategy returned no gradient for "${k}"`);
        if (!loss || !grads) {
          loss = tf.clone(r.loss);
          grads = new Map(trainable.map((k) => [k, tf.clone(r.grads.get(k)!)]));
        } else {
          const prevLoss: tf.Scalar = loss;
          loss = tf.add(prevLoss, r.loss) as tf.Scalar;
          prevLoss.dispose();
          for (const k of trainable) {
            const prev = grads.get(k)!;
            grads.set(k, tf.add(prev, r.grads.get(k)!));
            prev.dispose();
          }
        }
      } finally {
        r.loss.dispose();
        for (const g of r.grads.values()) g.dispose();
      }
    }
  } catch (e) {
    loss?.dispose();
    for (const g of grads?.values() ?? []) g.dispose();
    throw e;
  }
  if (!loss || !grads) throw new ShapeError('accumulateGradients needs at least one batch');
  return { loss, grads };
}
