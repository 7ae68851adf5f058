/**
 * What `zipper eval report` reads: saved run outputs only (no model is loaded).
 *
 *   RUN/run.json                        the run (zipper fuse train / baseline train)
 *   RUN/loss.jsonl, RUN/sessions.jsonl  per-step losses; wall time of every session
 *   RUN/eval/SPLIT/asr/metrics.json     zipper eval asr (+ hyp.txt: how many distinct transcripts)
 *   RUN/eval/SPLIT/tts/metrics.json     zipper eval tts (+ utterances.jsonl, wav/)
 *   RUN/eval/SPLIT/FOLDER/              ref.txt with hyp.txt, or hyp.seedN.txt and target.txt (TTS):
 *                                       scored per utterance for the bootstraps of the paper checks
 *                                       and the intervals table (savedEvaluation)
 *   PEER/metrics.json                   zipper eval peer (or DATA, whose eval/peer/SPLIT/ are read)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mean } from '@zipper/common';
import { scoreCorpus, type UtteranceScore } from '@zipper/eval';
import type { ResolvedLexiconBeamOptions } from '@zipper/fuse';
import { UsageError } from '../command.js';
import { readFuseRun, type FuseRun } from '../fuse/run-file.js';
import { SESSIONS_LOG } from '../training/session.js';
import { isHeldOut, LossLog, type LossPoint } from '../progress/index.js';
import { EVAL_SPLITS, TRAIN_SPLIT, type EvalSplit, type InputSplit } from './inputs.js';
import { HYP_FILE, METRICS_FILE, REF_FILE, type Interval } from './outputs.js';

/**
 * A TTS / oracle ratio with its interval as metrics.json keeps it (OracleRatio's numbers): null where
 * it was infinite, the oracle having made no error (JSON has no Infinity).
 */
