/**
 * A word bigram or trigram language model of a text corpus (the text tower's unlabeled sentences):
 * its lexicon and log-probabilities for decoders that spell words, e.g. lexicon-constrained CTC
 * beam search (@zipper/fuse `ctcLexiconBeam`). Not in the paper: the Zipper text tower is the
 * model's language model; this one is a cheap, exact count model of the same text for the CTC
 * head's search.
 *
 * Words are the corpus's whitespace-separated tokens seen at least `minCount` times. Probabilities
 * are interpolated absolute discounting (Ney et al. 1994) over sentence-bounded n-grams:
 *   p(w | v)    = max(c(v, w) - D, 0) / c(v) + D * n(v) / c(v) * p(w),            p(w) = c(w) / N,
 *   p(w | u, v) = max(c(u, v, w) - D, 0) / c(u, v) + D * n(u, v) / c(u, v) * p(w | v)   (order 3),
 * c(.) the count of a context, n(.) its distinct followers; the sentence boundary is one symbol
 * (`boundary`, id = words.length): the context of a first word (twice, `<s> <s>`, for a trigram)
 * and the word after the last. N-grams seen fewer than `minBigramCount` / `minTrigramCount` times
 * are not stored: they take the backed-off value. A trigram context none of whose trigrams is
 * stored is not stored either: it passes p(w | v) on whole (the pruned mass, as in KenLM's pruning).
 * Rare words count towards N and the context counts, so the lexicon's probabilities are the
 * corpus's. (@zipper/eval's KneserNeyLM is the other n-gram estimator here: modified Kneser-Ney,
 * unpruned and in memory, the baseline the towers' held-out loss is compared with.)
 *
 *   const lm = WordLm.build(lines, { minCount: 2, order: 3 });
 *   lm.logProb(lm.boundary, lm.wordId('the')!);          // ln p(the | <s>)
 *   lm.logProb(the, cat, lm.boundary);                    // ln p(cat | <s> the) (order 3; a bigram model ignores `before`)
 *   await writeFile('lm.safetensors', lm.encode());      // WordLm.decode(bytes) reads it back
 */
import { ConfigError, decodeSafetensors, encodeSafetensors, SafetensorsError } from '@zipper/core';
import { deflateSync, inflateSync } from 'fflate';

export interface WordLmConfig {
  /** Words seen fewer times are left out of the lexicon (default 2). */
  readonly minCount?: number;
  /** Bigrams seen fewer times are not stored (default 2). */
  readonly minBigramCount?: number;
  /** The absolute discount D, in (0, 1) (default 0.75), at every order. */
  readonly discount?: number;
  /** 2 (bigram, the default) or 3 (trigram). */
  readonly order?: 2 | 3;
  /** Trigrams seen fewer times are not stored (default 2; order 3 only). */
  readonly minTrigramCount?: number;
}

export type ResolvedWordLmConfig = Required<WordLmConfig>;

export function resolveWordLmConfig(c: WordLmConfig = {}): ResolvedWordLmConfig {
  const r = {
    minCount: c.minCount ?? 2,
    minBigramCount: c.minBigramCount ?? 2,
    discount: c.discount ?? 0.75,
    order: c.order ?? 2,
    minTrigramCount: c.minTrigramCount ?? 2,
  };
  if (r.order !== 2 && r.order !== 3) throw new ConfigError(`order must be 2 or 3, got ${String(r.order)}`);
  if (!Number.isInteger(r.minTrigramCount) || r.minTrigramCount < 1)
    throw new ConfigError(`minTrigramCount must be an integer >= 1, got ${r.minTrigramCount}`);
  if (!Number.isInteger(r.minCount) || r.minCount < 1) throw new ConfigError(`minCount must be an integer >= 1, got ${r.minCount}`);
  if (!Number.isInteger(r.minBigramCount) || r.minBigramCount < 1)
    throw new ConfigError(`minBigramCount must be an integer >= 1, got ${r.minBigramCount}`);
  if (!(r.discount > 0 && r.discount < 1)) throw new ConfigError(`discount must be in (0, 1), got ${r.discount}`);
  return r;
}

