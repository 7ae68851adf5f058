/**
 * Options and configuration of `DataParallelGradients` (data-parallel.ts): how many workers,
 * what each builds, how a batch splits, plus the default worker count for this machine.
 *
 * Legend: B batch (rows), N workers.
 */
import os from 'node:os';
import { backendInfo, type BackendInfo, type BackendName } from '../backend.js';
import { ConfigError } from '../errors.js';
import { Tower } from '../model/tower.js';
import type { Batch } from '../train/data.js';
import type { GradientStrategy } from '../train/gradients.js';
import type { TrainableParams } from '../train/model.js';
import type { StreamCounts } from '../train/streams.js';
import type { ReplicaSpec } from './worker-protocol.js';

/** Most workers accepted (each holds a full replica and two copies of the weights). */
export const MAX_DATA_PARALLEL_WORKERS = 16;

export interface DataParallelOptions<B = Batch> {
  /** Worker threads besides the main thread (default 1; 0 = in-process, today's behaviour). */
  readonly workers?: number;
  /** What each worker builds (default for a Tower: `{ kind: 'tower', config }`; required otherwise). */
  readonly replica?: ReplicaSpec;
  /** Split a batch into at most `parts` shards, in order (default: rows of a `Batch`, as even as possible). */
  readonly split?: (batch: B, parts: number) => B[];
  /** Computes the main thread's shard (default: `InProcessGradients(model)`). */
  readonly local?: GradientStrategy<B>;
  /** Loss targets (per stream) / input tokens of a batch, for non-`Batch` types (see GradientStrategy). */
  readonly countTargets?: (batch: B) => number | StreamCounts;
  readonly countTokens?: (batch: B) => number;
  /** A worker that has not answered a step after this many ms is stopped and the step fails (default: no limit). */
  readonly timeoutMs?: number;
}

export interface DataParallelConfig {
  /** Workers actually used (0 on the tensorflow backend). */
  readonly workers: number;
  /** Workers asked for. */
  readonly requested: number;
  readonly backend: BackendName;
  readonly replica: ReplicaSpec;
  readonly timeoutMs: number;
  /** Why `workers` < `requested`, if it is. */
  readonly note?: string;
}

/**
 * The worker count the CLI uses when none is given: 1 on wasm/cpu with at least 2 cores and
 * single-threaded kernels (wasm threads 1, native GEMM threads 1), else 0. Measured on the 2-core
 * machine (reference preset, `zipper bench train --workers 0|1`): 1 worker ~1.5x the tokens/s of
 * in-process; with 2 native GEMM threads per product, a worker no longer helps (the cores are
 * taken), and 2 workers on 2 cores are slower than 1 (DEVELOPERS.md, engine facts).
 */
export function defaultDataParallelWorkers(info: BackendInfo | undefined = backendInfo()): number {
  if (!info || (info.backend !== 'wasm' && info.backend !== 'cpu')) return 0;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const kernelThreads = Math.max(info.threads, info.native?.used ? info.native.threads : 1);
  return cores >= 2 && kernelThreads <= 1 ? 1 : 0;
}

/** Checks the options and fills defaults; throws ConfigError naming the broken rule. */
export function resolveDataParallelConfig<B>(model: TrainableParams, options: DataParallelOptions<B> = {}): DataParallelConfig {
  const requested = options.workers ?? 1;
  if (!Number.isInteger(requested) || requested < 0 || requested > MAX_DATA_PARALLEL_WORKERS) {
    throw new ConfigError(`workers must be an integer from 0 to ${MAX_DATA_PARALLEL_WORKERS}, got ${String(requested)}`);
  }
  const timeoutMs = options.timeoutMs ?? Infinity;
  if (!(timeoutMs > 0)) throw new ConfigError(`timeoutMs must be > 0 (Infinity = no limit), got ${String(timeoutMs)}`);
  const info = backendInfo();
  if (!info) throw new ConfigError('DataParallelGradients needs an initialized backend; await initBackend() first');
  const replica = options.replica ?? (model instanceof Tower ? ({ kind: 'tower', config: model.config } as const) : undefined);
  if (!replica)
    throw new ConfigError(
      'DataParallelGradients: the model is not a Tower; pass replica: { kind: "module", module, export } (a factory building the same model in a worker)',
    );
  if (replica.kind === 'module' && (typeof replica.module !== 'string' || replica.module === '' || replica.module.startsWith('.'))) {
    throw new ConfigError(`replica.module must be an absolute path, a file: URL or a package name, got "${String(replica.module)}"`);
  }
  if (info.backend === 'tensorflow') {
    return {
      workers: 0,
      requested,
      backend: info.backend,
      replica,
      timeoutMs,
      ...(requested > 0 ? { note: 'the tensorflow backend already uses every core; training runs in-process' } : {}),
    };
  }
  return { workers: requested, requested, backend: info.backend, replica, timeoutMs };
}
