/**
 * The speech tower's vocabulary: the tokenizer's units, then `<bos>` and `<eos>` (the paper's
 * 1026 = 1024 semantic units + begin/end).  Token id u < numUnits is unit u.
 */
import { ShapeError } from '@zipper/core';

export interface SpeechVocab {
  readonly numUnits: number;
  readonly bos: number;
  readonly eos: number;
  readonly size: number;
}

export function speechVocab(numUnits: number): SpeechVocab {
  return { numUnits, bos: numUnits, eos: numUnits + 1, size: numUnits + 2 };
}

/** `<bos> units <eos>` as token ids. */
export function unitsToTokens(v: SpeechVocab, units: ArrayLike<number>): number[] {
  const out = [v.bos];
  for (let i = 0; i < units.length; i++) {
    const u = units[i] as number;
    if (!Number.isInteger(u) || u < 0 || u >= v.numUnits) throw new ShapeError(`unit ${u} at ${i} is outside [0, ${v.numUnits})`);
    out.push(u);
  }
  out.push(v.eos);
  return out;
}

/** Unit ids of generated tokens: drops `<bos>`, stops at `<eos>`. */
export function tokensToUnits(v: SpeechVocab, tokens: ArrayLike<number>): Uint16Array {
  const out: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as number;
    if (t === v.eos) break;
    if (t < v.numUnits) out.push(t);
  }
  return Uint16Array.from(out);
}
