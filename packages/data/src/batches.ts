/**
 * Batching documents for a tower (legend: B batch, T time).
 *
 * Pretraining concatenates the documents into one stream and cuts windows of T + 1 tokens (a
 * window may span documents, as in GPT pretraining); `trainBatches` is core's seeded, resumable
 * `BatchIterator` over that stream. `evalBatches` visits every window exactly once, in order,
 * for a held-out loss that does not depend on a seed.
 */
import { BatchIterator, concatBatches, type Batch, type BatchIteratorConfig } from '@zipper/core';
import { concatDocuments } from './documents.js';
import { DataConfigError } from './errors.js';

export type TrainBatchOptions = Pick<BatchIteratorConfig, 'batchSize' | 'seqLen' | 'seed'>;

export function trainBatches(docs: readonly ArrayLike<number>[], options: TrainBatchOptions): BatchIterator {
  return new BatchIterator([concatDocuments(docs)], { ...options, shuffle: true });
}

/** Every window of the stream once, B at a time (the last batch may be smaller). */
export function evalBatches(docs: readonly ArrayLike<number>[], batchSize: number, seqLen: number): Batch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataConfigError(`evalBatches batchSize must be an integer >= 1, got ${batchSize}`);
  const windows = new BatchIterator([concatDocuments(docs)], { batchSize: 1, seqLen, shuffle: false });
  const out: Batch[] = [];
  for (let i = 0; i < windows.size; i += batchSize) {
    out.push(concatBatches(Array.from({ length: Math.min(batchSize, windows.size - i) }, () => windows.next())));
  }
  return out;
}
