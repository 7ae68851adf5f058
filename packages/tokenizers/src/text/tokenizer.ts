/**
 * A byte-level BPE text tokenizer: added-token split -> ByteLevel pre-tokenizer -> BPE model,
 * and the ByteLevel decoder back. Same ids as HF `tokenizers` on the same tokenizer.json.
 *
 * Round trip: `decode(encode(x)) === x.toWellFormed()` for every string `x` when every byte has a
 * token (always true for tokenizers trained here). Lone UTF-16 surrogates cannot be spelled in
 * UTF-8; they are encoded as U+FFFD, as `TextEncoder` does, so they come back as U+FFFD.
 */
import { TokenIdError, TokenizerConfigError } from '../errors.js';
import { AddedTokenSplitter, type AddedToken } from './added-tokens.js';
import { encodeBatch, type BatchEncodeOptions, type BatchEncoding } from './batch.js';
import type { BpeModel } from './bpe-model.js';
import { tokenBytes, utf8Decode } from './byte-level.js';
import { scanPreTokens } from './scan.js';

/** Ids the batch encoder and callers look up by role; each names an added token's content. */
export interface SpecialTokenRoles {
  readonly bos: string | null;
  readonly eos: string | null;
  readonly pad: string | null;
}

export interface BpeTokenizerParts {
  readonly model: BpeModel;
  readonly addedTokens: readonly AddedToken[];
  /** ByteLevel pre-tokenizer `add_prefix_space`: prepend a space unless the text starts with one. */
  readonly addPrefixSpace: boolean;
  /** ByteLevel pre-tokenizer `use_regex`: split with GPT-2's regex (else the text is one word). */
  readonly useRegex: boolean;
  /** `true`: ByteLevel decoder. `false`: no decoder, HF joins raw token strings with spaces. */
  readonly byteLevelDecoder: boolean;
  /** Role -> added token content; `null` entries are looked up by the defaults `<bos>` `<eos>` `<pad>`. */
  readonly roles?: Partial<SpecialTokenRoles>;
}

export interface DecodeOptions {
  /** Drop special added tokens (`<bos>`, `<pad>`...) from the text. Default false. */
  readonly skipSpecial?: boolean;
}

export class BpeTokenizer {
  readonly model: BpeModel;
  readonly addedTokens: readonly AddedToken[];
  readonly addPrefixSpace: boolean;
  readonly useRegex: boolean;
  readonly byteLevelDecoder: boolean;
  readonly roles: SpecialTokenRoles;
  private readonly splitter: AddedTokenSplitter;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly idBytes: (Uint8Array | undefined)[] = [];
  /** Ids are `0..vocabSize-1` (model vocabulary and added tokens together; holes allowed). */
  readonly vocabSize: number;

  constructor(parts: BpeTokenizerParts) {
    this.model = parts.model;
    this.addedTokens = parts.addedTokens;
    this.addPrefixSpace = parts.addPrefixSpace;
    this.useRegex = parts.useRegex;
    this.byteLevelDecoder = parts.byteLevelDecoder;
    for (const t of parts.addedTokens) {
      const other = this.addedById.get(t.id);
      if (other && other.content !== t.content)
        throw new TokenizerConfigError(
          `added tokens ${JSON.stringify(other.content)} and ${JSON.stringify(t.content)} share id ${t.id}; give each its own id`,
        );
      const inVocab = this.model.tokens[t.id];
      if (inVocab !== undefined && inVocab !== t.content) {
        // HF lets the added token win at decode time, so the vocabulary entry silently changes meaning
        throw new TokenizerConfigError(
          `added token ${JSON.stringify(t.content)} has id ${t.id}, which the vocabulary already gives to ${JSON.stringify(inVocab)}; give the added token an id of its own (e.g. >= ${this.model.vocabSize})`,
        );
      }
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
    }
    this.splitter = new AddedTokenSplitter(parts.addedTokens);
    this.vocabSize = parts.addedTokens.reduce((v, t) => Math.max(v, t.id + 1), this.model.vocabSize);
    const role = (name: keyof SpecialTokenRoles, fallback: string): string | null => {
      const given = parts.roles?.[name];
      if (given !== undefined && given !== null) {
        if (!this.addedByContent.has(given))
          throw new TokenizerConfigError(
            `${name} token ${JSON.stringify(given)} is not an added token; add it as a special token when training`,
          );
        return given;
      }
      return this.addedByContent.has(fallback) ? fallback : null;
    };
    this.roles = { bos: role('bos', '<bos>'), eos: role('eos', '<eos>'), pad: role('pad', '<pad>') };
  }

  /** Id of a token string (added tokens first, then the model vocabulary), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  /** Token string of an id, or undefined if no token has it. */
  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.tokens[id];
  }

  /** Id of a role's token (`bos`, `eos`, `pad`); throws if the tokenizer has none. */
  roleId(role: keyof SpecialTokenRoles): number {
    const content = this.roles[role];
    if (content === null)
      throw new TokenizerConfigError(`this tokenizer has no ${role} token; train with specialTokens including it, or pass roles.${role}`);
    return this.addedByContent.get(content)!.id;
  }

  /** Token ids of `text`. Added tokens written in the text (e.g. `<eos>`) become their ids, as in HF. */
  encode(text: string): number[] {
    const out: number[] = [];
    if (this.splitter.empty) {
      this.encodeText(text, out);
      return out;
    }
    for (const piece of this.splitter.split(text)) {
      if (piece.id >= 0) out.push(piece.id);
      else this.encodeText(piece.text, out);
    }
    return out;
  }

  /** Encodes several texts with optional bos/eos, truncation and padding (see BatchEncodeOptions). */
  encodeBatch(texts: readonly string[], options: Partial<BatchEncodeOptions> = {}): BatchEncoding {
    return encodeBatch(this, texts, options);
  }

  private encodeText(text: string, out: number[]): void {
    const model = this.model;
    if (this.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
    if (!this.useRegex) {
      if (text.length > 0) model.encodeWord(text, out);
      return;
    }
    scanPreTokens(text, (start, end) => model.encodeSpan(text, start, end, out));
  }

  /** Text of `ids`. Invalid UTF-8 (e.g. half of a multi-byte character) decodes to U+FFFD, as in HF. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skip = options.skipSpecial ?? false;
    if (!this.byteLevelDecoder) return this.decodeRaw(ids, skip);
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (skip && added?.special) continue;
      const b = this.bytesOf(id);
      parts.push(b);
      n += b.length;
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return utf8Decode(all);
  }

  private decodeRaw(ids: readonly number[], skip: boolean): string {
    const toks: string[] = [];
    for (const id of ids) {
      if (skip && this.addedById.get(id)?.special) continue;
      toks.push(this.tokenOf(id));
    }
    return toks.join(' ');
  }

  private tokenOf(id: number): string {
    const tok = Number.isInteger(id) ? this.idToToken(id) : undefined;
    if (tok === undefined)
      throw new TokenIdError(
        `token id ${id} is not in this tokenizer (vocabulary size ${this.vocabSize}); decode only ids this tokenizer produced`,
      );
    return tok;
  }

  private bytesOf(id: number): Uint8Array {
    let b = this.idBytes[id];
    if (b === undefined) {
      b = tokenBytes(this.tokenOf(id));
      this.idBytes[id] = b;
    }
    return b;
  }
}
