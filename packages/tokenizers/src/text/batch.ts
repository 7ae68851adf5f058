/**
 * Batch encoding: optional <bos>/<eos>, truncation, padding to a rectangle [B, T] with an
 * attention mask (1 = real token, 0 = padding).
 *
 * B batch size, T padded length.
 */
import { TokenizerConfigError } from '../errors.js';
import type { BpeTokenizer } from './tokenizer.js';

export interface BatchEncodeOptions {
  /** Prepend the tokenizer's bos token. Default false. */
  readonly addBos: boolean;
  /** Append the tokenizer's eos token. Default false. */
  readonly addEos: boolean;
  /** Truncate each sequence (bos/eos included) to at most this many ids; null: no truncation. */
  readonly maxLength: number | null;
  /** Which end truncation cuts from. bos/eos are kept. */
  readonly truncationSide: 'right' | 'left';
  /** `'longest'`: pad to the longest sequence; `'maxLength'`: pad to maxLength; `'none'`: ragged. */
  readonly padding: 'longest' | 'maxLength' | 'none';
  /** Which end padding goes on. */
  readonly paddingSide: 'right' | 'left';
  /** Round the padded length up to a multiple of this (e.g. 8). */
  readonly padToMultipleOf: number;
}

export interface BatchEncoding {
  /** `ids[b]`: ids of sequence b, padded to T unless padding is 'none'. */
  readonly ids: number[][];
  /** `attentionMask[b][t]`: 1 for a real token, 0 for padding. */
  readonly attentionMask: number[][];
  /** Unpadded length of each sequence (after truncation). */
  readonly lengths: number[];
}

/** Fills defaults and checks invariants; never mutates `partial`. */
export function resolveBatchEncodeOptions(partial: Partial<BatchEncodeOptions> = {}): BatchEncodeOptions {
  const o: BatchEncodeOptions = {
    addBos: partial.addBos ?? false,
    addEos: partial.addEos ?? false,
    maxLength: partial.maxLength ?? null,
    truncationSide: partial.truncationSide ?? 'right',
    padding: partial.padding ?? 'longest',
    paddingSide: partial.paddingSide ?? 'right',
    padToMultipleOf: partial.padToMultipleOf ?? 1,
  };
  const specials = Number(o.addBos) + Number(o.addEos);
  if (o.maxLength !== null && (!Number.isInteger(o.maxLength) || o.maxLength <= specials)) {
    throw new TokenizerConfigError(`maxLength must be an integer above the ${specials} bos/eos ids it includes, got ${o.maxLength}`);
  }
  if (!['right', 'left'].includes(o.truncationSide))
    throw new TokenizerConfigError(`truncationSide must be 'right' or 'left', got ${String(o.truncationSide)}`);
  if (!['right', 'left'].includes(o.paddingSide))
    throw new TokenizerConfigError(`paddingSide must be 'right' or 'left', got ${String(o.paddingSide)}`);
  if (!['longest', 'maxLength', 'none'].includes(o.padding))
    throw new TokenizerConfigError(`padding must be 'longest', 'maxLength' or 'none', got ${String(o.padding)}`);
  if (o.padding === 'maxLength' && o.maxLength === null)
    throw new TokenizerConfigError("padding 'maxLength' needs maxLength; set it or use padding 'longest'");
  if (!Number.isInteger(o.padToMultipleOf) || o.padToMultipleOf < 1)
    throw new TokenizerConfigError(`padToMultipleOf must be an integer >= 1, got ${o.padToMultipleOf}`);
  return o;
}

/** Encodes every text, then truncates, adds bos/eos and pads (see BatchEncodeOptions). */
export function encodeBatch(tok: BpeTokenizer, texts: readonly string[], partial: Partial<BatchEncodeOptions> = {}): BatchEncoding {
  const o = resolveBatchEncodeOptions(partial);
  const bos = o.addBos ? [tok.roleId('bos')] : [];
  const eos = o.addEos ? [tok.roleId('eos')] : [];
  const padId = o.padding === 'none' ? -1 : tok.roleId('pad');
  const room = o.maxLength === null ? Infinity : o.maxLength - bos.length - eos.length;
  const seqs = texts.map((text) => {
    let ids = tok.encode(text);
    if (ids.length > room) ids = o.truncationSide === 'right' ? ids.slice(0, room) : ids.slice(ids.length - room);
    return [...bos, ...ids, ...eos];
  });
  const lengths = seqs.map((s) => s.length);
  if (o.padding === 'none') return { ids: seqs, attentionMask: seqs.map((s) => s.map(() => 1)), lengths };
  let t = o.padding === 'maxLength' ? o.maxLength! : lengths.reduce((m, n) => Math.max(m, n), 0);
  t = Math.ceil(t / o.padToMultipleOf) * o.padToMultipleOf;
  const ids: number[][] = [];
  const attentionMask: number[][] = [];
  for (const s of seqs) {
    const pad = new Array<number>(t - s.length).fill(padId);
    const zeros = new Array<number>(t - s.length).fill(0);
    const ones = new Array<number>(s.length).fill(1);
    ids.push(o.paddingSide === 'right' ? [...s, ...pad] : [...pad, ...s]);
    attentionMask.push(o.paddingSide === 'right' ? [...ones, ...zeros] : [...zeros, ...ones]);
  }
  return { ids, attentionMask, lengths };
}