/** What the file records besides the numbers. */
export interface WordLmInfo {
  /** As built (a file written before trigrams has no `order` / `minTrigramCount`: a bigram model). */
  readonly config: ResolvedWordLmConfig | Omit<ResolvedWordLmConfig, 'order' | 'minTrigramCount'>;
  readonly sentences: number;
  /** Word tokens of the corpus (rare ones included), without boundaries. */
  readonly tokens: number;
}

/** A text tower package's word LM file, next to its tower/ and tokenizer/ (`zipper lm build`). */
export const WORD_LM_FILE = 'lm.safetensors';

const FORMAT = 'zipper-word-lm';
/** '1': a bigram model; '2': a trigram model (its trigram.* and context.* tensors; a reader of '1' would drop them). */
const VERSIONS = { 2: '1', 3: '2' } as const;

/** A trigram model's tables: stored trigrams and the contexts that have one. */
interface Trigrams {
  /** ln p(w | u, v) by key (u, v, w). */
  readonly logp: Map<number, number>;
  /** ln(D n(u, v) / c(u, v)) by key (u, v). */
  readonly backoff: Map<number, number>;
}

export class WordLm {
  /** The boundary symbol's id (<s> as a context, </s> as a word): words.length. */
  readonly boundary: number;
  private readonly index: Map<string, number>;
  private readonly bigrams: Map<number, number>;
  /** A trigram model's tables (set once, by the constructor or by `build` right after the bigram part). */
  private trigrams: Trigrams | undefined;
  /** The dictionary (set once, by `build` or `decode`; see `dictionary`). */
  private dict: readonly string[] = [];

  private constructor(
    /** The lexicon, most frequent first. */
    readonly words: readonly string[],
    /** ln p(w) for w in [0, words.length]; the last is the boundary's. */
    private readonly unigram: Float32Array,
    /** ln(D n(v) / c(v)) for v in [0, words.length]. */
    private readonly backoff: Float32Array,
    bigramPrev: Int32Array,
    bigramNext: Int32Array,
    bigramLogp: Float32Array,
    readonly info: WordLmInfo,
    trigrams?: Trigrams,
  ) {
    this.boundary = words.length;
    this.index = new Map(words.map((w, i) => [w, i]));
    this.bigrams = new Map();
    for (let i = 0; i < bigramPrev.length; i++) this.bigrams.set(this.key(bigramPrev[i]!, bigramNext[i]!), bigramLogp[i]!);
    this.trigrams = trigrams;
  }

  /** 2 or 3. */
  get order(): 2 | 3 {
    return this.trigrams ? 3 : 2;
  }

  /**
   * Words a decoder may spell beyond the lexicon, none of them counted (no probability here; a
   * search scores them at a cost of its own, e.g. @zipper/fuse's `dictionaryWordLogProb`): a word
   * list of the language (e.g. Debian's wamerican), those the lexicon holds left out, sorted.
   * Empty for a model built without one.
   */
  get dictionary(): readonly string[] {
    return this.dict;
  }

  /**
   * Counts `sentences` (one per item; words split at whitespace; empty ones skipped). `dictionary`:
   * words to keep as `dictionary` (each one word without whitespace, else ConfigError; duplicates and
   * the lexicon's words dropped). The counts do not depend on it.
   */
  static build(sentences: Iterable<string>, config: WordLmConfig = {}, options: { readonly dictionary?: Iterable<string> } = {}): WordLm {
    const lm = WordLm.count(sentences, config);
    if (options.dictionary) lm.dict = dictionaryOf(options.dictionary, lm, 'WordLm.build: dictionary', (m) => new ConfigError(m));
    return lm;
  }

