/** Training config of the byte-level BPE trainer: a readonly type and its resolve-and-validate. */
import { TokenizerConfigError } from '../errors.js';
import { MAX_VOCAB } from './bpe-model.js';

export interface BpeTrainConfig {
  /** Total vocabulary size: special tokens + reserved tokens + alphabet + merges. */
  readonly vocabSize: number;
  /** Stop merging when the most frequent pair occurs fewer times than this. */
  readonly minFrequency: number;
  /** Special tokens, ids 0.. in this order (e.g. `<pad>`, `<bos>`, `<eos>`). */
  readonly specialTokens: readonly string[];
  /** Extra special tokens `<|reserved_0|>`... taking the ids after `specialTokens`, for later use. */
  readonly reservedTokens: number;
  /**
   * `'bytes'`: all 256 byte tokens (any text can be encoded and round-trips). `'observed'`: only
   * bytes seen in the corpus (what HF's default BpeTrainer does; unseen bytes are then dropped).
   */
  readonly alphabet: 'bytes' | 'observed';
  /** ByteLevel `add_prefix_space`. Default false, so that decode(encode(x)) === x. */
  readonly addPrefixSpace: boolean;
}

export const DEFAULT_SPECIAL_TOKENS: readonly string[] = ['<pad>', '<bos>', '<eos>'];

/** Spelling of reserved token `i`. */
export const reservedToken = (i: number): string => `<|reserved_${i}|>`;

/** Fills defaults and checks invariants; never mutates `partial`. */
export function resolveBpeTrainConfig(partial: Partial<BpeTrainConfig> = {}): BpeTrainConfig {
  const c: BpeTrainConfig = {
    vocabSize: partial.vocabSize ?? 4096,
    minFrequency: partial.minFrequency ?? 2,
    specialTokens: [...(partial.specialTokens ?? DEFAULT_SPECIAL_TOKENS)],
    reservedTokens: partial.reservedTokens ?? 0,
    alphabet: partial.alphabet ?? 'bytes',
    addPrefixSpace: partial.addPrefixSpace ?? false,
  };
  const int = (v: number, min: number, name: string): void => {
    if (!Number.isInteger(v) || v < min) throw new TokenizerConfigError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  int(c.minFrequency, 0, 'minFrequency');
  int(c.reservedTokens, 0, 'reservedTokens');
  if (c.alphabet !== 'bytes' && c.alphabet !== 'observed')
    throw new TokenizerConfigError(`alphabet must be 'bytes' or 'observed', got ${String(c.alphabet)}`);
  const seen = new Set<string>();
  for (const t of c.specialTokens) {
    if (typeof t !== 'string' || t.length === 0)
      throw new TokenizerConfigError(`specialTokens must be non-empty strings, got ${JSON.stringify(t)}`);
    if (seen.has(t)) throw new TokenizerConfigError(`special token ${JSON.stringify(t)} is listed twice; list each once`);
    seen.add(t);
  }
  const floor = c.specialTokens.length + c.reservedTokens + (c.alphabet === 'bytes' ? 256 : 1);
  int(c.vocabSize, floor, 'vocabSize (special + reserved tokens + byte alphabet)');
  if (c.vocabSize > MAX_VOCAB) throw new TokenizerConfigError(`vocabSize must be at most ${MAX_VOCAB}, got ${c.vocabSize}`);
  return c;
}
