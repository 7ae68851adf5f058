/**
 * The rows `rows` of a row-major [B, n] typed array (ids, global indices, masks, positions of a
 * batch), in that order, as a fresh array of the same kind [rows.length, n]. Internal to the package.
 */
export function pickRows<A extends Int32Array | Float32Array | Float64Array>(a: A, rows: readonly number[], n: number): A {
  const out = new (a.constructor as new (length: number) => A)(rows.length * n);
  rows.forEach((r, j) => out.set(a.subarray(r * n, (r + 1) * n), j * n));
  return out;
}