  private static count(sentences: Iterable<string>, config: WordLmConfig): WordLm {
    const c = resolveWordLmConfig(config);
    const counts = new Map<string, number>();
    const lines: string[][] = [];
    for (const s of sentences) {
      const words = s.split(/\s+/).filter(Boolean);
      if (words.length === 0) continue;
      lines.push(words);
      for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    if (lines.length === 0) throw new ConfigError('WordLm.build: the corpus has no words');
    const words = [...counts.entries()]
      .filter(([, n]) => n >= c.minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([w]) => w);
    if (words.length === 0) throw new ConfigError(`WordLm.build: no word is seen ${c.minCount} times (minCount)`);
    const index = new Map(words.map((w, i) => [w, i]));
    const V = words.length;
    const UNK = V + 1; // rare words: counted, never predicted
    const tokens = lines.reduce((a, l) => a + l.length, 0);
    const total = tokens + lines.length; // every word and every sentence end
    const uni = new Float64Array(V + 1);
    const ctx = new Float64Array(V + 2); // c(v), v in [0, V] plus UNK
    const pairs = new Map<number, number>();
    const pairKey = (v: number, w: number) => v * (V + 2) + w;
    for (const l of lines) {
      let prev = V;
      for (const w of [...l.map((x) => index.get(x) ?? UNK), V]) {
        if (w !== UNK) uni[w]! += 1;
        ctx[prev]! += 1;
        pairs.set(pairKey(prev, w), (pairs.get(pairKey(prev, w)) ?? 0) + 1);
        prev = w;
      }
    }
    const followers = new Float64Array(V + 2);
    for (const k of pairs.keys()) followers[Math.floor(k / (V + 2))]! += 1;
    const unigram = Float32Array.from(uni, (n) => Math.log(n / total));
    const backoff = Float32Array.from({ length: V + 1 }, (_, v) => Math.log((c.discount * followers[v]!) / ctx[v]!));
    const prevs: number[] = [];
    const nexts: number[] = [];
    const logps: number[] = [];
    for (const [k, n] of pairs) {
      const v = Math.floor(k / (V + 2));
      const w = k % (V + 2);
      if (n < c.minBigramCount || v === UNK || w === UNK) continue;
      prevs.push(v);
      nexts.push(w);
      logps.push(Math.log((n - c.discount) / ctx[v]! + Math.exp(backoff[v]! + unigram[w]!)));
    }
    const lm = new WordLm(words, unigram, backoff, Int32Array.from(prevs), Int32Array.from(nexts), Float32Array.from(logps), {
      config: c,
      sentences: lines.length,
      tokens,
    });
    if (c.order === 2) return lm;
    // order 3: count (u, v, w) with <s> <s> before the first word, then interpolate with the bigram above
    const B = V + 2;
    const triples = new Map<number, number>();
    for (const l of lines) {
      let [u, v] = [V, V];
      for (const w of [...l.map((x) => index.get(x) ?? UNK), V]) {
        const k = (u * B + v) * B + w;
        triples.set(k, (triples.get(k) ?? 0) + 1);
        [u, v] = [v, w];
      }
    }
    const contexts = new Map<number, [count: number, followers: number]>();
    for (const [k, n] of triples) {
      const e = contexts.get(Math.floor(k / B));
      if (e) {
        e[0] += n;
        e[1] += 1;
      } else contexts.set(Math.floor(k / B), [n, 1]);
    }
    const tri: Trigrams = { logp: new Map(), backoff: new Map() };
    for (const [k, n] of triples) {
      const w = k % B;
      const uv = Math.floor(k / B);
      const [u, v] = [Math.floor(uv / B), uv % B];
      if (n < c.minTrigramCount || u === UNK || v === UNK || w === UNK) continue;
      const [count, followers] = contexts.get(uv)!;
      // float32, as the file keeps them (a built model and its file give the same numbers)
      const bo = Math.fround(Math.log((c.discount * followers) / count));
      tri.backoff.set(lm.key(u, v), bo);
      tri.logp.set(lm.key3(u, v, w), Math.fround(Math.log((n - c.discount) / count + Math.exp(bo + lm.logProb(v, w)))));
    }
    lm.trigrams = tri; // computed from the bigram part of the same model, which stays as it is
    return lm;
  }

  /** Stored bigrams. */
  get bigramCount(): number {
    return this.bigrams.size;
  }

  /** Stored trigrams (0 for a bigram model). */
  get trigramCount(): number {
    return this.trigrams?.logp.size ?? 0;
  }

  /** The id of `word`, or undefined outside the lexicon. */
  wordId(word: string): number | undefined {
    return this.index.get(word);
  }

  /**
   * ln p(next | before, prev): ids in [0, words.length], `boundary` as the context <s> or the word
   * </s>; `before` is the word before `prev` (`boundary` at a sentence's start: `<s> <s>`). A bigram
   * model, or no `before`, gives ln p(next | prev).
   */
  logProb(prev: number, next: number, before?: number): number {
    this.check(prev);
    this.check(next);
    const bigram = this.bigrams.get(this.key(prev, next)) ?? this.backoff[prev]! + this.unigram[next]!;
    if (!this.trigrams || before === undefined) return bigram;
    this.check(before);
    return this.trigrams.logp.get(this.key3(before, prev, next)) ?? (this.trigrams.backoff.get(this.key(before, prev)) ?? 0) + bigram;
  }

  /** ln p(w) (the unigram; boundary: the sentence end). */
  unigramLogProb(w: number): number {
    this.check(w);
    return this.unigram[w]!;
  }

  /** ln p(sentence) with its end, or -Infinity when a word is outside the lexicon. */
  sentenceLogProb(sentence: string): number {
    let [before, prev] = [this.boundary, this.boundary];
    let sum = 0;
    for (const w of sentence.split(/\s+/).filter(Boolean)) {
      const id = this.index.get(w);
      if (id === undefined) return -Infinity;
      sum += this.logProb(prev, id, before);
      [before, prev] = [prev, id];
    }
    return sum + this.logProb(prev, this.boundary, before);
  }

  /**
   * The model as a safetensors file (the words and counts in its metadata). A bigram model is
   * version 1: its bigrams as (prev, next, logp) rows. A trigram model is version 2, a compact
   * layout (a trigram model's lexicon must hold at most 65,535 words): word ids as U16, the
   * bigrams grouped by `prev` (`bigram.offset`: row range per prev), the trigram contexts
   * (`context.first`, `context.prev`, their backoff) and their trigrams grouped by context
   * (`trigram.offset`), each group sorted by `next`. The probabilities are the same float32s.
   */
  encode(): Uint8Array<ArrayBuffer> {
    const metadata = { format: FORMAT, version: VERSIONS[this.order], words: this.words.join('\n'), info: JSON.stringify(this.info) };
    const V1 = this.words.length + 1;
    const tensor = (data: Int32Array | Uint16Array | Uint8Array | Float32Array) => ({ shape: [data.length], data });
    const common = {
      unigram: tensor(this.unigram),
      backoff: tensor(this.backoff),
      // absent without one: a model without a dictionary keeps its bytes (and older readers read it; a
      // reader before @zipper/text 0.3.1, with @zipper/common 0.2, refuses the U8 tensor: SafetensorsError)
      ...(this.dict.length > 0 ? { dictionary: tensor(packDictionary(this.dict)) } : {}),
    };
    if (!this.trigrams) {
      const rows = [...this.bigrams];
      return encodeSafetensors(
        {
          ...common,
          'bigram.prev': tensor(Int32Array.from(rows, ([k]) => Math.floor(k / V1))),
          'bigram.next': tensor(Int32Array.from(rows, ([k]) => k % V1)),
          'bigram.logp': tensor(Float32Array.from(rows, ([, v]) => v)),
        },
        { metadata },
      );
    }
    if (V1 > 65536) throw new ConfigError(`a trigram word LM holds at most 65,535 words (U16 ids), this one ${this.words.length}`);
    const bigram = grouped(this.bigrams, V1, V1);
    const contexts = [...this.trigrams.backoff.keys()].sort((a, b) => a - b);
    const trigram = grouped(this.trigrams.logp, V1, contexts.length, new Map(contexts.map((c, i) => [c, i])));
    return encodeSafetensors(
      {
        ...common,
        'bigram.offset': tensor(bigram.offset),
        'bigram.next': tensor(bigram.next),
        'bigram.logp': tensor(bigram.logp),
        'context.first': tensor(Uint16Array.from(contexts, (c) => Math.floor(c / V1))),
        'context.prev': tensor(Uint16Array.from(contexts, (c) => c % V1)),
        'context.backoff': tensor(Float32Array.from(contexts, (c) => this.trigrams!.backoff.get(c)!)),
        'trigram.offset': tensor(trigram.offset),
        'trigram.next': tensor(trigram.next),
        'trigram.logp': tensor(trigram.logp),
      },
      { metadata },
    );
  }

  /** Reads `encode`'s bytes; `source` names the file in errors (SafetensorsError). */
  static decode(bytes: Uint8Array, source = 'word LM'): WordLm {
    const file = decodeSafetensors(bytes, source);
    const lm = WordLm.read(file, source);
    const packed = file.tensors.get('dictionary');
    if (packed) {
      const words = unpackDictionary(packed.data, source);
      lm.dict = dictionaryOf(words, lm, `${source}: dictionary`, (m) => new SafetensorsError(m));
      if (lm.dict.length !== words.length || lm.dict.some((w, i) => w !== words[i]))
        throw new SafetensorsError(`${source}: dictionary is not sorted, unique and beyond the lexicon`);
    }
    return lm;
  }

  private static read({ tensors, metadata }: ReturnType<typeof decodeSafetensors>, source: string): WordLm {
    const version = metadata['version'];
    if (metadata['format'] !== FORMAT || (version !== VERSIONS[2] && version !== VERSIONS[3]))
      throw new SafetensorsError(
        `${source} is not a word LM (format ${FORMAT} v${VERSIONS[2]} or v${VERSIONS[3]}); build one with \`zipper lm build\``,
      );
    const words = (metadata['words'] ?? '').split('\n');
    const get = (name: string, n?: number) => {
      const t = tensors.get(name);
      if (!t || t.shape.length !== 1 || (n !== undefined && t.shape[0] !== n))
        throw new SafetensorsError(`${source}: tensor ${name} is missing or has shape [${t?.shape.join(', ') ?? ''}]`);
      return t.data;
    };
    const V = words.length;
    const V1 = V + 1;
    const bad = (what: string) => new SafetensorsError(`${source}: ${what} names a word outside [0, ${V}]`);
    const inRange = (x: number) => x >= 0 && x <= V;
    const info = JSON.parse(metadata['info'] ?? '{}') as WordLmInfo;
    const [unigram, backoff] = [get('unigram', V1) as Float32Array, get('backoff', V1) as Float32Array];
    if (version === VERSIONS[2]) {
      const prev = get('bigram.prev') as Int32Array;
      const next = get('bigram.next', prev.length) as Int32Array;
      const logp = get('bigram.logp', prev.length) as Float32Array;
      for (let i = 0; i < prev.length; i++) if (!inRange(prev[i]!) || !inRange(next[i]!)) throw bad(`bigram ${i}`);
      return new WordLm(words, unigram, backoff, prev, next, logp, info);
    }
    // version 2 (a trigram model): rows grouped by their context, see encode
    const rows = (what: string, groups: number) => {
      const offset = get(`${what}.offset`, groups + 1) as Int32Array;
      const next = get(`${what}.next`) as Int32Array;
      const logp = get(`${what}.logp`, next.length) as Float32Array;
      for (let g = 0; g < groups; g++)
        if (!(offset[g]! >= 0 && offset[g]! <= offset[g + 1]!)) throw new SafetensorsError(`${source}: ${what}.offset is not ascending`);
      if (offset[0] !== 0 || offset[groups] !== next.length)
        throw new SafetensorsError(`${source}: ${what}.offset does not span its ${next.length} rows`);
      for (let i = 0; i < next.length; i++) if (!inRange(next[i]!)) throw bad(`${what} ${i}`);
      return { offset, next, logp };
    };
    const big = rows('bigram', V1);
    const bigramPrev = new Int32Array(big.next.length);
    for (let v = 0; v < V1; v++) bigramPrev.fill(v, big.offset[v], big.offset[v + 1]);
    const first = get('context.first') as Int32Array;
    const prev = get('context.prev', first.length) as Int32Array;
    const contextBackoff = get('context.backoff', first.length) as Float32Array;
    const tri = rows('trigram', first.length);
    const trigrams: Trigrams = { logp: new Map(), backoff: new Map() };
    for (let c = 0; c < first.length; c++) {
      if (!inRange(first[c]!) || !inRange(prev[c]!)) throw bad(`trigram context ${c}`);
      const ctx = first[c]! * V1 + prev[c]!;
      trigrams.backoff.set(ctx, contextBackoff[c]!);
      for (let i = tri.offset[c]!; i < tri.offset[c + 1]!; i++) trigrams.logp.set(ctx * V1 + tri.next[i]!, tri.logp[i]!);
    }
    return new WordLm(words, unigram, backoff, bigramPrev, big.next, big.logp, info, trigrams);
  }

  private key(prev: number, next: number): number {
    return prev * (this.words.length + 1) + next;
  }

  private key3(before: number, prev: number, next: number): number {
    return (before * (this.words.length + 1) + prev) * (this.words.length + 1) + next;
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id > this.words.length)
      throw new ConfigError(`word id ${id} is outside [0, ${this.words.length}] (the lexicon and the boundary)`);
  }
}

