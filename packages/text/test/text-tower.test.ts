import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, fetchModelFiles, initBackend, SafetensorsError, Tower } from '@zipper/core';
import { trainBpe, TokenizerFormatError } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextTower, textTowerShape, WORD_LM_FILE, WordLm } from '../src/index.js';

const lines = [
  'the quick brown fox jumps over the lazy dog',
  'a stitch in time saves nine',
  'all that glitters is not gold',
  'the early bird catches the worm',
  'an apple a day keeps the doctor away',
];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-text-'));
const tokenizer = trainBpe(lines, { vocabSize: 300 });

beforeAll(async () => {
  await initBackend();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('TextTower', () => {
  it('saves and loads with its tokenizer: same logits, same completion', async () => {
    const a = TextTower.create(tokenizer, { dModel: 28, nLayers: 2, nHeads: 2, maxSeqLen: 64 }, { seed: 3 });
    expect(a.tower.config.vocabSize).toBe(tokenizer.vocabSize);
    await a.save(path.join(tmp, 'a'));
    const b = await TextTower.load(path.join(tmp, 'a'));
    expect(b.loss(lines[0]!)).toBe(a.loss(lines[0]!));
    const before = tf.memory().numTensors;
    const ra = await a.complete('the quick', { maxNewTokens: 7, temperature: 0.8, seed: 11 });
    const rb = await b.complete('the quick', { maxNewTokens: 7, temperature: 0.8, seed: 11 });
    expect(tf.memory().numTensors).toBe(before);
    expect(rb).toEqual(ra);
    expect(ra.ids.length).toBeLessThanOrEqual(7);
    expect(tokenizer.decode(ra.ids, { skipSpecial: true })).toBe(ra.text);
    a.dispose();
    b.dispose();
  });

  it('refuses a tokenizer that is not the one the tower was trained with', async () => {
    const a = TextTower.create(tokenizer, { dModel: 28, nLayers: 1, nHeads: 2, maxSeqLen: 32 }, { seed: 1 });
    const dir = path.join(tmp, 'swap');
    await a.save(dir);
    const other = trainBpe([...lines, 'something else entirely'], { vocabSize: 300 });
    const { saveTextTokenizer } = await import('@zipper/tokenizers');
    await saveTextTokenizer(other, path.join(dir, 'tokenizer'));
    await expect(TextTower.load(dir)).rejects.toThrow(TokenizerFormatError);
    writeFileSync(path.join(dir, 'tower', 'metadata.json'), '{}');
    await expect(TextTower.load(dir)).rejects.toThrow(CheckpointError);
    a.dispose();
  });

  it('reads the word LM a package ships next to its tower (loadWordLm), and undefined when it ships none', async () => {
    const dir = path.join(tmp, 'with-lm');
    const t = TextTower.create(tokenizer, { dModel: 8, nLayers: 1, nHeads: 2 }, { seed: 0 });
    await t.save(dir);
    t.dispose();
    expect(await TextTower.loadWordLm(dir)).toBeUndefined();
    const lm = WordLm.build(lines, { minCount: 1, minBigramCount: 1 });
    writeFileSync(path.join(dir, WORD_LM_FILE), lm.encode());
    const got = await TextTower.loadWordLm(dir);
    expect(got?.words).toEqual(lm.words);
    expect(got!.logProb(got!.boundary, 0)).toBe(lm.logProb(lm.boundary, 0));
    // a file that is not a word LM is an error, not "none"
    writeFileSync(path.join(dir, WORD_LM_FILE), 'not safetensors');
    await expect(TextTower.loadWordLm(dir)).rejects.toThrow(SafetensorsError);
    // over HTTP, a host that answers a missing file with its index page (200, HTML) ships none as well
    const page = new TextEncoder().encode('<!doctype html><html></html>');
    const spa = fetchModelFiles('http://host.test/m/', {
      fetch: async () => ({
        ok: true,
        status: 200,
        statusText: 'OK',
        headers: { get: (name: string) => (name.toLowerCase() === 'content-type' ? 'text/html' : null) },
        body: null,
        arrayBuffer: async () => page.slice().buffer,
      }),
    });
    expect(await TextTower.loadWordLm(spa)).toBeUndefined();
  });

  it('checks vocabulary sizes and preset names', () => {
    const t = Tower.create({ vocabSize: 17, dModel: 8, nLayers: 1, nHeads: 2 }, { seed: 0 });
    expect(() => TextTower.fromParts(t, tokenizer)).toThrow(/vocabSize 17 !== tokenizer vocabSize \d+/);
    t.dispose();
    expect(() => textTowerShape('huge' as never)).toThrow(ConfigError);
    expect(textTowerShape('reference')).toMatchObject({ dModel: 256, nLayers: 4, nHeads: 4 });
  });

  it('encodes documents between <bos> and <eos>', () => {
    const t = TextTower.create(tokenizer, { dModel: 8, nLayers: 1, nHeads: 2 }, { seed: 0 });
    const ids = t.encodeDocument('a stitch');
    expect(ids[0]).toBe(tokenizer.roleId('bos'));
    expect(ids.at(-1)).toBe(tokenizer.roleId('eos'));
    expect(tokenizer.decode(ids.slice(1, -1))).toBe('a stitch');
    t.dispose();
  });
});
