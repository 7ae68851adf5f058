import { scoreCorpus } from '@zipper/eval';
import { readInputFile, parse } from '../args.js';
import { UsageError, type Command } from '../command.js';

const USAGE = `usage: zipper wer --ref REF.txt --hyp HYP.txt [--json]

Scores two files of one utterance a line (line i of HYP against line i of REF; an empty line is
an empty hypothesis) with NIST sclite's alignment (substitution 4, insertion 3, deletion 3) on
normalized text (lowercase, NFKC, punctuation removed; see @zipper/eval). Prints WER, CER and the
word error counts; with --json the last line is one JSON object
{"wer", "cer", "words", "sub", "del", "ins"}.`;

/** Lines of a text file; a final newline does not start another utterance. */
function lines(buf: Buffer, option: string): string[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new UsageError(`${option} is not valid UTF-8 text; convert it (e.g. iconv -t utf-8)`);
  }
  const out = text.split(/\r?\n/);
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

export const wer: Command = {
  name: 'wer',
  summary: 'word and character error rates of a hypothesis file against a reference file (sclite-identical counts)',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    const { values } = parse(argv, { ref: { type: 'string' }, hyp: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
    if (!values.ref || !values.hyp) throw new UsageError(`--ref and --hyp are required\n\n${USAGE}`);
    const refs = lines(readInputFile(values.ref, '--ref'), '--ref');
    const hyps = lines(readInputFile(values.hyp, '--hyp'), '--hyp');
    if (refs.length !== hyps.length)
      throw new UsageError(`--ref has ${refs.length} lines but --hyp has ${hyps.length}; give one hypothesis line per reference line`);
    const s = scoreCorpus(refs, hyps);
    const result = { wer: s.wer, cer: s.cer, words: s.words, sub: s.sub, del: s.del, ins: s.ins };
    if (values.json) {
      console.log(JSON.stringify(result));
    } else {
      const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : 'inf');
      console.log(`utterances ${s.utterances}, reference words ${s.words}`);
      console.log(`WER ${pct(s.wer)} (sub ${s.sub}, del ${s.del}, ins ${s.ins}); CER ${pct(s.cer)} over ${s.chars.n} characters`);
    }
    return 0;
  },
};
