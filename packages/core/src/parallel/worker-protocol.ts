/**
 * What the data-parallel main thread (worker-pool.ts, for data-parallel.ts) and its workers
 * (worker.ts) exchange.
 *
 * Shared memory (SharedArrayBuffer, Float32, one offset per parameter key in model order):
 *  - `params`: written by the main thread before every step, read by every worker;
 *  - `grads[w]`: one region per worker with the same layout; worker w writes the gradient of
 *    every trained key of its shard, the main thread reads and sums them.
 * Commands and acknowledgements travel by postMessage (one round trip per step; its cost is
 * in the microseconds, next to steps of hundreds of milliseconds).
 *
 * Replicas: what a worker builds, as plain cloneable data:
 *  - `{ kind: 'tower', config }`: `Tower.create(config)`, then its weights come from `params`;
 *  - `{ kind: 'module', module, export, args }`: `(await import(module))[export](args)` must
 *    return (or resolve to) a `ReplicaModel`: `{ params, forward }` (a TrainableModel, trained
 *    with InProcessGradients), `{ params, loss, countTargets, weights? }` (a LossSpec, trained
 *    with LossGradients: build the main thread's strategy from the same spec) or
 *    `{ params, strategy }` (any GradientStrategy for the batch type).
 *    `module` is an absolute path, a file: URL or a package name; the module runs in a fresh
 *    worker, so it must be plain JavaScript Node can load (not TypeScript).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../backend.js';
import type { TowerConfig } from '../model/config.js';
import type { GradientStrategy } from '../train/gradients.js';
import type { LossSpec } from '../train/loss-gradients.js';
import type { TrainableModel } from '../train/model.js';
import type { StreamCounts } from '../train/streams.js';

export type ReplicaSpec =
  | { readonly kind: 'tower'; readonly config: TowerConfig }
  | { readonly kind: 'module'; readonly module: string; readonly export?: string; readonly args?: unknown };

/** What a `kind: 'module'` factory returns. */
export type ReplicaModel<B = unknown> =
  | TrainableModel
  | (LossSpec<B> & { readonly params: ReadonlyMap<string, tf.Variable> })
  | { readonly params: ReadonlyMap<string, tf.Variable>; readonly strategy: GradientStrategy<B> };

/** Where each parameter lives in the shared Float32 buffers (model order). */
export interface ParamLayout {
  readonly keys: readonly string[];
  readonly shapes: readonly (readonly number[])[];
  /** Float32 element offset of each key. */
  readonly offsets: readonly number[];
  /** Float32 elements over all keys. */
  readonly total: number;
}

export interface WorkerInit {
  /** 1-based worker number (the main thread is shard 0). */
  readonly index: number;
  readonly replica: ReplicaSpec;
  readonly backend: BackendName;
  readonly layout: ParamLayout;
  readonly params: SharedArrayBuffer;
  readonly grads: SharedArrayBuffer;
}

export interface StepCommand<B = unknown> {
  readonly type: 'step';
  readonly id: number;
  readonly batch: B;
  readonly trainable: readonly string[];
  readonly denominator: number;
  readonly denominators?: StreamCounts;
}

export type WorkerReply =
  | { readonly type: 'ready'; readonly keys: readonly string[]; readonly shapes: readonly (readonly number[])[] }
  | {
      readonly type: 'done';
      readonly id: number;
      readonly loss: number;
      readonly streams?: StreamCounts;
      readonly computeMs: number;
      readonly copyMs: number;
    }
  | { readonly type: 'error'; readonly id: number | null; readonly message: string; readonly stack?: string };

export function layoutOf(params: ReadonlyMap<string, tf.Variable>): ParamLayout {
  const keys: string[] = [];
  const shapes: number[][] = [];
  const offsets: number[] = [];
  let total = 0;
  for (const [k, v] of params) {
    keys.push(k);
    shapes.push([...v.shape]);
    offsets.push(total);
    total += v.size;
  }
  return { keys, shapes, offsets, total };
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
