/**
 * The BPE model of a byte-level tokenizer: vocabulary, ranked merges, and the word encoder.
 *
 * A pre-token's UTF-8 bytes start as one symbol each (the id of that byte's one-character token);
 * then the adjacent pair with the lowest merge rank is merged, leftmost first, until no pair has a
 * merge. This is HF `Word::merge_all`. Results are cached per pre-token string.
 *
 * V vocabulary size; ids are `0..V-1`. A pair of ids is packed into one number `a * V + b` (a small
 * integer for V up to ~46k, which V8's Map hashes fastest).
 */
import { TokenizerConfigError } from '../errors.js';
import { BYTE_TO_CHAR, utf8Encode } from './byte-level.js';
import { WordCache } from './word-cache.js';

/** Largest vocabulary supported (2^21 ids; packed pair keys stay below 2^42). */
export const MAX_VOCAB = 1 << 21;

/** Word encodings kept before the cache is cleared (bounds memory on adversarial input). */
const CACHE_CAPACITY = 200_000;
/** Words up to this many bytes merge with the O(n^2) array scan; longer ones use a heap. */
const SMALL_WORD = 40;

export interface BpeModelSpec {
  /** Token string of each id (byte-level spelling); `tokens[id]`. Holes (`undefined`) are allowed. */
  readonly tokens: readonly (string | undefined)[];
  /** Merges in rank order, as pairs of token strings. */
  readonly merges: readonly (readonly [string, string])[];
  /** Token used for bytes missing from the vocabulary; without one they are dropped (as HF does). */
  readonly unkToken?: string | null;
  /** Merge consecutive unknown bytes into one unk token (HF `fuse_unk`). */
  readonly fuseUnk?: boolean;
  /** Emit a whole pre-token as one id when it is in the vocabulary, skipping merges (HF `ignore_merges`). */
  readonly ignoreMerges?: boolean;
}

export class BpeModel {
  readonly tokens: readonly (string | undefined)[];
  readonly merges: readonly (readonly [string, string])[];
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkToken: string | null;
  readonly fuseUnk: boolean;
  readonly ignoreMerges: boolean;
  /** Id of the single-byte token for each byte, or -1 if the vocabulary lacks it. */
  private readonly byteId = new Int32Array(256);
  /** Packed pair -> merge rank. */
  private readonly rank = new Map<number, number>();
  /** Merge rank -> id of the merged token. */
  private readonly mergeTo: Int32Array;
  private readonly unkId: number;
  /** Pair key stride: `key = a * stride + b`. */
  private readonly stride: number;
  private readonly cache = new WordCache(CACHE_CAPACITY);
  private readonly buf = new Uint8Array(1024);

  constructor(spec: BpeModelSpec) {
    this.tokens = spec.tokens;
    this.merges = spec.merges;
    this.unkToken = spec.unkToken ?? null;
    this.fuseUnk = spec.fuseUnk ?? false;
    this.ignoreMerges = spec.ignoreMerges ?? false;
    if (spec.tokens.length > MAX_VOCAB)
      throw new TokenizerConfigError(`vocabulary has ${spec.tokens.length} ids; at most ${MAX_VOCAB} are supported`);
    const vocab = new Map<string, number>();
    spec.tokens.forEach((t, id) => {
      if (t !== undefined) vocab.set(t, id);
    });
    this.vocab = vocab;
    for (let b = 0; b < 256; b++) this.byteId[b] = vocab.get(BYTE_TO_CHAR[b]!) ?? -1;
    this.unkId = this.unkToken === null ? -1 : (vocab.get(this.unkToken) ?? -2);
    if (this.unkId === -2)
      throw new TokenizerConfigError(
        `unk token ${JSON.stringify(this.unkToken)} is not in the vocabulary; add it or set unk_token to null`,
      );
    this.stride = Math.max(1, spec.tokens.length);
    this.mergeTo = new Int32Array(spec.merges.length);
    spec.merges.forEach(([a, b], r) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const ic = vocab.get(a + b);
      if (ia === undefined || ib === undefined || ic === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : a + b;
        throw new TokenizerConfigError(
          `merge ${r} (${JSON.stringify(a)} ${JSON.stringify(b)}) uses ${JSON.stringify(missing)}, which is not in the vocabulary`,
        );
      }
      this.rank.set(ia * this.stride + ib, r); // a later duplicate wins, as in HF's merge map
      this.mergeTo[r] = ic;
    });
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /** Appends the ids of one pre-token (a raw, not byte-level, string) to `out`. */
  encodeWord(word: string, out: number[]): void {
    this.encodeSpan(word, 0, word.length, out);
  }

