/**
 * Documents: one tokenized training example per sentence or utterance, as the towers read them.
 *   text:    <bos> BPE ids <eos>            (TextTower.encodeDocument)
 *   speech:  <bos> unit ids <eos>           (SpeechTower.encodeDocument; bos = K, eos = K + 1)
 *   aligned: the text document and the speech document of the same utterance
 */
import type { BpeTokenizer } from '@zipper/tokenizers';
import { speechVocab, unitsToTokens } from '@zipper/speech';
import { DataConfigError } from './errors.js';
import type { TextRecord } from './records.js';

/** What a text dataset needs of a tokenizer (BpeTokenizer has it). */
export type TextDocumentTokenizer = Pick<BpeTokenizer, 'encode' | 'roleId'>;

/** `<bos> ids <eos>` of every line (empty lines are refused: the builder never writes them). */
export function textDocuments(lines: readonly string[], tokenizer: TextDocumentTokenizer): Int32Array[] {
  const bos = tokenizer.roleId('bos');
  const eos = tokenizer.roleId('eos');
  return lines.map((line, i) => {
    if (line.length === 0) throw new DataConfigError(`text line ${i + 1} is empty; drop empty lines before tokenizing`);
    const ids = tokenizer.encode(line);
    const doc = new Int32Array(ids.length + 2);
    doc[0] = bos;
    doc.set(ids, 1);
    doc[ids.length + 1] = eos;
    return doc;
  });
}

/** `<bos> units <eos>` for a codebook of `numUnits` units. */
export function speechDocument(units: ArrayLike<number>, numUnits: number): Int32Array {
  return Int32Array.from(unitsToTokens(speechVocab(numUnits), units));
}

/** One aligned pair: the same utterance as text ids and as unit ids (both with <bos>/<eos>). */
export interface AlignedPair {
  readonly id: string;
  readonly voice: string;
  readonly text: Int32Array;
  readonly speech: Int32Array;
}

/** Pairs records with their unit sequences (same order, same length). */
export function alignedPairs(records: readonly Pick<TextRecord, 'id' | 'voice' | 'text'>[], units: readonly ArrayLike<number>[], tokenizer: TextDocumentTokenizer, numUnits: number): AlignedPair[] {
  if (units.length !== records.length) throw new DataConfigError(`alignedPairs: ${records.length} records but ${units.length} unit sequences; encode every record of the manifest`);
  const texts = textDocuments(records.map((r) => r.text), tokenizer);
  return records.map((r, i) => ({ id: r.id, voice: r.voice, text: texts[i]!, speech: speechDocument(units[i]!, numUnits) }));
}

/** Total tokens of some documents. */
export function countTokens(docs: readonly ArrayLike<number>[]): number {
  return docs.reduce((n, d) => n + d.length, 0);
}

/** The documents back to back, one stream (how pretraining reads them). */
export function concatDocuments(docs: readonly ArrayLike<number>[]): Int32Array {
  const out = new Int32Array(countTokens(docs));
  let at = 0;
  for (const d of docs) {
    out.set(d, at);
    at += d.length;
  }
  return out;
}
