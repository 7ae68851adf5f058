/**
 * Data-parallel fine-tuning of a zipped model on both cores (core's `DataParallelGradients`):
 * each worker thread builds a replica of the zipped model from its config (weights are then
 * overwritten from shared memory every step) and the same per-tower loss; a batch splits by rows.
 *
 *   const strategy = fusedDataParallel(zipper, { workers: 1 });
 *   const trainer = new Trainer(zipper, data, { strategy, freezePrefixes: freezePrefixes(zipper) });
 *
 * The workers load the BUILT package (`@zipper/fuse` from node_modules, i.e. packages/fuse/dist):
 * run `npx turbo run build` after changing the sources.
 */
import { DataParallelGradients, Tower, type ReplicaModel, type StreamCounts } from '@zipper/core';
import { resolveZipperConfig, type ZipperConfig } from './config.js';
import type { FusedBatch, TowerStream } from './segments.js';
import { fusedGradients, fusedLoss } from './training.js';
import { Zipper } from './zipper.js';

export interface ZipperReplicaArgs {
  readonly config: ZipperConfig;
  readonly weights?: StreamCounts;
}

/** The worker-side factory: a zipped model of `config` (fresh weights) and its per-tower loss. */
export function createZipperReplica(args: ZipperReplicaArgs): ReplicaModel<FusedBatch> {
  const c = resolveZipperConfig(args.config);
  const towers = c.towers.map((t) => ({ name: t.name, tower: Tower.create(t.config), bos: t.bos, eos: t.eos }));
  const z = Zipper.create(towers, {
    schedule: c.schedule.links,
    inputProjection: c.inputProjection,
    inputProjectionLayers: c.inputProjectionLayers,
    projectionLayers: c.projectionLayers,
    freeze: c.freeze,
  });
  return { params: z.params, ...fusedLoss(z, args.weights) };
}

/** Splits a batch into at most `parts` shards of consecutive rows; a tower with no position in a shard is left out of it. */
export function splitFusedBatch(batch: FusedBatch, parts: number): FusedBatch[] {
  const B = batch.batchSize;
  const n = Math.max(1, Math.min(parts, B));
  const out: FusedBatch[] = [];
  let r0 = 0;
  for (let i = 0; i < n; i++) {
    const r1 = r0 + Math.floor(B / n) + (i < B % n ? 1 : 0);
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
    out.push({ batchSize: r1 - r0, streams });
    r0 = r1;
  }
  return out;
}

/** A data-parallel gradient strategy for `zipper` (1 worker by default; 0 = in-process). */
export function fusedDataParallel(
  zipper: Zipper,
  options: { workers?: number; weights?: StreamCounts; timeoutMs?: number } = {},
): DataParallelGradients<FusedBatch> {
  const local = fusedGradients(zipper, options.weights);
  return new DataParallelGradients<FusedBatch>(zipper, {
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    local,
    split: splitFusedBatch,
    replica: {
      kind: 'module',
      module: '@zipper/fuse',
      export: 'createZipperReplica',
      args: { config: zipper.config, ...(options.weights ? { weights: options.weights } : {}) } satisfies ZipperReplicaArgs,
    },
  });
}
