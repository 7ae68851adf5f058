/**
 * Lexicon search settings carried by a model's CTC head (`CtcHeadSpec.search`): validated with the
 * config; `ctcTranscripts` searches with them where the caller gives none, and a caller's setting
 * overrides the carried one key by key; `saveZipper`'s `search` stores them in zipper.json without
 * touching the weights, and `loadZipper` brings them back.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ByteLexicon,
  ctcTranscripts,
  exactSearch,
  LEXICON_SEARCH_KEYS,
  LEXICON_SEARCH_LABELS,
  lexiconLevelRange,
  lexiconSearchDifferences,
  lexiconSearchText,
  loadZipper,
  resolveLexiconBeamOptions,
  resolveLexiconSearchSettings,
  resolveZipperConfig,
  saveZipper,
  withCarriedSearch,
  Zipper,
  type CtcHeadSpec,
} from '../src/index.js';
import { PAIRS, perturbFusion, SCHEDULE, setup, towers } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'fuse-search-'));
beforeAll(setup);
afterAll(() => rmSync(root, { recursive: true, force: true }));

// a byte head over the tiny text tower: token t spells the letter "a" + t (as in rescore.test.ts)
const map = Array.from({ length: 13 }, (_, t) => (t < 11 ? [97 + t] : []));
const head: CtcHeadSpec = { from: 'speech', to: 'text', labels: { classes: 256, map } };
const words = ['a', 'b', 'ab', 'ba', 'cab', 'c', 'bc'];
const lexicon = ByteLexicon.of({ words, boundary: words.length, logProb: () => Math.log(1 / 8), unigramLogProb: () => Math.log(1 / 8) });
// the search's own settings, not the model's: every label may extend a prefix
const pruning = { labelThreshold: -1e9 };
const rows = PAIRS.map((p) => [9, ...p.speech!, 10]);
// far from the defaults (word bonus -2, blank penalty 1.5, no unknown words): more words, more blanks, unknown words
const carried = { wordBonus: 4, blankPenalty: -1, oovByteLogProb: -3 };

/** The same weights (seed 2, perturbed), the head carrying `search` or not. */
function model(search?: CtcHeadSpec['search']): Zipper {
  const z = Zipper.create(towers(), { ...SCHEDULE, ctc: [search ? { ...head, search } : head] }, { seed: 2 });
  perturbFusion(z, 9);
  return z;
}

