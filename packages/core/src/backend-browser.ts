/**
 * The TensorFlow.js backend in a browser (the Node choice, with the native addon and worker
 * threads, is backend.ts). Order: `webgpu`, then `webgl` (when the page registered them by
 * importing `@tensorflow/tfjs-backend-webgpu` / `-webgl`; core depends on neither), then the
 * embedded `wasm` (with core's wasm kernels, kernels/register.ts), then `cpu`. A backend whose
 * initialization fails (no GPU adapter, no WebGL context) is skipped and recorded in `skipped`.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from './errors.js';
import { registerWasmKernels } from './kernels/register.js';

export type BrowserBackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BROWSER_BACKEND_ORDER: readonly BrowserBackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BrowserBackendInfo {
  readonly backend: BrowserBackendName;
  /** wasm: whether the SIMD build runs; other backends: false. */
  readonly simd: boolean;
  /** wasm: its thread count (1 unless the page is cross-origin isolated); others: 0. */
  readonly threads: number;
  /** Backends tried before this one and why each was skipped. */
  readonly skipped: readonly { readonly backend: BrowserBackendName; readonly reason: string }[];
  readonly versions: Readonly<Record<string, string>>;
}

export interface BrowserBackendOptions {
  /** Backends to try, in order (default BROWSER_BACKEND_ORDER); one name forces it. */
  readonly order?: readonly BrowserBackendName[];
  /**
   * Where the wasm backend's binaries are served: a directory URL ending in `/`, or a map from
   * file name (`tfjs-backend-wasm.wasm`, `-simd.wasm`, `-threaded-simd.wasm`) to URL (e.g.
   * bundler `?url` imports). Required for `wasm`.
   */
  readonly wasmPaths?: string | Readonly<Record<string, string>>;
}

async function tryBackend(name: BrowserBackendName, options: BrowserBackendOptions): Promise<string | undefined> {
  if (name === 'wasm') {
    if (options.wasmPaths === undefined) return 'no wasmPaths given (where the .wasm binaries are served)';
    wasm.setWasmPaths(options.wasmPaths as Parameters<typeof wasm.setWasmPaths>[0]);
    registerWasmKernels();
  } else if (tf.findBackendFactory(name) === null) {
    return name === 'cpu' ? 'not registered' : `not registered (the page imports no @tensorflow/tfjs-backend-${name})`;
  }
  try {
    if (await tf.setBackend(name)) return undefined;
    return 'failed to initialize';
  } catch (e) {
    return (e as Error).message;
  }
}

/** Picks and initializes the first backend of `order` that works here. */
export async function initBrowserBackend(options: BrowserBackendOptions = {}): Promise<BrowserBackendInfo> {
  const order = options.order ?? BROWSER_BACKEND_ORDER;
  const skipped: { backend: BrowserBackendName; reason: string }[] = [];
  for (const name of order) {
    if (!BROWSER_BACKEND_ORDER.includes(name))
      throw new BackendError(`"${String(name)}" is not a browser backend; use one of ${BROWSER_BACKEND_ORDER.join(', ')}`);
    const reason = await tryBackend(name, options);
    if (reason !== undefined) {
      skipped.push({ backend: name, reason });
      continue;
    }
    const isWasm = name === 'wasm';
    return {
      backend: name,
      simd: isWasm ? ((await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean) : false,
      threads: isWasm ? wasm.getThreadsCount() : 0,
      skipped,
      versions: { '@tensorflow/tfjs-core': tf.version_core, '@tensorflow/tfjs-backend-wasm': wasm.version_wasm },
    };
  }
  throw new BackendError(`no TensorFlow.js backend could be initialized: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
}
