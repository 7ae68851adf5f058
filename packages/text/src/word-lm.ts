/**
 * A word bigram language model of a text corpus (the text tower's unlabeled sentences): its
 * lexicon and log-probabilities for decoders that spell words, e.g. lexicon-constrained CTC beam
 * search (@zipper/fuse `ctcLexiconBeam`). Not in the paper: the Zipper text tower is the model's
 * language model; this one is a cheap, exact count model of the same text for the CTC head's search.
 *
 * Words are the corpus's whitespace-separated tokens seen at least `minCount` times. Probabilities
 * are interpolated absolute discounting (Ney et al. 1994) over sentence-bounded bigrams:
 *   p(w | v) = max(c(v, w) - D, 0) / c(v) + D * n(v) / c(v) * p(w),   p(w) = c(w) / N,
 * c(v) the count of v as a context, n(v) its distinct followers; the sentence boundary is one
 * symbol (`boundary`, id = words.length): the context of a first word and the word after the last.
 * Bigrams seen fewer than `minBigramCount` times are not stored: they take the backed-off value.
 * Rare words count towards N and c(v), so the lexicon's probabilities are the corpus's.
 *
 *   const lm = WordLm.build(lines, { minCount: 2 });
 *   lm.logProb(lm.boundary, lm.wordId('the')!);          // ln p(the | <s>)
 *   await writeFile('lm.safetensors', lm.encode());      // WordLm.decode(bytes) reads it back
 */
import { ConfigError, decodeSafetensors, encodeSafetensors, SafetensorsError } from '@zipper/core';

export interface WordLmConfig {
  /** Words seen fewer times are left out of the lexicon (default 2). */
  readonly minCount?: number;
  /** Bigrams seen fewer times are not stored (default 2). */
  readonly minBigramCount?: number;
  /** The absolute discount D, in (0, 1) (default 0.75). */
  readonly discount?: number;
}

export type ResolvedWordLmConfig = Required<WordLmConfig>;

export function resolveWordLmConfig(c: WordLmConfig = {}): ResolvedWordLmConfig {
  const r = { minCount: c.minCount ?? 2, minBigramCount: c.minBigramCount ?? 2, discount: c.discount ?? 0.75 };
  if (!Number.isInteger(r.minCount) || r.minCount < 1) throw new ConfigError(`minCount must be an integer >= 1, got ${r.minCount}`);
  if (!Number.isInteger(r.minBigramCount) || r.minBigramCount < 1)
    throw new ConfigError(`minBigramCount must be an integer >= 1, got ${r.minBigramCount}`);
  if (!(r.discount > 0 && r.discount < 1)) throw new ConfigError(`discount must be in (0, 1), got ${r.discount}`);
  return r;
}

/** What the file records besides the numbers. */
export interface WordLmInfo {
  readonly config: ResolvedWordLmConfig;
  readonly sentences: number;
  /** Word tokens of the corpus (rare ones included), without boundaries. */
  readonly tokens: number;
}

/** A text tower package's word LM file, next to its tower/ and tokenizer/ (`zipper lm build`). */
export const WORD_LM_FILE = 'lm.safetensors';

const FORMAT = 'zipper-word-lm';
const VERSION = '1';

