/**
 * Turns on the multi-threaded build of tfjs-backend-wasm under Node.
 *
 * tfjs-backend-wasm 4.22 ships `tfjs-backend-wasm-threaded-simd.wasm` but never uses it in Node:
 * its `WASM_HAS_MULTITHREAD_SUPPORT` flag returns false when `IS_NODE` (tfjs issue #3830). The
 * threaded Emscripten module itself runs fine on `worker_threads`; what breaks is only how the
 * backend hands it its scripts: as `Blob` object URLs, which Node workers cannot load. So, for the
 * duration of the backend's initialization only, this module:
 *  1. sets `WASM_HAS_MULTITHREAD_SUPPORT` to true;
 *  2. records the text of the two Blobs the backend builds (the pthread worker script and the
 *     Emscripten factory) and makes `URL.createObjectURL` return real files holding them in a
 *     private temp dir (removed at process exit); the worker script gets a short prelude that
 *     defines the bundle-local names the factory's source refers to (`require$$0` = fs, ...);
 *  3. makes `os.cpus()` report 2N cores: the backend sizes its XNNPACK thread pool as
 *     clamp(cpus / 2, 1, 4) when the module loads and ignores `setThreadsCount`.
 * Everything is restored before `enableWasmThreads` returns. Afterwards the pthread workers are
 * `unref`ed so they do not keep the process alive once the main thread is done.
 *
 * Watchdog: the Emscripten module resolves only once all 8 of its pthread workers report
 * "loaded"; a worker that never does leaves `setBackend` pending forever (seen once in CI: a
 * test waited 180 s). So each attempt gets `timeoutMs`; on timeout the pending backend is
 * abandoned (`removeBackend`, factory re-registered, its workers `unref`ed, not terminated: should
 * the abandoned init still finish, its thread pool must be able to start) and the threaded build
 * is tried again, `attempts` times in all. Then `enableWasmThreads` throws a BackendError that
 * says so, and the caller falls back to the single-threaded build.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '../errors.js';

const require_ = createRequire(import.meta.url);

const WORKER_PREFIX = '"use strict";var Module={}';
const FACTORY_PREFIX = 'var WasmBackendModuleThreadedSimd';

interface PThreadWorker {
  unref(): void;
}
type WorkerClass = new (...args: unknown[]) => PThreadWorker;
interface EmscriptenModule {
  PThread?: { runningWorkers: PThreadWorker[]; unusedWorkers: PThreadWorker[] };
}

/** Most threads the backend's pool accepts (its own clamp). */
export const MAX_WASM_THREADS = 4;

/** How long one attempt to start the threaded build may take (it takes well under 1 s here). */
export const WASM_THREADS_TIMEOUT_MS = 30_000;

export interface WasmThreadsOptions {
  /** Per attempt; default WASM_THREADS_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Attempts before giving up; default 2. */
  readonly attempts?: number;
}

/**
 * Records the Workers the Emscripten factory creates: it assigns `globalThis.Worker` (Node's
 * worker_threads class) and then calls `new Worker(...)` for its pool. Returns the restore function.
 */
function trackWorkers(created: PThreadWorker[]): () => void {
  const before = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  let Real = (globalThis as { Worker?: WorkerClass }).Worker;
  function Tracking(...args: unknown[]): PThreadWorker {
    if (!Real) throw new BackendError('no Worker class to start the wasm pthread pool with');
    const worker = new Real(...args);
    created.push(worker);
    return worker;
  }
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    enumerable: true,
    get: () => (Real ? Tracking : undefined),
    set: (w: WorkerClass) => {
      Real = w;
    },
  });
  return () => {
    if (Real && Real !== before?.value)
      Object.defineProperty(globalThis, 'Worker', { value: Real, writable: true, configurable: true, enumerable: true });
    else if (before) Object.defineProperty(globalThis, 'Worker', before);
    else delete (globalThis as { Worker?: unknown }).Worker;
  };
}

/** Resolves to `'timeout'` after `ms` unless `promise` settles first (its rejection propagates). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Initializes the wasm backend with its threaded build and `threads` XNNPACK threads (1..4).
 * Must run before anything else initializes the wasm backend. Resolves to whether
 * `setBackend` succeeded.
 */
export async function enableWasmThreads(
  threads: number,
  setBackend: () => Promise<boolean>,
  options: WasmThreadsOptions = {},
): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? WASM_THREADS_TIMEOUT_MS;
  const attempts = options.attempts ?? 2;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zipper-wasm-threads-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const factoryPath = path.join(dir, 'factory.js');
  const workerPath = path.join(dir, 'worker.js');
  const prelude =
    "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os');" +
    'Object.assign(globalThis,{require$$0,require$$1,require$$3,require$$4,commonjsGlobal:globalThis});' +
    `URL.createObjectURL=()=>${JSON.stringify(factoryPath)};URL.revokeObjectURL=()=>{};\n`;

  const RealBlob = globalThis.Blob;
  const realCreate = URL.createObjectURL;
  const nodeOs = require_('os') as typeof os;
  const realCpus = nodeOs.cpus;
  const texts = new WeakMap<Blob, string>();
  class RecordingBlob extends RealBlob {
    constructor(parts: ConstructorParameters<typeof Blob>[0] = [], options?: ConstructorParameters<typeof Blob>[1]) {
      super(parts, options);
      if (parts.every((p) => typeof p === 'string')) {
        const text = (parts as string[]).join('');
        texts.set(this, text);
        if (text.startsWith(FACTORY_PREFIX)) writeFileSync(factoryPath, text);
      }
    }
  }
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob): string => {
    const text = obj instanceof RealBlob ? texts.get(obj) : undefined;
    if (text?.startsWith(WORKER_PREFIX)) {
      writeFileSync(workerPath, prelude + text);
      return workerPath;
    }
    return realCreate(obj);
  };
  const one = realCpus()[0]!;
  nodeOs.cpus = () => Array.from({ length: 2 * threads }, () => one);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  const factory = tf.findBackendFactory('wasm');
  const priority = tf.engine().registryFactory['wasm']?.priority ?? 2;
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const created: PThreadWorker[] = [];
      const restoreWorker = trackWorkers(created);
      let outcome: boolean | 'timeout';
      try {
        outcome = await within(setBackend(), timeoutMs);
      } finally {
        restoreWorker();
      }
      if (outcome !== 'timeout') {
        const module = (tf.backend() as unknown as { wasm?: EmscriptenModule }).wasm;
        const pool = module?.PThread;
        if (pool) for (const w of [...pool.runningWorkers, ...pool.unusedWorkers]) w.unref();
        return outcome;
      }
      for (const w of created) w.unref();
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', factory, priority);
    }
    throw new BackendError(
      `the threaded wasm build did not start within ${timeoutMs} ms in ${attempts} attempt(s) (its pthread workers did not all report "loaded")`,
    );
  } finally {
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreate;
    nodeOs.cpus = realCpus;
  }
}
