/**
 * Which speech -> text decoders a zipped model offers (asr-decoders.ts), the list both apps show:
 * a model without a CTC head has attention only; a head over tokens adds ctc and joint; a head
 * over bytes adds lexicon when a word LM is at hand, and `auto` takes it. Asking for a decoder the
 * model lacks is a ConfigError that says why.
 */
import { ConfigError } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ASR_DECODERS, asrDecoders, asrHead, canSearchLexicon, resolveAsrDecoder, Zipper } from '../src/index.js';
import { SCHEDULE, setup, towers } from './helpers.js';

beforeAll(setup);

/** The resolved speech -> text head of a tiny zipped model with `ctc` heads (undefined without one). */
function headOf(ctc: readonly { from: string; to: string; labels?: { classes: number; map: number[][] } }[]) {
  const z = Zipper.create(towers(), { ...SCHEDULE, ctc }, { seed: 2 });
  try {
    return asrHead(z.config);
  } finally {
    z.dispose();
  }
}

const bytes = { classes: 256, map: Array.from({ length: 13 }, (_, t) => (t < 11 ? [97 + t] : [])) };

describe('asrDecoders / resolveAsrDecoder', () => {
  it("lists what a model offers, auto's choice first, and auto takes it", () => {
    const none = { head: headOf([]), lexicon: true };
    expect(none.head).toBeUndefined();
    expect(asrDecoders(none)).toEqual(['attention']);
    expect(resolveAsrDecoder('auto', none, 'm')).toBe('attention');

    const tokens = { head: headOf([{ from: 'speech', to: 'text' }]), lexicon: true };
    expect(tokens.head?.labels).toBeUndefined();
    expect(asrDecoders(tokens)).toEqual(['ctc', 'attention', 'joint']);
    expect(resolveAsrDecoder('auto', tokens, 'm')).toBe('ctc');

    const byteHead = headOf([{ from: 'speech', to: 'text', labels: bytes }]);
    expect(byteHead?.labels?.classes).toBe(256);
    expect(asrDecoders({ head: byteHead, lexicon: false })).toEqual(['ctc', 'attention', 'joint']);
    expect(asrDecoders({ head: byteHead, lexicon: true })).toEqual(['lexicon', 'ctc', 'attention', 'joint']);
    expect(resolveAsrDecoder('auto', { head: byteHead, lexicon: true }, 'm')).toBe('lexicon');
    // what the apps ask before reading a word LM
    expect([canSearchLexicon(undefined), canSearchLexicon(tokens.head), canSearchLexicon(byteHead)]).toEqual([false, false, true]);
    // any decoder the model has resolves to itself
    for (const d of ASR_DECODERS) expect(resolveAsrDecoder(d, { head: byteHead, lexicon: true }, 'm')).toBe(d);
  });

  it('asrHead picks the speech -> text head among others', () => {
    const head = headOf([
      { from: 'text', to: 'speech' },
      { from: 'speech', to: 'text', labels: bytes },
    ]);
    expect([head?.from, head?.to]).toEqual(['speech', 'text']);
    expect(headOf([{ from: 'text', to: 'speech' }])).toBeUndefined();
  });

  it('a decoder the model lacks is a ConfigError naming why', () => {
    const none = { head: undefined, lexicon: true };
    expect(() => resolveAsrDecoder('ctc', none, 'RUN')).toThrow(ConfigError);
    expect(() => resolveAsrDecoder('ctc', none, 'RUN')).toThrow(
      /RUN has no CTC head from speech to text .* no ctc decoder; decode with attention/,
    );
    expect(() => resolveAsrDecoder('joint', none, 'RUN')).toThrow(/no joint decoder/);
    expect(() => resolveAsrDecoder('lexicon', none, 'RUN')).toThrow(/no lexicon decoder/);
    const tokens = { head: headOf([{ from: 'speech', to: 'text' }]), lexicon: true };
    expect(() => resolveAsrDecoder('lexicon', tokens, 'RUN')).toThrow(/RUN's CTC head predicts text tokens, not bytes/);
    const noLm = { head: headOf([{ from: 'speech', to: 'text', labels: bytes }]), lexicon: false };
    expect(() => resolveAsrDecoder('lexicon', noLm, 'RUN')).toThrow(/ships no word LM .* zipper lm build/);
    expect(() => resolveAsrDecoder('beam' as never, noLm, 'RUN')).toThrow(
      /unknown decoder "beam"; one of auto, lexicon, ctc, attention, joint/,
    );
  });
});
