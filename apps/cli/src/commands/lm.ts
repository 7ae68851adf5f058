/**
 * `zipper lm build`: a word bigram or trigram LM (@zipper/text WordLm) of a text corpus, one
 * sentence a line, for the CTC head's lexicon decoding (`--decoder lexicon`). The shipped one (a
 * trigram) sits in the text tower package (WORD_LM_FILE), built from the text tower's own
 * pretraining text.
 */
import path from 'node:path';
import { sha256Hex, writeFileAtomicSync } from '@zipper/common/node';
import { ConfigError } from '@zipper/core';
import { WORD_LM_FILE, WordLm } from '@zipper/text';
import { utf8DecodeStrict } from '@zipper/tokenizers';
import { intArg, numArg, parse, readInputFile } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { normalizeWords } from '../data/normalize.js';

const USAGE = `usage: zipper lm build --text CORPUS.txt --out FILE [--order 2|3] [--min-count 2] [--min-bigram-count 2]
      [--min-trigram-count 2] [--discount 0.75] [--dictionary WORDS.txt] [--json]

Counts a word n-gram language model of CORPUS.txt (one sentence a line, words split at
whitespace; e.g. DATA/text-only.txt of zipper data build, the text tower's pretraining text):
the lexicon is every word seen --min-count times, probabilities are interpolated absolute
discounting (--discount D) over sentence-bounded bigrams (--order 2, the default) or trigrams
(--order 3); bigrams seen fewer than --min-bigram-count times and trigrams seen fewer than
--min-trigram-count times are not stored. Writes FILE (safetensors, atomically); a text tower
package holds it as ${WORD_LM_FILE}, where zipper transcribe / zipper eval asr --decoder lexicon
find it. --dictionary WORDS.txt: a word list, one word a line (e.g. Debian wamerican's
/usr/share/dict/american-english), each normalized as the corpus is (docs/data.md: lowercase
a-z and '; a line that is not one word so is dropped, e.g. "AC/DC"), kept in FILE beside the counts
as words the lexicon search may spell beyond the lexicon (--dictionary-word-log-prob; not counted:
the probabilities do not change). Deterministic: the same corpus, word list and options give the same
bytes. --json: the last stdout line is {"out","order","words","bigrams","trigrams","sentences","tokens",
"dictionary","dictionaryDropped","bytes","sha256","corpusSha256","dictionarySha256","seconds"}
(dictionary: its words beyond the lexicon; the last two only with --dictionary).`;

const OPTIONS = {
  text: { type: 'string' },
  out: { type: 'string' },
  'min-count': { type: 'string' },
  'min-bigram-count': { type: 'string' },
  'min-trigram-count': { type: 'string' },
  order: { type: 'string' },
  discount: { type: 'string' },
  dictionary: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function build(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, USAGE);
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (!v.text || !v.out) throw new UsageError(`--text and --out are required\n\n${USAGE}`);
  const discount = numArg(v.discount, 'discount', 0.75);
  if (!(discount > 0 && discount < 1)) throw new UsageError(`--discount must be in (0, 1), got "${v.discount}"`);
  const order = intArg(v.order, 'order', 2, 2);
  if (order !== 2 && order !== 3) throw new UsageError(`--order takes 2 or 3, got "${v.order}"`);
  if (order === 2 && v['min-trigram-count'] !== undefined) throw new UsageError('--min-trigram-count is for --order 3');
  const config = {
    minCount: intArg(v['min-count'], 'min-count', 2, 1),
    minBigramCount: intArg(v['min-bigram-count'], 'min-bigram-count', 2, 1),
    minTrigramCount: intArg(v['min-trigram-count'], 'min-trigram-count', 2, 1),
    discount,
    order,
  } as const;
  const t0 = performance.now();
  const corpus = readInputFile(v.text, '--text');
  const text = utf8DecodeStrict(corpus, `--text ${v.text}`);
  const list = v.dictionary !== undefined ? readInputFile(v.dictionary, '--dictionary') : undefined;
  const dictionary = list && dictionaryWords(utf8DecodeStrict(list, `--dictionary ${v.dictionary}`));
  let lm: WordLm;
  try {
    lm = WordLm.build(text.split('\n'), config, dictionary ? { dictionary: dictionary.words } : {});
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`--text ${v.text}: ${e.message}`);
    throw e;
  }
  const bytes = lm.encode();
  const out = path.resolve(v.out);
  writeFileAtomicSync(out, bytes);
  const result = {
    out,
    order: lm.order,
    words: lm.words.length,
    bigrams: lm.bigramCount,
    trigrams: lm.trigramCount,
    sentences: lm.info.sentences,
    tokens: lm.info.tokens,
    dictionary: lm.dictionary.length,
    dictionaryDropped: dictionary?.dropped ?? 0,
    bytes: bytes.length,
    sha256: sha256Hex(bytes),
    corpusSha256: sha256Hex(corpus),
    ...(list ? { dictionarySha256: sha256Hex(list) } : {}),
    seconds: +((performance.now() - t0) / 1000).toFixed(2),
  };
  if (v.json) console.log(JSON.stringify(result));
  else
    console.log(
      `${out}: ${result.words} words, ${result.bigrams} bigrams${lm.order === 3 ? `, ${result.trigrams} trigrams` : ''} from ${result.sentences} sentences (${result.tokens} words)${list ? `, a dictionary of ${result.dictionary} more words (${result.dictionaryDropped} lines not one word)` : ''}, ${(result.bytes / 2 ** 20).toFixed(1)} MB in ${result.seconds} s`,
    );
  return 0;
}

/**
 * A word list's lines as the corpus spells words (docs/data.md's normalization, steps 1-6): a line
 * that is not then one word over [a-z'] (empty, several words, rejected characters) is dropped.
 */
export function dictionaryWords(list: string): { words: string[]; dropped: number } {
  const words: string[] = [];
  let dropped = 0;
  for (const line of list.split('\n')) {
    if (line.trim() === '') continue;
    const w = normalizeWords(line.trim());
    if (w !== null && /^[a-z']+$/.test(w)) words.push(w);
    else dropped++;
  }
  return { words, dropped };
}

export const lm: Command = {
  name: 'lm',
  summary: 'word language models for lexicon decoding: zipper lm build --text CORPUS.txt --out FILE',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'build') return build(rest);
    if (sub === '--help' || sub === '-h') {
      console.log(USAGE);
      return 0;
    }
    if (sub === undefined) throw new UsageError(`zipper lm needs a subcommand (build)\n\n${USAGE}`);
    throw new UsageError(`unknown subcommand "lm ${sub}"\n\n${USAGE}`);
  },
};
