/**
 * Hugging Face `tokenizer.json` <-> BpeTokenizer, for the byte-level BPE subset:
 * no normalizer, ByteLevel pre-tokenizer, ByteLevel (or no) decoder, ByteLevel (or no) post
 * processor, BPE model with vocab + merges (either `"a b"` strings or `["a", "b"]` pairs).
 *
 * Every malformed or unsupported field throws `TokenizerFormatError` naming its JSON path.
 */
import { TokenizerConfigError, TokenizerFormatError } from '../errors.js';
import type { AddedToken } from './added-tokens.js';
import { BpeModel, MAX_VOCAB } from './bpe-model.js';
import { BpeTokenizer, type SpecialTokenRoles } from './tokenizer.js';

type Json = unknown;
type Obj = { readonly [k: string]: Json };

const fail = (field: string, msg: string): never => {
  throw new TokenizerFormatError(field, msg);
};
const show = (v: Json): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: Json, field: string): Obj {
  return isObj(v) ? v : fail(field, `expected an object, got ${show(v)}`);
}
function bool(o: Obj, key: string, field: string, dflt?: boolean): boolean {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  return typeof v === 'boolean' ? v : fail(`${field}.${key}`, `expected true or false, got ${show(v)}`);
}
function str(v: Json, field: string): string {
  return typeof v === 'string' ? v : fail(field, `expected a string, got ${show(v)}`);
}
function id(v: Json, field: string): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < MAX_VOCAB
    ? v
    : fail(field, `expected an integer id in [0, ${MAX_VOCAB}), got ${show(v)}`);
}
function nullOrType(v: Json, field: string, allowed: readonly string[]): Obj | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, field);
  const type = o['type'];
  if (typeof type !== 'string' || !allowed.includes(type))
    fail(`${field}.type`, `unsupported ${show(type)}; this loader reads ${allowed.join(', ')} or null (byte-level BPE tokenizers)`);
  return o;
}

function parseAddedTokens(v: Json): AddedToken[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return fail('added_tokens', `expected an array, got ${show(v)}`);
  return v.map((t: Json, i: number): AddedToken => {
    const f = `added_tokens[${i}]`;
    const o = obj(t, f);
    const content = str(o['content'], `${f}.content`);
    if (content.length === 0) fail(`${f}.content`, 'must not be empty');
    const special = bool(o, 'special', f, false);
    return {
      id: id(o['id'], `${f}.id`),
      content,
      singleWord: bool(o, 'single_word', f, false),
      lstrip: bool(o, 'lstrip', f, false),
      rstrip: bool(o, 'rstrip', f, false),
      normalized: bool(o, 'normalized', f, !special),
      special,
    };
  });
}

function parseMerges(v: Json): [string, string][] {
  if (!Array.isArray(v)) return fail('model.merges', `expected an array of "a b" strings or [a, b] pairs, got ${show(v)}`);
  return v.map((m: Json, i: number): [string, string] => {
    const f = `model.merges[${i}]`;
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2 || !parts[0] || !parts[1]) fail(f, `expected "a b" (two tokens, one space), got ${show(m)}`);
      return [parts[0]!, parts[1]!];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string' && m[0] && m[1]) return [m[0], m[1]];
    return fail(f, `expected "a b" or ["a", "b"] with non-empty tokens, got ${show(m)}`);
  });
}

