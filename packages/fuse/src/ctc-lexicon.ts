/**
 * Lexicon-constrained CTC prefix beam search with a word language model (docs/zipper.md,
 * "Lexicon decoding"; not in the paper): the decoding of a byte-label CTC head (e.g.
 * `zipper fuse train --ctc-labels bytes`) that only spells words of a lexicon, scored by
 *   log p_ctc(labels) + lmWeight * log p_lm(words) + wordBonus * |words|
 * (p_ctc with the blank's log-probability lowered by `blankPenalty` at every frame),
 * the frame-synchronous prefix search of Hannun et al. (2014, "First-pass large vocabulary
 * continuous speech recognition using bi-directional recurrent DNNs"). Labels are UTF-8 bytes, the
 * space (32) separates words; a partial word is ranked with its best unigram below it in the
 * lexicon's trie (the LM lookahead), replaced by its LM probability after the two words before it
 * (a bigram LM reads one) when the word ends. A word the lexicon lacks cannot be spelled (1.6% of
 * dev's words and 1.8% of test-clean's with the shipped lexicon, docs/zipper.md) unless
 * `oovByteLogProb` is set: then a word may also be spelled freely from the lexicon's bytes, and a word
 * so spelled that the lexicon lacks takes `oovByteLogProb` per byte in place of its LM
 * log-probability (an unknown word, scored like a character LM; the words after it are scored as
 * after a sentence's start). Per byte, not per word: at a flat cost per word, one long unknown word
 * is cheaper than the several known words it runs together. An LM with a dictionary (a word list
 * of the language, @zipper/text's `WordLm.dictionary`, not counted) lets the search spell its words
 * too when `dictionaryWordLogProb` is set: each at that flat cost in place of an LM log-probability,
 * the context starting again after it as after an unknown word (a flat cost per word here: the
 * dictionary holds whole words only, so one cannot run several together).
 *
 *   const lm = WordLm.decode(bytes);                   // @zipper/text
 *   const lexicon = ByteLexicon.of(lm);                 // once per LM
 *   const { rows, classes } = ctcLogProbs(zipper, inputs);
 *   const best = ctcLexiconBeam(rows[0], classes, lexicon)[0];   // best.text
 *
 * Legend: T source positions (frames) of a row, C the head's classes (+1 blank, the last).
 */
import { ConfigError, ShapeError } from '@zipper/core';
import { logAdd } from '@zipper/core/ops';

/** The word LM the search reads (@zipper/text's WordLm is one). */
export interface WordScorer {
  /** The lexicon: word i has id i. */
  readonly words: readonly string[];
  /** The sentence boundary's id (<s> as a context, </s> as the last word). */
  readonly boundary: number;
  /**
   * ln p(next | before, prev): `before` is the word before `prev` (the boundary at a sentence's
   * start); a bigram model ignores it (@zipper/text's WordLm of order 2 or 3).
   */
  logProb(prev: number, next: number, before: number): number;
  /** ln p(w). */
  unigramLogProb(w: number): number;
  /** Words beyond the lexicon the search may spell (`dictionaryWordLogProb`), none of them in `words`. */
  readonly dictionary?: readonly string[];
}

const SPACE = 32;
const ENCODER = new TextEncoder();

/** `LexiconHypothesis.words`' id of a word spelled freely (`oovByteLogProb`): neither the lexicon's nor the dictionary's. */
export const UNKNOWN_WORD = -1;
/** `LexiconHypothesis.words`' id of a word of the LM's dictionary (`dictionaryWordLogProb`). */
export const DICTIONARY_WORD = -2;

/**
 * The ln p a search with `options` gives a dictionary word of `lexicon`'s LM, or undefined where it
 * spells none (no `dictionaryWordLogProb`, or an LM without a dictionary).
 */
export function dictionaryWordCost(lexicon: ByteLexicon, options: Pick<LexiconBeamOptions, 'dictionaryWordLogProb'>): number | undefined {
  return (lexicon.lm.dictionary?.length ?? 0) > 0 ? options.dictionaryWordLogProb : undefined;
}

