/**
 * Cache of word encodings keyed by a substring of the input, without creating the substring:
 * an open-addressing hash table (FNV-1a over UTF-16 units, linear probing) whose entries keep the
 * word and its ids in one flat Int32Array pool. A hit costs a hash and a compare of a few chars,
 * no allocation; only misses slice the word out of the text.
 */

const EMPTY = -1;

export class WordCache {
  private slots: Int32Array;
  private mask: number;
  private words: string[] = [];
  private hashes: number[] = [];
  private starts: number[] = [];
  private lens: number[] = [];
  private pool = new Int32Array(1 << 16);
  private poolUsed = 0;

  constructor(
    /** Entries kept before the cache is emptied (bounds memory on adversarial input). */
    private readonly capacity: number,
  ) {
    this.slots = new Int32Array(1 << 12).fill(EMPTY);
    this.mask = this.slots.length - 1;
  }

  get size(): number {
    return this.words.length;
  }

  clear(): void {
    this.slots = new Int32Array(1 << 12).fill(EMPTY);
    this.mask = this.slots.length - 1;
    this.words = [];
    this.hashes = [];
    this.starts = [];
    this.lens = [];
    this.poolUsed = 0;
  }

  /** FNV-1a hash of text[start, end). */
  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h | 0;
  }

  /** Appends the cached ids of text[start, end) to `out` and returns true, or returns false. */
  get(text: string, start: number, end: number, hash: number, out: number[]): boolean {
    const n = end - start;
    for (let s = hash & this.mask; ; s = (s + 1) & this.mask) {
      const k = this.slots[s]!;
      if (k === EMPTY) return false;
      if (this.hashes[k] !== hash) continue;
      const w = this.words[k]!;
      if (w.length !== n) continue;
      let i = 0;
      while (i < n && w.charCodeAt(i) === text.charCodeAt(start + i)) i++;
      if (i < n) continue;
      const p = this.starts[k]!;
      const pool = this.pool;
      for (let j = p, e = p + this.lens[k]!; j < e; j++) out.push(pool[j]!);
      return true;
    }
  }

  /** Stores the ids of `word` (whose hash is `hash`). */
  set(word: string, hash: number, ids: readonly number[]): void {
    if (this.words.length >= this.capacity) this.clear();
    if ((this.words.length + 1) * 2 > this.slots.length) this.grow();
    if (this.poolUsed + ids.length > this.pool.length) {
      const bigger = new Int32Array(Math.max(this.pool.length * 2, this.poolUsed + ids.length));
      bigger.set(this.pool.subarray(0, this.poolUsed));
      this.pool = bigger;
    }
    const k = this.words.length;
    this.words.push(word);
    this.hashes.push(hash);
    this.starts.push(this.poolUsed);
    this.lens.push(ids.length);
    for (let j = 0; j < ids.length; j++) this.pool[this.poolUsed++] = ids[j]!;
    this.insert(k);
  }

  private insert(k: number): void {
    let s = this.hashes[k]! & this.mask;
    while (this.slots[s] !== EMPTY) s = (s + 1) & this.mask;
    this.slots[s] = k;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(EMPTY);
    this.mask = this.slots.length - 1;
    for (let k = 0; k < this.words.length; k++) this.insert(k);
  }
}