function parseModel(v: Json): BpeModel {
  const m = obj(v, 'model');
  if (m['type'] !== undefined && m['type'] !== 'BPE') fail('model.type', `unsupported ${show(m['type'])}; only "BPE" is supported`);
  const dropout = m['dropout'];
  if (dropout !== null && dropout !== undefined && dropout !== 0)
    fail('model.dropout', `unsupported ${show(dropout)}; BPE dropout makes encoding random, set it to null`);
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    const x = m[k];
    if (x !== null && x !== undefined && x !== '') fail(`model.${k}`, `unsupported ${show(x)}; byte-level BPE uses none (null)`);
  }
  if (bool(m, 'byte_fallback', 'model', false))
    fail('model.byte_fallback', 'unsupported true; byte-level BPE needs no byte fallback (set false)');
  const unk = m['unk_token'] ?? null;
  if (unk !== null) str(unk, 'model.unk_token');
  const vocab = obj(m['vocab'], 'model.vocab');
  const tokens: (string | undefined)[] = [];
  for (const [tok, value] of Object.entries(vocab)) {
    const i = id(value, `model.vocab[${JSON.stringify(tok)}]`);
    if (tokens[i] !== undefined)
      fail(`model.vocab[${JSON.stringify(tok)}]`, `id ${i} is also used by ${show(tokens[i])}; ids must be unique`);
    tokens[i] = tok;
  }
  const merges = parseMerges(m['merges']);
  try {
    return new BpeModel({
      tokens,
      merges,
      unkToken: unk as string | null,
      fuseUnk: bool(m, 'fuse_unk', 'model', false),
      ignoreMerges: bool(m, 'ignore_merges', 'model', false),
    });
  } catch (e) {
    if (e instanceof TokenizerConfigError) return fail('model', e.message);
    throw e;
  }
}

/** Builds a tokenizer from a parsed tokenizer.json object. */
export function fromHfJson(root: Json, roles?: Partial<SpecialTokenRoles>): BpeTokenizer {
  const r = obj(root, '(root)');
  if (r['version'] !== undefined) str(r['version'], 'version');
  for (const k of ['truncation', 'padding']) {
    if (r[k] !== null && r[k] !== undefined)
      fail(k, `unsupported ${show(r[k])}; set it to null and pass padding/truncation to encodeBatch instead`);
  }
  if (r['normalizer'] !== null && r['normalizer'] !== undefined)
    fail('normalizer', `unsupported ${show(r['normalizer'])}; byte-level BPE uses none (null)`);
  const pre = nullOrType(r['pre_tokenizer'], 'pre_tokenizer', ['ByteLevel']);
  if (pre === null) fail('pre_tokenizer', 'missing; expected {"type": "ByteLevel", ...}');
  nullOrType(r['post_processor'], 'post_processor', ['ByteLevel']);
  const dec = nullOrType(r['decoder'], 'decoder', ['ByteLevel']);
  const addedTokens = parseAddedTokens(r['added_tokens']);
  const model = parseModel(r['model']);
  try {
    return new BpeTokenizer({
      model,
      addedTokens,
      addPrefixSpace: bool(pre!, 'add_prefix_space', 'pre_tokenizer', true),
      useRegex: bool(pre!, 'use_regex', 'pre_tokenizer', true),
      byteLevelDecoder: dec !== null,
      ...(roles ? { roles } : {}),
    });
  } catch (e) {
    if (e instanceof TokenizerConfigError) return fail('added_tokens', e.message);
    throw e;
  }
}

/** Parses tokenizer.json text; invalid JSON is a TokenizerFormatError too. */
export function parseHfJson(text: string, roles?: Partial<SpecialTokenRoles>): BpeTokenizer {
  let root: Json;
  try {
    root = JSON.parse(text);
  } catch (e) {
    return fail('(root)', `not valid JSON (${(e as Error).message}); is this a tokenizer.json file?`);
  }
  return fromHfJson(root, roles);
}

/** The tokenizer as an HF tokenizer.json object (what `tokenizers`' `Tokenizer.fromFile` reads). */
export function toHfJson(tok: BpeTokenizer): object {
  const vocab: Record<string, number> = Object.create(null);
  tok.model.tokens.forEach((t, i) => {
    if (t !== undefined) vocab[t] = i;
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: tok.addPrefixSpace, trim_offsets: true, use_regex: tok.useRegex };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tok.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: t.singleWord,
      lstrip: t.lstrip,
      rstrip: t.rstrip,
      normalized: t.normalized,
      special: t.special,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: tok.byteLevelDecoder ? byteLevel : null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: tok.model.unkToken,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: tok.model.fuseUnk,
      byte_fallback: false,
      ignore_merges: tok.model.ignoreMerges,
      vocab,
      merges: tok.model.merges.map(([a, b]) => [a, b]),
    },
  };
}

/** tokenizer.json text, pretty-printed. */
export function stringifyHfJson(tok: BpeTokenizer): string {
  return JSON.stringify(toHfJson(tok), null, 2);
}