/** The lexicon's words as a trie over their UTF-8 bytes, each node with its best unigram below. */
export class ByteLexicon {
  /**
   * The children of node v are edges `edgeStart[v]` to `edgeStart[v + 1]` (sorted by byte): their
   * bytes and nodes. Node 0 is the root. Typed arrays, not a Map per node: with a dictionary the trie
   * has 245,302 nodes (the demo's peak RSS 423 MB with a Map per node, 374-378 MB packed; README).
   */
  private readonly edgeStart: Int32Array;
  private readonly edgeByte: Uint8Array;
  private readonly edgeNode: Int32Array;
  /** Per node: the word id ending there, or -1. */
  private readonly wordAt: Int32Array;
  /** Per node: the largest ln p(w) of the words at or below it (-Infinity: only dictionary words). */
  private readonly best: Float64Array;
  /** Per node: the index of the dictionary word ending there, or -1. */
  private readonly dictAt: Int32Array;
  /** Per node: 1 where a dictionary word ends at or below it. */
  private readonly dictBelow: Uint8Array;
  /** The bytes the lexicon's words are spelled with (an unknown word is spelled with these only). */
  private readonly alphabet = new Set<number>();

  private constructor(readonly lm: WordScorer) {
    // built with one map of edges (node * 256 + byte -> child) and growing arrays, then packed
    const edges = new Map<number, number>();
    const wordAt: number[] = [-1];
    const best: number[] = [-Infinity];
    const dictAt: number[] = [-1];
    const dictBelow: number[] = [0];
    const insert = (word: string, what: string, visit: (node: number, byte: number) => void): number => {
      const bytes = ENCODER.encode(word);
      if (bytes.length === 0 || bytes.includes(SPACE)) throw new ConfigError(`${what} (${JSON.stringify(word)}) is empty or holds a space`);
      let node = 0;
      for (const b of bytes) {
        let next = edges.get(node * 256 + b);
        if (next === undefined) {
          next = wordAt.length;
          wordAt.push(-1);
          best.push(-Infinity);
          dictAt.push(-1);
          dictBelow.push(0);
          edges.set(node * 256 + b, next);
        }
        node = next;
        visit(node, b);
      }
      return node;
    };
    lm.words.forEach((w, id) => {
      const p = lm.unigramLogProb(id);
      best[0] = Math.max(best[0]!, p);
      const node = insert(w, `lexicon word ${id}`, (n, b) => {
        best[n] = Math.max(best[n]!, p);
        this.alphabet.add(b);
      });
      wordAt[node] = id;
    });
    (lm.dictionary ?? []).forEach((w, i) => {
      dictBelow[0] = 1;
      const node = insert(w, `dictionary word ${i}`, (n) => {
        dictBelow[n] = 1;
      });
      if (wordAt[node]! >= 0) throw new ConfigError(`dictionary word ${i} (${JSON.stringify(w)}) is in the lexicon`);
      dictAt[node] = i;
    });
    const n = wordAt.length;
    const keys = Float64Array.from(edges.keys()).sort(); // by node, then byte
    this.edgeStart = new Int32Array(n + 1);
    this.edgeByte = new Uint8Array(keys.length);
    this.edgeNode = new Int32Array(keys.length);
    keys.forEach((k, i) => {
      const from = Math.floor(k / 256);
      this.edgeStart[from + 1]!++;
      this.edgeByte[i] = k % 256;
      this.edgeNode[i] = edges.get(k)!;
    });
    for (let v = 0; v < n; v++) this.edgeStart[v + 1]! += this.edgeStart[v]!;
    this.wordAt = Int32Array.from(wordAt);
    this.best = Float64Array.from(best);
    this.dictAt = Int32Array.from(dictAt);
    this.dictBelow = Uint8Array.from(dictBelow);
  }

  static of(lm: WordScorer): ByteLexicon {
    return new ByteLexicon(lm);
  }

  /** Trie nodes. */
  get size(): number {
    return this.wordAt.length;
  }

  child(node: number, byte: number): number | undefined {
    for (let i = this.edgeStart[node]!, end = this.edgeStart[node + 1]!; i < end; i++) {
      const b = this.edgeByte[i]!;
      if (b === byte) return this.edgeNode[i];
      if (b > byte) return undefined; // sorted
    }
    return undefined;
  }

  word(node: number): number {
    return this.wordAt[node]!;
  }

  /** The largest ln p(w) of the lexicon's words at or below `node` (-Infinity where only dictionary words are). */
  lookahead(node: number): number {
    return this.best[node]!;
  }

