// TaskMixture with per-task items (ASR on one rendering of an utterance, TTS on another): the
// n-th draw takes index i of its own task's items, the same index as without per-task items.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@zipper/core';
import { ASR, resolveZipperConfig, TaskMixture, TTS } from '../src/index.js';
import { setup } from './helpers.js';

const config = resolveZipperConfig({
  towers: [
    { name: 'text', config: { vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2 }, bos: 11, eos: 12 },
    { name: 'speech', config: { vocabSize: 11, dModel: 8, nLayers: 3, nHeads: 2 }, bos: 9, eos: 10 },
  ],
  schedule: { every: 1 },
});

describe('TaskMixture per-task items', () => {
  it('ASR reads its own items, TTS its own, at the index a shared pool would give', async () => {
    await setup();
    const shared = [0, 1, 2, 3, 4].map((i) => ({ text: [i + 1], speech: [i, i] }));
    const asr = shared.map((x, i) => ({ ...x, speech: [i, i, i, 7] })); // another rendering of the same text
    const tts = shared.map((x, i) => ({ ...x, speech: [i, 8] }));
    const plain = new TaskMixture(config, shared, {
      batchSize: 1,
      seed: 3,
      tasks: [
        { task: ASR, weight: 1 },
        { task: TTS, weight: 1.26 },
      ],
    });
    const own = new TaskMixture(config, shared, {
      batchSize: 1,
      seed: 3,
      tasks: [
        { task: ASR, weight: 1, items: asr },
        { task: TTS, weight: 1.26, items: tts },
      ],
    });
    let seen = { asr: 0, tts: 0 };
    for (let n = 0; n < 23; n++) {
      const a = plain.example(n);
      const b = own.example(n);
      const textA = a.find((s) => s.tower === 'text')!.ids;
      expect(b.find((s) => s.tower === 'text')!.ids).toEqual(textA); // same utterance index
      const i = (textA[1] as number) - 1;
      const isAsr = a[0]!.tower === 'speech';
      expect(b.map((s) => s.tower)).toEqual(a.map((s) => s.tower)); // same task
      expect(b.find((s) => s.tower === 'speech')!.ids).toEqual([9, ...(isAsr ? asr : tts)[i]!.speech, 10]);
      seen = isAsr ? { ...seen, asr: seen.asr + 1 } : { ...seen, tts: seen.tts + 1 };
    }
    expect(seen.asr).toBeGreaterThan(3);
    expect(seen.tts).toBeGreaterThan(3);
    expect(() => new TaskMixture(config, shared, { batchSize: 1, tasks: [{ task: ASR, weight: 1, items: asr.slice(1) }] })).toThrow(
      ConfigError,
    );
  });

  it('draws the tasks in the ratio of their weights: 1 : 1.26 over 20,000 examples within 4% (3 standard deviations), a weight 0 never', () => {
    const pairs = [0, 1, 2, 3, 4].map((i) => ({ text: [i + 1], speech: [i, i] }));
    const mix = new TaskMixture(config, pairs, {
      batchSize: 1,
      seed: 7,
      tasks: [
        { task: ASR, weight: 1 },
        { task: TTS, weight: 1.26 },
        { task: { inputs: ['text'], output: 'text' }, weight: 0 },
      ],
    });
    const counts = { asr: 0, tts: 0, other: 0 };
    for (let n = 0; n < 20_000; n++) {
      const ex = mix.example(n);
      const first = ex[0]!.tower;
      const last = ex.at(-1)!.tower;
      if (first === 'speech' && last === 'text') counts.asr++;
      else if (first === 'text' && last === 'speech') counts.tts++;
      else counts.other++;
    }
    console.log(`mixture over 20,000 draws: asr ${counts.asr}, tts ${counts.tts}, ratio ${(counts.tts / counts.asr).toFixed(4)}`);
    expect(counts.other).toBe(0);
    expect(counts.asr + counts.tts).toBe(20_000);
    expect(Math.abs(counts.tts / counts.asr / 1.26 - 1)).toBeLessThan(0.04); // equal weights (ratio 1) would be 21% off
  });
});