export class WordLm {
  /** The boundary symbol's id (<s> as a context, </s> as a word): words.length. */
  readonly boundary: number;
  private readonly index: Map<string, number>;
  private readonly bigrams: Map<number, number>;

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
  ) {
    this.boundary = words.length;
    this.index = new Map(words.map((w, i) => [w, i]));
    this.bigrams = new Map();
    for (let i = 0; i < bigramPrev.length; i++) this.bigrams.set(this.key(bigramPrev[i]!, bigramNext[i]!), bigramLogp[i]!);
  }

  /** Counts `sentences` (one per item; words split at whitespace; empty ones skipped). */
  static build(sentences: Iterable<string>, config: WordLmConfig = {}): WordLm {
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
    return new WordLm(words, unigram, backoff, Int32Array.from(prevs), Int32Array.from(nexts), Float32Array.from(logps), {
      config: c,
      sentences: lines.length,
      tokens,
    });
  }

  /** Stored bigrams. */
  get bigramCount(): number {
    return this.bigrams.size;
  }

  /** The id of `word`, or undefined outside the lexicon. */
  wordId(word: string): number | undefined {
    return this.index.get(word);
  }

  /** ln p(next | prev); ids in [0, words.length], `boundary` as the context <s> or the word </s>. */
  logProb(prev: number, next: number): number {
    this.check(prev);
    this.check(next);
    return this.bigrams.get(this.key(prev, next)) ?? this.backoff[prev]! + this.unigram[next]!;
  }

  /** ln p(w) (the unigram; boundary: the sentence end). */
  unigramLogProb(w: number): number {
    this.check(w);
    return this.unigram[w]!;
  }

  /** ln p(sentence) with its end, or -Infinity when a word is outside the lexicon. */
  sentenceLogProb(sentence: string): number {
    let prev = this.boundary;
    let sum = 0;
    for (const w of sentence.split(/\s+/).filter(Boolean)) {
      const id = this.index.get(w);
      if (id === undefined) return -Infinity;
      sum += this.logProb(prev, id);
      prev = id;
    }
    return sum + this.logProb(prev, this.boundary);
  }

  /** The model as a safetensors file (the words and counts in its metadata). */
  encode(): Uint8Array<ArrayBuffer> {
    const n = this.bigrams.size;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    const logp = new Float32Array(n);
    let i = 0;
    const V2 = this.words.length + 1;
    for (const [k, v] of this.bigrams) {
      prev[i] = Math.floor(k / V2);
      next[i] = k % V2;
      logp[i++] = v;
    }
    return encodeSafetensors(
      {
        unigram: { shape: [this.unigram.length], data: this.unigram },
        backoff: { shape: [this.backoff.length], data: this.backoff },
        'bigram.prev': { shape: [n], data: prev },
        'bigram.next': { shape: [n], data: next },
        'bigram.logp': { shape: [n], data: logp },
      },
      {
        metadata: {
          format: FORMAT,
          version: VERSION,
          words: this.words.join('\n'),
          info: JSON.stringify(this.info),
        },
      },
    );
  }

  /** Reads `encode`'s bytes; `source` names the file in errors (SafetensorsError). */
  static decode(bytes: Uint8Array, source = 'word LM'): WordLm {
    const { tensors, metadata } = decodeSafetensors(bytes, source);
    if (metadata['format'] !== FORMAT || metadata['version'] !== VERSION)
      throw new SafetensorsError(`${source} is not a word LM (format ${FORMAT} v${VERSION}); build one with \`zipper lm build\``);
    const words = (metadata['words'] ?? '').split('\n');
    const get = (name: string, n?: number) => {
      const t = tensors.get(name);
      if (!t || t.shape.length !== 1 || (n !== undefined && t.shape[0] !== n))
        throw new SafetensorsError(`${source}: tensor ${name} is missing or has shape [${t?.shape.join(', ') ?? ''}]`);
      return t.data;
    };
    const V = words.length;
    const prev = get('bigram.prev') as Int32Array;
    const next = get('bigram.next', prev.length) as Int32Array;
    const logp = get('bigram.logp', prev.length) as Float32Array;
    for (let i = 0; i < prev.length; i++)
      if (!(prev[i]! >= 0 && prev[i]! <= V && next[i]! >= 0 && next[i]! <= V))
        throw new SafetensorsError(`${source}: bigram ${i} names a word outside [0, ${V}]`);
    return new WordLm(
      words,
      get('unigram', V + 1) as Float32Array,
      get('backoff', V + 1) as Float32Array,
      prev,
      next,
      logp,
      JSON.parse(metadata['info'] ?? '{}') as WordLmInfo,
    );
  }

  private key(prev: number, next: number): number {
    return prev * (this.words.length + 1) + next;
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id > this.words.length)
      throw new ConfigError(`word id ${id} is outside [0, ${this.words.length}] (the lexicon and the boundary)`);
  }
}