  /** The index in the LM's `dictionary` of the word ending at `node`, or -1. */
  dictionaryWord(node: number): number {
    return this.dictAt[node]!;
  }

  /** Whether a dictionary word ends at or below `node`. */
  reachesDictionary(node: number): boolean {
    return this.dictBelow[node] === 1;
  }

  /** Whether some word of the lexicon holds the byte. */
  spells(byte: number): boolean {
    return this.alphabet.has(byte);
  }
}

/**
 * The search's settings. The defaults were chosen on dev with the shipped zipper-small and its
 * text tower's word LM, a trigram since 2026-12-05 (docs/zipper.md, "Lexicon decoding"), never on
 * a test split; an LM of another order or corpus wants its own.
 */
export interface LexiconBeamOptions {
  /** Prefixes kept after each frame (default 128). */
  readonly beam?: number;
  /** Weight of ln p_lm (default 1.0). */
  readonly lmWeight?: number;
  /** Added per word (default -2: a cost per word, against the insertions of short words). */
  readonly wordBonus?: number;
  /**
   * Subtracted from the blank's log-probability at every frame (default 1.5): against the head's
   * deletions (on dev, deletions outnumbered insertions 3 to 1 without it). 0: the exact CTC score.
   */
  readonly blankPenalty?: number;
  /** A frame extends prefixes only by labels with ln p above this (default -5; the space always). */
  readonly labelThreshold?: number;
  /** After each frame, prefixes ranked more than this below the best are dropped (default 15). */
  readonly margin?: number;
  /**
   * Hypotheses returned, best first, each transcript once (default 1; 8 with a `rescoreWeight`):
   * the ones `ctcTranscripts` re-ranks.
   */
  readonly nBest?: number;
  /**
   * Not the search's own: the weight of ln p_att(hypothesis | the source) when `ctcTranscripts`
   * re-ranks the `nBest` hypotheses by the zipped model's decoder, the head's `to` tower (default
   * 0: the search's ranking, no second pass). Carried with the search so a model's decoder is one
   * set of settings.
   */
  readonly rescoreWeight?: number;
  /**
   * ln p_lm per byte given to a word the lexicon lacks, spelled freely from the lexicon's bytes (an
   * open vocabulary; default none, undefined: such words cannot be spelled). A finite value at most
   * 0, e.g. -3: an unknown word of n bytes scores n times it in place of its LM log-probability.
   */
  readonly oovByteLogProb?: number;
  /**
   * ln p_lm given to a word of the LM's dictionary (`WordScorer.dictionary`), a finite value at most
   * 0, e.g. -15 (default none, undefined: the dictionary is not spelled; so too with an LM without one).
   */
  readonly dictionaryWordLogProb?: number;
  /**
   * Not the search's own: views of the audio the apps decode (an integer >= 1; default none,
   * undefined: the audio alone, which 1 resolves to as well). With k, the apps decode the first k of @zipper/tokenizers
   * `AUDIO_VIEWS` (the audio delayed a few samples, or a few percent faster or slower) and vote their
   * transcripts word by word against the first (@zipper/eval `voteTranscripts`). The search and
   * `ctcTranscripts` read units and ignore it; carried with the search so a model's decoder is one
   * set of settings.
   */
  readonly views?: number;
  /**
   * Not the search's own either: the apps fit the input's level to the speech codebook before
   * encoding it (an integer >= 0 of dB; default none, undefined: the audio as recorded, which 0
   * resolves to as well). With R, each recording is scaled by the whole-dB gain within +-R whose
   * units lie nearest their centroids (@zipper/tokenizers `fitLevel`); the views view the scaled
   * audio. Carried with the search like `views`.
   */
  readonly levelRange?: number;
  /**
   * With `levelRange`: the most dB the fit may turn the audio down (an integer >= 0; default none,
   * undefined: `levelRange` itself, which it resolves to as well; 0: the audio is only ever turned up).
   */
  readonly levelDown?: number;
}

/** The settings that stay absent where there is none. */
const OPTIONAL_SETTINGS = ['oovByteLogProb', 'dictionaryWordLogProb', 'views', 'levelRange', 'levelDown'] as const;
type OptionalSetting = (typeof OPTIONAL_SETTINGS)[number];

