/**
 * Data-parallel gradients: each micro-batch's rows are split between the main thread and N
 * `worker_threads` workers, each with its own single-threaded TensorFlow.js engine (wasm or cpu),
 * so training uses more than one core without wasm threads.
 *
 * Why it is exact: the Trainer divides every micro-batch by the step's shared `denominator`
 * (gradients.ts), so a shard is just a smaller micro-batch: the sum of the shards' losses and
 * gradients is the whole batch's, up to float summation order. The sum runs in a fixed order
 * (main shard, then worker 1, 2, ...), so a given worker count is deterministic run to run.
 *
 * One step (`computeGradients`):
 *  1. the main thread writes every parameter value into one SharedArrayBuffer (worker-protocol.ts);
 *  2. it posts each worker its rows (`step`), then computes its own shard in-process;
 *  3. each worker copies the parameters into its replica, computes its shard and writes the
 *     gradients into its own shared region, then replies `done` with its loss;
 *  4. the main thread adds the workers' gradients and losses to its own and returns them.
 * `stats` holds the last step's timings (sync, main compute, wait, reduction).
 *
 * Replicas: a `Tower` is rebuilt in each worker from its config (`Tower.create`), then overwritten
 * from shared memory; any other model needs `replica: { kind: 'module', module, export, args }`
 * (see worker-protocol.ts): a plain-JS factory returning `{ params, forward }` or
 * `{ params, strategy }` whose keys and shapes equal the main model's. Other batch types (e.g. a
 * fused model's) pass `split` and a `local` strategy; batches travel by structured clone.
 *
 * Failures: a worker that throws in a step, dies, or (with `timeoutMs`) does not answer in time
 * makes `computeGradients` reject with a `DataParallelWorkerError` naming the worker; the Trainer turns it into a TrainingError and
 * changes nothing. A dead worker is started again on the next step. Workers are unreferenced
 * while idle (they never keep the process alive); `dispose()` terminates them.
 *
 * Worker script: dist/worker.js (ESM) or dist/worker.cjs next to the built package. Run from the
 * sources (vitest aliases the package to src/), Node cannot start a .ts worker, so the built
 * packages/core/dist/worker.js is used; build it with `npx turbo run build` (and rebuild after
 * changing the engine sources: the workers run the built code).
 *
 * Backends: wasm and cpu. On `tensorflow` (tfjs-node) the native backend already uses every
 * core, so the strategy runs in-process (`workers` reports 0).
 *
 * Legend: B batch (rows), T time, N workers.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, type BackendInfo, type BackendName } from '../backend.js';
import { ConfigError, ShapeError, ZipperError } from '../errors.js';
import { keySetProblems } from '../model/keys.js';
import { Tower } from '../model/tower.js';
import type { Batch } from '../train/data.js';
import { isBatch, streamTargetsOf, tokensOf, type GradientContext, type GradientResult, type GradientStrategy } from '../train/gradients.js';
import { InProcessGradients } from '../train/loss-gradients.js';
import { addCounts, type StreamCounts } from '../train/streams.js';
import type { TrainableModel, TrainableParams } from '../train/model.js';
import { readInto, tensorFrom } from './worker-memory.js';
import { layoutOf, sizeOf, type ParamLayout, type ReplicaSpec, type StepCommand, type WorkerInit, type WorkerReply } from './worker-protocol.js';

export type { ReplicaModel, ReplicaSpec } from './worker-protocol.js';

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
  /** Rows of each shard (main first). */
  readonly rows: readonly number[];
}