describe('a CTC head carrying its lexicon search settings', () => {
  it('ctcTranscripts searches with them; the caller overrides them key by key', () => {
    const plain = model();
    const withSettings = model(carried);
    expect(withSettings.config.ctc[0]!.search).toEqual(carried);
    const carriedOut = ctcTranscripts(withSettings, rows, () => '', { lexicon, search: pruning });
    // equal to the plain model searched with the same settings given
    expect(carriedOut).toEqual(ctcTranscripts(plain, rows, () => '', { lexicon, search: { ...pruning, ...carried } }));
    // each transcript counts the words its lexicon lacks (unknown words; nearly free here, so some are spelled), and only those
    const known = new Set(lexicon.lm.words);
    const loose = ctcTranscripts(plain, rows, () => '', { lexicon, search: { ...pruning, oovByteLogProb: -0.01 } });
    for (const out of [carriedOut, loose])
      expect(out.map((t) => t.unknown)).toEqual(out.map((t) => t.text.split(' ').filter((w) => w !== '' && !known.has(w)).length));
    expect(loose.some((t) => t.unknown! > 0)).toBe(true);
    // and not the defaults' transcripts: the settings matter on these rows
    const defaults = ctcTranscripts(plain, rows, () => '', { lexicon, search: pruning });
    expect(carriedOut.map((t) => t.text)).not.toEqual(defaults.map((t) => t.text));
    // a setting the caller gives wins; the other stays the carried one
    expect(ctcTranscripts(withSettings, rows, () => '', { lexicon, search: { ...pruning, wordBonus: -2 } })).toEqual(
      ctcTranscripts(plain, rows, () => '', { lexicon, search: { ...pruning, wordBonus: -2, blankPenalty: -1, oovByteLogProb: -3 } }),
    );
    // an undefined key given keeps the carried value
    expect(withCarriedSearch(carried, { wordBonus: undefined, beam: 8 })).toEqual({
      wordBonus: 4,
      blankPenalty: -1,
      oovByteLogProb: -3,
      beam: 8,
    });
    plain.dispose();
    withSettings.dispose();
  });

  it('is validated with the config: a byte head only, known keys, valid values; none stored when empty', () => {
    const specs = towers();
    const base = { ...SCHEDULE, towers: specs.map((t) => ({ name: t.name, config: t.tower.config, bos: t.bos, eos: t.eos })) };
    for (const t of specs) t.tower.dispose();
    const resolve = (h: CtcHeadSpec) => resolveZipperConfig({ ...base, ctc: [h] });
    expect(resolve({ ...head, search: { beam: 64, lmWeight: 0.5 } }).ctc[0]!.search).toEqual({ beam: 64, lmWeight: 0.5 });
    expect('search' in resolve({ ...head, search: {} }).ctc[0]!).toBe(false);
    expect(() => resolve({ from: 'speech', to: 'text', search: { wordBonus: 1 } })).toThrow(
      /spells UTF-8 bytes, but this head predicts tokens/,
    );
    expect(() => resolve({ ...head, search: { margin: 2 } as never })).toThrow(/ctc\[0\]\.search: margin is not a model's search setting/);
    expect(() => resolve({ ...head, search: { beam: 0 } })).toThrow(ConfigError);
    expect(() => resolve({ ...head, search: { lmWeight: -1 } })).toThrow(/lmWeight must be >= 0/);
    expect(() => resolve({ ...head, search: { wordBonus: '1' as never } })).toThrow(/ctc\[0\]\.search\.wordBonus must be a number/);
  });

  it('saveZipper stores them in zipper.json (the weights unchanged); loadZipper reads them back', async () => {
    const z = model();
    await saveZipper(path.join(root, 'plain'), z);
    await saveZipper(path.join(root, 'tuned'), z, { search: { text_from_speech: carried } });
    const info = (dir: string) => JSON.parse(readFileSync(path.join(root, dir, 'zipper.json'), 'utf8'));
    expect(info('tuned').options.ctc[0].search).toEqual(carried);
    expect('search' in info('plain').options.ctc[0]).toBe(false);
    expect(info('tuned').weights.sha256).toBe(info('plain').weights.sha256);
    const loaded = await loadZipper(path.join(root, 'tuned'));
    expect(loaded.config.ctc[0]!.search).toEqual(carried);
    expect(ctcTranscripts(loaded, rows, () => '', { lexicon, search: pruning })).toEqual(
      ctcTranscripts(z, rows, () => '', { lexicon, search: { ...pruning, ...carried } }),
    );
    // a carried unknown-word cost changes these transcripts; null turns it off, and so does exactSearch of settings without one
    await saveZipper(path.join(root, 'spelling'), z, { search: { text_from_speech: { ...carried, oovByteLogProb: -0.5 } } });
    const spelling = await loadZipper(path.join(root, 'spelling'));
    const own = ctcTranscripts(loaded, rows, () => '', { lexicon, search: pruning });
    expect(ctcTranscripts(spelling, rows, () => '', { lexicon, search: pruning })).not.toEqual(own);
    expect(ctcTranscripts(spelling, rows, () => '', { lexicon, search: { ...pruning, oovByteLogProb: null } })).toEqual(own);
    const exact = exactSearch(resolveLexiconBeamOptions({ ...carried, ...pruning }));
    expect(ctcTranscripts(spelling, rows, () => '', { lexicon, search: exact })).toEqual(own);
    spelling.dispose();
    // {} replaces what the head carried by nothing; a head the model lacks is refused
    await saveZipper(path.join(root, 'cleared'), loaded, { search: { text_from_speech: {} } });
    expect('search' in info('cleared').options.ctc[0]).toBe(false);
    await expect(saveZipper(path.join(root, 'bad'), z, { search: { speech_from_text: carried } })).rejects.toThrow(
      /the model has no CTC head "speech_from_text" \(heads: text_from_speech\)/,
    );
    z.dispose();
    loaded.dispose();
  });

  it("are written in prose one way (cards, reports, messages): every key labelled, in the cards' order", () => {
    expect(lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 2 })).toBe(
      'LM weight 1, word bonus -2, blank penalty 2, beam 128',
    );
    expect(lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 1.5, rescoreWeight: 0.3, nBest: 16 })).toBe(
      "LM weight 1, word bonus -2, blank penalty 1.5, beam 128, then the 16 best re-ranked by the zipped model's decoder at weight 0.3",
    );
    // a weight without its n best: the default 8
    expect(lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 1.5, rescoreWeight: 0.3 })).toMatch(
      /, then the 8 best re-ranked/,
    );
    // settings recorded before the rescoring was one of them, or a weight of 0: no second pass
    expect(lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 2, rescoreWeight: 0, nBest: 8 })).toBe(
      'LM weight 1, word bonus -2, blank penalty 2, beam 128',
    );
    expect(lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 1.5, oovByteLogProb: -4 })).toBe(
      'LM weight 1, word bonus -2, blank penalty 1.5, beam 128, unknown words spelled at ln p -4 a byte',
    );
    expect(lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 1.5, rescoreWeight: 0.3, nBest: 16, views: 5 })).toBe(
      "LM weight 1, word bonus -2, blank penalty 1.5, beam 128, then the 16 best re-ranked by the zipped model's decoder at weight 0.3, the transcripts of 5 views of the audio voted",
    );
    // one view is the audio alone
    expect(lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 2, views: 1 })).toBe(
      'LM weight 1, word bonus -2, blank penalty 2, beam 128',
    );
    expect(
      lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 1.5, rescoreWeight: 0, nBest: 1, levelRange: 15, views: 7 }),
    ).toBe(
      "LM weight 1, word bonus -2, blank penalty 1.5, beam 128, the input's level fitted within 15 dB, the transcripts of 7 views of the audio voted",
    );
    // a range of 0 dB is the audio as recorded
    expect(lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 2, levelRange: 0 })).toBe(
      'LM weight 1, word bonus -2, blank penalty 2, beam 128',
    );
    expect(Object.keys(LEXICON_SEARCH_LABELS).sort()).toEqual([...LEXICON_SEARCH_KEYS].sort());
  });

  it('differ where they decode differently: n best only where either rescores', () => {
    const r = (o: object) => resolveLexiconBeamOptions(o);
    expect(lexiconSearchDifferences(r({}), r({ nBest: 4 }))).toEqual([]);
    expect(lexiconSearchDifferences(r({ blankPenalty: 2 }), r({ nBest: 4 }))).toEqual(['blankPenalty']);
    expect(lexiconSearchDifferences(r({ rescoreWeight: 0.3, nBest: 16 }), r({}))).toEqual(['rescoreWeight', 'nBest']);
    expect(lexiconSearchDifferences(r({ rescoreWeight: 0.3, nBest: 16 }), r({ rescoreWeight: 0.3, nBest: 8 }))).toEqual(['nBest']);
    expect(lexiconSearchDifferences(r({ rescoreWeight: 0.3 }), r({ rescoreWeight: 0.3, nBest: 8 }))).toEqual([]);
    // views: none and one decode alike
    expect(lexiconSearchDifferences(r({}), r({ views: 1 }))).toEqual([]);
    expect(lexiconSearchDifferences(r({ views: 3 }), r({ views: 1 }))).toEqual(['views']);
    // the level range: none and 0 dB decode alike
    expect(lexiconSearchDifferences(r({}), r({ levelRange: 0 }))).toEqual([]);
    expect(lexiconSearchDifferences(r({ levelRange: 15 }), r({}))).toEqual(['levelRange']);
  });

  it('null turns a carried optional setting off; exactSearch gives resolved settings so that nothing carried fills them again', () => {
    const carried = { oovByteLogProb: -6, dictionaryWordLogProb: -15, views: 7, levelRange: 15, wordBonus: -1 };
    expect(withCarriedSearch(carried, { oovByteLogProb: null, wordBonus: -2 })).toEqual({
      dictionaryWordLogProb: -15,
      views: 7,
      levelRange: 15,
      wordBonus: -2,
    });
    const resolved = resolveLexiconBeamOptions({ wordBonus: -2, views: 3 });
    const exact = exactSearch(resolved);
    expect(exact).toMatchObject({ oovByteLogProb: null, dictionaryWordLogProb: null, levelRange: null, views: 3 });
    // over any carried settings, the exact ones resolve to themselves
    expect(resolveLexiconBeamOptions(withCarriedSearch(carried, exact))).toEqual(resolved);
    expect(resolveLexiconBeamOptions(withCarriedSearch(undefined, exact))).toEqual(resolved);
  });

  it('levelRange: an integer >= 0 of dB, kept absent where none (or 0) is given', () => {
    expect('levelRange' in resolveLexiconBeamOptions({})).toBe(false);
    expect('levelRange' in resolveLexiconBeamOptions({ levelRange: 0 })).toBe(false);
    expect(resolveLexiconBeamOptions({ levelRange: 15 }).levelRange).toBe(15);
    for (const levelRange of [-1, 2.5, Number.NaN])
      expect(() => resolveLexiconBeamOptions({ levelRange })).toThrow(/levelRange must be an integer >= 0/);
    expect(resolveLexiconSearchSettings({ levelRange: 15, views: 7 })).toEqual({ levelRange: 15, views: 7 });
    expect(() => resolveLexiconSearchSettings({ levelRange: -3 }, 'search')).toThrow(/^search: levelRange must be/);
    // levelDown: kept only beside a range and where it is not the range itself
    expect(resolveLexiconBeamOptions({ levelRange: 15, levelDown: 0 })).toMatchObject({ levelRange: 15, levelDown: 0 });
    expect('levelDown' in resolveLexiconBeamOptions({ levelRange: 15, levelDown: 15 })).toBe(false);
    expect('levelDown' in resolveLexiconBeamOptions({ levelDown: 0 })).toBe(false);
    // the gains the apps' fit tries, read from the two settings in one place
    expect(lexiconLevelRange(resolveLexiconBeamOptions({ levelRange: 15, levelDown: 0 }))).toEqual({ up: 15, down: 0 });
    expect(lexiconLevelRange(resolveLexiconBeamOptions({ levelRange: 15 }))).toEqual({ up: 15, down: 15 });
    expect(lexiconLevelRange(resolveLexiconBeamOptions({ levelRange: 0, levelDown: 3 }))).toBeUndefined();
    expect(() => resolveLexiconBeamOptions({ levelRange: 15, levelDown: -1 })).toThrow(/levelDown must be an integer >= 0/);
    const text = (o: object) =>
      lexiconSearchText({ beam: 128, lmWeight: 1, wordBonus: -2, blankPenalty: 1.5, ...o }).replace(
        'LM weight 1, word bonus -2, blank penalty 1.5, beam 128',
        '',
      );
    expect(text({ levelRange: 15, levelDown: 0 })).toBe(", the input's level raised by up to 15 dB");
    expect(text({ levelRange: 15, levelDown: 6 })).toBe(", the input's level fitted within -6 to +15 dB");
    expect(text({ levelRange: 15, levelDown: 15 })).toBe(", the input's level fitted within 15 dB");
    expect(
      lexiconSearchDifferences(resolveLexiconBeamOptions({ levelRange: 15, levelDown: 0 }), resolveLexiconBeamOptions({ levelRange: 15 })),
    ).toEqual(['levelDown']);
  });

  it('views: an integer >= 1, kept absent where none is given', () => {
    expect('views' in resolveLexiconBeamOptions({})).toBe(false);
    expect(resolveLexiconBeamOptions({ views: 5 }).views).toBe(5);
    for (const views of [0, 2.5, -1, Number.NaN])
      expect(() => resolveLexiconBeamOptions({ views })).toThrow(/views must be an integer >= 1/);
    expect(resolveLexiconSearchSettings({ views: 5, beam: 128 })).toEqual({ views: 5, beam: 128 });
    expect(() => resolveLexiconSearchSettings({ views: 0 }, 'search')).toThrow(/^search: views must be/);
  });
});