/** Every setting given a value, but `oovByteLogProb`, `dictionaryWordLogProb`, `views`, `levelRange` and `levelDown`, which stay absent where there is none (`views` also where it is 1, `levelRange` where it is 0, `levelDown` where it is `levelRange` or there is no range). */
export type ResolvedLexiconBeamOptions = Required<Omit<LexiconBeamOptions, OptionalSetting>> & Pick<LexiconBeamOptions, OptionalSetting>;

/**
 * The search settings a model may carry for its CTC head (`CtcHeadSpec.search`, chosen on a dev
 * split for that model): `ctcTranscripts`, and so both apps, search with them where the caller
 * gives none. The other settings are the search's own (pruning), not the model's.
 */
export type LexiconSearchSettings = Pick<LexiconBeamOptions, (typeof LEXICON_SEARCH_KEYS)[number]>;

export const LEXICON_SEARCH_KEYS = [
  'beam',
  'lmWeight',
  'wordBonus',
  'blankPenalty',
  'rescoreWeight',
  'nBest',
  'oovByteLogProb',
  'dictionaryWordLogProb',
  'views',
  'levelRange',
  'levelDown',
] as const;

/** Each search setting's name in prose (model cards, reports, messages). */
export const LEXICON_SEARCH_LABELS: Readonly<Record<(typeof LEXICON_SEARCH_KEYS)[number], string>> = {
  beam: 'beam',
  lmWeight: 'LM weight',
  wordBonus: 'word bonus',
  blankPenalty: 'blank penalty',
  rescoreWeight: 'rescore weight',
  nBest: 'n best',
  oovByteLogProb: 'unknown-word log-prob per byte',
  dictionaryWordLogProb: 'dictionary-word log-prob',
  views: 'views',
  levelRange: 'level range (dB)',
  levelDown: 'level range down (dB)',
};

/**
 * The settings in prose, as cards and reports write them: "LM weight 1, word bonus -2, blank
 * penalty 2, beam 128", and with a rescore weight ", then the 16 best re-ranked by the zipped model's decoder
 * at weight 0.3"; with an `oovByteLogProb`, ", unknown words spelled at ln p -3 a byte" after the beam, and with a
 * `dictionaryWordLogProb`, ", dictionary words at ln p -15" after that; with `levelRange` above 0,
 * ", the input's level fitted within 15 dB" (with a `levelDown` of 0 ", the input's level raised by up
 * to 15 dB", of 6 ", ... fitted within -6 to +15 dB"), then with `views` above 1, ", the transcripts of 5 views
 * of the audio voted" at the end. Settings
 * recorded before the rescoring was a setting (no `rescoreWeight`) read as none.
 */
export function lexiconSearchText(
  s: Pick<ResolvedLexiconBeamOptions, 'lmWeight' | 'wordBonus' | 'blankPenalty' | 'beam'> & LexiconSearchSettings,
): string {
  const search = (['lmWeight', 'wordBonus', 'blankPenalty', 'beam'] as const)
    .map((k) => `${LEXICON_SEARCH_LABELS[k]} ${s[k]}`)
    .concat(s.oovByteLogProb !== undefined ? [`unknown words spelled at ln p ${s.oovByteLogProb} a byte`] : [])
    .concat(s.dictionaryWordLogProb !== undefined ? [`dictionary words at ln p ${s.dictionaryWordLogProb}`] : [])
    .join(', ');
  const { rescoreWeight, nBest } = resolveLexiconBeamOptions({ rescoreWeight: s.rescoreWeight, nBest: s.nBest, beam: s.beam });
  const ranked =
    rescoreWeight > 0 ? `${search}, then the ${nBest} best re-ranked by the zipped model's decoder at weight ${rescoreWeight}` : search;
  const range = lexiconLevelRange(resolveLexiconBeamOptions({ levelRange: s.levelRange, levelDown: s.levelDown }));
  const level =
    range === undefined
      ? ranked
      : range.down === range.up
        ? `${ranked}, the input's level fitted within ${range.up} dB`
        : range.down === 0
          ? `${ranked}, the input's level raised by up to ${range.up} dB`
          : `${ranked}, the input's level fitted within -${range.down} to +${range.up} dB`;
  return (s.views ?? 1) > 1 ? `${level}, the transcripts of ${s.views} views of the audio voted` : level;
}

/**
 * The gains in dB resolved settings let the apps' level fit try (@zipper/tokenizers `fitLevel`'s
 * range): `levelRange` up and `levelDown` (else `levelRange`) down; undefined without a range (the
 * audio as recorded). One reading of the two settings for the CLI, the web page and the cards.
 */