export interface KeptRatio {
  readonly ratio: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

/** The fields of a metrics.json the report uses (asr, tts and peer share the first ones). */
export interface Metrics {
  readonly task: 'asr' | 'tts' | 'peer';
  /** A held-out split, or `train` (the run's own pairs: zipper eval asr|tts --split train). */
  readonly split: InputSplit;
  readonly wer: number;
  readonly cer: number;
  readonly words: number;
  readonly utterances: number;
  readonly command?: string;
  /** Where the command wrote it (its --out), as recorded. */
  readonly out?: string;
  /** The data build evaluated on, the split's manifest file in it and the sha256 of its bytes (records from 2026-12-03 on). */
  readonly data?: string;
  readonly manifest?: string;
  readonly manifestSha256?: string;
  /** The 95% bootstrap interval over utterances of the reported rates (metrics from 2026-12-04 on; outputs.ts intervalOf). */
  readonly interval?: Pick<Interval, 'wer'>;
  /** asr --decoder lexicon: the search's settings and the word LM's lexicon size, as recorded. */
  readonly lexicon?: LexiconSettings;
  // tts only
  readonly werMin?: number;
  readonly werMax?: number;
  readonly seeds?: readonly number[];
  readonly vsTarget?: { readonly wer: number };
  readonly oracle?: { readonly wer: number };
  /** The mean WER over the oracle's, with its 95% bootstrap interval over utterances (metrics from 2026-12-04 on). */
  readonly oracleRatio?: KeptRatio;
  readonly unitsRatio?: number;
  readonly ttsVoice?: string;
  readonly voices?: Readonly<
    Record<
      string,
      {
        readonly wer: number;
        readonly oracle?: number;
        readonly utterances: number;
        /** tts: the voice's ratio to the oracle with its interval (metrics from 2026-12-04 on). */
        readonly oracleRatio?: KeptRatio;
      }
    >
  >;
}

/** What an ASR evaluation with `--decoder lexicon` records of its search (metrics.json `lexicon`) that the report names, and its word LM's lexicon size. */
export type LexiconSettings = Pick<ResolvedLexiconBeamOptions, 'lmWeight' | 'wordBonus' | 'blankPenalty' | 'beam'> &
  /** Recorded from 2026-12-06 on (none before: the search alone). */
  Partial<Pick<ResolvedLexiconBeamOptions, 'rescoreWeight' | 'nBest' | 'oovByteLogProb' | 'dictionaryWordLogProb'>> & {
    readonly words: number;
    /** The LM's dictionary words, where the search spelled them (recorded from 2026-12-06 on). */
    readonly dictionary?: number;
  };

/**
 * How much an ASR evaluation's transcripts vary: a model that ignores the audio writes one
 * transcript (its language model's favourite) for every utterance, and its WER alone does not say so.
 */
export interface TranscriptSpread {
  readonly utterances: number;
  /** Distinct transcripts, compared as written (hyp.txt: whitespace already collapsed). */
  readonly distinct: number;
  /** The most frequent transcript (the first in split order among equals) and how often it was written. */
  readonly top: string;
  readonly topCount: number;
}

export function transcriptSpread(hyps: readonly string[]): TranscriptSpread {
  const counts = new Map<string, number>();
  for (const h of hyps) counts.set(h, (counts.get(h) ?? 0) + 1);
  let top = '';
  let topCount = 0;
  for (const [h, n] of counts)
    if (n > topCount) {
      top = h;
      topCount = n;
    }
  return { utterances: hyps.length, distinct: counts.size, top, topCount };
}

export interface RunSummary {
  readonly name: string;
  readonly dir: string;
  readonly run: FuseRun;
  /** "zipper, frozen: text" | "single decoder" ... */
  readonly label: string;
  readonly steps: number;
  readonly tokens: number;
  readonly wallSeconds: number;
  /** Mean of each stream's training loss over the last (up to) 20 steps. */
  readonly trainLoss: Readonly<Record<string, number>>;
  /** The last held-out evaluation, per stream. */
  readonly heldOut: Readonly<Record<string, number>>;
  readonly losses: readonly LossPoint[];
  readonly asr: Partial<Record<EvalSplit, Metrics>>;
  /** How the text tower's transcripts vary, per split where its hyp.txt is kept (held-out splits, then train). */
  readonly asrSpread: Partial<Record<InputSplit, TranscriptSpread>>;
  /** ASR by greedy decoding of the CTC head (zipper eval asr --decoder ctc: eval/SPLIT/asr-ctc). */
  readonly asrCtc: Partial<Record<EvalSplit, Metrics>>;
  /** ASR by the CTC head's lexicon search with a word LM (zipper eval asr --decoder lexicon: eval/SPLIT/asr-lexicon). */
  readonly asrLexicon: Partial<Record<EvalSplit, Metrics>>;
  readonly tts: Partial<Record<EvalSplit, Metrics>>;
  /** The run scored on its own training pairs (eval/train/asr, eval/train/tts), where evaluated. */
  readonly train: { readonly asr?: Metrics; readonly tts?: Metrics };
}

/** Per-utterance scores of one or more decodes of the same references. */
export type SavedDecodes = readonly (readonly UtteranceScore[])[];

/** Lines of a transcript file (its last newline ends the last line), or undefined when it is missing. */
function transcript(file: string): string[] | undefined {
  if (!existsSync(file)) return undefined;
  const xs = readFileSync(file, 'utf8').split('\n');
  if (xs.at(-1) === '') xs.pop();
  return xs;
}

/** Where a run keeps each kind of evaluation: eval/SPLIT/FOLDER/. */
export type EvalFolder = 'asr' | 'asr-ctc' | 'asr-lexicon' | 'tts';

/** A run's metrics of one evaluation (eval/SPLIT/FOLDER/metrics.json), where it has one. */
export function evaluationOf(r: RunSummary, split: EvalSplit, folder: EvalFolder): Metrics | undefined {
  return { asr: r.asr, 'asr-ctc': r.asrCtc, 'asr-lexicon': r.asrLexicon, tts: r.tts }[folder][split];
}

/** A saved evaluation's transcripts, scored per utterance. */
export interface SavedEvaluation {
  /** One per decode: ASR hyp.txt; TTS hyp.seedN.txt for every seed of its metrics. */
  readonly decodes: SavedDecodes;
  /** TTS: the oracle (target.txt, pocketsphinx on the gold units) against ref.txt. */
  readonly oracle?: readonly UtteranceScore[];
  /** TTS: each utterance's voice (utterances.jsonl), where every line names one. */
  readonly voices?: readonly string[];
}

/**
 * A run's saved transcripts of one evaluation (eval/SPLIT/FOLDER: ref.txt with hyp.txt, or with
 * hyp.seedN.txt and target.txt for TTS) scored per utterance; undefined when the evaluation or any
 * of its files is missing or a file's line count is not the references'. Read only where a
 * bootstrap needs it (the paper checks, the intervals table), not by readRun.
 */
export function savedEvaluation(r: RunSummary, split: EvalSplit, folder: EvalFolder): SavedEvaluation | undefined {
  const m = evaluationOf(r, split, folder);
  const hyps = folder === 'tts' ? m?.seeds?.map((n) => `hyp.seed${n}.txt`) : [HYP_FILE];
  if (!m || !hyps) return undefined;
  const dir = path.join(r.dir, 'eval', split, folder);
  const refs = transcript(path.join(dir, REF_FILE));
  const paired = (xs: string[] | undefined): xs is string[] => xs !== undefined && xs.length === refs?.length;
  const decodes = hyps.map((h) => transcript(path.join(dir, h)));
  if (!refs || !decodes.every(paired)) return undefined;
  const scored = { decodes: decodes.map((d) => scoreCorpus(refs, d).perUtterance) };
  if (folder !== 'tts') return scored;
  const target = transcript(path.join(dir, 'target.txt'));
  const voices = (transcript(path.join(dir, 'utterances.jsonl')) ?? []).map((l) => {
    try {
      const v = (JSON.parse(l) as { voice?: unknown }).voice;
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  });
  return {
    ...scored,
    ...(paired(target) ? { oracle: scoreCorpus(refs, target).perUtterance } : {}),
    ...(voices.length === refs.length && voices.every((v) => v !== undefined) ? { voices: voices as string[] } : {}),
  };
}

/** Reads savedEvaluation's transcripts once per (run, split, folder), for the sections of one report that share them. */
export type SavedEvaluations = (r: RunSummary, split: EvalSplit, folder: EvalFolder) => SavedEvaluation | undefined;

/** savedEvaluation, each (run, split, folder) read and scored once however often it is asked for. */
export function savedEvaluations(): SavedEvaluations {
  const memo = new Map<string, SavedEvaluation | undefined>();
  return (r, split, folder) => {
    const key = `${r.dir}\0${split}\0${folder}`;
    if (!memo.has(key)) memo.set(key, savedEvaluation(r, split, folder));
    return memo.get(key);
  };
}

/**
 * A run's test-clean decodes per task (ASR by the text tower, TTS per seed), where kept: what the
 * paper checks compare; read through `saved` (a report's savedEvaluations, shared with its other
 * sections; by default read at each call).
 */
export function testCleanDecodes(
  saved: SavedEvaluations = savedEvaluation,
): (r: RunSummary, task: 'asr' | 'tts') => SavedDecodes | undefined {
  return (r, task) => saved(r, 'test-clean', task)?.decodes;
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new UsageError(`${file}: not readable JSON (${(e as Error).message}); rerun the command that writes it`);
  }
}

const isNum = (x: unknown): x is number => typeof x === 'number';
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A metrics.json of zipper eval, with the types the report relies on checked. */
function readMetrics(file: string, splits: readonly string[] = EVAL_SPLITS): Metrics {
  const m = readJson<Record<string, unknown>>(file);
  const bad = (what: string) => new UsageError(`${file}: ${what}; rerun the zipper eval command that wrote it`);
  if (!isObj(m)) throw bad('not a JSON object');
  if (m['task'] !== 'asr' && m['task'] !== 'tts' && m['task'] !== 'peer')
    throw bad(`task ${JSON.stringify(m['task'])} is not asr, tts or peer`);
  if (!(splits as readonly unknown[]).includes(m['split']))
    throw bad(`split ${JSON.stringify(m['split'])} is not one of ${splits.join(', ')}`);
  for (const k of ['wer', 'cer', 'words', 'utterances']) if (!isNum(m[k])) throw bad(`"${k}" is not a number`);
  for (const k of ['werMin', 'werMax', 'unitsRatio']) if (m[k] !== undefined && !isNum(m[k])) throw bad(`"${k}" is not a number`);
  for (const k of ['oracle', 'vsTarget'])
    if (m[k] !== undefined && !(isObj(m[k]) && isNum(m[k]['wer']))) throw bad(`"${k}" has no numeric wer`);
  if (m['seeds'] !== undefined && !(Array.isArray(m['seeds']) && m['seeds'].every(isNum))) throw bad('"seeds" is not a list of numbers');
  for (const k of ['command', 'out']) if (m[k] !== undefined && typeof m[k] !== 'string') throw bad(`"${k}" is not a string`);
  if (m['ttsVoice'] !== undefined && typeof m['ttsVoice'] !== 'string') throw bad('"ttsVoice" is not a string');
  /** Absent, or {ratio, low, high} numbers (an OracleRatio; null where the oracle made no error: JSON has no Infinity). */
  const numOrNull = (x: unknown) => x === null || isNum(x);
  const ratioOk = (r: unknown) => r === undefined || (isObj(r) && numOrNull(r['ratio']) && numOrNull(r['low']) && numOrNull(r['high']));
  const wer = isObj(m['interval']) ? m['interval']['wer'] : undefined;
  if (m['interval'] !== undefined && !(isObj(wer) && isNum(wer['low']) && isNum(wer['high'])))
    throw bad('"interval" has no numeric wer {low, high}');
  if (!ratioOk(m['oracleRatio'])) throw bad('"oracleRatio" is not {ratio, low, high} numbers');
  const lex = m['lexicon'];
  if (lex !== undefined && !(isObj(lex) && ['lmWeight', 'wordBonus', 'blankPenalty', 'beam', 'words'].every((k) => isNum(lex[k]))))
    throw bad('"lexicon" is not {lmWeight, wordBonus, blankPenalty, beam, words} numbers');
  if (
    m['voices'] !== undefined &&
    !(
      isObj(m['voices']) &&
      Object.values(m['voices']).every(
        (v) =>
          isObj(v) &&
          isNum(v['wer']) &&
          isNum(v['utterances']) &&
          (v['oracle'] === undefined || isNum(v['oracle'])) &&
          ratioOk(v['oracleRatio']),
      )
    )
  ) {
    throw bad('"voices" is not an object of {wer, utterances[, oracle, oracleRatio]} per voice');
  }
  return m as unknown as Metrics;
}

/** run.json, with the fields the report reads type-checked. */
function checkRun(run: FuseRun, file: string): FuseRun {
  const bad = (what: string) => new UsageError(`${file}: ${what}; restore the run directory`);
  const d = run.data as unknown;
  if (run.kind !== 'fuse' && run.kind !== 'baseline') throw bad(`kind ${JSON.stringify(run.kind)} is not fuse or baseline`);
  if (typeof run.command !== 'string' || !isNum(run.seed)) throw bad('"command" or "seed" has the wrong type');
  if (
    !isObj(d) ||
    !isNum(d['percent']) ||
    typeof d['dir'] !== 'string' ||
    typeof d['buildSha256'] !== 'string' ||
    typeof d['size'] !== 'string' ||
    !isNum(d['seed'])
  )
    throw bad('"data" lacks percent, dir, buildSha256, size or seed');
  if (!isObj(run.recipe) || !isNum(run.recipe.steps)) throw bad('"recipe.steps" is not a number');
  if (!isObj(run.counts) || !isNum(run.counts.kept)) throw bad('"counts.kept" is not a number');
  if (
    !isObj(run.model) ||
    (run.model.freeze !== undefined && !(Array.isArray(run.model.freeze) && run.model.freeze.every((x) => typeof x === 'string')))
  )
    throw bad('"model.freeze" is not a list of tower names');
  const held = run.model.freezeParams;
  if (held !== undefined && !(Array.isArray(held) && held.every((x) => typeof x === 'string')))
    throw bad('"model.freezeParams" is not a list of weight key prefixes');
  return run;
}

/** The frozen towers of a zipped run, text first, then speech, then any others by name. */
export function frozenTowers(run: FuseRun): string[] {
  const order = ['text', 'speech'];
  return [...(run.model.freeze ?? [])].sort((a, b) => order.indexOf(a) - order.indexOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** A run of one task, as the report and the model card name it ("TTS examples only"); '' for a run of both. */
export function oneTaskLabel(run: Pick<FuseRun, 'tasks'>): string {
  return run.tasks.length === 1 ? `${(run.tasks[0] as string).toUpperCase()} examples only` : '';
}

/** What a zipped run adds to the paper's recipe (none: the paper's), as the report names it. */
export function recipeExtras(run: FuseRun): string[] {
  return [
    oneTaskLabel(run),
    run.recipe.towerLrScale === 0
      ? 'unfrozen towers held fixed (0x lr)'
      : run.recipe.towerLrScale !== undefined
        ? `towers at ${run.recipe.towerLrScale}x lr`
        : '',
    run.model.ctcWeight
      ? `CTC ${run.model.ctcWeight} (${run.model.ctcLabels ?? 'bytes'}${run.model.ctcEncoderLayers ? `, ${run.model.ctcEncoderLayers}-block encoder` : ''}${run.model.ctcFeedLinks ? ', links read it' : ''})`
      : '',
    gatesLabel(run),
    run.model.freezeParams?.length ? `held: ${run.model.freezeParams.join(', ')}` : '',
    run.model.alignWeight ? `align prior ${run.model.alignWeight}` : '',
    run.model.selfFeed ? `self-feed ${run.model.selfFeed}` : '',
    run.model.crossRope ? (run.model.crossRope.some((r) => r.sourceWeights) ? 'cross-rope, text by bytes' : 'cross-rope') : '',
    run.asrAudio && run.asrAudio !== 'asr' ? `ASR audio ${run.asrAudio}` : '',
    run.recipe.unitNoise ? `unit noise ${run.recipe.unitNoise}` : '',
  ].filter(Boolean);
}

/** How the gates started (`--zero-output`, `--gate-init`), were reopened on a warm start (`--reopen-gates`) and whether they were held (`--freeze-gates`); '' for the paper's. */
function gatesLabel(run: FuseRun): string {
  const m = run.model;
  const initial = m.zeroOutput ? `zero-output, gates ${m.crossGate ?? 0}` : m.crossGate ? `gates ${m.crossGate}` : '';
  const reopened = m.reopenGates === undefined ? '' : `${initial ? ', ' : 'gates '}reopened at ${m.reopenGates}`;
  return initial + reopened + (m.freezeGates ? ' (frozen)' : '');
}

export function labelOf(run: FuseRun): string {
  if (run.kind === 'baseline') return 'single decoder';
  const frozen = frozenTowers(run);
  const extras = recipeExtras(run);
  return `zipper, frozen: ${frozen.length ? frozen.join('+') : 'none'}${extras.length ? `; ${extras.join('; ')}` : ''}`;
}

/** A run folder's run.json, losses and evaluations; a UsageError naming `flag` (the option that named `dir`) where it has no run.json. */
export function readRun(dir: string, flag = '--runs'): RunSummary {
  const abs = path.resolve(dir);
  if (!existsSync(path.join(abs, 'run.json')))
    throw new UsageError(`${flag} ${dir}: no run.json (pass the --out of zipper fuse train or zipper baseline train)`);
  const run = checkRun(readFuseRun(path.join(abs, 'run.json')), path.join(abs, 'run.json'));
  // points of the wrong shape (a damaged log) are skipped
  const losses = new LossLog(path.join(abs, 'loss.jsonl'))
    .read()
    .filter(
      (p) =>
        isNum(p.tokens) &&
        (isHeldOut(p) ? isNum(p.heldOut) : isNum((p as { loss?: unknown }).loss)) &&
        (p.streams === undefined || (isObj(p.streams) && Object.values(p.streams).every(isNum))),
    );
  const train = losses.filter((p) => !isHeldOut(p));
  const held = losses.filter(isHeldOut);
  const last = train.slice(-20);
  const streams = [...new Set(train.flatMap((p) => Object.keys(p.streams ?? {})))].sort();
  const trainLoss = Object.fromEntries(
    streams.map((s) => {
      const xs = last.map((p) => p.streams?.[s]).filter((x): x is number => x !== undefined);
      return [s, mean(xs)];
    }),
  );
  const sessions = (existsSync(path.join(abs, SESSIONS_LOG)) ? readFileSync(path.join(abs, SESSIONS_LOG), 'utf8').split('\n') : []).flatMap(
    (l) => {
      try {
        const x = JSON.parse(l) as { seconds?: unknown };
        return isObj(x) && isNum(x.seconds) ? [x.seconds] : [];
      } catch {
        return []; // an empty or torn line
      }
    },
  );
  const evalOf = (task: 'asr' | 'tts', folder: string = task) =>
    Object.fromEntries(
      EVAL_SPLITS.flatMap((s) => {
        const f = path.join(abs, 'eval', s, folder, METRICS_FILE);
        if (!existsSync(f)) return [];
        const m = readMetrics(f);
        if (m.task !== task || m.split !== s)
          throw new UsageError(`${f}: holds ${m.task} on ${m.split}, not ${task} on ${s}; rerun zipper eval ${task} --split ${s}`);
        return [[s, m]];
      }),
    ) as Partial<Record<EvalSplit, Metrics>>;
  const asr = evalOf('asr');
  /** The run scored on its own pairs, where it was. */
  const onOwnPairs: RunSummary['train'] = Object.fromEntries(
    (['asr', 'tts'] as const).flatMap((task) => {
      const f = path.join(abs, 'eval', TRAIN_SPLIT, task, METRICS_FILE);
      if (!existsSync(f)) return [];
      const m = readMetrics(f, [TRAIN_SPLIT]);
      if (m.task !== task) throw new UsageError(`${f}: holds ${m.task}, not ${task}; rerun zipper eval ${task} --split ${TRAIN_SPLIT}`);
      return [[task, m]];
    }),
  );
  return {
    name: path.basename(abs),
    dir: abs,
    run,
    label: labelOf(run),
    steps: train.at(-1)?.step ?? 0,
    tokens: losses.at(-1)?.tokens ?? 0,
    wallSeconds: sessions.reduce((a, x) => a + x, 0),
    trainLoss,
    heldOut: { ...(held.at(-1)?.streams ?? {}) },
    losses,
    asr,
    asrSpread: Object.fromEntries(
      [...Object.keys(asr), ...(onOwnPairs.asr ? [TRAIN_SPLIT] : [])].flatMap((s) => {
        const hyps = transcript(path.join(abs, 'eval', s, 'asr', HYP_FILE));
        return hyps ? [[s, transcriptSpread(hyps)]] : [];
      }),
    ),
    asrCtc: evalOf('asr', 'asr-ctc'),
    asrLexicon: evalOf('asr', 'asr-lexicon'),
    tts: evalOf('tts'),
    train: onOwnPairs,
  };
}

/** Every evaluation of a run, in report order: ASR by the text tower, by the CTC head greedily and with the lexicon, TTS, then on the training pairs. */
export function evaluations(s: RunSummary): Metrics[] {
  return [s.asr, s.asrCtc, s.asrLexicon, s.tts, s.train].flatMap((by) => Object.values(by).filter((m): m is Metrics => m !== undefined));
}

/** Peer rows from a metrics folder of zipper eval peer, or a data build holding eval/peer/SPLIT/. */
export function readPeers(dirs: readonly string[]): Metrics[] {
  const out: Metrics[] = [];
  for (const d of dirs) {
    const abs = path.resolve(d);
    const direct = path.join(abs, METRICS_FILE);
    const files = existsSync(direct)
      ? [direct]
      : existsSync(path.join(abs, 'eval', 'peer'))
        ? readdirSync(path.join(abs, 'eval', 'peer'))
            .sort()
            .map((s) => path.join(abs, 'eval', 'peer', s, METRICS_FILE))
            .filter(existsSync)
        : [];
    if (files.length === 0)
      throw new UsageError(`--peer ${d}: neither a metrics.json nor eval/peer/SPLIT/metrics.json inside (run zipper eval peer first)`);
    for (const f of files) {
      const m = readMetrics(f);
      if (m.task !== 'peer') throw new UsageError(`--peer ${f}: task "${m.task}", not the output of zipper eval peer`);
      out.push(m);
    }
  }
  const order = (s: string) => (EVAL_SPLITS as readonly string[]).indexOf(s);
  return out.sort((a, b) => order(a.split) - order(b.split));
}

/** The splits whose TTS evaluation gives a run's audio samples, in order of preference (the first a run has). */
export const SAMPLE_SPLITS = ['test-clean', 'test-other', 'dev'] as const satisfies readonly EvalSplit[];

/** Runs in report order: model label, aligned fraction, seed, name. */
export function sortRuns(runs: RunSummary[]): RunSummary[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return runs.sort(
    (a, b) => cmp(a.label, b.label) || a.run.data.percent - b.run.data.percent || a.run.seed - b.run.seed || cmp(a.name, b.name),
  );
}
