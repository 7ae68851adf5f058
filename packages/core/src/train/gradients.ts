/**
 * Gradient computation, pluggable: the Trainer asks a `GradientStrategy` for the loss and the
 * gradients of one micro-batch. `LossGradients` (loss-gradients.ts) builds one from any loss
 * function over any parameter map and runs `tf.variableGrads` in this process; its single-stream
 * case `InProcessGradients` is the default; `DataParallelGradients` (src/parallel/) implements
 * the same interface with workers.
 *
 * Ownership: the tensors of a `GradientResult` belong to the caller, who disposes them.
 * Accumulation: every micro-batch of a step divides each stream's summed masked NLL by that
 * stream's `denominators[s]` (its count of mask-1 targets over the whole step, streams.ts), so
 * the summed losses and gradients of k micro-batches equal those of one batch k times the size.
 *
 * Legend: B batch, T time, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';
import type { Batch } from './data.js';
import { DEFAULT_STREAM, addCounts, totalCount, type StreamCounts } from './streams.js';

export interface GradientContext {
  /** Keys of the trained parameters, in model order; the result must hold a gradient for each. */
  readonly trainable: readonly string[];
  /** Targets of every stream over the whole step (> 0); the single-stream denominator. */
  readonly denominator: number;
  /**
   * Per stream: its count of mask-1 targets over the whole step, which divides that stream's
   * summed masked NLL. Absent: a single-stream loss divides by `denominator`.
   */
  readonly denominators?: StreamCounts;
}

export interface GradientResult {
  /** This micro-batch's share of the step loss: sum_s weight_s * sum(mask_s * nll_s) / denominators[s]. */
  readonly loss: tf.Scalar;
  /** d loss / d parameter for every trained key (zeros for a parameter the loss does not reach). */
  readonly grads: ReadonlyMap<string, tf.Tensor>;
  /** Each stream's unweighted share sum(mask_s * nll_s) / denominators[s] (streams with no step target are absent). */
  readonly streams?: StreamCounts;
}

/**
 * Computes one micro-batch's loss share and gradients. `B` is the batch type (default: the
 * single-stream `Batch`); strategies for other batch types must also say how many loss targets
 * (per stream) and input tokens a batch has (for the denominators and for progress).
 */
export interface GradientStrategy<B = Batch> {
  computeGradients(batch: B, context: GradientContext): GradientResult | Promise<GradientResult>;
  /** Loss targets in a batch, per stream (a number = one stream, `DEFAULT_STREAM`; default for `Batch`: entries with mask 1). */
  countTargets?(batch: B): number | StreamCounts;
  /** Input tokens in a batch, for tokens/s (default for `Batch`: B * T). */
  countTokens?(batch: B): number;
  dispose?(): void;
}

/** Whether `b` is a single-stream `Batch` (typed arrays and a batch size). */
export function isBatch(b: unknown): b is Batch {
  const x = b as Batch;
  return (
    typeof x === 'object' &&
    x !== null &&
    x.mask instanceof Float32Array &&
    x.inputs instanceof Int32Array &&
    typeof x.batchSize === 'number'
  );
}

/** Loss targets of `batch` per stream, as the strategy counts them. */
export function streamTargetsOf<B>(strategy: GradientStrategy<B>, batch: B): StreamCounts {
  const n = strategy.countTargets ? strategy.countTargets(batch) : isBatch(batch) ? countTargets([batch]) : undefined;
  if (n === undefined)
    throw new ShapeError('this batch is not a single-stream Batch; its GradientStrategy must implement countTargets(batch)');
  return typeof n === 'number' ? { [DEFAULT_STREAM]: n } : n;
}

/** Loss targets of `batch` over all streams, as the strategy counts them. */
export function targetsOf<B>(strategy: GradientStrategy<B>, batch: B): number {
  return totalCount(streamTargetsOf(strategy, batch));
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
    throw new ShapeError(
      `batch arrays must hold B * T = ${n} entries (inputs ${batch.inputs.length}, targets ${batch.targets.length}, mask ${batch.mask.length})`,
    );
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

/** A step's summed result plus the per-stream target counts that divided it. */
export interface AccumulatedGradients extends GradientResult {
  readonly streams: StreamCounts;
  /** Per stream: mask-1 targets over the step (the denominators). */
  readonly targets: StreamCounts;
}

/**
 * Sum the results of `strategy` over `batches` (the micro-batches of one step) with per-stream
 * denominators over the whole step. Returns tensors owned by the caller. On a throw, everything
 * computed so far is disposed and nothing else changes.
 */
export async function accumulateGradients<B>(
  strategy: GradientStrategy<B>,
  batches: readonly B[],
  trainable: readonly string[],
): Promise<AccumulatedGradients> {
  const denominators = addCounts(batches.map((b) => streamTargetsOf(strategy, b)));
  const denominator = totalCount(denominators);
  if (denominator === 0)
    throw new ShapeError('the loss mask selects no target in this step; every step needs at least one target with mask 1');
  let loss: tf.Scalar | undefined;
  let grads: Map<string, tf.Tensor> | undefined;
  let reported: Record<string, number> | undefined;
  try {
    for (const batch of batches) {
      const r = await strategy.computeGradients(batch, { trainable, denominator, denominators });
      if (r.streams) reported = addCounts([reported ?? {}, r.streams]);
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
  return { loss, grads, streams: reported ?? singleStream(loss, denominators), targets: denominators };
}

/** A strategy that reports no streams: its loss is the one stream's when it counts one stream, else nothing. */
function singleStream(loss: tf.Scalar, denominators: StreamCounts): StreamCounts {
  const names = Object.keys(denominators);
  return names.length === 1 ? { [names[0]!]: loss.dataSync()[0]! } : {};
}
