/**
 * An error rate: errors over reference tokens. With no reference token the rate is 0 when there
 * is no error and +-Infinity otherwise (sclite prints the insertion count then); a negative
 * `errors` (a difference of two systems' errors, bootstrap.ts) gives -Infinity.
 * Internal to the package: wer.ts and bootstrap.ts share it; not exported from the index.
 */
export function errorRate(errors: number, n: number): number {
  return n > 0 ? errors / n : errors === 0 ? 0 : errors > 0 ? Infinity : -Infinity;
}
