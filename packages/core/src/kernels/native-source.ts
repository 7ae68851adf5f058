/**
 * Where the native addon comes from, for every kernel that uses it (the GEMM of batch-matmul.ts,
 * AdamW of adamw.ts, the sum of squares of sum-squares.ts). Node's backend.ts installs
 * kernels/native.ts's `nativeGemm` once; these modules stay free of Node built-ins (the browser
 * bundles them), and with no source installed they take their wasm or TF.js paths.
 */
import type { NativeGemm } from './native.js';

let source: () => NativeGemm | undefined = () => undefined;

/** Installs the addon's loader (Node's backend.ts); `() => undefined` turns the native paths off. */
export function setNativeSource(next: () => NativeGemm | undefined): void {
  source = next;
}

/** The addon when it is loaded and in use, else undefined. */
export function nativeAddon(): NativeGemm | undefined {
  return source();
}
