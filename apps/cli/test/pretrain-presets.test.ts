/**
 * The pretraining presets: every window fits its tower, and the byte-level text preset's
 * vocabulary leaves the BPE trainer no merge, so each byte of a sentence is one position.
 */
import { resolveTowerConfig } from '@zipper/core';
import { DEFAULT_SPECIAL_TOKENS, trainBpe } from '@zipper/tokenizers';
import { describe, expect, it } from 'vitest';
import { PRETRAIN_PRESETS, pretrainPreset } from '../src/pretrain/presets.js';

describe('pretraining presets', () => {
  it('every preset trains windows its tower holds', () => {
    for (const [modality, presets] of Object.entries(PRETRAIN_PRESETS))
      for (const [name, p] of Object.entries(presets))
        expect(p.seqLen, `${modality} ${name}`).toBeLessThanOrEqual(resolveTowerConfig({ ...p.shape, vocabSize: 2 }).maxSeqLen);
  });

  it('text bytes: the special tokens and the 256 bytes, no merge: one id per byte of any text', () => {
    const p = pretrainPreset('text', 'bytes');
    expect(p.vocab).toBe(DEFAULT_SPECIAL_TOKENS.length + 256);
    // a corpus whose pairs repeat, which a larger vocabulary would merge
    const tok = trainBpe(['the the the then', 'there the them'], { vocabSize: p.vocab as number });
    expect(tok.vocabSize).toBe(259);
    for (const text of ['the', ' then there', 'naïve café']) {
      const ids = tok.encode(text);
      expect(ids.length).toBe(Buffer.byteLength(text));
      expect(tok.decode(ids)).toBe(text);
    }
    const bigger = trainBpe(['the the the then', 'there the them'], { vocabSize: 270 });
    expect(bigger.encode('the').length).toBeLessThan(3);
  });

  it('an unknown preset is refused with the known ones named', () => {
    expect(() => pretrainPreset('text', 'huge')).toThrow(/unknown text pretraining preset "huge"; known: tiny, small, bytes/);
  });
});
