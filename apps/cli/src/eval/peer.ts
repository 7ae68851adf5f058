/**
 * `zipper eval peer`: the peer row of the ASR table: pocketsphinx (batch mode, whole utterances,
 * its default en-us models) on the split's original audio, scored against the gold text like
 * `zipper eval asr`. Every WAV is checked against its manifest sha256 first.
 */
import path from 'node:path';
import { transcribeWavFiles } from '@zipper/eval/node';
import { intArg, parse } from '../args.js';
import { EVAL_SPLITS, openSplit, parseSplit } from './inputs.js';
import { ensureDir, errorsOf, finish, intervalOf, intervalText, oneLine, pct, scoreByVoice, writeTranscripts } from './outputs.js';

export const PEER_USAGE = `usage: zipper eval peer --data DIR --split ${EVAL_SPLITS.join('|')} [--limit N] [--jobs N] [--out DIR] [--json]

The peer row for ASR: pocketsphinx (pocketsphinx_batch, en-us acoustic model, language model and
dictionary of Debian pocketsphinx-en-us; each file one utterance) on the split's original audio,
scored against the gold text as zipper eval asr scores a model. Keeps ref.txt, hyp.txt,
utterances.jsonl and metrics.json in --out (default DATA/eval/peer/SPLIT). --jobs: pocketsphinx
processes (default 2). --json: the last stdout line is the metrics.`;

const OPTIONS = {
  data: { type: 'string' },
  split: { type: 'string' },
  limit: { type: 'string' },
  jobs: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function runEvalPeer(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, PEER_USAGE);
  if (v.help) {
    console.log(PEER_USAGE);
    return 0;
  }
  const split = parseSplit(v.split);
  const limit = v.limit === undefined ? undefined : intArg(v.limit, 'limit', 0, 1);
  const jobs = intArg(v.jobs, 'jobs', 2, 1);
  const input = openSplit(v.data, split, { limit });
  const t0 = performance.now();
  const out = path.resolve(v.out ?? path.join(input.data.dir, 'eval', 'peer', split));
  ensureDir(out);
  for (const r of input.records) input.data.audioBytes(r); // the audio is what the manifest says
  const hyps = await transcribeWavFiles(
    input.records.map((r) => input.data.audioPath(r)),
    { jobs, onProgress: (d, n) => void process.stderr.write(`\rrecognized ${d}/${n}`) },
  );
  process.stderr.write('\n');
  const refs = input.records.map((r) => r.text);
  const s = scoreByVoice(
    refs,
    hyps,
    input.records.map((r) => r.voice),
  );
  writeTranscripts(
    out,
    refs,
    hyps,
    input.records.map((r, i) => ({ id: r.id, voice: r.voice, ref: r.text, hyp: oneLine(hyps[i]!), errors: errorsOf(s.perUtterance[i]!) })),
  );
  const interval = intervalOf([s.perUtterance]);
  const metrics = {
    task: 'peer',
    model: 'pocketsphinx',
    kind: 'peer',
    split,
    data: input.data.dir,
    manifest: input.manifest,
    manifestSha256: input.manifestSha256,
    ...s.all,
    interval,
    voices: s.voices,
    recognizer: 'pocketsphinx_batch (en-us)',
    out,
    command: ['zipper eval peer', ...argv].join(' '),
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
  };
  finish(
    out,
    metrics,
    `peer (pocketsphinx) ${split}: WER ${pct(s.all.wer)} (sub ${s.all.sub}, del ${s.all.del}, ins ${s.all.ins} / ${s.all.words} words), CER ${pct(s.all.cer)}, ${s.all.utterances} utterances; WER ${intervalText(interval)}`,
    v.json,
  );
  return 0;
}
