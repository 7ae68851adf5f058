/**
 * Data-parallel gradients (the strategy): each micro-batch's rows are split between the main
 * thread and N `worker_threads` workers (worker-pool.ts), each with its own single-threaded
 * TensorFlow.js engine (wasm or cpu), so training uses more than one core without wasm threads.
 * This file splits a batch and sums the shards' results; the pool does the spawning, restarts,
 * timeouts, messaging and shared memory; data-parallel-config.ts holds the options.
 *
 * Why it is exact: the Trainer divides every micro-batch by the step's per-stream denominators
 * (gradients.ts, streams.ts), so a shard is just a smaller micro-batch: the sum of the shards'
 * losses, stream losses and gradients is the whole batch's, up to float summation order. The sum
 * runs in a fixed order (main shard, then worker 1, 2, ...), so a given worker count is
 * deterministic run to run.
 *
 * One step (`computeGradients`):
 *  1. the main thread writes every parameter value into one SharedArrayBuffer (worker-protocol.ts);
 *  2. it posts each worker its shard (`step`, with the denominators), then computes its own
 *     shard in-process;
 *  3. each worker copies the parameters into its replica, computes its shard and writes the
 *     gradients into its own shared region, then replies `done` with its loss and stream losses;
 *  4. the main thread adds the workers' gradients and losses to its own and returns them.
 * `stats` holds the last step's timings (sync, main compute, wait, reduction).
 *
 * Replicas: a `Tower` is rebuilt in each worker from its config (`Tower.create`), then overwritten
 * from shared memory; any other model needs `replica: { kind: 'module', module, export, args }`
 * (see worker-protocol.ts): a plain-JS factory returning `{ params, forward }`,
 * `{ params, loss, countTargets }` (built into a `LossGradients` there, like the main thread's
 * `local` strategy) or `{ params, strategy }`, whose keys and shapes equal the main model's.
 * Other batch types (e.g. a fused model's) pass `split` and a `local` strategy; batches travel by
 * structured clone.
 *
 * Failures: a worker that throws in a step, dies, or (with `timeoutMs`) does not answer in time
 * makes `computeGradients` reject with a `DataParallelWorkerError` naming the worker; the
 * Trainer turns it into a TrainingError and changes nothing. A dead worker is started again on
 * the next step. `dispose()` terminates the workers.
 *
 * Backends: wasm and cpu. On `tensorflow` (tfjs-node) the native backend already uses every
 * core, so the strategy runs in-process (`workers` reports 0).
 *
 * Legend: B batch (rows), T time, N workers.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import type { Batch } from '../train/data.js';
import {
  isBatch,
  streamTargetsOf,
  tokensOf,
  type GradientContext,
  type GradientResult,
  type GradientStrategy,
} from '../train/gradients.js';
import { InProcessGradients } from '../train/loss-gradients.js';
import type { TrainableModel, TrainableParams } from '../train/model.js';
import { addCounts, type StreamCounts } from '../train/streams.js';
import { resolveDataParallelConfig, type DataParallelConfig, type DataParallelOptions } from './data-parallel-config.js';
import { tensorFrom } from './worker-memory.js';
import { WorkerPool, type DoneReply } from './worker-pool.js';
import { layoutOf, sizeOf, type ParamLayout } from './worker-protocol.js';

export * from './data-parallel-config.js';
export { DataParallelWorkerError } from './worker-pool.js';
export { workerExecArgv, workerScriptPath } from './worker-script.js';
export type { ReplicaModel, ReplicaSpec } from './worker-protocol.js';

/** Timings of the last step, in milliseconds. */
export interface DataParallelStats {
  /** Main thread: parameters into shared memory + posting the shards. */
  readonly syncMs: number;
  /** Main thread: its own shard. */
  readonly mainMs: number;
  /** Main thread: waiting for the workers after its own shard. */
  readonly waitMs: number;
  /** Main thread: adding the workers' gradients and losses. */
  readonly reduceMs: number;
  /** Slowest worker: its compute, and its copies (parameters in, gradients out). */
  readonly workerComputeMs: number;
  readonly workerCopyMs: number;
  /** Rows of each shard (main first); empty for batches that are not a `Batch`. */
  readonly rows: readonly number[];
}

/** Rows of a `Batch` split into at most `parts` contiguous shards, sizes differing by at most 1 (larger first). */
export function splitBatchRows(batch: Batch, parts: number): Batch[] {
  const { batchSize: B, seqLen: T } = batch;
  const n = Math.max(1, Math.min(parts, B));
  const out: Batch[] = [];
  let row = 0;
  for (let i = 0; i < n; i++) {
    const rows = Math.floor(B / n) + (i < B % n ? 1 : 0);
    const a = row * T;
    const b = (row + rows) * T;
    out.push({
      batchSize: rows,
      seqLen: T,
      inputs: batch.inputs.slice(a, b),
      targets: batch.targets.slice(a, b),
      mask: batch.mask.slice(a, b),
    });
    row += rows;
  }
  return out;
}

export class DataParallelGradients<B = Batch> implements GradientStrategy<B> {
  readonly config: DataParallelConfig;
  /** Timings of the last completed step (undefined before the first). */
  stats: DataParallelStats | undefined;
  private readonly model: TrainableParams;
  private readonly local: GradientStrategy<B>;
  private readonly split: (batch: B, parts: number) => B[];
  private readonly options: DataParallelOptions<B>;
  private readonly layout: ParamLayout;
  private readonly pool: WorkerPool;
  private busy = false;
  private disposed = false;

