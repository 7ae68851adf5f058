/** The JSON `parallel` field of `bench train` and `bench fuse train`: median per-step timings of the data-parallel strategy (ms). */
import type { DataParallelStats } from '@zipper/core';
import { median, roundTo as round } from '@zipper/common';

export function parallelSummary(stats: readonly DataParallelStats[]): Record<string, unknown> {
  const m = (f: (s: DataParallelStats) => number): number => round(median(stats.map(f)), 2);
  return {
    rows: stats[0]?.rows,
    sync_ms: m((s) => s.syncMs),
    main_shard_ms: m((s) => s.mainMs),
    wait_ms: m((s) => s.waitMs),
    reduce_ms: m((s) => s.reduceMs),
    worker_compute_ms: m((s) => s.workerComputeMs),
    worker_copy_ms: m((s) => s.workerCopyMs),
    steps: stats.length,
  };
}