/**
 * The file's `dictionary` tensor (U8): the sorted words front-coded, one a line, "K SUFFIX" (K the
 * characters shared with the word before, SUFFIX the rest), deflated (fflate, level 9: the same
 * bytes on every platform). Wamerican's 72,818 words beyond the shipped lexicon take 132 KB so,
 * against 714 KB as plain lines: the text tower package's 20 MiB budget left room for the former only.
 */
function packDictionary(words: readonly string[]): Uint8Array {
  let prev = '';
  const lines = words.map((w) => {
    let k = 0;
    while (k < prev.length && k < w.length && prev[k] === w[k]) k++;
    prev = w;
    return `${k} ${w.slice(k)}`;
  });
  return deflateSync(new TextEncoder().encode(lines.join('\n')), { level: 9 });
}

/** `packDictionary`'s words back (SafetensorsError for bytes that are not one). */
function unpackDictionary(data: Float32Array | Int32Array, source: string): string[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(inflateSync(Uint8Array.from(data)));
  } catch (e) {
    throw new SafetensorsError(`${source}: dictionary is not deflated UTF-8 text (${(e as Error).message})`);
  }
  let prev = '';
  return text.split('\n').map((line, i) => {
    const m = /^(\d+) (\S*)$/.exec(line);
    const k = m ? Number(m[1]) : NaN;
    if (!m || k > prev.length) throw new SafetensorsError(`${source}: dictionary line ${i + 1} is not "K SUFFIX" after its word before`);
    prev = prev.slice(0, k) + m[2]!;
    return prev;
  });
}