export function lexiconLevelRange(
  s: Pick<ResolvedLexiconBeamOptions, 'levelRange' | 'levelDown'>,
): { readonly up: number; readonly down: number } | undefined {
  return s.levelRange === undefined ? undefined : { up: s.levelRange, down: s.levelDown ?? s.levelRange };
}

/**
 * The keys where two resolved settings decode differently (none: they decode alike): `nBest`
 * counts only where either rescores (without a second pass only the best hypothesis is read).
 */
export function lexiconSearchDifferences(
  a: ResolvedLexiconBeamOptions,
  b: ResolvedLexiconBeamOptions,
): (typeof LEXICON_SEARCH_KEYS)[number][] {
  const rescores = a.rescoreWeight > 0 || b.rescoreWeight > 0;
  return LEXICON_SEARCH_KEYS.filter((k) => a[k] !== b[k] && (k !== 'nBest' || rescores));
}

/**
 * Search options given for one search over a model's carried settings: a number sets a key; `null`
 * turns an optional one (`oovByteLogProb`, `dictionaryWordLogProb`, `views`, `levelRange`, `levelDown`)
 * off, to none, whatever the model carries.
 */
export type GivenLexiconBeamOptions = Omit<LexiconBeamOptions, OptionalSetting> & { readonly [K in OptionalSetting]?: number | null };

/** `GivenLexiconBeamOptions`' search settings (the keys a model may carry). */
export type GivenLexiconSearchSettings = Pick<GivenLexiconBeamOptions, (typeof LEXICON_SEARCH_KEYS)[number]>;

/**
 * Resolved settings given so that nothing a model carries fills them again: each optional setting
 * that is none becomes `null` (a search over a model's head with its own settings otherwise takes
 * back a carried cost the caller turned off).
 */
export function exactSearch(s: ResolvedLexiconBeamOptions): GivenLexiconBeamOptions {
  return { ...s, ...Object.fromEntries(OPTIONAL_SETTINGS.filter((k) => s[k] === undefined).map((k) => [k, null])) };
}

/**
 * `given` over the model's `carried` settings, key by key (a key `given` leaves undefined keeps
 * the carried value, `null` removes it): what a search of that model uses, before the defaults
 * fill the rest.
 */
export function withCarriedSearch(carried: LexiconSearchSettings | undefined, given: GivenLexiconBeamOptions = {}): LexiconBeamOptions {
  const out: Record<string, number> = { ...carried };
  for (const [k, v] of Object.entries(given)) {
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v as number;
  }
  return out;
}

/**
 * Checks settings to be carried by a model: only `LEXICON_SEARCH_KEYS`, each valid for the search
 * (ConfigError otherwise, `where` naming them); the defined ones, frozen.
 */
