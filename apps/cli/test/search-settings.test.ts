/**
 * The lexicon search's settings on the command line (apps/transcriber.ts): `lexiconSearchArgs`
 * reads the flags, each value checked alone; `searchSettings` checks them together with what the
 * model carries (--n-best against the model's beam); `lexiconSearchFlags` writes settings back as
 * the flags that give them (a round trip); resolved, they hold no value JSON lacks.
 */
import { parseArgs } from 'node:util';
import { resolveLexiconBeamOptions } from '@zipper/fuse';
import { describe, expect, it } from 'vitest';
import { audioOf, LEXICON_SEARCH_OPTIONS, lexiconSearchArgs, lexiconSearchFlags, searchSettings } from '../src/apps/transcriber.js';
import { UsageError } from '../src/command.js';

describe('lexicon search settings on the command line', () => {
  it("--n-best is checked against the beam where both are known: the one given, else the model's", () => {
    expect(lexiconSearchArgs({ 'n-best': '200' })).toEqual({ nBest: 200 });
    expect(lexiconSearchArgs({ rescore: '1' })).toEqual({ rescoreWeight: 1 });
    expect(() => lexiconSearchArgs({ beam: '8', 'n-best': '16' })).toThrow(UsageError);
    expect(() => lexiconSearchArgs({ beam: '8', 'n-best': '16' })).toThrow(/nBest must be an integer in \[1, beam = 8\], got 16/);
    // a model carrying a wider beam takes it; without one the default beam 128 refuses it
    expect(searchSettings({ beam: 256 }, { nBest: 200 })).toMatchObject({ beam: 256, nBest: 200 });
    expect(() => searchSettings(undefined, { nBest: 200 })).toThrow(/nBest must be an integer in \[1, beam = 128\], got 200/);
    expect(() => searchSettings(undefined, { nBest: 200 })).toThrow(UsageError);
    // given over carried, key by key; --rescore 0 turns a carried rescoring off
    expect(searchSettings({ rescoreWeight: 0.3, nBest: 16, blankPenalty: 1.5 }, { rescoreWeight: 0 })).toMatchObject({
      rescoreWeight: 0,
      nBest: 16,
      blankPenalty: 1.5,
    });
    for (const [flag, value] of [
      ['rescore', '-1'],
      ['n-best', '0'],
      ['beam', '1.5'],
    ] as const)
      expect(() => lexiconSearchArgs({ [flag]: value })).toThrow(UsageError);
  });

  it('lexiconSearchFlags writes what lexiconSearchArgs reads back (negative values joined by =); the rescoring only where it rescores', () => {
    for (const given of [
      { wordBonus: -2, blankPenalty: 1.5 },
      { wordBonus: -2, rescoreWeight: 0.3, nBest: 16 },
      { beam: 64, lmWeight: 0.5 },
      { oovByteLogProb: -4.5 },
      { views: 5, dictionaryWordLogProb: -15 },
    ]) {
      const settings = resolveLexiconBeamOptions(given);
      const flags = lexiconSearchFlags(settings);
      const { values } = parseArgs({ args: flags.split(' '), options: LEXICON_SEARCH_OPTIONS, strict: true });
      expect(searchSettings(undefined, lexiconSearchArgs(values))).toEqual(settings);
    }
    expect(lexiconSearchFlags(resolveLexiconBeamOptions({ wordBonus: -2, rescoreWeight: 0.3, nBest: 16 }))).toBe(
      '--beam 128 --lm-weight 1 --word-bonus=-2 --blank-penalty 1.5 --rescore 0.3 --n-best 16',
    );
    expect(lexiconSearchFlags(resolveLexiconBeamOptions({}))).toBe('--beam 128 --lm-weight 1 --word-bonus=-2 --blank-penalty 1.5');
    expect(lexiconSearchFlags(resolveLexiconBeamOptions({ views: 5 }))).toBe(
      '--beam 128 --lm-weight 1 --word-bonus=-2 --blank-penalty 1.5 --views 5',
    );
    // --views: an integer in [1, the views there are]
    expect(lexiconSearchArgs({ views: '7' })).toEqual({ views: 7 });
    for (const bad of ['0', '8', '2.5', 'x'])
      expect(() => lexiconSearchArgs({ views: bad })).toThrow(/--views must be an integer in \[1, 7\]/);
    // unknown words only where they are spelled (none has no flag)
    expect(lexiconSearchFlags(resolveLexiconBeamOptions({ oovByteLogProb: -4 }))).toBe(
      '--beam 128 --lm-weight 1 --word-bonus=-2 --blank-penalty 1.5 --oov-byte-log-prob=-4',
    );
  });

  it("none turns a model's own unknown-word or dictionary-word cost off for one search; views 1 and level range 0 its views and level fit", () => {
    const carried = { oovByteLogProb: -6, dictionaryWordLogProb: -15, views: 7, levelRange: 15, wordBonus: -2 };
    expect(lexiconSearchArgs({ 'oov-byte-log-prob': 'none' })).toEqual({ oovByteLogProb: null });
    const off = searchSettings(carried, lexiconSearchArgs({ 'oov-byte-log-prob': 'none', 'dictionary-word-log-prob': 'none' }));
    expect('oovByteLogProb' in off || 'dictionaryWordLogProb' in off).toBe(false);
    expect(off).toMatchObject({ views: 7, levelRange: 15, wordBonus: -2 });
    const alone = searchSettings(carried, lexiconSearchArgs({ views: '1', 'level-range': '0' }));
    expect('views' in alone || 'levelRange' in alone).toBe(false);
    expect(alone).toMatchObject({ oovByteLogProb: -6, dictionaryWordLogProb: -15 });
    // written back, a setting that is none has no flag, so it round-trips as the search's own default
    expect(lexiconSearchFlags(off)).toBe('--beam 128 --lm-weight 1 --word-bonus=-2 --blank-penalty 1.5 --views 7 --level-range 15');
    // --level-down D beside --level-range R: the fit's gains -D to +R (0: up only); written back as flags
    const upOnly = searchSettings(undefined, lexiconSearchArgs({ 'level-range': '15', 'level-down': '0' }));
    expect(upOnly).toMatchObject({ levelRange: 15, levelDown: 0 });
    expect(audioOf(upOnly).level).toEqual({ up: 15, down: 0 });
    expect(audioOf(searchSettings(undefined, { levelRange: 15 })).level).toEqual({ up: 15, down: 15 });
    expect(audioOf(searchSettings(undefined, {})).level).toBeUndefined();
    expect(lexiconSearchFlags(upOnly)).toBe('--beam 128 --lm-weight 1 --word-bonus=-2 --blank-penalty 1.5 --level-range 15 --level-down 0');
    expect(() => audioOf(searchSettings(undefined, { levelRange: 25 }))).toThrow(
      /the search's settings: the level range must be an integer number of dB in \[0, 20\], got 25/,
    );
    expect(() => lexiconSearchArgs({ 'level-down': '21' })).toThrow(/--level-down must be an integer in \[0, 20\]/);
    expect(() => lexiconSearchArgs({ 'dictionary-word-log-prob': 'off' })).toThrow(
      /--dictionary-word-log-prob must be a number <= 0, got "off" \(or none: the model's own cost off\)/,
    );
  });

  it('resolved settings leave out the unknown-word cost where there is none (metrics.json records them as they are)', () => {
    const none = resolveLexiconBeamOptions({});
    expect('oovByteLogProb' in none).toBe(false);
    expect(JSON.parse(JSON.stringify(none))).toEqual(none);
    expect(resolveLexiconBeamOptions({ oovByteLogProb: -4 }).oovByteLogProb).toBe(-4);
    expect(() => lexiconSearchArgs({ 'oov-byte-log-prob': '1' })).toThrow(UsageError);
  });
});
