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
 * If anything fails, the caller falls back to the single-threaded build.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

const require_ = createRequire(import.meta.url);

const WORKER_PREFIX = '"use strict";var Module={}';
const FACTORY_PREFIX = 'var WasmBackendModuleThreadedSimd';

interface PThreadWorker {
  unref(): void;
}
interface EmscriptenModule {
  PThread?: { runningWorkers: PThreadWorker[]; unusedWorkers: PThreadWorker[] };
}

/** Most threads the backend's pool accepts (its own clamp). */
export const MAX_WASM_THREADS = 4;

/**
 * Initializes the wasm backend with its threaded build and `threads` XNNPACK threads (1..4).
 * Must run before anything else initializes the wasm backend. Resolves to whether
 * `setBackend` succeeded.
 */
export async function enableWasmThreads(threads: number, setBackend: () => Promise<boolean>): Promise<boolean> {
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
  try {
    const ok = await setBackend();
    const module = (tf.backend() as unknown as { wasm?: EmscriptenModule }).wasm;
    const pool = module?.PThread;
    if (pool) for (const w of [...pool.runningWorkers, ...pool.unusedWorkers]) w.unref();
    return ok;
  } finally {
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreate;
    nodeOs.cpus = realCpus;
  }
}