/** A data-parallel worker failed (threw in a step, could not build its replica, or died). */
export class DataParallelWorkerError extends ZipperError {
  constructor(
    message: string,
    /** 1-based worker number (the main thread's shard is 0). */
    readonly worker: number,
  ) {
    super(message);
    this.name = 'DataParallelWorkerError';
  }
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
    out.push({ batchSize: rows, seqLen: T, inputs: batch.inputs.slice(a, b), targets: batch.targets.slice(a, b), mask: batch.mask.slice(a, b) });
    row += rows;
  }
  return out;
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
  if (!replica) throw new ConfigError('DataParallelGradients: the model is not a Tower; pass replica: { kind: "module", module, export } (a factory building the same model in a worker)');
  if (replica.kind === 'module' && (typeof replica.module !== 'string' || replica.module === '' || replica.module.startsWith('.'))) {
    throw new ConfigError(`replica.module must be an absolute path, a file: URL or a package name, got "${String(replica.module)}"`);
  }
  if (info.backend === 'tensorflow') {
    return { workers: 0, requested, backend: info.backend, replica, timeoutMs, ...(requested > 0 ? { note: 'the tensorflow backend already uses every core; training runs in-process' } : {}) };
  }
  return { workers: requested, requested, backend: info.backend, replica, timeoutMs };
}

/** The built worker script next to this module (dist/), or the package's dist/ when run from src/. */
export function workerScriptPath(): string {
  const here = fileURLToPath(import.meta.url);
  const cjs = here.endsWith('.cjs');
  const fromSource = here.endsWith('.ts');
  const file = fromSource ? new URL('../../dist/worker.js', import.meta.url) : new URL(cjs ? './worker.cjs' : './worker.js', import.meta.url);
  return fileURLToPath(file);
}

/**
 * The parent's Node flags minus those a worker rejects: a worker inherits `process.execArgv`,
 * and e.g. `node --input-type=module -e ...` made every worker crash at start ("--input-type can
 * only be used with string input"; found by tools/pack-check.mjs).
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--input-type') {
      i++; // and its value
      continue;
    }
    if (a.startsWith('--input-type=')) continue;
    out.push(a);
  }
  return out;
}

let staleChecked = false;

/**
 * From the sources only: warns once when a file under src/ is newer than the built worker, whose
 * engine would then differ from the main thread's (the fix is a rebuild).
 */
function warnIfStale(script: string): void {
  if (staleChecked || !fileURLToPath(import.meta.url).endsWith('.ts')) return;
  staleChecked = true;
  const built = statSync(script).mtimeMs;
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const newer = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const hit = e.isDirectory() ? newer(p) : /\.(ts|c)$/.test(e.name) && statSync(p).mtimeMs > built ? p : undefined;
      if (hit) return hit;
    }
    return undefined;
  };
  const hit = newer(src);
  if (hit) process.emitWarning(`${path.relative(src, hit)} is newer than the built data-parallel worker ${script}; the workers run the built engine: npx turbo run build`, 'ZipperStaleWorker');
}

interface Slot {
  readonly worker: Worker;
  readonly grads: SharedArrayBuffer;
  ready: Promise<void>;
  /** Set once the worker has exited or failed to start. */
  dead?: string;
  /** The pending step's settle functions. */
  pending?: { id: number; resolve: (r: Extract<WorkerReply, { type: 'done' }>) => void; reject: (e: Error) => void };
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
  private readonly params: SharedArrayBuffer;
  private readonly slots: (Slot | undefined)[];
  private readonly exits = new Set<Promise<void>>();
  private nextId = 1;
  private busy = false;
  private disposed = false;

  constructor(model: TrainableParams | TrainableModel, options: DataParallelOptions<B> = {}) {
    this.config = resolveDataParallelConfig(model, options);
    this.model = model;
    this.options = options;
    if (!options.local && typeof (model as TrainableModel).forward !== 'function') {
      throw new ConfigError('DataParallelGradients: the model has no forward(ids); pass local: a GradientStrategy for the main thread shard');
    }
    this.local = options.local ?? (new InProcessGradients(model as TrainableModel) as unknown as GradientStrategy<B>);
    this.split = options.split ?? ((batch: B, parts: number) => {
      if (!isBatch(batch)) throw new ShapeError('this batch is not a single-stream Batch; pass DataParallelOptions.split to shard it');
      return splitBatchRows(batch, parts) as unknown as B[];
    });
    this.layout = layoutOf(model.params);
    this.params = new SharedArrayBuffer(this.config.workers > 0 ? this.layout.total * 4 : 0);
    this.slots = Array.from({ length: this.config.workers }, () => undefined);
    if (this.config.workers > 0) {
      if (!existsSync(workerScriptPath())) throw new ConfigError(`data-parallel worker script not found at ${workerScriptPath()}; build @zipper/core first: npx turbo run build`);
      warnIfStale(workerScriptPath());
    }
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
    await Promise.all(this.slots.map((_, i) => this.slotAt(i).ready));
  }

