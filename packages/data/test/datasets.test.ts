// Datasets on a tiny build: speech units featurized once and then read from the cache, text
// documents with <bos>/<eos>, eval batches that visit every window once, aligned pairs.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { countTargets } from '@zipper/core';
import { alignedPairs, concatDocuments, countTokens, evalBatches, speechDocument, textDocuments, trainBatches } from '@zipper/data';
import { DataDir, SpeechUnitEncoder, UnitCache } from '@zipper/data/node';
import { loadSpeechTokenizer, trainBpe } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTinyData, DEFAULT_SPEECH_TOKENIZER } from './tiny-build.js';

let dir = '';
beforeAll(() => {
  dir = buildTinyData();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('speech units with an on-disk cache', () => {
  it('featurizes each utterance once: the second pass reads the cache and gives the same units', () => {
    const data = DataDir.open(dir);
    const records = data.records('speech-only');
    const tokenizer = loadSpeechTokenizer(DEFAULT_SPEECH_TOKENIZER);
    const cacheDir = path.join(dir, 'cache');
    const first = new SpeechUnitEncoder(data, tokenizer, { cacheDir });
    const spy = vi.spyOn(tokenizer, 'encode');
    const a = first.encodeAll(records);
    expect(first.stats).toMatchObject({ featurized: records.length, cached: 0 });
    expect(spy).toHaveBeenCalledTimes(records.length);
    // 50 units/s: ceil((1 + floor(n / hop)) / stack) units per utterance
    const hop = tokenizer.features.hopLength;
    const stack = tokenizer.units.stack;
    expect(a.map((u) => u.length)).toEqual(records.map((r) => Math.ceil((1 + Math.floor(r.samples / hop)) / stack)));

    spy.mockClear();
    const second = new SpeechUnitEncoder(data, tokenizer, { cacheDir });
    const b = second.encodeAll(records);
    expect(second.stats).toMatchObject({ featurized: 0, cached: records.length });
    expect(spy).not.toHaveBeenCalled();
    expect(b).toEqual(a);

    // keyed by tokenizer hash and audio sha256; a torn file is a miss, featurized again
    const cache = new UnitCache(cacheDir, first.tokenizerSha256);
    expect(readdirSync(cache.dir).length).toBeGreaterThan(0);
    writeFileSync(cache.fileOf(records[3]!.sha256), Buffer.from([1, 2, 3]));
    const third = new SpeechUnitEncoder(data, tokenizer, { cacheDir });
    expect(third.encodeAll(records)).toEqual(a);
    expect(third.stats).toMatchObject({ featurized: 1, cached: records.length - 1 });
    spy.mockRestore();
  });
});

describe('documents and batches', () => {
  it('text documents are <bos> ids <eos> and decode back to the line', () => {
    const data = DataDir.open(dir);
    const lines = data.textOnly().slice(0, 2000);
    const tok = trainBpe(lines, { vocabSize: 300 });
    const docs = textDocuments(lines, tok);
    expect(docs[0]![0]).toBe(tok.roleId('bos'));
    expect(docs[0]![docs[0]!.length - 1]).toBe(tok.roleId('eos'));
    for (let i = 0; i < 50; i++) expect(tok.decode([...docs[i]!], { skipSpecial: true })).toBe(lines[i]);
    expect(countTokens(docs)).toBe(docs.reduce((s, d) => s + d.length, 0));
    expect(() => textDocuments(['ok', ''], tok)).toThrow(/line 2 is empty/);
  });

  it('eval batches visit every next-token target of the stream exactly once', () => {
    // prime sizes so a swapped axis cannot pass
    const docs = Array.from({ length: 13 }, (_, i) => Int32Array.from({ length: 7 + i }, (_, j) => (i * 31 + j) % 11));
    const n = countTokens(docs);
    const stream = concatDocuments(docs);
    const batches = evalBatches(docs, 3, 7);
    expect(countTargets(batches)).toBe(n - 1);
    // the targets, read in order, are the stream shifted by one
    const seen: number[] = [];
    for (const b of batches) for (let i = 0; i < b.inputs.length; i++) if (b.mask[i] === 1) seen.push(b.targets[i]!);
    expect(seen).toEqual([...stream.slice(1)]);
    // training batches are core's resumable iterator over the same stream
    const it = trainBatches(docs, { batchSize: 3, seqLen: 7, seed: 5 });
    const x = it.next();
    const state = it.state;
    const y = it.next();
    it.restore(state);
    expect(it.next()).toEqual(y);
    expect(x.batchSize).toBe(3);
  });

  it('aligned pairs hold the same utterance as text ids and unit ids', () => {
    const data = DataDir.open(dir);
    const records = data.records('aligned-tts', 100);
    const tokenizer = loadSpeechTokenizer(DEFAULT_SPEECH_TOKENIZER);
    const units = new SpeechUnitEncoder(data, tokenizer, { cacheDir: false }).encodeAll(records);
    const tok = trainBpe(data.textOnly().slice(0, 2000), { vocabSize: 300 });
    const pairs = alignedPairs(records, units, tok, tokenizer.units.numUnits);
    expect(pairs.map((p) => p.id)).toEqual(records.map((r) => r.id));
    const K = tokenizer.units.numUnits;
    pairs.forEach((p, i) => {
      expect(tok.decode([...p.text], { skipSpecial: true })).toBe(records[i]!.text);
      expect(p.speech).toEqual(speechDocument(units[i]!, K));
      expect([p.speech[0], p.speech[p.speech.length - 1]]).toEqual([K, K + 1]);
    });
    expect(() => alignedPairs(records, units.slice(1), tok, K)).toThrow(/13 records but 12 unit sequences/);
  });
});
