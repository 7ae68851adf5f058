/** Small statistics shared by the benchmarks and reports. */
import { ShapeError } from './errors.js';

/** The median (mean of the two middle values for an even count). Throws on an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new ShapeError('median of an empty list: measure at least once');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The arithmetic mean; NaN for an empty list (a table cell with nothing measured). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** `x` rounded to `digits` decimals (default 3), as a number. */
export function roundTo(x: number, digits = 3): number {
  return Number(x.toFixed(digits));
}