  async computeGradients(batch: B, context: GradientContext): Promise<GradientResult> {
    if (this.disposed) throw new ConfigError('this DataParallelGradients was disposed; create a new one');
    if (this.busy) throw new ConfigError('computeGradients is already running on this DataParallelGradients; await each call before the next');
    if (this.config.workers === 0) return this.local.computeGradients(batch, context);
    this.busy = true;
    try {
      return await this.parallelStep(batch, context);
    } finally {
      this.busy = false;
      for (const s of this.slots) s?.worker.unref();
    }
  }

  private async parallelStep(batch: B, context: GradientContext): Promise<GradientResult> {
    const shards = this.split(batch, this.config.workers + 1);
    if (shards.length === 0) throw new ShapeError('split returned no shard');
    const t0 = performance.now();
    const slots = shards.slice(1).map((_, i) => this.slotAt(i));
    for (const s of slots) s.worker.ref();
    await Promise.all(slots.map((s) => s.ready));
    this.writeParams();
    const replies = slots.map((s, i) => this.post(s, i + 1, { type: 'step', id: this.nextId++, batch: shards[i + 1]!, trainable: context.trainable, denominator: context.denominator, ...(context.denominators ? { denominators: context.denominators } : {}) }));
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
    const done = results.map((r) => (r as PromiseFulfilledResult<Extract<WorkerReply, { type: 'done' }>>).value);
    const out = this.reduce(mine, slots, done, context.trainable);
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

  /** Every parameter value into the shared buffer, in layout order. */
  private writeParams(): void {
    const view = new Float32Array(this.params);
    this.layout.keys.forEach((k, i) => {
      const v = this.model.params.get(k);
      if (!v || v.size !== sizeOf(this.layout.shapes[i]!)) throw new ShapeError(`parameter "${k}" is missing or changed shape since DataParallelGradients was created`);
      readInto(v, view, this.layout.offsets[i]!);
    });
  }

  /** Main shard + worker 1 + worker 2 ..., in that order; disposes `mine`. */
  private reduce(mine: GradientResult, slots: readonly Slot[], done: readonly Extract<WorkerReply, { type: 'done' }>[], trainable: readonly string[]): GradientResult {
    const losses = done.map((d) => d.loss);
    const streams = mine.streams && addCounts([mine.streams, ...done.map((d) => d.streams ?? {})]);
    const index = new Map(this.layout.keys.map((k, i) => [k, i]));
    const grads = new Map<string, tf.Tensor>();
    let loss: tf.Scalar | undefined;
    try {
      tf.tidy(() => {
        let l: tf.Scalar = mine.loss;
        for (const x of losses) l = tf.add(l, tf.scalar(x, 'float32'));
        loss = tf.keep(l === mine.loss ? tf.clone(l) : l);
        for (const k of trainable) {
          const i = index.get(k);
          const own = mine.grads.get(k);
          if (i === undefined || !own) throw new ShapeError(`no gradient for "${k}" in the main shard's result`);
          const o = this.layout.offsets[i]!;
          const shape = [...this.layout.shapes[i]!];
          let g: tf.Tensor = own;
          // tensorFrom copies: the tensor never aliases memory a worker writes next step.
          for (const s of slots) g = tf.add(g, tensorFrom(new Float32Array(s.grads, o * 4, sizeOf(shape)), shape));
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

  private post(slot: Slot, index: number, cmd: StepCommand<B>): Promise<Extract<WorkerReply, { type: 'done' }>> {
    return new Promise((resolve, reject) => {
      if (slot.dead) return reject(new DataParallelWorkerError(`data-parallel worker ${index} is not running (${slot.dead})`, index));
      let timer: ReturnType<typeof setTimeout> | undefined;
      slot.pending = {
        id: cmd.id,
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      if (Number.isFinite(this.config.timeoutMs)) {
        timer = setTimeout(() => {
          const p = slot.pending;
          if (p?.id !== cmd.id) return;
          slot.dead ??= `did not answer within ${this.config.timeoutMs} ms and was stopped`;
          slot.pending = undefined;
          p.reject(new DataParallelWorkerError(`data-parallel worker ${index} ${slot.dead}`, index));
          void slot.worker.terminate();
        }, this.config.timeoutMs);
        timer.unref();
      }
      try {
        slot.worker.postMessage(cmd);
      } catch (e) {
        const p = slot.pending;
        slot.pending = undefined;
        p.reject(new DataParallelWorkerError(`data-parallel worker ${index}: could not send its shard (${(e as Error).message})`, index));
      }
    });
  }

  /** The worker of slot i, started if it is not running. */
  private slotAt(i: number): Slot {
    const existing = this.slots[i];
    if (existing && !existing.dead) return existing;
    const index = i + 1;
    const data: WorkerInit = {
      index,
      replica: this.config.replica,
      backend: this.config.backend,
      layout: this.layout,
      params: this.params,
      grads: existing?.grads ?? new SharedArrayBuffer(this.layout.total * 4),
    };
    const worker = new Worker(workerScriptPath(), { workerData: data, execArgv: workerExecArgv() });
    worker.unref();
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    const slot: Slot = {
      worker,
      grads: data.grads,
      ready: new Promise<void>((res, rej) => {
        onReady = res;
        onFail = rej;
      }),
    };
    slot.ready.catch(() => undefined); // observed by the step that awaits it
    let started = false;
    const fail = (why: string): void => {
      slot.dead ??= why;
      const err = new DataParallelWorkerError(`data-parallel worker ${index} ${why}`, index);
      if (!started) onFail(err);
      const p = slot.pending;
      slot.pending = undefined;
      p?.reject(err);
    };
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') {
        const problem = this.layoutProblem(m.keys, m.shapes);
        if (problem) {
          fail(`built a replica that does not match the model: ${problem}`);
          void worker.terminate();
          return;
        }
        started = true;
        onReady();
      } else if (m.type === 'error' && m.id === null) {
        fail(`could not start: ${m.message}`);
      } else {
        const p = slot.pending;
        if (!p || p.id !== m.id) return;
        slot.pending = undefined;
        if (m.type === 'done') p.resolve(m);
        else p.reject(new DataParallelWorkerError(`data-parallel worker ${index} failed: ${m.message}`, index));
      }
    });
    worker.on('error', (e) => fail(`crashed: ${e.message}`));
    worker.on('messageerror', (e) => fail(`sent an unreadable message: ${e.message}`));
    this.exits.add(
      new Promise<void>((res) =>
        worker.once('exit', (code) => {
          fail(this.disposed ? 'was disposed' : `exited with code ${code}`);
          res();
        }),
      ),
    );
    this.slots[i] = slot;
    return slot;
  }

  /** The replica's keys and shapes against the model's (keys.ts); undefined when they match. */
  private layoutProblem(keys: readonly string[], shapes: readonly (readonly number[])[]): string | undefined {
    const mine = new Map(this.layout.keys.map((k, i) => [k, this.layout.shapes[i]!]));
    const problems = keySetProblems(mine, new Map(keys.map((k, i) => [k, shapes[i]!])));
    return problems.length > 0 ? problems.join('; ') : undefined;
  }

  /** Terminates the workers (the main model is not touched). `closed()` resolves once they have exited. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.slots) if (s && !s.dead) void s.worker.terminate();
  }

  /** Resolves when every worker started so far has exited. */
  async closed(): Promise<void> {
    await Promise.all(this.exits);
  }
}

function disposeResult(r: GradientResult): void {
  r.loss.dispose();
  for (const g of r.grads.values()) g.dispose();
}
