import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WavError, readWav, writeWav, type WavAudio, type WavEncoding } from '@zipper/tokenizers';

/** readWav either returns well-formed audio or throws a WavError: nothing else. */
function readOrTypedError(bytes: Uint8Array): WavAudio | WavError {
  try {
    const a = readWav(bytes, { maxBytes: 1 << 16 });
    expect(a.channels.length).toBeGreaterThan(0);
    expect(a.sampleRate).toBeGreaterThan(0);
    const n = a.channels[0]!.length;
    expect(n).toBeGreaterThan(0);
    for (const ch of a.channels) {
      expect(ch.length).toBe(n);
      for (const v of ch) if (!Number.isFinite(v)) throw new Error(`non-finite sample ${v} returned`);
    }
    return a;
  } catch (e) {
    if (e instanceof WavError) return e;
    throw e;
  }
}

const seeds: Uint8Array[] = (['pcm8', 'pcm16', 'pcm24', 'pcm32', 'float32', 'float64'] as WavEncoding[]).map((enc, i) =>
  writeWav(
    Array.from({ length: 1 + (i % 3) }, (_, c) => new Float32Array(11).map((_, j) => Math.sin(j + c) * 0.8)),
    8000 + 1000 * i,
    enc,
  ),
);

describe('WAV parser fuzzing (fast-check)', () => {
  it('random bytes, with and without a RIFF/WAVE prefix', () => {
    const riff = new TextEncoder().encode('RIFF\x24\x00\x00\x00WAVE');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (tail, prefixed) => {
        const bytes = prefixed ? new Uint8Array([...riff, ...tail]) : tail;
        readOrTypedError(bytes);
      }),
      { numRuns: 1500, seed: 42 },
    );
  });

  it('valid files with mutated bytes, truncation and appended garbage', () => {
    const edit = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(edit, { maxLength: 6 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.uint8Array({ maxLength: 16 }),
        (which, edits, cut, extra) => {
          let b = seeds[which]!.slice();
          for (const { at, value } of edits) b[at % b.length] = value;
          if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
          readOrTypedError(new Uint8Array([...b, ...extra]));
        },
      ),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('header-field mutations hit the fmt and data chunks (biased towards the first 48 bytes)', () => {
    let typed = 0;
    let ok = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 47 }), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 3,
        }),
        (which, edits) => {
          const b = seeds[which]!.slice();
          for (const { at, value } of edits) b[at] = value;
          if (readOrTypedError(b) instanceof WavError) typed++;
          else ok++;
        },
      ),
      { numRuns: 3000, seed: 11 },
    );
    // both outcomes are exercised: some mutations are harmless, many are caught
    expect(typed).toBeGreaterThan(300);
    expect(ok).toBeGreaterThan(100);
  });
});