  /** Appends the ids of the pre-token text[start, end) to `out`; a cache hit allocates nothing. */
  encodeSpan(text: string, start: number, end: number, out: number[]): void {
    const hash = WordCache.hash(text, start, end);
    if (this.cache.get(text, start, end, hash, out)) return;
    const word = start === 0 && end === text.length ? text : text.slice(start, end);
    const ids = this.encodeUncached(word);
    this.cache.set(word, hash, ids);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  /** Forgets cached word encodings. */
  clearCache(): void {
    this.cache.clear();
  }

  private utf8(word: string): Uint8Array {
    // ASCII fast path: one byte per code unit, no encoder call.
    const n = word.length;
    if (n <= this.buf.length) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = word.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        this.buf[i] = c;
      }
      if (ascii) return this.buf.subarray(0, n);
    }
    return utf8Encode(word);
  }

  private encodeUncached(word: string): number[] {
    const bytes = this.utf8(word);
    if (this.ignoreMerges) {
      let s = '';
      for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]!];
      const id = this.vocab.get(s);
      if (id !== undefined) return [id];
    }
    const syms: number[] = [];
    let unkRun = false;
    for (let i = 0; i < bytes.length; i++) {
      const id = this.byteId[bytes[i]!]!;
      if (id >= 0) {
        syms.push(id);
        unkRun = false;
      } else if (this.unkId >= 0) {
        if (!(this.fuseUnk && unkRun)) syms.push(this.unkId);
        unkRun = true;
      }
    }
    return syms.length <= SMALL_WORD ? this.mergeSmall(syms) : this.mergeLarge(syms);
  }

  /** Repeatedly merges the lowest-rank adjacent pair (leftmost on ties): O(n^2), fast for short words. */
  private mergeSmall(syms: number[]): number[] {
    const rank = this.rank;
    const stride = this.stride;
    // ranks[i]: merge rank of the pair (syms[i], syms[i+1]), Infinity if none. Only the two
    // pairs around a merge change, so each step costs one scan and two lookups.
    const ranks: number[] = [];
    for (let i = 0; i + 1 < syms.length; i++) ranks.push(rank.get(syms[i]! * stride + syms[i + 1]!) ?? Infinity);
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i < ranks.length; i++) {
        if (ranks[i]! < best) {
          best = ranks[i]!;
          at = i;
        }
      }
      if (at < 0) return syms;
      syms.splice(at, 2, this.mergeTo[best]!);
      ranks.splice(at, 1);
      if (at > 0) ranks[at - 1] = rank.get(syms[at - 1]! * stride + syms[at]!) ?? Infinity;
      if (at < ranks.length) ranks[at] = rank.get(syms[at]! * stride + syms[at + 1]!) ?? Infinity;
    }
  }

  /** Same result as mergeSmall, with a linked list and a min-heap of (rank, position): O(n log n). */
  private mergeLarge(syms: number[]): number[] {
    const n = syms.length;
    const sym = Int32Array.from(syms);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = new MinHeap();
    const push = (i: number): void => {
      const j = next[i]!;
      if (j < 0) return;
      const r = this.rank.get(sym[i]! * this.stride + sym[j]!);
      if (r !== undefined) heap.push(r, i, this.mergeTo[r]!);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const [r, i, to] = heap.pop();
      const j = next[i]!;
      if (!alive[i] || j < 0) continue;
      // Skip stale entries: the pair at i must still be the one this entry was made for.
      if (this.rank.get(sym[i]! * this.stride + sym[j]!) !== r || this.mergeTo[r] !== to) continue;
      sym[i] = to;
      alive[j] = 0;
      next[i] = next[j]!;
      if (next[j]! >= 0) prev[next[j]!] = i;
      if (prev[i]! >= 0) push(prev[i]!);
      push(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!);
    return n === 0 ? [] : out;
  }
}

/** Binary min-heap of (rank, position, target) triples ordered by rank, then position. */
class MinHeap {
  private r: number[] = [];
  private p: number[] = [];
  private t: number[] = [];

  get size(): number {
    return this.r.length;
  }

  private less(i: number, j: number): boolean {
    return this.r[i]! < this.r[j]! || (this.r[i] === this.r[j] && this.p[i]! < this.p[j]!);
  }

  private swap(i: number, j: number): void {
    for (const a of [this.r, this.p, this.t]) [a[i], a[j]] = [a[j]!, a[i]!];
  }

  push(rank: number, pos: number, to: number): void {
    this.r.push(rank);
    this.p.push(pos);
    this.t.push(to);
    for (let i = this.r.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number, number] {
    const top: [number, number, number] = [this.r[0]!, this.p[0]!, this.t[0]!];
    const last = this.r.length - 1;
    this.swap(0, last);
    this.r.pop();
    this.p.pop();
    this.t.pop();
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const rr = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (rr < last && this.less(rr, m)) m = rr;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}
