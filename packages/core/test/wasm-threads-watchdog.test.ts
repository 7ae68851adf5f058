/**
 * The watchdog of the threaded wasm start (src/parallel/wasm-threads.ts): an attempt whose
 * `setBackend` never settles is abandoned after `timeoutMs` and the threaded build is tried again;
 * when every attempt hangs, a BackendError names the timeout, and the patched globals are restored
 * either way. Runs in its own process (vitest forks per file): it owns the wasm backend's start.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../src/errors.js';
import { initBackend } from '../src/backend.js';
import { enableWasmThreads } from '../src/parallel/wasm-threads.js';

const never = () => new Promise<boolean>(() => {});

describe('threaded wasm start watchdog', () => {
  it('gives up with a BackendError naming the timeout when every attempt hangs, and restores the globals', async () => {
    // cpu, so that wasm is not started yet.
    await initBackend({ backend: 'cpu' });
    const blob = globalThis.Blob;
    const create = URL.createObjectURL;
    const worker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
    const cpus = os.cpus().length;
    let calls = 0;
    const started = Date.now();
    const err = await enableWasmThreads(2, () => (calls++, never()), { timeoutMs: 50, attempts: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/did not start within 50 ms in 3 attempt/);
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(globalThis.Blob).toBe(blob);
    expect(URL.createObjectURL).toBe(create);
    expect(Object.getOwnPropertyDescriptor(globalThis, 'Worker')).toEqual(worker);
    expect(os.cpus().length).toBe(cpus);
    expect(tf.findBackendFactory('wasm')).toBeTypeOf('function');
  });

  it('abandons a hung start and starts the threaded build on the next attempt', async () => {
    wasm.setWasmPaths(wasmDist());
    let calls = 0;
    // Attempt 1 starts a real init but reports nothing (as a lost "loaded" message would);
    // attempt 2 is the normal start. The abandoned init may finish later: it must not win.
    // 10 s per attempt: alone a start takes well under 1 s, but in the full suite on 2 cores,
    // beside the abandoned init's 8 workers and another test file, 3 s was once too short for
    // attempt 2 (CI of 28f91c0).
    const ok = await enableWasmThreads(
      2,
      () => {
        calls++;
        if (calls === 1) {
          void tf.setBackend('wasm');
          return never();
        }
        return tf.setBackend('wasm');
      },
      { timeoutMs: 10_000, attempts: 2 },
    );
    expect(ok).toBe(true);
    expect(calls).toBe(2);
    expect(tf.getBackend()).toBe('wasm');
    expect(wasm.getThreadsCount()).toBe(2);
    const backend = tf.backend();
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    expect(Array.from(tf.matMul(a, a).dataSync())).toEqual([7, 10, 15, 22]);
    a.dispose();
    await new Promise((r) => setTimeout(r, 2000));
    expect(tf.backend()).toBe(backend);
  });
});

function wasmDist(): string {
  const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(pkg), 'dist') + path.sep;
}
