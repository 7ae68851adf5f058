/**
 * `zipper eval asr`: greedy transcription of every utterance of a held-out split by a trained
 * fused model (zipped or single decoder), scored against the gold text with @zipper/eval.
 *
 * Input units come from the model's own speech tokenizer (cached per tokenizer in
 * DATA/.cache/units, as in training). An input longer than the model's speech context is cut to
 * fit (counted as `truncated`): the zipped model's speech tower maxSeqLen; the single decoder's
 * stream less the text tower's maxSeqLen (its room for the transcript). With the lexicon search's
 * `views` (K > 1), the audio is read again once for the other K - 1 views, each encoded (not cached)
 * and cut alike, each view decoded alone and the transcripts voted against the first's. With its
 * `levelRange` (R > 0; `levelDown` D: -D to +R), every utterance's audio is read and scaled by the gain its
 * units fit best (@zipper/tokenizers `fitLevel`; `levelDb` per utterance), its units the fit's own
 * (the fit encodes every utterance: the unit cache is not read) and its views of the scaled audio.
 */
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { dictionaryWordCost, type CtcTranscript } from '@zipper/fuse';
import { SpeechUnitEncoder } from '@zipper/data/node';
import { scoreUtterance, voteTranscripts } from '@zipper/eval';
import { fitLevel, prepareAudio, viewAudio } from '@zipper/tokenizers';
import { LEXICON_SEARCH_OPTIONS, audioOf, lexiconSearchArgs, resolveDecoder, searchSettings, wordCounts } from '../apps/transcriber.js';
import { intArg, numArg, parse } from '../args.js';
import { UsageError } from '../command.js';
import { emptyInputGuidance } from '../fuse/trained-model.js';
import { EVAL_SPLITS, openModel, openSplit, parseSplit, TRAIN_SPLIT, trainPairsOf } from './inputs.js';
import { ensureDir, errorsOf, finish, intervalOf, intervalText, oneLine, pct, scoreByVoice, writeTranscripts } from './outputs.js';

export const ASR_USAGE = `usage: zipper eval asr --model DIR|PACKAGE --data DIR --split ${EVAL_SPLITS.join('|')}|${TRAIN_SPLIT}
      [--decoder attention|ctc|joint|lexicon] [--beam N] [--joint-ctc-weight 0.3]
      [--lm FILE] [--lm-weight 1.0] [--word-bonus -2] [--blank-penalty 1.5] [--rescore W] [--n-best N]
      [--oov-byte-log-prob L] [--dictionary-word-log-prob D] [--views K] [--level-range R] [--level-down D]
      [--guidance 0] [--voice NAME] [--limit N] [--batch N] [--out DIR] [--json]

Transcribes every utterance of the split (greedy) with a trained zipped model or single decoder
(the --out of zipper fuse train / zipper baseline train, or a checkpoint package), scores WER and
CER against the gold text (@zipper/eval: sclite's counts on normalized text), overall and per
voice. --split train: the model's own training pairs instead (aligned-asr at the run's fraction;
--data must be the run's build): next to dev, it tells memorization from generalization. Keeps
ref.txt, hyp.txt (one utterance a line), utterances.jsonl (id, voice, ref, hyp, errors) and
metrics.json in --out (default MODEL/eval/SPLIT/asr). --voice NAME: only the utterances in
that voice (e.g. flite/slt, the TTS voice; metrics.json records it); --limit N: the first N
utterances (of --voice's, with it). --batch N: rows decoded together (default 8). --decoder ctc: greedy decoding of the
zipped model's CTC head (zipper fuse train --ctc-weight) instead of the text tower (default
attention); --out then defaults to MODEL/eval/SPLIT/asr-ctc. --decoder joint: joint CTC/attention
beam search (--beam, default 4; score (1 - w) * text tower + w * CTC head, w = --joint-ctc-weight,
default 0.3, ESPnet's; not in the paper); --out defaults to MODEL/eval/SPLIT/asr-joint.
--decoder lexicon: the CTC head's beam search over words of a word LM (--lm FILE, default the text
tower package's lm.safetensors from zipper lm build), score CTC (the blank's log-probability lowered
by --blank-penalty) + --lm-weight * LM + --word-bonus per word, --beam prefixes (defaults 128, 1.0,
-2, 1.5: chosen on dev with the shipped trigram LM; a model that carries its own, written by
zipper fuse release --word-bonus ..., searches with those where none is given); --rescore W re-ranks its --n-best N
hypotheses (default 8) by adding W x the zipped text tower's log-probability of each given the speech
(two-pass decoding; not in the paper; a model may carry both settings, as the shipped one does, and
--rescore 0 then searches alone); --oov-byte-log-prob L (lexicon; e.g. -6, the shipped model's): a word
may also be spelled freely from the lexicon's letters, and one the lexicon lacks scores L per byte in
place of its LM log-probability (an open vocabulary; not in the paper; default none: only lexicon words;
--oov-byte-log-prob none turns a model's own off);
--dictionary-word-log-prob D (lexicon; e.g. -15, the shipped model's, with a word LM built by zipper lm
build --dictionary): a word of the LM's dictionary may be spelled too, scoring D in place of its LM
log-probability (default none; --dictionary-word-log-prob none turns a model's own off; dictionaryWords in
metrics.json and per utterance counts them);
--views K (lexicon): decode K views of the audio, the first K of: as is, delayed 5 ms, 3% slower, 3%
faster, delayed 2.5, 7.5 and 10 ms (@zipper/tokenizers AUDIO_VIEWS), and vote their transcripts word
by word against the first (@zipper/eval voteTranscripts; not in the paper; K times the decoding
time; docs/zipper.md, "Voting over views"); --views 1: the audio alone; utterances.jsonl keeps each view's transcript, viewHyps);
--level-range R (lexicon; 0-20 dB): scale each utterance by the whole-dB gain within +-R whose units lie
nearest the codebook's centroids (@zipper/tokenizers fitLevel; not in the paper; the units are not
level-normalized, so a recording quieter or louder than the training audio reads worse; docs/zipper.md,
"Fitting the level"), before the views; --level-range 0: the audio as recorded; --level-down D (with a
range): the most dB it may turn the audio down (default R; 0: only up); utterances.jsonl keeps each gain,
levelDb, and metrics.json levelFitted, how many were scaled);
--guidance G (--decoder attention): classifier-free guidance,
tokens chosen from cond + G * (cond - uncond), uncond the text tower's prediction after an empty
speech segment (not in the paper; metrics.json records it);
--out defaults to MODEL/eval/SPLIT/asr-lexicon (asr-lexicon-rescore with --rescore W > 0). --json: the last stdout line is
{"task","model","kind","split","wer","cer","words","sub","del","ins","utterances","voices",...}.`;

const OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  split: { type: 'string' },
  limit: { type: 'string' },
  voice: { type: 'string' },
  batch: { type: 'string' },
  decoder: { type: 'string' },
  ...LEXICON_SEARCH_OPTIONS, // --beam is the joint search's too
  'joint-ctc-weight': { type: 'string' },
  lm: { type: 'string' },
  guidance: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function runEvalAsr(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, ASR_USAGE);
  if (v.help) {
    console.log(ASR_USAGE);
    return 0;
  }
  const split = parseSplit(v.split, { train: true });
  const limit = v.limit === undefined ? undefined : intArg(v.limit, 'limit', 0, 1);
  const batch = intArg(v.batch, 'batch', 8, 1);
  if (!v.model) throw new UsageError(`--model DIR|PACKAGE is required\n\n${ASR_USAGE}`);
  const decoder = v.decoder ?? 'attention';
  if (decoder !== 'attention' && decoder !== 'ctc' && decoder !== 'joint' && decoder !== 'lexicon')
    throw new UsageError(`--decoder takes attention, ctc, joint or lexicon, got "${v.decoder}"`);
  if (decoder !== 'joint' && decoder !== 'lexicon' && v.beam !== undefined)
    throw new UsageError('--beam is for --decoder joint or lexicon');
  if (decoder !== 'joint' && v['joint-ctc-weight'] !== undefined) throw new UsageError('--joint-ctc-weight is for --decoder joint');
  if (
    decoder !== 'lexicon' &&
    (v.lm !== undefined ||
      v['lm-weight'] !== undefined ||
      v['word-bonus'] !== undefined ||
      v['blank-penalty'] !== undefined ||
      v.rescore !== undefined ||
      v['n-best'] !== undefined ||
      v['oov-byte-log-prob'] !== undefined ||
      v['dictionary-word-log-prob'] !== undefined ||
      v.views !== undefined ||
      v['level-range'] !== undefined ||
      v['level-down'] !== undefined)
  )
    throw new UsageError(
      '--lm, --lm-weight, --word-bonus, --blank-penalty, --rescore, --n-best, --oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range and --level-down are for --decoder lexicon',
    );
  const guidance = numArg(v.guidance, 'guidance', 0);
  if (decoder !== 'attention' && v.guidance !== undefined) throw new UsageError('--guidance is for --decoder attention');
  const joint = { beam: intArg(v.beam, 'beam', 4, 1), ctcWeight: numArg(v['joint-ctc-weight'], 'joint-ctc-weight', 0.3, 0, 1) };
  // the settings given; the others are the model's own (its CTC head's `search`), else the search's defaults
  const givenSearch = lexiconSearchArgs(v);
  const input = openSplit(v.data, split, { limit, voice: v.voice }, split === TRAIN_SPLIT ? trainPairsOf(v.model, 'asr') : undefined);
  await initBackend();
  const t0 = performance.now();
  const { dir, defaultOut, m } = await openModel(v.model);
  try {
    await resolveDecoder(m, dir, decoder, v.lm);
    const lexicon = decoder === 'lexicon' ? await m.lexicon(v.lm) : undefined;
    // the lexicon search with its settings, resolved only for it (another decoder never reads a head's carried ones)
    const search = lexicon ? { lexicon, options: searchSettings(m.ctcHead?.search, givenSearch) } : undefined;
    const { views, level: levelRange } = audioOf(search?.options);
    const out = path.resolve(
      v.out ??
        path.join(
          defaultOut,
          split,
          decoder === 'attention' ? 'asr' : `asr-${decoder}${(givenSearch.rescoreWeight ?? 0) > 0 ? '-rescore' : ''}`,
        ),
    );
    ensureDir(out);
    const { text: textRef, speech: speechRef } = m.run.towers;
    const maxUnits = (m.run.kind === 'fuse' ? speechRef.config.maxSeqLen : (m.run.model.maxSeqLen ?? 0) - textRef.config.maxSeqLen) - 2;
    if (maxUnits < 1) throw new UsageError(`${dir}: the model leaves no room for speech input (maxSeqLen ${m.run.model.maxSeqLen})`);
    const encoder = new SpeechUnitEncoder(input.data, m.speech);
    // each file read, checked and resampled once for the level fit and all the other views
    const recorded =
      views.length > 1 || levelRange ? input.records.map((r) => prepareAudio(input.data.audio(r), m.speech.features.sampleRate)) : [];
    // with a level range the fit encodes every utterance anyway: its units at the fitted gain, no cache
    const fits = levelRange ? recorded.map((x) => fitLevel(m.speech, x, levelRange)) : [];
    const levels = fits.map((f) => f.gainDb);
    const audio = levelRange ? fits.map((f) => f.samples) : recorded;
    const raw = levelRange ? fits.map((f) => f.ids) : encoder.encodeAll(input.records);
    const truncated = raw.filter((u) => u.length > maxUnits).length;
    const cut = (u: Uint16Array) => (u.length > maxUnits ? u.subarray(0, maxUnits) : u);
    const units = raw.map(cut);
    /** Every utterance's `units` decoded: rows of equal length together (ordered by length, in batches), back in split order. */
    const decodeAll = async (units: readonly Uint16Array[], label: string) => {
      const order = input.records.map((_, i) => i).sort((a, b) => units[a]!.length - units[b]!.length || a - b);
      const hyps: string[] = new Array<string>(input.records.length);
      const finishReasons: string[] = new Array<string>(input.records.length);
      const candidates: (readonly string[])[] = new Array<readonly string[]>(input.records.length);
      const ctc: (CtcTranscript | undefined)[] = new Array<CtcTranscript | undefined>(input.records.length);
      for (let i = 0; i < order.length; i += batch) {
        const rows = order.slice(i, i + batch);
        if (decoder !== 'attention') {
          const texts = m.ctcTranscribe!(
            rows.map((r) => units[r]!),
            decoder === 'joint' ? { joint } : search,
          );
          rows.forEach((r, j) => {
            hyps[r] = texts[j]!.text;
            finishReasons[r] = decoder;
            if (texts[j]!.candidates) candidates[r] = texts[j]!.candidates!;
            ctc[r] = texts[j];
          });
          process.stderr.write(`\rtranscribed${label} ${Math.min(i + batch, order.length)}/${order.length}`);
          continue;
        }
        // at most the text tower's context, as long as any transcript the model was trained on
        const got = await m.generate(
          rows.map((r) => [m.segment('speech', units[r]!)]),
          'text',
          { temperature: 0, maxNewTokens: textRef.config.maxSeqLen - 2, ...emptyInputGuidance(m, 'speech', guidance, rows.length) },
        );
        rows.forEach((r, j) => {
          const g = got[j]!;
          if (g.output !== 'text') throw new Error('unreachable: text output expected');
          hyps[r] = g.text;
          finishReasons[r] = g.finishReason;
        });
        process.stderr.write(`\rtranscribed${label} ${Math.min(i + batch, order.length)}/${order.length}`);
      }
      process.stderr.write('\n');
      return { hyps, finishReasons, candidates, ctc };
    };
    const {
      hyps: anchorHyps,
      finishReasons,
      candidates,
      ctc,
    } = await decodeAll(units, views.length > 1 ? ` (view 1 of ${views.length})` : '');
    // the other views (the lexicon search's `views`): each utterance's audio as the view hears it, its units cut alike
    const viewHyps: string[][] = [anchorHyps];
    for (const [k, view] of views.entries()) {
      if (k === 0) continue;
      const viewUnits = audio.map((x) => cut(m.speech.encode(viewAudio(x, view))));
      viewHyps.push((await decodeAll(viewUnits, ` (view ${k + 1} of ${views.length})`)).hyps);
    }
    const hyps = anchorHyps.map((h, i) =>
      views.length > 1
        ? voteTranscripts(
            h,
            viewHyps.slice(1).map((v) => v[i]!),
          )
        : h,
    );
    const refs = input.records.map((r) => r.text);
    const voices = input.records.map((r) => r.voice);
    const s = scoreByVoice(refs, hyps, voices);
    writeTranscripts(
      out,
      refs,
      hyps,
      input.records.map((r, i) => ({
        id: r.id,
        voice: r.voice,
        ref: r.text,
        hyp: oneLine(hyps[i]!),
        errors: errorsOf(s.perUtterance[i]!),
        units: units[i]!.length,
        finishReason: finishReasons[i],
        ...(search ? wordCounts([ctc[i]]) : {}),
        ...(views.length > 1 ? { viewHyps: viewHyps.map((v) => oneLine(v[i]!)) } : {}),
        ...(levelRange ? { levelDb: levels[i]! } : {}),
      })),
    );
    const interval = intervalOf([s.perUtterance]);
    const metrics = {
      task: 'asr',
      model: dir,
      kind: m.run.kind,
      split,
      manifest: input.manifest,
      manifestSha256: input.manifestSha256,
      ...(input.voice !== undefined ? { voice: input.voice } : {}),
      data: input.data.dir,
      ...s.all,
      interval,
      voices: s.voices,
      truncated,
      decoding: { ctc: 'ctc-greedy', joint: 'joint-ctc-attention', lexicon: 'ctc-lexicon', attention: 'greedy' }[decoder],
      ...(decoder === 'joint' ? { beam: joint.beam, jointCtcWeight: joint.ctcWeight } : {}),
      ...(guidance > 0 ? { guidance } : {}),
      // the dictionary's words where the search spells them (a dictionaryWordLogProb and an LM with one)
      ...(search
        ? {
            lexicon: {
              ...search.options,
              words: search.lexicon.lm.words.length,
              ...(dictionaryWordCost(search.lexicon, search.options) !== undefined
                ? { dictionary: search.lexicon.lm.dictionary!.length }
                : {}),
            },
          }
        : {}),
      // the transcripts' words neither the lexicon nor its dictionary holds (oovByteLogProb), and the dictionary's
      ...(search ? wordCounts(ctc) : {}),
      // utterances the level fit scaled (a gain other than 0 dB)
      ...(levelRange ? { levelFitted: levels.filter((g) => g !== 0).length } : {}),
      ...(search && search.options.rescoreWeight > 0
        ? { rescore: { weight: search.options.rescoreWeight, nBest: search.options.nBest, oracle: nBestOracle(refs, candidates) } }
        : {}),
      out,
      command: ['zipper eval asr', ...argv].join(' '),
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
    };
    finish(
      out,
      metrics,
      `ASR ${split} (${m.run.kind}): WER ${pct(s.all.wer)} (sub ${s.all.sub}, del ${s.all.del}, ins ${s.all.ins} / ${s.all.words} words), CER ${pct(s.all.cer)}, ${s.all.utterances} utterances; WER ${intervalText(interval)}`,
      v.json,
    );
  } finally {
    m.dispose();
  }
  return 0;
}

/**
 * The n-best oracle: corpus WER when each utterance takes its candidate with the fewest word errors
 * (an empty transcript when it has none), a bound on what any re-ranking of the candidates can reach.
 */
function nBestOracle(refs: readonly string[], candidates: readonly (readonly string[] | undefined)[]): { wer: number; words: number } {
  let errors = 0;
  let words = 0;
  refs.forEach((ref, i) => {
    const all = (candidates[i] ?? []).length > 0 ? candidates[i]! : [''];
    const scored = all.map((h) => scoreUtterance(ref, h).words);
    errors += Math.min(...scored.map((w) => w.sub + w.del + w.ins));
    words += scored[0]!.n; // the reference's words, whatever the hypothesis
  });
  return { wer: words === 0 ? 0 : errors / words, words };
}
