// worker-memory.ts: copies between tensors and shared memory; a written variable gets a new
// tensor (XNNPACK caches packed weights per tensor id) and no other tensor changes with it.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { readInto, tensorFrom, writeVariable } from '../src/parallel/worker-memory.js';

beforeAll(async () => {
  await initBackend();
});

describe('worker-memory', () => {
  it('reads a tensor into shared memory at an offset, and makes tensors that do not alias it', () => {
    const shared = new Float32Array(new SharedArrayBuffer(4 * 9));
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    readInto(t, shared, 2);
    expect([...shared]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 0]);
    const copy = tensorFrom(shared.subarray(2, 8), [3, 2]);
    shared.fill(9);
    expect([...copy.dataSync()]).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([t, copy]);
  });

  it('writes a variable as a new tensor, leaving tensors that shared its data unchanged', () => {
    const before = tf.memory().numTensors;
    const init = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
    const v = tf.variable(init, true); // shares init's data
    const alias = tf.reshape(v, [7, 1]); // may share v's data (copy-free reshape)
    const id = v.dataId;
    const shared = new Float32Array(new SharedArrayBuffer(4 * 7));
    shared.set([7, 6, 5, 4, 3, 2, 1]);
    writeVariable(v, shared);
    shared.fill(0);
    expect(v.dataId).not.toBe(id);
    expect([...v.dataSync()]).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect([...init.dataSync()]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([...alias.dataSync()]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    tf.dispose([init, alias, v]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
