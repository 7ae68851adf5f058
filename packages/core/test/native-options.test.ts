/**
 * Configuration of the native GEMM (src/kernels/native.ts): ZIPPER_NATIVE / ZIPPER_NATIVE_THREADS
 * and the initBackend overrides resolve to what they say, bad values throw BackendError naming
 * the accepted range, and the package root (where native/prebuilt lives) is found from src/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../src/errors.js';
import { DEFAULT_NATIVE_THREADS, findPackageRoot, resolveNativeOptions } from '../src/kernels/native.js';

const core = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('native GEMM options', () => {
  it('defaults to on with DEFAULT_NATIVE_THREADS threads', () => {
    expect(resolveNativeOptions({}, {})).toEqual({ enabled: true, threads: DEFAULT_NATIVE_THREADS });
    expect(DEFAULT_NATIVE_THREADS).toBe(1);
  });

  it('reads ZIPPER_NATIVE and ZIPPER_NATIVE_THREADS; initBackend options win', () => {
    expect(resolveNativeOptions({}, { ZIPPER_NATIVE: '0' })).toEqual({ enabled: false, threads: 1 });
    expect(resolveNativeOptions({}, { ZIPPER_NATIVE: '1', ZIPPER_NATIVE_THREADS: '2' })).toEqual({ enabled: true, threads: 2 });
    expect(resolveNativeOptions({ native: true, nativeThreads: 3 }, { ZIPPER_NATIVE: '0', ZIPPER_NATIVE_THREADS: '2' })).toEqual({
      enabled: true,
      threads: 3,
    });
    expect(resolveNativeOptions({ native: false }, {})).toEqual({ enabled: false, threads: 1 });
  });

  it('rejects bad values with a BackendError that says what to use', () => {
    expect(() => resolveNativeOptions({}, { ZIPPER_NATIVE: 'yes' })).toThrow(BackendError);
    expect(() => resolveNativeOptions({}, { ZIPPER_NATIVE: 'yes' })).toThrow(/use 0 to turn the native GEMM off/);
    expect(() => resolveNativeOptions({}, { ZIPPER_NATIVE_THREADS: '0' })).toThrow(/ZIPPER_NATIVE_THREADS="0".*1 to 8/);
    expect(() => resolveNativeOptions({}, { ZIPPER_NATIVE_THREADS: '1.5' })).toThrow(BackendError);
    expect(() => resolveNativeOptions({ nativeThreads: 9 }, {})).toThrow(/nativeThreads=9.*1 to 8/);
  });

  it('finds the @zipper/core package root from its sources, and nothing above the filesystem root', () => {
    expect(findPackageRoot(path.join(core, 'src', 'kernels'))).toBe(core);
    expect(findPackageRoot(path.parse(core).root)).toBeUndefined();
  });
});
