import { mean } from '@zipper/common';
import { pairedBootstrap, scoreCorpus, type CorpusScore, type PairedBootstrap } from '@zipper/eval';
import { intArg, numArg, parse, readInputFile, seedArg } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { intervalOf, pct } from '../eval/outputs.js';

const USAGE = `usage: zipper wer --ref REF.txt --hyp HYP.txt [--hyp HYP2.txt ...] [--interval]
                  [--baseline BASE.txt [--baseline BASE2.txt ...]]
                  [--samples 1000] [--seed 0] [--level 0.95] [--json]

Scores two files of one utterance a line (line i of HYP against line i of REF; an empty line is
an empty hypothesis) with NIST sclite's alignment (substitution 4, insertion 3, deletion 3) on
normalized text (lowercase, NFKC, punctuation removed; see @zipper/eval). Prints WER, CER and the
word error counts; with --json the last line is one JSON object
{"wer", "cer", "words", "sub", "del", "ins"}.

Several --hyp files are several decodes of one system (e.g. zipper eval tts's hyp.seedN.txt): the
system's WER and CER are the means over them, as zipper eval tts reports, and so are "sub", "del"
and "ins" (so wer = (sub + del + ins) / words still holds); the JSON object gains "hyps", each
file's {"file", "wer", "cer", "sub", "del", "ins"}. Several --baseline files likewise, and the
bootstrap then resamples utterances once for all of a system's decodes.

--interval           adds HYP's bootstrap interval over utterances: the --level percentile interval
                     of its WER and CER over --samples resamples drawn with --seed. It measures the
                     test set's sampling noise, not the noise between training runs. The JSON object
                     gains "interval": {"wer": {"low", "high"}, "cer": {...}, "samples", "seed", "level"}.
--baseline BASE.txt  another system's hypotheses for the same REF: adds a paired bootstrap over
                     utterances of HYP minus BASE (WER and CER; negative: HYP is better), with a
                     --level percentile interval over --samples resamples drawn with --seed, and
                     the share of resamples where HYP's rate is lower. The JSON object gains
                     "baseline": {"wer", "cer", "sub", "del", "ins"} and
                     "bootstrap": {"wer": {"delta", "low", "high", "fractionLower"}, "cer": {...},
                     "samples", "seed", "level"}.`;

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

/** A file's corpus rates and word error counts. */
const pick = (d: CorpusScore) => ({ wer: d.wer, cer: d.cer, sub: d.sub, del: d.del, ins: d.ins });
/** A count, or the mean of several files' counts (to two decimals when it is not whole). */
const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

