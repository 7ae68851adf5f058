/**
 * The data-parallel worker pool: N `worker_threads` workers, each building a replica of the
 * model (worker.ts), and the shared memory they exchange weights and gradients through
 * (worker-protocol.ts). It knows nothing of batches or losses: data-parallel.ts (the strategy)
 * splits a batch, hands each worker its shard through `dispatch`, and sums the gradients it finds
 * in `gradients(worker)`.
 *
 * Lifecycle of a worker:
 *  - started on first use (`acquire`), with the layout, the shared `params` buffer and its own
 *    shared `grads` region; it replies `ready` with its replica's keys and shapes, which must
 *    equal the model's (keys.ts), else it is stopped and the call fails;
 *  - a worker that throws in a step stays usable; one that dies, fails to start, or (with
 *    `timeoutMs`) does not answer in time is marked dead, its pending step fails, and it is
 *    started again on the next `acquire` (reusing its grads region);
 *  - workers are unreferenced while idle (they never keep the process alive); `dispose()`
 *    terminates them and `closed()` resolves once they have exited.
 * Every failure is a `DataParallelWorkerError` naming the worker (1-based; the main thread's
 * shard is 0).
 *
 * Legend: N workers.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../backend.js';
import { ConfigError, ShapeError, ZipperError } from '../errors.js';
import { keySetProblems } from '../model/keys.js';
import { readInto } from './worker-memory.js';
import { sizeOf, type ParamLayout, type ReplicaSpec, type StepCommand, type WorkerInit, type WorkerReply } from './worker-protocol.js';
import { warnIfStale, workerExecArgv, workerScriptPath } from './worker-script.js';

/** A data-parallel worker failed (threw in a step, could not build its replica, or died). */
export class DataParallelWorkerError extends ZipperError {
  constructor(
    message: string,
    /** 1-based worker number (the main thread's shard is 0). */
    readonly worker: number,
  ) {
    super(message);
  }
}

/** A worker's answer to a step. */
export type DoneReply = Extract<WorkerReply, { type: 'done' }>;

export interface WorkerPoolOptions {
  readonly workers: number;
  readonly replica: ReplicaSpec;
  readonly backend: BackendName;
  readonly layout: ParamLayout;
  /** A step not answered after this many ms stops its worker (Infinity = no limit). */
  readonly timeoutMs: number;
}

interface Slot {
  readonly worker: Worker;
  readonly grads: SharedArrayBuffer;
  ready: Promise<void>;
  /** Set once the worker has exited or failed to start. */
  dead?: string;
  /** The pending step's settle functions. */
  pending?: { id: number; resolve: (r: DoneReply) => void; reject: (e: Error) => void };
}

export class WorkerPool {
  readonly options: WorkerPoolOptions;
  /** Every parameter value, written by the main thread before each step (layout order). */
  private readonly params: SharedArrayBuffer;
  private readonly slots: (Slot | undefined)[];
  private readonly exits = new Set<Promise<void>>();
  private nextId = 1;
  private disposed = false;

  constructor(options: WorkerPoolOptions) {
    this.options = options;
    this.params = new SharedArrayBuffer(options.workers > 0 ? options.layout.total * 4 : 0);
    this.slots = Array.from({ length: options.workers }, () => undefined);
    if (options.workers > 0) {
      if (!existsSync(workerScriptPath()))
        throw new ConfigError(
          `data-parallel worker script not found at ${workerScriptPath()}; build @zipper/core first: npx turbo run build`,
        );
      warnIfStale(workerScriptPath());
    }
  }

  get size(): number {
    return this.slots.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Every worker started (or restarted); resolves when each has built its replica. */
  async start(): Promise<void> {
    if (this.disposed) throw new ConfigError('this data-parallel worker pool was disposed; create a new DataParallelGradients');
    await Promise.all(this.slots.map((_, i) => this.slotAt(i).ready));
  }

  /** Workers 1..n started (or restarted) and ready, and referenced until `release()`. */
  async acquire(n: number): Promise<void> {
    if (this.disposed) throw new ConfigError('this data-parallel worker pool was disposed; create a new DataParallelGradients');
    const slots = Array.from({ length: n }, (_, i) => this.slotAt(i));
    for (const s of slots) s.worker.ref();
    await Promise.all(slots.map((s) => s.ready));
  }

  /** Lets idle workers not keep the process alive. */
  release(): void {
    for (const s of this.slots) s?.worker.unref();
  }

  /** Every parameter value into the shared buffer, in layout order (call between steps). */
  writeParams(params: ReadonlyMap<string, tf.Variable>): void {
    const view = new Float32Array(this.params);
    const { keys, shapes, offsets } = this.options.layout;
    keys.forEach((k, i) => {
      const v = params.get(k);
      if (!v || v.size !== sizeOf(shapes[i]!))
        throw new ShapeError(`parameter "${k}" is missing or changed shape since DataParallelGradients was created`);
      readInto(v, view, offsets[i]!);
    });
  }

  /** Sends shard i to worker i + 1 (after `acquire(shards.length)`); one promise per worker, settled by its reply. */
  dispatch<B>(shards: readonly B[], step: Omit<StepCommand<B>, 'type' | 'id' | 'batch'>): Promise<DoneReply>[] {
    return shards.map((batch, i) => this.post(this.slots[i]!, i + 1, { type: 'step', id: this.nextId++, batch, ...step }));
  }

  /** Worker w's (1-based) gradient region, layout order; valid until its next step. */
  gradients(w: number): Float32Array {
    const slot = this.slots[w - 1];
    if (!slot) throw new ShapeError(`data-parallel worker ${w} was never started`);
    return new Float32Array(slot.grads);
  }

  private post<B>(slot: Slot, index: number, cmd: StepCommand<B>): Promise<DoneReply> {
    return new Promise((resolve, reject) => {
      if (slot.dead) return reject(new DataParallelWorkerError(`data-parallel worker ${index} is not running (${slot.dead})`, index));
      let timer: ReturnType<typeof setTimeout> | undefined;
      slot.pending = {
        id: cmd.id,
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      const { timeoutMs } = this.options;
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          const p = slot.pending;
          if (p?.id !== cmd.id) return;
          slot.dead ??= `did not answer within ${timeoutMs} ms and was stopped`;
          slot.pending = undefined;
          p.reject(new DataParallelWorkerError(`data-parallel worker ${index} ${slot.dead}`, index));
          void slot.worker.terminate();
        }, timeoutMs);
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
    const { layout, replica, backend } = this.options;
    const data: WorkerInit = {
      index,
      replica,
      backend,
      layout,
      params: this.params,
      grads: existing?.grads ?? new SharedArrayBuffer(layout.total * 4),
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
    slot.ready.catch(() => undefined); // observed by the acquire that awaits it
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
    const { layout } = this.options;
    const mine = new Map(layout.keys.map((k, i) => [k, layout.shapes[i]!]));
    const problems = keySetProblems(mine, new Map(keys.map((k, i) => [k, shapes[i]!])));
    return problems.length > 0 ? problems.join('; ') : undefined;
  }

  /** Terminates the workers. `closed()` resolves once they have exited. */
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
