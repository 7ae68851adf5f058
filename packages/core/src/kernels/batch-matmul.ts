/**
 * `BatchMatMul` for the wasm backend.
 *
 * When the native GEMM addon is loaded (kernels/native.ts, native/gemm.c), every float32 product
 * (2-D or batched, any transpose flags, one side broadcast over the batch) runs natively,
 * reading the operands and writing the output in place on the wasm heap: the output is created
 * first (`makeOutput` may grow the heap, which detaches older views), then all three views are
 * taken. Works on the threaded build's SharedArrayBuffer heap too.
 *
 * Otherwise (ZIPPER_NATIVE=0, no binary for the platform, load failure), the wasm paths replace
 * tfjs-backend-wasm's kernel for the cases its C++ sends to a slow generic loop, and delegate the
 * rest to it:
 * - 2-D, no transpose flags: the original kernel (XNNPACK GEMM, the fast path).
 * - 2-D with a transpose flag: materialize the transposed operand with the backend's own
 *   Transpose kernel, then the original kernel without flags (XNNPACK); except fewer than
 *   FEW_ROWS rows times a transposed B (decode logits), which our kernel does as dot products.
 * - batched (rank >= 3 with more than one matrix), any flags: our SIMD kernel, bmm.c compiled
 *   to a small standalone wasm module (bmm/bmm-wasm.ts). Operands are copied from the TF.js
 *   heap into the module's memory, multiplied, and the result copied into a new output.
 *   Batch dims broadcast when one side has a single matrix.
 * Anything else (int32, mismatched batch dims) goes to the original kernel, which raises TF.js's
 * usual errors. Measured with `npx vite-node tools/bench/ops.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BMM_WASM_BASE64 } from './bmm/bmm-wasm.js';
import { nativeAddon } from './native-source.js';

/** Base64 -> bytes with `atob` (browsers and Node >= 16). */
function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type Bmm = (
  a: number,
  b: number,
  c: number,
  batch: number,
  m: number,
  k: number,
  n: number,
  ta: number,
  tb: number,
  sa: number,
  sb: number,
  pack: number,
) => void;

/** The slice of the WebAssembly JS API used here (the project's TS lib has no DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

class BmmModule {
  private readonly memory: WasmMemory;
  private readonly fn: Bmm;
  private readonly base: number;

  constructor() {
    const bytes = base64Bytes(BMM_WASM_BASE64);
    const instance = new WA.Instance(new WA.Module(bytes), {});
    const ex = instance.exports as { memory: WasmMemory; bmm: Bmm; __heap_base: { value: number } };
    this.memory = ex.memory;
    this.fn = ex.bmm;
    this.base = (ex.__heap_base.value + 15) & ~15;
  }

  /** Float32 view of `floats` floats at the start of the free heap, growing memory as needed. */
  heap(floats: number): Float32Array {
    const need = this.base + floats * 4;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / 65536));
    return new Float32Array(this.memory.buffer, this.base, floats);
  }

  run(
    a: Float32Array,
    b: Float32Array,
    batch: number,
    m: number,
    k: number,
    n: number,
    ta: boolean,
    tb: boolean,
    sa: number,
    sb: number,
  ): Float32Array {
    const cLen = batch * m * n;
    const heap = this.heap(a.length + b.length + cLen + m * k + k * n);
    heap.set(a, 0);
    heap.set(b, a.length);
    const p = this.base;
    const pc = p + (a.length + b.length) * 4;
    this.fn(p, p + a.length * 4, pc, batch, m, k, n, ta ? 1 : 0, tb ? 1 : 0, sa, sb, pc + cLen * 4);
    return heap.subarray(a.length + b.length, a.length + b.length + cLen);
  }
}

let module_: BmmModule | undefined;

/** Must equal FEW_ROWS in bmm.c. */
const FEW_ROWS = 4;

/** Wraps the wasm backend's original BatchMatMul kernel function. */
export function makeBatchMatMulWasm(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return original(args as never);
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    if (k !== kb) return original(args as never);
    const native = nativeAddon(); // native-source.ts: none means the wasm paths
    if (native !== undefined && (batchA === batchB || batchA === 1 || batchB === 1)) {
      const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      const batch = Math.max(batchA, batchB);
      if (tf.util.sizeFromShape(outer) === batch) {
        const out = backend.makeOutput([...outer, m, n], 'float32');
        native.gemm(
          backend.typedArrayFromHeap(a) as Float32Array,
          backend.typedArrayFromHeap(b) as Float32Array,
          backend.typedArrayFromHeap(out) as Float32Array,
          batch,
          m,
          n,
          k,
          transposeA ? 1 : 0,
          transposeB ? 1 : 0,
          batchA === 1 ? 0 : m * k,
          batchB === 1 ? 0 : k * n,
        );
        return out;
      }
    }
    if (batchA === 1 && batchB === 1) {
      if (!transposeA && !transposeB) return original(args as never);
      // Few rows against a transposed B (decode logits h @ table^T): our kernel's dot products
      // read B once; a transpose would copy all of B for a handful of rows.
      if (!(transposeB && m < FEW_ROWS)) return viaTranspose(original, backend, a, b, transposeA, transposeB);
    }
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return original(args as never);
    const batch = Math.max(batchA, batchB);
    const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (tf.util.sizeFromShape(outer) !== batch) return original(args as never);
    module_ ??= new BmmModule();
    const c = module_.run(
      backend.typedArrayFromHeap(a) as Float32Array,
      backend.typedArrayFromHeap(b) as Float32Array,
      batch,
      m,
      k,
      n,
      transposeA,
      transposeB,
      batchA === 1 ? 0 : m * k,
      batchB === 1 ? 0 : k * n,
    );
    const out = backend.makeOutput([...outer, m, n], 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).set(c);
    return out;
  }) as tf.KernelFunc;
}

/** 2-D (or single-matrix) product with flags: explicit transposes, then the XNNPACK path. */
function viaTranspose(
  original: tf.KernelFunc,
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
): tf.TensorInfo {
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const flip = (x: tf.TensorInfo): tf.TensorInfo => {
    const r = x.shape.length;
    const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
    return transpose({ inputs: { x }, backend, attrs: { perm } } as never) as tf.TensorInfo;
  };
  const a2 = ta ? flip(a) : a;
  const b2 = tb ? flip(b) : b;
  const out = original({ inputs: { a: a2, b: b2 }, backend, attrs: { transposeA: false, transposeB: false } } as never) as tf.TensorInfo;
  if (ta) backend.disposeData(a2.dataId);
  if (tb) backend.disposeData(b2.dataId);
  return out;
}
