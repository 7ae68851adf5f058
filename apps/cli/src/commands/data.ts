import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { buildData, SIZES, type DataSize } from '../data/index.js';

const USAGE = `usage: zipper data build --out DIR [--size tiny|small|full] [--aligned N] [--noisy] [--tts-voice-sets] [--dev-other] [--fresh-dev FILE] [--seed N] [--jobs N] [--no-progress]

Builds the synthetic corpora into DIR: text-only.txt (text tower), speech-only.jsonl (speech tower,
no transcripts), aligned-{asr,tts}.{1,10,100}pct.jsonl, dev.jsonl, test-clean.jsonl,
test-other.jsonl, build.json and README.md. --aligned N grows (or shrinks) the aligned pool of the
size: test and dev sets stay the same sentences, the first pairs stay the same pairs (the base
build's audio is reused when DIR holds it), and the 1%/10% subsets stay nested; build.json then
records "counts". --noisy also renders every aligned pair's ASR audio and every dev utterance again
with test-other's kind of tempo change and additive noise, in the same seen voices
(aligned-noisy.{1,10,100}pct.jsonl, dev-noisy.jsonl: training data for noise robustness and a dev
set to choose by; test-other's voices stay unseen); build.json then records "noisy": true and the
other files stay those of the build without it. --tts-voice-sets also renders every dev and
test-clean sentence again by the TTS voice, without effects (dev-tts-voice.jsonl,
test-clean-tts-voice.jsonl: recognition and the TTS oracle in the voice the model speaks);
build.json then records "ttsVoiceSets": true and the other files stay the same. --dev-other also
renders every dev sentence again by voices no other split uses (not test-other's either), with
test-other's kind of tempo change and additive noise (dev-other.jsonl: a dev set that stands for
test-other's unseen voices); build.json then records "devOther": true and the other files stay
the same. --fresh-dev FILE renders a dev set of sentences nothing was trained on, from FILE (plain
text, or a fortune-mod cookie file: one with a line that is exactly "%"): its sentences,
normalized as the corpus's are, with the audio splits' word count, in no split of the corpus
and without repeats, are shuffled with the seed and dev's count of them taken (too few is an
error naming both numbers), by the seen voices as dev is (fresh-dev.jsonl) and again every one
by the TTS voice (fresh-dev-tts-voice.jsonl); build.json then records "freshDev": { file (the
base name), sha256 (of FILE's bytes), sentences (usable), chosen } and the other files stay the
same. Rerunning resumes: finished audio verified by sha256 is kept. Prints a JSON summary
on stdout; progress goes to stderr.`;

export const data: Command = {
  name: 'data',
  summary: 'build the synthetic text/speech corpora, aligned pairs and test sets (data build --help)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h') {
      console.log(USAGE);
      return 0;
    }
    if (sub !== 'build') throw new UsageError(`expected "data build", got "data ${sub ?? ''}"\n\n${USAGE}`);
    let values;
    try {
      ({ values } = parseArgs({
        args: [...rest],
        options: {
          out: { type: 'string' },
          size: { type: 'string', default: 'tiny' },
          aligned: { type: 'string' },
          noisy: { type: 'boolean', default: false },
          'tts-voice-sets': { type: 'boolean', default: false },
          'dev-other': { type: 'boolean', default: false },
          'fresh-dev': { type: 'string' },
          seed: { type: 'string', default: '0' },
          jobs: { type: 'string', default: '2' },
          'no-progress': { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
        strict: true,
      }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
    }
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.out) throw new UsageError(`--out is required\n\n${USAGE}`);
    if (!(values.size in SIZES)) throw new UsageError(`--size must be one of ${Object.keys(SIZES).join(', ')}, got "${values.size}"`);
    if (values['fresh-dev'] === '') throw new UsageError(`--fresh-dev needs a FILE of new sentences\n\n${USAGE}`);
    const seed = Number(values.seed);
    const jobs = Number(values.jobs);
    const counts = values.aligned !== undefined ? { aligned: Number(values.aligned) } : undefined;
    const r = await buildData({
      out: values.out,
      size: values.size as DataSize,
      seed,
      jobs,
      progress: !values['no-progress'],
      ...(values.noisy ? { noisy: true } : {}),
      ...(values['tts-voice-sets'] ? { ttsVoiceSets: true } : {}),
      ...(values['dev-other'] ? { devOther: true } : {}),
      ...(values['fresh-dev'] !== undefined ? { freshDev: values['fresh-dev'] } : {}),
      ...(counts ? { counts } : {}),
    });
    const m = r.summary.manifests;
    const hours = (prefix: string) => m.filter((x) => x.file.startsWith(prefix)).reduce((a, x) => a + x.hours, 0);
    console.log(
      JSON.stringify(
        {
          out: r.out,
          size: r.summary.size,
          seed: r.summary.seed,
          seconds: r.seconds,
          cpuSeconds: r.cpuSeconds,
          jobs,
          synthesized: r.synthesized,
          reused: r.reused,
          textOnlySentences: r.summary.textOnly.sentences,
          textOnlyMB: r.summary.textOnly.bytes / 1e6,
          speechOnlyHours: hours('speech-only'),
          alignedPairs: m.find((x) => x.file === 'aligned-tts.100pct.jsonl')?.utterances,
          manifests: Object.fromEntries(m.map((x) => [x.file, { utterances: x.utterances, hours: Number(x.hours.toFixed(4)) }])),
        },
        null,
        2,
      ),
    );
    return 0;
  },
};
