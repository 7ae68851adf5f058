/**
 * Loader of the native GEMM addon (packages/core/native: gemm.c + addon.c, prebuilt binary in
 * native/prebuilt/<platform>-<arch>/zipper_gemm.node, shipped inside the npm package).
 *
 * The binary is found relative to the package root (the nearest folder upwards whose
 * package.json is named @zipper/core), so it loads both from src/ (vitest) and from dist/
 * (installed package). Only linux-x64 has a binary. Loading never throws: any failure leaves
 * the wasm kernels in charge and records why, for `initBackend()` and `zipper info`.
 *
 * Configuration (read by `initBackend`, which calls `configureNative`):
 *   ZIPPER_NATIVE=0               do not use the addon (default: use it when it loads)
 *   ZIPPER_NATIVE_THREADS=N       threads per product, 1..8 (default DEFAULT_NATIVE_THREADS)
 *   initBackend({ native, nativeThreads })   the same, overriding the environment
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendError } from '../errors.js';

/** The addon's exports (see native/addon.c). */
export interface NativeGemm {
  /** C[b] = op(A[b]) @ op(B[b]); sa / sb batch strides in floats, 0 = broadcast; C dense. */
  gemm(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    ta: number,
    tb: number,
    sa: number,
    sb: number,
  ): void;
  /**
   * One AdamW update (native/adamw.c): p1, m1, v1 from p, g, m, v (one length);
   * `scalars` = [b1c, b2, b2c, sqrtBc2, eps, negStep, keep, gscale], keep NaN for no weight
   * decay, gscale 1 for no gradient scaling.
   */
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    p1: Float32Array,
    m1: Float32Array,
    v1: Float32Array,
    scalars: Float32Array,
  ): void;
  /** The sum of x[i]^2 in double precision (native/sumsq.c), deterministic. */
  sumSquares(x: Float32Array): number;
  /** Micro-kernel in use: "avx512f", "avx2+fma" or "generic". */
  isa(): string;
  /** Forces a micro-kernel (tests); false if the CPU lacks it. */
  setIsa(name: string): boolean;
  threads(): number;
  /** Sets the threads per product (1..8); returns how many could be started. */
  setThreads(n: number): number;
}

/** Whether the native GEMM runs the wasm backend's BatchMatMul, and why not if it does not. */
export interface NativeInfo {
  readonly used: boolean;
  /** Why it is not used (empty when used). */
  readonly reason: string;
  readonly isa?: string;
  readonly threads: number;
  readonly path?: string;
}

export interface NativeOptions {
  /** false: never use the addon; true/undefined: use it when it loads. */
  readonly enabled: boolean;
  /** Threads per product, 1..MAX_NATIVE_THREADS. */
  readonly threads: number;
}

export const BINARY_NAME = 'zipper_gemm.node';
export const MAX_NATIVE_THREADS = 8;
/**
 * 1: the data-parallel trainer may run one engine per core, and two engines each splitting
 * products over 2 threads would oversubscribe this 2-core machine (DEVELOPERS.md, engine facts).
 */
export const DEFAULT_NATIVE_THREADS = 1;

const require_ = createRequire(import.meta.url);
let loaded: { module?: NativeGemm; path?: string; error?: string } | undefined;
let active: NativeGemm | undefined;
let info: NativeInfo | undefined;

/** The @zipper/core package root above `from`, or undefined. */
export function findPackageRoot(from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    try {
      if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === '@zipper/core') return dir;
    } catch {
      // no (readable) package.json here
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Path of the prebuilt binary for this platform (whether or not it exists), or why there is none. */
export function nativeBinaryPath(): { path?: string; error?: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { error: `no prebuilt binary for ${process.platform}-${process.arch} (only linux-x64)` };
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  if (root === undefined) return { error: 'could not find the @zipper/core package root above this module' };
  return { path: path.join(root, 'native', 'prebuilt', `${process.platform}-${process.arch}`, BINARY_NAME) };
}

/** Loads the addon once (never throws); undefined if it cannot load. */
export function loadNativeGemm(): NativeGemm | undefined {
  if (loaded === undefined) {
    const where = nativeBinaryPath();
    if (where.path === undefined) loaded = { error: where.error! };
    else if (!fs.existsSync(where.path))
      loaded = { path: where.path, error: `${where.path} is missing; rebuild it with \`node packages/core/native/build.mjs\`` };
    else {
      try {
        loaded = { module: require_(where.path) as NativeGemm, path: where.path };
      } catch (e) {
        loaded = { path: where.path, error: `failed to load ${where.path}: ${(e as Error).message.split('\n')[0]}` };
      }
    }
  }
  return loaded.module;
}

/** Reads ZIPPER_NATIVE / ZIPPER_NATIVE_THREADS, then applies `override`; throws BackendError on bad values. */
export function resolveNativeOptions(
  override: { native?: boolean; nativeThreads?: number } = {},
  env: NodeJS.ProcessEnv = process.env,
): NativeOptions {
  const flag = env['ZIPPER_NATIVE'];
  if (flag !== undefined && flag !== '' && flag !== '0' && flag !== '1') {
    throw new BackendError(`ZIPPER_NATIVE="${flag}" is not 0 or 1; use 0 to turn the native GEMM off, 1 (or unset) to use it`);
  }
  const threads = override.nativeThreads ?? (env['ZIPPER_NATIVE_THREADS'] ? Number(env['ZIPPER_NATIVE_THREADS']) : DEFAULT_NATIVE_THREADS);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_NATIVE_THREADS) {
    const src =
      override.nativeThreads !== undefined
        ? `nativeThreads=${override.nativeThreads}`
        : `ZIPPER_NATIVE_THREADS="${env['ZIPPER_NATIVE_THREADS']}"`;
    throw new BackendError(`${src} is not a thread count; use an integer from 1 to ${MAX_NATIVE_THREADS}`);
  }
  return { enabled: override.native ?? flag !== '0', threads };
}

/** Turns the native BatchMatMul on or off for the wasm backend; returns what is in effect. */
export function configureNative(options: NativeOptions): NativeInfo {
  active = undefined;
  if (!options.enabled) {
    info = { used: false, reason: 'disabled (ZIPPER_NATIVE=0 or initBackend({ native: false }))', threads: 0 };
    return info;
  }
  const module = loadNativeGemm();
  if (module === undefined) {
    info = { used: false, reason: loaded!.error!, threads: 0, path: loaded!.path };
    return info;
  }
  const threads = module.setThreads(options.threads);
  active = module;
  info = { used: true, reason: '', isa: module.isa(), threads, path: loaded!.path };
  return info;
}

/** The addon if the wasm BatchMatMul should use it (configured from the environment on first call). */
export function nativeGemm(): NativeGemm | undefined {
  if (info === undefined) nativeInfo();
  return active;
}

/** What `configureNative` last decided (configuring from the environment if it never ran). */
export function nativeInfo(): NativeInfo {
  if (info === undefined) {
    try {
      configureNative(resolveNativeOptions());
    } catch (e) {
      info = { used: false, reason: (e as Error).message, threads: 0 };
    }
  }
  return info!;
}
