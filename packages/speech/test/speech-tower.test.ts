import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, initBackend, ShapeError } from '@zipper/core';
import { saveSpeechTokenizer, SpeechTokenizer } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpeechTower, speechVocab, tokensToUnits, unitsToTokens } from '../src/index.js';

const SR = 16000;
/** A chirp from f0 to f1 Hz: synthetic "speech" with changing spectra. */
function chirp(seconds: number, f0: number, f1: number): Float32Array {
  const n = Math.round(seconds * SR);
  const x = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += (2 * Math.PI * (f0 + ((f1 - f0) * i) / n)) / SR;
    x[i] = 0.3 * Math.sin(phase) + 0.1 * Math.sin(3 * phase);
  }
  return x;
}

const clips = [chirp(1, 200, 2000), chirp(1, 3000, 300), chirp(0.7, 500, 900)];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-speech-'));
let tokenizer: SpeechTokenizer;

beforeAll(async () => {
  await initBackend();
  tokenizer = SpeechTokenizer.train(clips, { units: { numUnits: 13 }, seed: 7, iterations: 5 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('speech vocabulary', () => {
  it('puts <bos>, <eos> after the units and round-trips unit ids', () => {
    const v = speechVocab(13);
    expect(v).toEqual({ numUnits: 13, bos: 13, eos: 14, size: 15 });
    const tokens = unitsToTokens(v, [0, 12, 5]);
    expect(tokens).toEqual([13, 0, 12, 5, 14]);
    expect(Array.from(tokensToUnits(v, [...tokens.slice(1), 3]))).toEqual([0, 12, 5]);
    expect(() => unitsToTokens(v, [13])).toThrow(ShapeError);
  });
});

describe('SpeechTower', () => {
  it('saves and loads with its tokenizer and continues audio deterministically', async () => {
    const a = SpeechTower.create(tokenizer, { dModel: 28, nLayers: 2, nHeads: 2, maxSeqLen: 256 }, { seed: 2 });
    expect(a.tower.config.vocabSize).toBe(15);
    const doc = a.encodeDocument(clips[0]!);
    expect(doc[0]).toBe(13);
    expect(doc.at(-1)).toBe(14);
    expect(doc.length - 2).toBe(tokenizer.encode(clips[0]!).length);
    await a.save(path.join(tmp, 'a'));
    const b = await SpeechTower.load(path.join(tmp, 'a'));
    const before = tf.memory().numTensors;
    const ra = await a.continue(clips[2], { maxNewTokens: 9, temperature: 1, seed: 4 });
    const rb = await b.continue(clips[2], { maxNewTokens: 9, temperature: 1, seed: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(rb.units)).toEqual(Array.from(ra.units));
    expect(ra.sampleRate).toBe(SR);
    // an untrained tower may pick <eos> early: then fewer units, and the reason says so
    if (ra.finishReason === 'length') expect(ra.units.length).toBe(9);
    else expect(ra.units.length).toBeLessThan(9);
    if (ra.units.length === 0) expect(ra.audio.length).toBe(0);
    else expect(Math.abs(ra.audio.length - ra.units.length * tokenizer.samplesPerUnit)).toBeLessThanOrEqual(tokenizer.samplesPerUnit);
    a.dispose();
    b.dispose();
  });

  it('refuses a speech tokenizer other than the one it was trained with', async () => {
    const a = SpeechTower.create(tokenizer, { dModel: 28, nLayers: 1, nHeads: 2 }, { seed: 1 });
    const dir = path.join(tmp, 'swap');
    await a.save(dir);
    saveSpeechTokenizer(SpeechTokenizer.train(clips, { units: { numUnits: 13 }, seed: 8, iterations: 5 }), path.join(dir, 'tokenizer'));
    await expect(SpeechTower.load(dir)).rejects.toThrow(CheckpointError);
    a.dispose();
  });
});
