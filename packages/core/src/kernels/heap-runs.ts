/**
 * Run copies inside the wasm heap, shared by the Slice, Transpose and GatherV2 kernels. Input and
 * output of a wasm kernel are views of the same heap buffer, so a contiguous run is one
 * `copyWithin` on a whole-heap view instead of a `subarray` + `set` per run (heads-first
 * transpose of [8, 128, 4, 64]: 0.31 -> 0.17 ms; q slice of [8, 128, 768]: 0.22 -> 0.13 ms;
 * one-off script, medians of 31); runs shorter than 16 elements are copied element by element.
 */
export type HeapValues = Float32Array | Int32Array | Uint8Array;

/** A view of the whole buffer behind `v`, of the same element type. */
export function wholeHeap(v: HeapValues): HeapValues {
  const Ctor = v.constructor as new (buffer: ArrayBufferLike) => HeapValues;
  return new Ctor(v.buffer);
}

/** Element index of `v[0]` in its whole buffer. */
export function heapIndex(v: HeapValues): number {
  return v.byteOffset / v.BYTES_PER_ELEMENT;
}

/** Copies `run` elements of `heap` from index `from` to index `to`. */
export function copyRun(heap: HeapValues, from: number, to: number, run: number): void {
  if (run >= 16) heap.copyWithin(to, from, from + run);
  else for (let k = 0; k < run; k++) heap[to + k] = heap[from + k]!;
}
