import { describe, expect, it } from 'vitest';
import { showValue } from '../src/index.js';

describe('showValue', () => {
  it('spells a value as JSON does, naming strings, arrays and objects, so "64" is not mistaken for 64', () => {
    expect(showValue(64)).toBe('64');
    expect(showValue('64')).toBe('"64" (a string)');
    expect(showValue(null)).toBe('null');
    expect(showValue(true)).toBe('true');
    expect(showValue([1, 2])).toBe('[1,2] (an array)');
    expect(showValue({ a: 1 })).toBe('{"a":1} (an object)');
    expect(showValue(undefined)).toBe('nothing (the field is missing)');
    expect(showValue(NaN)).toBe('NaN');
    expect(showValue(-Infinity)).toBe('-Infinity');
    expect(showValue(7n)).toBe('7n');
  });

  it('cuts long values to 60 characters', () => {
    const s = showValue('x'.repeat(100));
    expect(s).toBe(`"${'x'.repeat(56)}... (a string)`);
    expect(s.length - ' (a string)'.length).toBe(60);
  });
});
