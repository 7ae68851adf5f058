/**
 * Byte-level BPE training, following HF `BpeTrainer` step by step so the same corpus gives the
 * same merges:
 *   1. count pre-tokens (words) of every text;
 *   2. ids: special tokens, reserved tokens, then the alphabet sorted by byte-level code point;
 *   3. repeatedly take the most frequent adjacent pair (ties: smallest (left id, right id)),
 *      append the merged token, and merge it in the words that contained the pair, updating pair
 *      counts incrementally (a lazy max-heap; an entry whose count went stale is re-queued).
 *
 * Like HF's file trainer, pass the corpus line by line (each line with its "\n").
 */
import type { AddedToken } from './added-tokens.js';
import { BpeModel } from './bpe-model.js';
import { BYTE_TO_CHAR, utf8Encode } from './byte-level.js';
import { scanPreTokens } from './scan.js';
import { BpeTokenizer } from './tokenizer.js';
import { reservedToken, resolveBpeTrainConfig, type BpeTrainConfig } from './train-config.js';

/** One queue entry: a pair, its count when queued, and the words it was queued for. */
interface Entry {
  count: number;
  readonly a: number;
  readonly b: number;
  readonly seq: number;
  readonly words: number[];
}

/** Max-heap on (count desc, a asc, b asc, insertion order). */
class EntryHeap {
  private readonly h: Entry[] = [];
  private seq = 0;

  nextSeq(): number {
    return this.seq++;
  }

  private above(x: Entry, y: Entry): boolean {
    if (x.count !== y.count) return x.count > y.count;
    if (x.a !== y.a) return x.a < y.a;
    if (x.b !== y.b) return x.b < y.b;
    return x.seq < y.seq;
  }

  push(e: Entry): void {
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): Entry | undefined {
    const h = this.h;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.above(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.above(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Counts pre-tokens over the texts (no added-token split, as in HF training). */
function countWords(texts: Iterable<string>, addPrefixSpace: boolean): Map<string, number> {
  const counts = new Map<string, number>();
  for (let text of texts) {
    if (addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
    const t = text;
    scanPreTokens(t, (start, end) => {
      const w = t.slice(start, end);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    });
  }
  return counts;
}

/** Trains a byte-level BPE tokenizer on `texts` (e.g. the lines of a corpus). */
export function trainBpe(texts: Iterable<string>, partial: Partial<BpeTrainConfig> = {}): BpeTokenizer {
  const cfg = resolveBpeTrainConfig(partial);
  const counts = countWords(texts, cfg.addPrefixSpace);

  // 1. Words as byte arrays; which bytes occur.
  const wordBytes: Uint8Array[] = [];
  const wc: number[] = [];
  const seen = new Uint8Array(256);
  for (const [w, n] of counts) {
    const b = utf8Encode(w);
    for (const x of b) seen[x] = 1;
    wordBytes.push(b);
    wc.push(n);
  }

  // 2. Vocabulary: special, reserved, alphabet sorted by byte-level code point.
  const tokens: string[] = [];
  const vocab = new Map<string, number>();
  const add = (t: string): number => {
    let i = vocab.get(t);
    if (i === undefined) {
      i = tokens.length;
      tokens.push(t);
      vocab.set(t, i);
    }
    return i;
  };
  const specials = [...cfg.specialTokens, ...Array.from({ length: cfg.reservedTokens }, (_, i) => reservedToken(i))];
  specials.forEach(add);
  const alphabet = [...Array(256).keys()].filter((b) => cfg.alphabet === 'bytes' || seen[b]).map((b) => BYTE_TO_CHAR[b]!);
  alphabet.sort((x, y) => x.charCodeAt(0) - y.charCodeAt(0)).forEach(add);
  const byteId = BYTE_TO_CHAR.map((c) => vocab.get(c)!);
  // Pair key `a * SHIFT + b`: every id stays below SHIFT, and small keys hash fastest.
  const SHIFT = Math.max(cfg.vocabSize, tokens.length);

  // 3. Words as symbol ids; initial pair counts and the words each pair occurs in.
  const words = wordBytes.map((b) => {
    const s = new Int32Array(b.length);
    for (let i = 0; i < b.length; i++) s[i] = byteId[b[i]!]!;
    return s;
  });
  const lens = words.map((w) => w.length);
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  const note = (key: number, delta: number, w: number): void => {
    pairCount.set(key, (pairCount.get(key) ?? 0) + delta);
    if (delta > 0) {
      let list = where.get(key);
      if (list === undefined) where.set(key, (list = []));
      if (list[list.length - 1] !== w) list.push(w);
    }
  };
  words.forEach((s, w) => {
    for (let i = 0; i + 1 < s.length; i++) note(s[i]! * SHIFT + s[i + 1]!, wc[w]!, w);
  });
  const heap = new EntryHeap();
  const flush = (): void => {
    for (const [key, list] of where) {
      const count = pairCount.get(key)!;
      if (count > 0) heap.push({ count, a: Math.floor(key / SHIFT), b: key % SHIFT, seq: heap.nextSeq(), words: list });
    }
    where.clear(); // the lists now belong to their heap entries
  };
  flush();

  // 4. Merges.
  const merges: [string, string][] = [];
  while (vocab.size < cfg.vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    const current = pairCount.get(top.a * SHIFT + top.b)!;
    if (top.count !== current) {
      top.count = current;
      heap.push(top);
      continue;
    }
    if (top.count < 1 || cfg.minFrequency > top.count) break;
    const { a, b } = top;
    const c = add(tokens[a]! + tokens[b]!);
    merges.push([tokens[a]!, tokens[b]!]);
    for (const w of top.words) mergeInWord(words[w]!, lens, w, a, b, c, wc[w]!, SHIFT, note);
    flush();
  }

  const addedTokens: AddedToken[] = specials.map((content) => ({
    id: vocab.get(content)!,
    content,
    singleWord: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return new BpeTokenizer({
    model: new BpeModel({ tokens, merges }),
    addedTokens,
    addPrefixSpace: cfg.addPrefixSpace,
    useRegex: true,
    byteLevelDecoder: true,
  });
}

/**
 * Replaces every non-overlapping (a, b) in word `w` by c, left to right, and reports the pair
 * count changes (HF `Word::merge`). The word is compacted in place; its length is in lens[w].
 */
function mergeInWord(
  s: Int32Array,
  lens: number[],
  w: number,
  a: number,
  b: number,
  c: number,
  n: number,
  SHIFT: number,
  note: (key: number, delta: number, w: number) => void,
): void {
  const len = lens[w]!;
  let out = 0;
  let i = 0;
  while (i < len) {
    if (s[i] === a && i + 1 < len && s[i + 1] === b) {
      if (out > 0) {
        const p = s[out - 1]!;
        note(p * SHIFT + a, -n, w);
        note(p * SHIFT + c, n, w);
      }
      if (i + 2 < len) {
        const x = s[i + 2]!;
        note(b * SHIFT + x, -n, w);
        note(c * SHIFT + x, n, w);
      }
      s[out++] = c;
      i += 2;
    } else {
      s[out++] = s[i++]!;
    }
  }
  lens[w] = out;
}
