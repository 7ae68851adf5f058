// generate() checks prompt ids before they reach an Int32Array (issue 9, reliability defect 5):
// 2^32 + 5 used to wrap to 5 and generate from it; 2^31 was reported as -2147483648.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, initBackend, ShapeError, TokenRangeError, Tower } from '../src/index.js';

let tower: Tower;
beforeAll(async () => {
  await initBackend();
  tower = Tower.create({ vocabSize: 11, dModel: 8, nLayers: 1, nHeads: 2, maxSeqLen: 16 }, { seed: 1 });
});
afterAll(() => tower.dispose());

describe('generate: prompt id range', () => {
  it('refuses ids outside [0, vocab) with the id as given, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    const cases: [number[] | number[][], string][] = [
      [[1, 2 ** 32 + 5], 'prompt[0][1] = 4294967301 is outside the vocabulary [0, 11)'],
      [[2 ** 31], 'prompt[0][0] = 2147483648 is outside the vocabulary [0, 11)'],
      [[3, -1], 'prompt[0][1] = -1 is outside the vocabulary [0, 11)'],
      [
        [
          [1, 2],
          [3, 11],
        ],
        'prompt[1][1] = 11 is outside the vocabulary [0, 11)',
      ],
      [[Number.MAX_SAFE_INTEGER + 2], 'prompt[0][0] = 9007199254740992 is outside the vocabulary [0, 11)'],
    ];
    for (const [prompt, message] of cases) {
      const err = await generate(tower, prompt, { maxNewTokens: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TokenRangeError);
      expect((err as Error).message).toContain(message);
    }
    await expect(generate(tower, [1.5], { maxNewTokens: 2 })).rejects.toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(before);
    // the last id of the vocabulary is fine, and 5 is not what 2^32 + 5 generates from any more
    const r = await generate(tower, [1, 10], { maxNewTokens: 3 });
    expect(r.tokens[0]).toHaveLength(3);
  });
});
