/**
 * Added tokens (`<bos>`, `<eos>`, `<pad>`, reserved ids...) and the split that pulls them out of
 * raw text before pre-tokenization, as HF `AddedVocabulary` does: leftmost-longest matches, first
 * of the non-normalized tokens, then of the normalized ones in the remaining pieces (there is no
 * normalizer here, so both match the raw text), honouring `single_word`, `lstrip` and `rstrip`.
 */

import { TokenizerConfigError } from '../errors.js';

/** One added token, as in tokenizer.json's `added_tokens`. */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Only match when not inside a word (no `\w` character on either side). */
  readonly singleWord: boolean;
  /** Also swallow the whitespace on the left of a match. */
  readonly lstrip: boolean;
  /** Also swallow the whitespace on the right of a match. */
  readonly rstrip: boolean;
  /** Matched against normalized text (HF); here it only decides the matching pass. */
  readonly normalized: boolean;
  /** Special tokens are dropped by `decode(ids, { skipSpecial: true })`. */
  readonly special: boolean;
}

/** A piece of input text: either an added token's id, or text for the BPE model. */
export type Piece = { readonly text: string; readonly id: number } | { readonly text: string; readonly id: -1 };

// Rust regex's Unicode \w and \s, which HF uses for single_word / lstrip / rstrip.
const WORD_END = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const WORD_START = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const SPACE_AT_END = /\p{White_Space}*$/u;
const SPACE_AT_START = /^\p{White_Space}*/u;

const escapeRegex = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** A leftmost-longest matcher over one set of added tokens. */
class Matcher {
  private readonly re: RegExp;
  private readonly byContent: ReadonlyMap<string, AddedToken>;

  constructor(tokens: readonly AddedToken[]) {
    this.byContent = new Map(tokens.map((t) => [t.content, t]));
    // Alternatives longest first: at the leftmost match position JS takes the first alternative
    // that matches, which is then the longest (all candidates there are prefixes of one another).
    const alts = [...this.byContent.keys()].sort((a, b) => b.length - a.length).map(escapeRegex);
    try {
      this.re = new RegExp(alts.join('|'), 'gu');
    } catch (e) {
      throw new TokenizerConfigError(
        `cannot build the added-token matcher for ${alts.length} tokens (${(e as Error).message}); use fewer added tokens`,
      );
    }
  }

  split(text: string, out: Piece[]): void {
    const re = this.re;
    re.lastIndex = 0;
    let offset = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const tok = this.byContent.get(m[0])!;
      let start = m.index;
      let stop = start + m[0].length;
      if (tok.singleWord && (WORD_END.test(text.slice(0, start)) || WORD_START.test(text.slice(stop)))) continue;
      if (tok.lstrip) start = Math.max(text.slice(0, start).search(SPACE_AT_END), offset);
      if (tok.rstrip) stop += SPACE_AT_START.exec(text.slice(stop))![0].length;
      if (offset < start) out.push({ text: text.slice(offset, start), id: -1 });
      out.push({ text: text.slice(start, stop), id: tok.id });
      offset = stop;
      if (re.lastIndex < stop) re.lastIndex = stop;
    }
    if (offset < text.length) out.push({ text: text.slice(offset), id: -1 });
  }
}

/** Splits raw text around added tokens. */
export class AddedTokenSplitter {
  private readonly passes: readonly Matcher[];

  constructor(tokens: readonly AddedToken[]) {
    const raw = tokens.filter((t) => !t.normalized && t.content.length > 0);
    const norm = tokens.filter((t) => t.normalized && t.content.length > 0);
    this.passes = [raw, norm].filter((ts) => ts.length > 0).map((ts) => new Matcher(ts));
  }

  /** True when there is nothing to split on (the common fast path). */
  get empty(): boolean {
    return this.passes.length === 0;
  }

  split(text: string): Piece[] {
    let pieces: Piece[] = [{ text, id: -1 }];
    for (const pass of this.passes) {
      const next: Piece[] = [];
      for (const p of pieces) {
        if (p.id >= 0) next.push(p);
        else pass.split(p.text, next);
      }
      pieces = next;
    }
    return pieces;
  }
}
