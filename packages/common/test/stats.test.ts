import { describe, expect, it } from 'vitest';
import { mean, median, roundTo, ShapeError } from '../src/index.js';

describe('median', () => {
  it('middle value, or the mean of the two middle ones; input untouched', () => {
    const xs = [5, 1, 4];
    expect(median(xs)).toBe(4);
    expect(xs).toEqual([5, 1, 4]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([10, 2, 33])).toBe(10); // numeric, not lexicographic, order
    expect(() => median([])).toThrow(ShapeError);
  });

  it('mean, NaN for an empty list', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(mean([0.1, 0.2])).toBeCloseTo(0.15, 15);
    expect(mean([])).toBeNaN();
  });

  it('roundTo', () => {
    expect(roundTo(1.23456)).toBe(1.235);
    expect(roundTo(1.23456, 1)).toBe(1.2);
  });
});
