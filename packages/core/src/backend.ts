/**
 * Run-time choice of the TensorFlow.js backend.
 *
 * Order: `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node` (optional peers, used when
 * installed, never required), then the embedded default `wasm`, then `cpu`.
 * `ZIPPER_BACKEND=tensorflow|wasm|cpu` (or `initBackend({ backend })`) overrides the order.
 *
 * wasm threads: `ZIPPER_THREADS=N` (or `initBackend({ threads: N })`, N in 1..4) runs the wasm
 * backend's multi-threaded build with N XNNPACK threads (see parallel/wasm-threads.ts; TF.js
 * itself never enables it under Node). Default: DEFAULT_WASM_THREADS. If the threaded build
 * fails to start (see the watchdog in parallel/wasm-threads.ts), the single-threaded build is used,
 * `threads` reports 1 and a process warning says why.
 *
 * Native GEMM (wasm backend only): float32 BatchMatMul runs in the prebuilt addon when it loads
 * (kernels/native.ts); `ZIPPER_NATIVE=0` / `initBackend({ native: false })` turns it off,
 * `ZIPPER_NATIVE_THREADS=N` / `initBackend({ nativeThreads: N })` sets its threads per product.
 * `native` in the result says whether it is used and why not.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from './errors.js';
import { setNativeSource } from './kernels/native-source.js';
import { configureNative, nativeGemm, resolveNativeOptions, type NativeInfo, type NativeOptions } from './kernels/native.js';
import { registerWasmKernels } from './kernels/register.js';
import { enableWasmThreads, MAX_WASM_THREADS } from './parallel/wasm-threads.js';

export type { NativeInfo } from './kernels/native.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  readonly backend: BackendName;
  /** Which package provides it: `@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-node`, `@tensorflow/tfjs-backend-wasm`, ... */
  readonly provider: string;
  /** Threads the backend's kernels use (wasm: 1 unless its thread pool is up). */
  readonly threads: number;
  readonly simd: boolean;
  readonly versions: Readonly<Record<string, string>>;
  /** Whether the native GEMM addon runs the wasm backend's BatchMatMul (and why not). */
  readonly native: NativeInfo;
}

const require_ = createRequire(import.meta.url);
let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

function tryRequire(name: string): boolean {
  try {
    require_(name);
    return true;
  } catch {
    return false;
  }
}

function versionOf(name: string): string | undefined {
  try {
    return (require_(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node };
  for (const n of [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
  ]) {
    const v = versionOf(n);
    if (v) out[n] = v;
  }
  return out;
}

function parseEnv(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new BackendError(`ZIPPER_BACKEND="${value}" is not a backend; use one of ${BACKEND_NAMES.join(', ')}`);
}

async function useTensorflow(): Promise<string | undefined> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (tryRequire(pkg) && tf.findBackendFactory('tensorflow') !== null && (await tf.setBackend('tensorflow'))) return pkg;
  }
  return undefined;
}

/** wasm threads when neither ZIPPER_THREADS nor `initBackend({ threads })` says otherwise. */
export const DEFAULT_WASM_THREADS = 1;

function parseThreads(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new BackendError(`ZIPPER_THREADS="${value}" is not a thread count; use an integer from 1 to ${MAX_WASM_THREADS}`);
  }
  return n;
}

async function useWasm(threads: number): Promise<boolean> {
  const dist = path.dirname(require_.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  wasm.setWasmPaths(path.join(dist, 'dist') + path.sep);
  setNativeSource(nativeGemm);
  registerWasmKernels();
  if (threads > 1 && tf.engine().registry['wasm'] === undefined) {
    try {
      if (await enableWasmThreads(threads, () => tf.setBackend('wasm'))) return true;
    } catch (e) {
      // fall through to the single-threaded build, and say why (the info reports threads: 1)
      process.emitWarning(`zipper: wasm threads unavailable, using the single-threaded build: ${(e as Error).message}`);
    }
    if (tf.engine().registry['wasm'] !== undefined) return tf.setBackend('wasm');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  return tf.setBackend('wasm');
}

function notWasm(backend: BackendName): NativeInfo {
  return { used: false, reason: `the backend is ${backend}, not wasm`, threads: 0 };
}

async function select(wanted: BackendName | undefined, threads: number, native: NativeOptions): Promise<BackendInfo> {
  const order: BackendName[] = wanted ? [wanted] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    if (name === 'tensorflow') {
      const provider = await useTensorflow();
      if (provider) return { backend: 'tensorflow', provider, threads: 0, simd: true, versions: versions(), native: notWasm('tensorflow') };
      if (wanted) {
        throw new BackendError(
          'backend "tensorflow" requested but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed; `npm i @tensorflow/tfjs-node@4.22.0` (or -gpu for CUDA), or use ZIPPER_BACKEND=wasm',
        );
      }
    } else if (name === 'wasm') {
      const nativeInfo = configureNative(native);
      if (await useWasm(threads)) {
        const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
        return {
          backend: 'wasm',
          provider: '@tensorflow/tfjs-backend-wasm',
          threads: wasmThreads(),
          simd,
          versions: versions(),
          native: nativeInfo,
        };
      }
      if (wanted)
        throw new BackendError(
          'backend "wasm" failed to initialize; check that @tensorflow/tfjs-backend-wasm is installed with its dist/*.wasm files',
        );
    } else {
      await tf.setBackend('cpu');
      return {
        backend: 'cpu',
        provider: '@tensorflow/tfjs-backend-cpu',
        threads: 1,
        simd: false,
        versions: versions(),
        native: notWasm('cpu'),
      };
    }
  }
  throw new BackendError('no TensorFlow.js backend could be initialized');
}

function wasmThreads(): number {
  try {
    return wasm.getThreadsCount();
  } catch {
    return 1;
  }
}

/**
 * Initialize the backend once per process (later calls return the same info unless
 * `backend` names a different one). Call before any tensor work.
 */
export async function initBackend(
  options: { backend?: BackendName; threads?: number; native?: boolean; nativeThreads?: number } = {},
): Promise<BackendInfo> {
  const wanted = options.backend ?? parseEnv(process.env['ZIPPER_BACKEND']);
  const native = resolveNativeOptions(options);
  const threads =
    options.threads !== undefined
      ? (parseThreads(String(options.threads)) ?? DEFAULT_WASM_THREADS)
      : (parseThreads(process.env['ZIPPER_THREADS']) ?? DEFAULT_WASM_THREADS);
  if (current && (!wanted || wanted === current.backend) && tf.getBackend() === current.backend) {
    // Native GEMM options may change after initialization (e.g. to compare native on and off).
    if (current.backend === 'wasm' && (options.native !== undefined || options.nativeThreads !== undefined))
      current = { ...current, native: configureNative(native) };
    return current;
  }
  if (pending && !options.backend) return pending;
  pending = select(wanted, threads, native).then((info) => {
    current = info;
    return info;
  });
  try {
    return await pending;
  } finally {
    pending = undefined;
  }
}

/** The info of the initialized backend, or undefined before `initBackend`. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** Tensors alive in the TF.js engine (for leak checks by callers without their own tfjs import). */
export function liveTensorCount(): number {
  return tf.memory().numTensors;
}