  constructor(model: TrainableParams | TrainableModel, options: DataParallelOptions<B> = {}) {
    this.config = resolveDataParallelConfig(model, options);
    this.model = model;
    this.options = options;
    if (!options.local && typeof (model as TrainableModel).forward !== 'function') {
      throw new ConfigError(
        'DataParallelGradients: the model has no forward(ids); pass local: a GradientStrategy for the main thread shard',
      );
    }
    this.local = options.local ?? (new InProcessGradients(model as TrainableModel) as unknown as GradientStrategy<B>);
    this.split =
      options.split ??
      ((batch: B, parts: number) => {
        if (!isBatch(batch)) throw new ShapeError('this batch is not a single-stream Batch; pass DataParallelOptions.split to shard it');
        return splitBatchRows(batch, parts) as unknown as B[];
      });
    this.layout = layoutOf(model.params);
    const { workers, replica, backend, timeoutMs } = this.config;
    this.pool = new WorkerPool({ workers, replica, backend, layout: this.layout, timeoutMs });
  }

  /** Workers in use (0 = in-process). */
  get workers(): number {
    return this.config.workers;
  }

  countTargets(batch: B): number | StreamCounts {
    return this.options.countTargets ? this.options.countTargets(batch) : streamTargetsOf(this.local, batch);
  }

  countTokens(batch: B): number {
    return this.options.countTokens ? this.options.countTokens(batch) : tokensOf(this.local, batch);
  }

  /** Starts every worker and waits until each has built its replica (otherwise the first step does). */
  async start(): Promise<void> {
    await this.pool.start();
  }

  async computeGradients(batch: B, context: GradientContext): Promise<GradientResult> {
    if (this.disposed) throw new ConfigError('this DataParallelGradients was disposed; create a new one');
    if (this.busy)
      throw new ConfigError('computeGradients is already running on this DataParallelGradients; await each call before the next');
    if (this.config.workers === 0) return this.local.computeGradients(batch, context);
    this.busy = true;
    try {
      return await this.parallelStep(batch, context);
    } finally {
      this.busy = false;
      this.pool.release();
    }
  }

  private async parallelStep(batch: B, context: GradientContext): Promise<GradientResult> {
    const shards = this.split(batch, this.config.workers + 1);
    if (shards.length === 0) throw new ShapeError('split returned no shard');
    const t0 = performance.now();
    const others = shards.slice(1);
    await this.pool.acquire(others.length);
    this.pool.writeParams(this.model.params);
    const { trainable, denominator, denominators } = context;
    const replies = this.pool.dispatch(others, { trainable, denominator, ...(denominators ? { denominators } : {}) });
    // Every reply is awaited even if the main shard throws, so no rejection goes unobserved.
    const settled = Promise.allSettled(replies);
    const t1 = performance.now();
    let mine: GradientResult;
    try {
      mine = await this.local.computeGradients(shards[0]!, context);
    } catch (e) {
      await settled;
      throw e;
    }
    const t2 = performance.now();
    const results = await settled;
    const t3 = performance.now();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      disposeResult(mine);
      throw failed.reason;
    }
    const done = results.map((r) => (r as PromiseFulfilledResult<DoneReply>).value);
    const out = this.reduce(mine, done, trainable);
    this.stats = {
      syncMs: t1 - t0,
      mainMs: t2 - t1,
      waitMs: t3 - t2,
      reduceMs: performance.now() - t3,
      workerComputeMs: Math.max(0, ...done.map((d) => d.computeMs)),
      workerCopyMs: Math.max(0, ...done.map((d) => d.copyMs)),
      rows: isBatch(batch) ? shards.map((s) => (s as unknown as Batch).batchSize) : [],
    };
    return out;
  }

  /** Main shard + worker 1 + worker 2 ..., in that order; disposes `mine`. */
  private reduce(mine: GradientResult, done: readonly DoneReply[], trainable: readonly string[]): GradientResult {
    const streams = mine.streams && addCounts([mine.streams, ...done.map((d) => d.streams ?? {})]);
    const index = new Map(this.layout.keys.map((k, i) => [k, i]));
    const regions = done.map((_, w) => this.pool.gradients(w + 1));
    const grads = new Map<string, tf.Tensor>();
    let loss: tf.Scalar | undefined;
    try {
      tf.tidy(() => {
        let l: tf.Scalar = mine.loss;
        for (const d of done) l = tf.add(l, tf.scalar(d.loss, 'float32'));
        loss = tf.keep(l === mine.loss ? tf.clone(l) : l);
        for (const k of trainable) {
          const i = index.get(k);
          const own = mine.grads.get(k);
          if (i === undefined || !own) throw new ShapeError(`no gradient for "${k}" in the main shard's result`);
          const o = this.layout.offsets[i]!;
          const shape = [...this.layout.shapes[i]!];
          let g: tf.Tensor = own;
          // tensorFrom copies: the tensor never aliases memory a worker writes next step.
          for (const r of regions) g = tf.add(g, tensorFrom(r.subarray(o, o + sizeOf(shape)), shape));
          grads.set(k, tf.keep(g === own ? tf.clone(own) : g));
        }
      });
    } catch (e) {
      loss?.dispose();
      for (const g of grads.values()) g.dispose();
      throw e;
    } finally {
      disposeResult(mine);
    }
    return { loss: loss!, grads, ...(streams ? { streams } : {}) };
  }

  /** Terminates the workers (the main model is not touched). `closed()` resolves once they have exited. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
  }

  /** Resolves when every worker started so far has exited. */
  async closed(): Promise<void> {
    await this.pool.closed();
  }
}

function disposeResult(r: GradientResult): void {
  r.loss.dispose();
  for (const g of r.grads.values()) g.dispose();
}