/** `words` as a model's dictionary: each one word (else `error`), without duplicates or `lm`'s lexicon, sorted. */
function dictionaryOf(words: Iterable<string>, lm: WordLm, where: string, error: (message: string) => Error): string[] {
  const out = new Set<string>();
  for (const w of words) {
    if (w.length === 0 || /\s/.test(w)) throw error(`${where}: ${JSON.stringify(w)} is not one word (empty or holds whitespace)`);
    if (lm.wordId(w) === undefined) out.add(w);
  }
  return [...out].sort();
}

/**
 * The rows of `table` (key = context * base + next, value = ln p) grouped by context for a file:
 * `offset[g]..offset[g + 1]` are group g's rows, sorted by next; `index` maps a context to its
 * group (default: the context is the group).
 */
function grouped(
  table: ReadonlyMap<number, number>,
  base: number,
  groups: number,
  index?: ReadonlyMap<number, number>,
): { offset: Int32Array; next: Uint16Array; logp: Float32Array } {
  const keys = [...table.keys()].sort((a, b) => a - b);
  const offset = new Int32Array(groups + 1);
  for (const k of keys) {
    const c = Math.floor(k / base);
    offset[(index ? index.get(c)! : c) + 1]! += 1;
  }
  for (let g = 0; g < groups; g++) offset[g + 1]! += offset[g]!;
  return {
    offset,
    next: Uint16Array.from(keys, (k) => k % base),
    logp: Float32Array.from(keys, (k) => table.get(k)!),
  };
}