export function resolveLexiconSearchSettings(s: LexiconSearchSettings, where = 'search'): LexiconSearchSettings {
  if (s === null || typeof s !== 'object' || Array.isArray(s))
    throw new ConfigError(`${where} must be an object of ${LEXICON_SEARCH_KEYS.join(', ')}, got ${JSON.stringify(s)}`);
  const unknown = Object.keys(s).filter((k) => !(LEXICON_SEARCH_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new ConfigError(
      `${where}: ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a model's search setting (${LEXICON_SEARCH_KEYS.join(', ')})`,
    );
  const defined = Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as LexiconSearchSettings;
  for (const [k, v] of Object.entries(defined))
    if (typeof v !== 'number') throw new ConfigError(`${where}.${k} must be a number, got ${JSON.stringify(v)}`);
  try {
    resolveLexiconBeamOptions(defined);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${where}: ${e.message}`);
    throw e;
  }
  return Object.freeze(defined);
}

export function resolveLexiconBeamOptions(o: LexiconBeamOptions = {}): ResolvedLexiconBeamOptions {
  const rescoreWeight = o.rescoreWeight ?? 0;
  const r = {
    beam: o.beam ?? 128,
    lmWeight: o.lmWeight ?? 1.0,
    wordBonus: o.wordBonus ?? -2,
    blankPenalty: o.blankPenalty ?? 1.5,
    labelThreshold: o.labelThreshold ?? -5,
    margin: o.margin ?? 15,
    nBest: o.nBest ?? (rescoreWeight > 0 ? 8 : 1),
    rescoreWeight,
    ...(o.oovByteLogProb !== undefined ? { oovByteLogProb: o.oovByteLogProb } : {}),
    ...(o.dictionaryWordLogProb !== undefined ? { dictionaryWordLogProb: o.dictionaryWordLogProb } : {}),
    // one view is the audio alone: resolved as none, so settings that decode alike compare equal
    ...(o.views !== undefined && o.views !== 1 ? { views: o.views } : {}),
    // a range of 0 dB is the audio as recorded: resolved as none, like one view
    ...(o.levelRange !== undefined && o.levelRange !== 0 ? { levelRange: o.levelRange } : {}),
    // the range down only beside a range, and only where it is not the range itself
    ...(o.levelRange !== undefined && o.levelRange !== 0 && o.levelDown !== undefined && o.levelDown !== o.levelRange
      ? { levelDown: o.levelDown }
      : {}),
  };
  if (!Number.isInteger(r.beam) || r.beam < 1) throw new ConfigError(`beam must be an integer >= 1, got ${r.beam}`);
  if (!Number.isInteger(r.nBest) || r.nBest < 1 || r.nBest > r.beam)
    throw new ConfigError(`nBest must be an integer in [1, beam = ${r.beam}], got ${r.nBest}`);
  for (const k of ['lmWeight', 'wordBonus', 'blankPenalty', 'labelThreshold', 'margin', 'rescoreWeight'] as const)
    if (!Number.isFinite(r[k])) throw new ConfigError(`${k} must be a finite number, got ${r[k]}`);
  if (r.lmWeight < 0) throw new ConfigError(`lmWeight must be >= 0, got ${r.lmWeight}`);
  if (r.rescoreWeight < 0) throw new ConfigError(`rescoreWeight must be >= 0, got ${r.rescoreWeight}`);
  if (r.margin <= 0) throw new ConfigError(`margin must be > 0, got ${r.margin}`);
  if (r.oovByteLogProb !== undefined && !(Number.isFinite(r.oovByteLogProb) && r.oovByteLogProb <= 0))
    throw new ConfigError(`oovByteLogProb must be a finite number <= 0 (leave it out for none), got ${r.oovByteLogProb}`);
  if (r.dictionaryWordLogProb !== undefined && !(Number.isFinite(r.dictionaryWordLogProb) && r.dictionaryWordLogProb <= 0))
    throw new ConfigError(`dictionaryWordLogProb must be a finite number <= 0 (leave it out for none), got ${r.dictionaryWordLogProb}`);
  if (r.views !== undefined && !(Number.isInteger(r.views) && r.views >= 1))
    throw new ConfigError(`views must be an integer >= 1 (leave it out for the audio alone), got ${r.views}`);
  if (r.levelRange !== undefined && !(Number.isInteger(r.levelRange) && r.levelRange >= 0))
    throw new ConfigError(`levelRange must be an integer >= 0 of dB (leave it out for the audio as recorded), got ${r.levelRange}`);
  if (o.levelDown !== undefined && !(Number.isInteger(o.levelDown) && o.levelDown >= 0))
    throw new ConfigError(`levelDown must be an integer >= 0 of dB (leave it out for levelRange's), got ${o.levelDown}`);
  return r;
}

export interface LexiconHypothesis {
  readonly text: string;
  /** Word ids of the lexicon, UNKNOWN_WORD (-1) for an unknown word (`oovByteLogProb`), DICTIONARY_WORD (-2) for a dictionary word. */
  readonly words: readonly number[];
  /** ln p_ctc(the labels), the blank penalized by `blankPenalty`: summed over the alignments the search kept. */
  readonly ctc: number;
  /** ln p_lm(words, </s>), `oovByteLogProb` for each byte of an unknown word, `dictionaryWordLogProb` for a dictionary word. */
  readonly lm: number;
  /** ctc + lmWeight * lm + wordBonus * |words|: the rank. */
  readonly score: number;
}

interface WordList {
  /** The lexicon's id, -1 for an unknown word, -2 for a dictionary word. */
  readonly word: number;
  readonly text: string;
  readonly rest: WordList | null;
}

function wordArray(l: WordList | null): WordList[] {
  const out: WordList[] = [];
  for (let x = l; x; x = x.rest) out.push(x);
  return out.reverse();
}

const UTF8 = new TextDecoder();

/** The bytes of the word being spelled at the end of a prefix's key (one char code per byte). */
function partialBytes(key: string): number {
  return key.length - (key.lastIndexOf(' ') + 1);
}

/** The word being spelled at the end of a prefix's key, as text. */
function partialWord(key: string): string {
  const bytes = key.slice(key.lastIndexOf(' ') + 1);
  return UTF8.decode(Uint8Array.from(bytes, (ch) => ch.charCodeAt(0)));
}

interface Prefix {
  readonly key: string;
  /** The last label, -1 for none. */
  readonly last: number;
  /** The trie node of the word being spelled (0: between words; -1: off the trie, an unknown word). */
  readonly node: number;
  /** The completed words, last first (shared tails). */
  readonly words: WordList | null;
  /** How many. */
  readonly count: number;
  /** ln p_lm of the completed words. */
  readonly lm: number;
  /** ln p of the prefix's alignments ending in a blank (b) or in its last label (n). */
  b: number;
  n: number;
}

/**
 * The best `nBest` lexicon transcripts of one row's CTC log-probabilities `logp` [T, C + 1]
 * (blank = C; `ctcLogProbs`'s rows). Throws ShapeError for a row of the wrong size. Every frame
 * blank: one empty transcript. Where every prefix kept ends inside a word that no lexicon word
 * completes (possible only without `oovByteLogProb`): those prefixes' completed words, the partial
 * word dropped (its labels still counted in `ctc`), not an empty list (before 2026-12-06 it gave
 * none, and the apps an empty transcript: 1 utterance of dev's 200, 3 of test-clean's).
 */
export function ctcLexiconBeam(
  logp: Float64Array,
  classes: number,
  lexicon: ByteLexicon,
  options: LexiconBeamOptions = {},
): LexiconHypothesis[] {
  const o = resolveLexiconBeamOptions(options);
  const width = classes + 1;
  if (classes <= SPACE || logp.length % width !== 0)
    throw new ShapeError(`ctcLexiconBeam: ${logp.length} log-probs are not T x ${width} byte classes (+ blank)`);
  const T = logp.length / width;
  const lm = lexicon.lm;
  const oov = o.oovByteLogProb;
  const open = oov !== undefined;
  const dictCost = dictionaryWordCost(lexicon, o);
  // a partial word ranks with its best unigram below it, the dictionary's cost where a dictionary
  // word is below it, or as an unknown word so far: the best of these
  const unknown = (p: Prefix) => oov! * partialBytes(p.key);
  const onTrie = (node: number) =>
    dictCost !== undefined && lexicon.reachesDictionary(node) ? Math.max(lexicon.lookahead(node), dictCost) : lexicon.lookahead(node);
  const partial = (p: Prefix) =>
    p.node === 0 ? 0 : p.node < 0 ? unknown(p) : open ? Math.max(onTrie(p.node), unknown(p)) : onTrie(p.node);
  const rank = (p: Prefix) => logAdd(p.b, p.n) + o.lmWeight * (p.lm + partial(p)) + o.wordBonus * p.count;
  let beam: Prefix[] = [{ key: '', last: -1, node: 0, words: null, count: 0, lm: 0, b: 0, n: -Infinity }];
  for (let t = 0; t < T; t++) {
    const row = logp.subarray(t * width, (t + 1) * width);
    const blank = row[classes]! - o.blankPenalty;
    const labels: number[] = [];
    for (let c = 0; c < classes; c++) if (row[c]! > o.labelThreshold || c === SPACE) labels.push(c);
    const next = new Map<string, Prefix>();
    const at = (key: string, make: () => Omit<Prefix, 'b' | 'n'>): Prefix => {
      let p = next.get(key);
      if (!p) {
        p = { ...make(), b: -Infinity, n: -Infinity };
        next.set(key, p);
      }
      return p;
    };
    for (const p of beam) {
      const total = logAdd(p.b, p.n);
      const same = at(p.key, () => p);
      same.b = logAdd(same.b, total + blank);
      if (p.last >= 0) same.n = logAdd(same.n, p.n + row[p.last]!);
      for (const c of labels) {
        const ext = extension(p, c);
        if (!ext) continue;
        const q = at(ext.key, () => ext);
        // a repeated label needs a blank between its two copies
        q.n = logAdd(q.n, (c === p.last ? p.b : total) + row[c]!);
      }
    }
    const ranked = [...next.values()].map((p) => ({ p, r: rank(p) })).sort((a, b) => b.r - a.r);
    const floor = ranked[0]!.r - o.margin;
    beam = ranked
      .slice(0, o.beam)
      .filter((x) => x.r >= floor)
      .map((x) => x.p);
  }
  const done: LexiconHypothesis[] = [];
  for (const p of beam) {
    if (p.node === 0) done.push(finished(p, p.words, p.lm));
    else {
      const ended = endWord(p);
      if (ended) done.push(finished(p, ended.words, ended.lm)); // else it ends inside a word
    }
  }
  // every prefix kept ends inside a word no word of the lexicon completes (without oovByteLogProb):
  // their completed words, the partial one dropped, rather than no transcript at all
  if (done.length === 0) for (const p of beam) done.push(finished(p, p.words, p.lm));
  // a transcript reached by two label sequences (e.g. with and without a closing space) is listed once, at its best score
  const seen = new Set<string>();
  return done
    .sort((a, b) => b.score - a.score)
    .filter((h) => !seen.has(h.text) && seen.add(h.text))
    .slice(0, o.nBest);

  /**
   * The last two completed words [prev, before], the boundary in place of missing ones (`<s> <s>`)
   * and of those at or before an unknown word (it starts the context again).
   */
  function context(words: WordList | null): [number, number] {
    if (!words || words.word < 0) return [lm.boundary, lm.boundary];
    return [words.word, words.rest && words.rest.word >= 0 ? words.rest.word : lm.boundary];
  }

  /** `p` as a hypothesis of the completed `words` (their ln p_lm `lmSum`), closed by </s>. */
  function finished(p: Prefix, words: WordList | null, lmSum: number): LexiconHypothesis {
    const [last, beforeLast] = context(words);
    const lmAll = lmSum + lm.logProb(last, lm.boundary, beforeLast);
    const list = wordArray(words);
    const ctc = logAdd(p.b, p.n);
    return {
      text: list.map((w) => w.text).join(' '),
      words: list.map((w) => w.word),
      ctc,
      lm: lmAll,
      score: ctc + o.lmWeight * lmAll + o.wordBonus * list.length,
    };
  }

  /** The words and their ln p_lm once `p`'s partial word ends, or undefined where no word ends there. */
  function endWord(p: Prefix): { words: WordList; lm: number } | undefined {
    const w = p.node > 0 ? lexicon.word(p.node) : -1;
    if (w >= 0) {
      const [prev, before] = context(p.words);
      return { words: { word: w, text: lm.words[w]!, rest: p.words }, lm: p.lm + lm.logProb(prev, w, before) };
    }
    if (p.node === 0) return undefined;
    const d = dictCost !== undefined && p.node > 0 ? lexicon.dictionaryWord(p.node) : -1;
    // a dictionary word, or the same bytes as an unknown word where that scores better (a short word)
    if (d >= 0 && !(open && unknown(p) > dictCost!))
      return { words: { word: DICTIONARY_WORD, text: lm.dictionary![d]!, rest: p.words }, lm: p.lm + dictCost! };
    if (!open) return undefined;
    return { words: { word: UNKNOWN_WORD, text: partialWord(p.key), rest: p.words }, lm: p.lm + unknown(p) };
  }

  /** `p` extended by the label `c`, or undefined when the search cannot spell it. */
  function extension(p: Prefix, c: number): Omit<Prefix, 'b' | 'n'> | undefined {
    if (c === SPACE) {
      const ended = endWord(p);
      if (!ended) return undefined; // no word ends here (or two spaces)
      return { key: `${p.key} `, last: c, node: 0, words: ended.words, count: p.count + 1, lm: ended.lm };
    }
    const found = p.node >= 0 ? lexicon.child(p.node, c) : undefined;
    // a node only dictionary words pass is off the trie without the dictionary
    const child = found !== undefined && (dictCost !== undefined || lexicon.lookahead(found) > -Infinity) ? found : undefined;
    const node = child ?? (open && lexicon.spells(c) ? -1 : undefined);
    if (node === undefined) return undefined;
    return { key: p.key + String.fromCharCode(c), last: c, node, words: p.words, count: p.count, lm: p.lm };
  }
}
