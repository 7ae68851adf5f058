/**
 * Data-parallel fine-tuning of this package's models on both cores (core's
 * `DataParallelGradients`): each worker thread builds a replica of the model from its config
 * (weights are then overwritten from shared memory every step) with the same per-tower loss; a
 * batch splits by rows. The zipped model and the single-decoder baseline differ only in their
 * replica factory, their batch type's row split and their main-thread strategy:
 *
 *   const strategy = fusedDataParallel(zipper, { workers: 1 });
 *   const trainer = new Trainer(zipper, data, { strategy, freezePrefixes: freezePrefixes(zipper) });
 *   const strategy = singleDecoderDataParallel(single, { workers: 1 });  // the baseline
 *
 * The workers load the BUILT package (`@zipper/fuse` from node_modules, i.e. packages/fuse/dist):
 * run `npx turbo run build` after changing the sources.
 *
 * Legend: B batch (rows), T positions of a stream.
 */
import {
  DataParallelGradients,
  Tower,
  type GradientStrategy,
  type ReplicaModel,
  type StreamCounts,
  type TrainableParams,
} from '@zipper/core';
import { SingleDecoder, type BaselineBatch } from './baseline.js';
import { resolveZipperConfig, type ZipperConfig } from './config.js';
import type { FusedBatch, TowerStream } from './segments.js';
import { fusedGradients, fusedLoss, type FusedLossOptions } from './training.js';
import { Zipper } from './zipper.js';

/** What a worker gets to build its replica: the model's config and the loss stream weights. */
export interface ReplicaArgs {
  readonly config: ZipperConfig;
  readonly weights?: StreamCounts;
  /** fusedLoss's options (zipped models only): the CTC heads' and alignment prior's weights. */
  readonly loss?: FusedLossOptions;
}

export interface FuseDataParallelOptions {
  /** Worker threads besides the main thread (default 1; 0 = in-process). */
  readonly workers?: number;
  /** Loss weight per stream (default 1 each). */
  readonly weights?: StreamCounts;
  /** fusedLoss's options: the CTC heads' and alignment prior's weights (default: both 0). */
  readonly loss?: FusedLossOptions;
  /** A worker that has not answered a step after this many ms fails the step (default: no limit). */
  readonly timeoutMs?: number;
}

/** The worker-side factory: a zipped model of `config` (fresh weights) and its per-tower loss. */
export function createZipperReplica(args: ReplicaArgs): ReplicaModel<FusedBatch> {
  const c = resolveZipperConfig(args.config);
  const towers = c.towers.map((t) => ({ name: t.name, tower: Tower.create(t.config), bos: t.bos, eos: t.eos }));
  const z = Zipper.create(towers, {
    schedule: c.schedule.links,
    inputProjection: c.inputProjection,
    inputProjectionLayers: c.inputProjectionLayers,
    projectionLayers: c.projectionLayers,
    freeze: c.freeze,
    ctc: c.ctc,
    crossRope: c.crossRope,
  });
  return { params: z.params, ...fusedLoss(z, args.weights, args.loss ?? {}) };
}

/** The worker-side factory of the baseline: a single decoder of `config` (fresh weights) and its per-tower loss. */
export function createSingleDecoderReplica(args: ReplicaArgs): ReplicaModel<BaselineBatch> {
  const sd = SingleDecoder.fromConfig(args.config);
  return { params: sd.params, ...sd.loss(args.weights) };
}

/** Row ranges [r0, r1) of at most `parts` shards of `B` consecutive rows, sizes differing by at most 1 (larger first). */
export function rowShards(B: number, parts: number): [number, number][] {
  const n = Math.max(1, Math.min(parts, B));
  const out: [number, number][] = [];
  let r0 = 0;
  for (let i = 0; i < n; i++) {
    const r1 = r0 + Math.floor(B / n) + (i < B % n ? 1 : 0);
    out.push([r0, r1]);
    r0 = r1;
  }
  return out;
}

