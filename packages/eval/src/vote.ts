/**
 * Word voting over transcripts of one utterance (a ROVER-like combination, NIST's rover without
 * times or confidences): every word of the anchor transcript is aligned, with sclite's costs
 * (`align`), to each other transcript; the word each of them puts there (or nothing, where it
 * deletes the word) is a vote, and the anchor's own word is one more. The word with the most votes
 * replaces the anchor's; a tie keeps the anchor's word, then the view that came first. Words the
 * others insert between the anchor's are not voted in, so the result never has more words than
 * the anchor. The apps vote over transcripts of views of one recording (@zipper/tokenizers
 * `AUDIO_VIEWS`; rule N in docs/eval.md).
 */
import { align } from './align.js';

/** Words of a transcript as the vote reads them: split at white space. */
function tokens(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** The word (or '' for none) `other` puts at each word of `anchor`. */
function slotsOf(anchor: readonly string[], other: readonly string[]): string[] {
  const { ops } = align(anchor, other);
  const slots: string[] = [];
  let j = 0;
  for (const op of ops) {
    if (op === 'I') j++;
    else if (op === 'D') slots.push('');
    else slots.push(other[j++]!);
  }
  return slots;
}

/** `anchor` with each word replaced by the majority of it and `others` (see the file's comment). */
export function voteTranscripts(anchor: string, others: readonly string[]): string {
  const a = tokens(anchor);
  const slots = others.map((o) => slotsOf(a, tokens(o)));
  const out: string[] = [];
  a.forEach((word, i) => {
    // candidates in order of first vote: the anchor's word first, so it wins every tie it is in
    const votes = new Map<string, number>([[word, 1]]);
    for (const s of slots) votes.set(s[i]!, (votes.get(s[i]!) ?? 0) + 1);
    let best = word;
    for (const [w, n] of votes) if (n > votes.get(best)!) best = w;
    if (best !== '') out.push(best);
  });
  return out.join(' ');
}