export const wer: Command = {
  name: 'wer',
  summary: 'word and character error rates of a hypothesis file against a reference file (sclite-identical counts)',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    const { values } = parse(
      argv,
      {
        ref: { type: 'string' },
        hyp: { type: 'string', multiple: true },
        interval: { type: 'boolean' },
        baseline: { type: 'string', multiple: true },
        samples: { type: 'string' },
        seed: { type: 'string' },
        level: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    const hypFiles = values.hyp ?? [];
    const baseFiles = values.baseline ?? [];
    if (!values.ref || hypFiles.length === 0) throw new UsageError(`--ref and --hyp are required\n\n${USAGE}`);
    if (baseFiles.length === 0 && !values.interval && (values.samples ?? values.seed ?? values.level) !== undefined)
      throw new UsageError(`--samples, --seed and --level set the bootstrap; give --interval or --baseline\n\n${USAGE}`);
    const samples = intArg(values.samples, 'samples', 1000, 100);
    const seed = seedArg(values.seed);
    const level = numArg(values.level, 'level', 0.95);
    if (!(level > 0 && level < 1)) throw new UsageError(`--level must be between 0 and 1 (e.g. 0.95), got "${values.level}"`);
    const refs = lines(readInputFile(values.ref, '--ref'), '--ref');
    const scoreFile = (option: '--hyp' | '--baseline', file: string) => {
      const hyps = lines(readInputFile(file, option), option);
      if (refs.length !== hyps.length)
        throw new UsageError(
          `--ref has ${refs.length} lines but ${option} has ${hyps.length} (${file}); give one hypothesis line per reference line`,
        );
      return scoreCorpus(refs, hyps);
    };
    const systemOf = (option: '--hyp' | '--baseline', files: readonly string[]) => {
      const decodes = files.map((f) => scoreFile(option, f));
      const avg = (k: 'wer' | 'cer' | 'sub' | 'del' | 'ins') => mean(decodes.map((d) => d[k]));
      return {
        decodes,
        perUtterance: decodes.map((d) => d.perUtterance),
        counts: { wer: avg('wer'), cer: avg('cer'), sub: avg('sub'), del: avg('del'), ins: avg('ins') },
        files: files.map((file, k) => ({ file, ...pick(decodes[k]!) })),
      };
    };
    const s = systemOf('--hyp', hypFiles);
    const base = baseFiles.length ? systemOf('--baseline', baseFiles) : undefined;
    const first = s.decodes[0]!;
    const several = (n: number) => (n > 1 ? `, mean over ${n} files` : '');
    const counts = { wer: s.counts.wer, cer: s.counts.cer, words: first.words, sub: s.counts.sub, del: s.counts.del, ins: s.counts.ins };
    if (!values.json) {
      console.log(`utterances ${first.utterances}, reference words ${first.words}`);
      console.log(
        `WER ${pct(counts.wer)} (sub ${num(counts.sub)}, del ${num(counts.del)}, ins ${num(counts.ins)}${several(hypFiles.length)}); CER ${pct(counts.cer)} over ${first.chars.n} characters`,
      );
    }
    const levelPct = `${(100 * level).toFixed(0)}%`;
    const json: Record<string, unknown> = { ...counts, ...(hypFiles.length > 1 ? { hyps: s.files } : {}) };
    if (values.interval) {
      const i = intervalOf(s.perUtterance, { samples, seed, level });
      json['interval'] = i;
      if (!values.json)
        console.log(
          `bootstrap, ${samples} resamples of ${first.utterances} utterances, seed ${seed}: ${levelPct} interval WER ${pct(i.wer.low)} to ${pct(i.wer.high)}, CER ${pct(i.cer.low)} to ${pct(i.cer.high)}`,
        );
    }
    if (base) {
      const boot = (unit: 'words' | 'chars') => pairedBootstrap(base.perUtterance, s.perUtterance, { samples, seed, level, unit });
      const summary = (b: PairedBootstrap) => ({ delta: b.delta, low: b.low, high: b.high, fractionLower: b.fractionLower });
      const [w, c] = [boot('words'), boot('chars')];
      json['baseline'] = { ...base.counts, ...(baseFiles.length > 1 ? { hyps: base.files } : {}) };
      json['bootstrap'] = { wer: summary(w), cer: summary(c), samples, seed, level };
      if (!values.json) {
        const signed = (x: number) => `${x >= 0 ? '+' : ''}${pct(x)}`;
        const line = (name: string, b: PairedBootstrap) =>
          `${name} ${signed(b.delta)} against the baseline's ${pct(b.a)}; ${levelPct} interval ${signed(b.low)} to ${signed(b.high)}; lower in ${(100 * b.fractionLower).toFixed(1)}% of resamples`;
        const b = base.counts;
        console.log(
          `baseline WER ${pct(b.wer)} (sub ${num(b.sub)}, del ${num(b.del)}, ins ${num(b.ins)}${several(baseFiles.length)}); CER ${pct(b.cer)}`,
        );
        console.log(`paired bootstrap, ${samples} resamples of ${first.utterances} utterances, seed ${seed}:`);
        console.log(`  ${line('WER', w)}`);
        console.log(`  ${line('CER', c)}`);
      }
    }
    if (values.json) console.log(JSON.stringify(json));
    return 0;
  },
};