/** Splits a batch into at most `parts` shards of consecutive rows; a tower with no position in a shard is left out of it. */
export function splitFusedBatch(batch: FusedBatch, parts: number): FusedBatch[] {
  return rowShards(batch.batchSize, parts).map(([r0, r1]) => {
    const streams: Record<string, TowerStream> = {};
    for (const [name, s] of Object.entries(batch.streams)) {
      const lengths = s.lengths.slice(r0, r1);
      if (lengths.every((l) => l === 0)) continue;
      const T = s.length;
      streams[name] = {
        length: T,
        ids: s.ids.slice(r0 * T, r1 * T),
        global: s.global.slice(r0 * T, r1 * T),
        lengths,
        targets: s.targets.slice(r0 * T, r1 * T),
        mask: s.mask.slice(r0 * T, r1 * T),
      };
    }
    return { batchSize: r1 - r0, streams };
  });
}

/**
 * Splits a baseline batch into at most `parts` shards of consecutive rows, each cut to its own
 * longest row (right padding only: the causal stream's real positions do not change).
 */
export function splitBaselineBatch(batch: BaselineBatch, parts: number): BaselineBatch[] {
  const T = batch.length;
  return rowShards(batch.batchSize, parts).map(([r0, r1]) => {
    const lengths = batch.lengths.slice(r0, r1);
    const Ts = Math.max(...lengths);
    // [B, T] -> rows r0..r1-1, columns 0..Ts-1: [r1 - r0, Ts]
    const rows = <A extends Int32Array | Float32Array>(a: A): A => {
      const out = a.slice(0, (r1 - r0) * Ts) as A;
      for (let r = r0; r < r1; r++) out.set(a.subarray(r * T, r * T + Ts), (r - r0) * Ts);
      return out;
    };
    const masks = Object.fromEntries(Object.entries(batch.masks).map(([n, m]) => [n, rows(m)]));
    return { batchSize: r1 - r0, length: Ts, ids: rows(batch.ids), lengths, targets: rows(batch.targets), masks };
  });
}

/** A data-parallel strategy whose workers build their replica with `factory` (an export of this package) from `args`. */
function packageDataParallel<B>(
  model: TrainableParams,
  parts: { local: GradientStrategy<B>; split: (batch: B, parts: number) => B[]; factory: string; args: ReplicaArgs },
  options: FuseDataParallelOptions,
): DataParallelGradients<B> {
  return new DataParallelGradients<B>(model, {
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    local: parts.local,
    split: parts.split,
    replica: { kind: 'module', module: '@zipper/fuse', export: parts.factory, args: parts.args },
  });
}

const replicaArgs = (config: ZipperConfig, weights?: StreamCounts): ReplicaArgs => ({ config, ...(weights ? { weights } : {}) });

/** A data-parallel gradient strategy for `zipper` (1 worker by default; 0 = in-process). */
export function fusedDataParallel(zipper: Zipper, options: FuseDataParallelOptions = {}): DataParallelGradients<FusedBatch> {
  return packageDataParallel<FusedBatch>(
    zipper,
    {
      local: fusedGradients(zipper, options.weights, options.loss ?? {}),
      split: splitFusedBatch,
      factory: 'createZipperReplica',
      args: { ...replicaArgs(zipper.config, options.weights), ...(options.loss ? { loss: options.loss } : {}) },
    },
    options,
  );
}

/** A data-parallel gradient strategy for the single-decoder baseline (1 worker by default; 0 = in-process). */
export function singleDecoderDataParallel(
  model: SingleDecoder,
  options: FuseDataParallelOptions = {},
): DataParallelGradients<BaselineBatch> {
  return packageDataParallel<BaselineBatch>(
    model,
    {
      local: model.gradients(options.weights),
      split: splitBaselineBatch,
      factory: 'createSingleDecoderReplica',
      args: replicaArgs(model.config, options.weights),
    },
    options,
  );
}
