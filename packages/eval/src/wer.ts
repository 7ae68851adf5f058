/**
 * Word and character error rates of a corpus, with sclite's alignment (align.ts) on normalized
 * transcripts (normalize.ts).
 *
 *   WER = (S + D + I) / N   over words,      N = reference words of the whole corpus
 *   CER = (S + D + I) / N   over characters  (code points, spaces removed)
 *
 * Corpus rates sum the counts of every utterance before dividing (not a mean of rates), as sclite
 * does. A corpus whose references hold no word has WER 0 when the hypotheses are empty too and
 * Infinity otherwise (sclite prints the insertion count then).
 */
import { align, type AlignmentCounts } from './align.js';
import { EvalError } from './errors.js';
import { characters, words } from './normalize.js';
import { errorRate } from './rate.js';

export interface ErrorCounts {
  /** Reference tokens. */
  readonly n: number;
  readonly sub: number;
  readonly del: number;
  readonly ins: number;
}

export interface UtteranceScore {
  readonly ref: string;
  readonly hyp: string;
  readonly words: ErrorCounts;
  readonly chars: ErrorCounts;
}

export interface CorpusScore {
  readonly wer: number;
  readonly cer: number;
  /** Reference words of the corpus. */
  readonly words: number;
  readonly sub: number;
  readonly del: number;
  readonly ins: number;
  readonly chars: ErrorCounts;
  readonly utterances: number;
}

function counts(a: AlignmentCounts): ErrorCounts {
  return { n: a.ref, sub: a.sub, del: a.del, ins: a.ins };
}

/** Error counts of one utterance, words and characters. */
export function scoreUtterance(ref: string, hyp: string): UtteranceScore {
  if (typeof ref !== 'string' || typeof hyp !== 'string') throw new EvalError('reference and hypothesis must be strings');
  return { ref, hyp, words: counts(align(words(ref), words(hyp))), chars: counts(align(characters(ref), characters(hyp))) };
}

function rate(c: ErrorCounts): number {
  return errorRate(c.sub + c.del + c.ins, c.n);
}

function sum(list: readonly ErrorCounts[]): ErrorCounts {
  return list.reduce((a, c) => ({ n: a.n + c.n, sub: a.sub + c.sub, del: a.del + c.del, ins: a.ins + c.ins }), {
    n: 0,
    sub: 0,
    del: 0,
    ins: 0,
  });
}

/** Scores utterance i of `hyps` against utterance i of `refs`. */
export function scoreCorpus(
  refs: readonly string[],
  hyps: readonly string[],
): CorpusScore & { readonly perUtterance: readonly UtteranceScore[] } {
  if (refs.length !== hyps.length) {
    throw new EvalError(
      `${refs.length} references but ${hyps.length} hypotheses; give one hypothesis per reference, in the same order (an empty line for an empty hypothesis)`,
    );
  }
  const perUtterance = refs.map((r, i) => scoreUtterance(r, hyps[i]!));
  const w = sum(perUtterance.map((u) => u.words));
  const c = sum(perUtterance.map((u) => u.chars));
  return { wer: rate(w), cer: rate(c), words: w.n, sub: w.sub, del: w.del, ins: w.ins, chars: c, utterances: refs.length, perUtterance };
}
