/**
 * `zipper eval report`: docs/results.md regenerated from saved run outputs (report-runs.ts):
 * the runs table, the peer row, the paper's claims checked (report-paper.ts), TTS details, WER
 * against aligned fraction (SVG, log x axis), loss curves (SVG), and a few audio samples copied
 * next to the report. Assets go to the folder named like the report without `.md`
 * (docs/results/), which the command owns: it is cleared and rewritten on every run (a marker
 * file guards against clearing anything else). Same inputs, same bytes.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mean } from '@zipper/common';
import { buildArgs, type BuildInfo } from '@zipper/data';
import { lexiconSearchText } from '@zipper/fuse';
import { DataDir } from '@zipper/data/node';
import { parse } from '../args.js';
import { UsageError } from '../command.js';
import { renderLossSvg } from '../progress/index.js';
import type { EvalSplit } from './inputs.js';
import { intervalOf, oracleRatioOf } from './outputs.js';
import { f3, intl, quoted, row } from './report-format.js';
import { renderPaperChecks } from './report-paper.js';
import { renderWerPlot, type PlotLine, type PlotSeries } from './report-plot.js';
import {
  evaluationOf,
  evaluations,
  readPeers,
  readRun,
  SAMPLE_SPLITS,
  savedEvaluations,
  sortRuns,
  testCleanDecodes,
  type EvalFolder,
  type KeptRatio,
  type Metrics,
  type RunSummary,
  type SavedEvaluations,
  type TranscriptSpread,
} from './report-runs.js';

export const REPORT_USAGE = `usage: zipper eval report --runs RUN_DIR... [--peer DIR...] --out docs/results.md [--samples N]

Regenerates the results page from saved outputs: each RUN_DIR is the --out of zipper fuse train or
zipper baseline train (run.json, loss.jsonl, sessions.jsonl, eval/SPLIT/{asr,tts}/metrics.json);
each --peer DIR a zipper eval peer output or a data build holding eval/peer/SPLIT/. Writes the page
and its assets folder (docs/results/: wer-asr.svg, wer-tts.svg, loss-RUN.svg, audio/): tables of
every run, the peer row, TTS per seed, WER against aligned fraction, loss curves and --samples N
(default 1) synthesized utterances per run. Same inputs, byte-identical outputs.`;

const OPTIONS = {
  runs: { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  out: { type: 'string' },
  samples: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const MARKER = '.zipper-eval-report';
function duration(s: number): string {
  const h = Math.floor(s / 3600);
  const mi = Math.floor((s % 3600) / 60);
  return h > 0
    ? `${h} h ${String(mi).padStart(2, '0')} min`
    : mi > 0
      ? `${mi} min ${String(Math.round(s % 60)).padStart(2, '0')} s`
      : `${s.toFixed(1)} s`;
}
const streamsText = (x: Readonly<Record<string, number>>) => ['text', 'speech'].map((s) => f3(x[s])).join(' / ');

/** Series by model label, points averaged over runs of one (label, percent). */
function seriesOf(
  runs: readonly RunSummary[],
  labels: readonly string[],
  pick: (r: RunSummary) => number | undefined,
  suffix: string,
  dashed: boolean,
): PlotSeries[] {
  return labels.flatMap((label, color) => {
    const byPct = new Map<number, number[]>();
    for (const r of runs.filter((x) => x.label === label)) {
      const v = pick(r);
      if (v !== undefined) byPct.set(r.run.data.percent, [...(byPct.get(r.run.data.percent) ?? []), v]);
    }
    const points = [...byPct].sort((a, b) => a[0] - b[0]).map(([p, vs]) => [p, mean(vs)] as const);
    return points.length ? [{ label: `${label}${suffix}`, color, dashed, points }] : [];
  });
}

/** The data builds the runs trained on (by build.json sha256), read where run.json says they are; undefined when moved. */
function dataBuilds(runs: readonly RunSummary[]): [RunSummary['run']['data'], BuildInfo | undefined][] {
  const seen = new Map<string, RunSummary['run']['data']>();
  for (const r of runs) if (!seen.has(r.run.data.buildSha256)) seen.set(r.run.data.buildSha256, r.run.data);
  return [...seen.values()].map((d) => {
    try {
      const dir = DataDir.open(d.dir);
      return [d, dir.buildSha256 === d.buildSha256 ? dir.build : undefined];
    } catch {
      return [d, undefined];
    }
  });
}

function renderData(runs: readonly RunSummary[]): string[] {
  const lines = ['## Data', '', "The paper's 1% of aligned data is about 2.8k utterances (LibriSpeech + LibriTTS); ours, per build:", ''];
  for (const [d, build] of dataBuilds(runs)) {
    lines.push(`Build \`${d.dir}\` (\`zipper data build ${buildArgs(d)}\`, build.json sha256 ${d.buildSha256.slice(0, 12)}):`, '');
    if (!build) {
      lines.push('(not found where run.json says; counts not shown)', '');
      continue;
    }
    lines.push(row(['manifest', 'utterances', 'hours', 'voices']), row(['---', '---:', '---:', '---:']));
    for (const m of build.manifests) lines.push(row([m.file, intl(m.utterances), m.hours.toFixed(3), m.voices.length]));
    lines.push('');
  }
  return lines;
}

const span = (x: { readonly low: number | null; readonly high: number | null }) => `${f3(x.low)}-${f3(x.high)}`;

/**
 * "How sure": every held-out WER of the runs table and the CTC table with its 95% bootstrap
 * interval over utterances, and TTS's ratio to the oracle (overall and in the TTS voice) with its
 * own. Taken from metrics.json where it keeps them (evaluations from 2026-12-04 on), otherwise
 * computed by the same functions (intervalOf, oracleRatioOf) from the saved transcripts, read only
 * then (`saved`, shared with the paper checks); a cell whose transcripts are not kept says so.
 */
function renderIntervals(runs: readonly RunSummary[], saved: SavedEvaluations): string[] {
  type Span = { readonly low: number | null; readonly high: number | null };
  const cell = (x: number | null, i: Span | undefined) => (i ? `${f3(x)} (${span(i)})` : `${f3(x)} (transcripts not kept)`);
  const werCell = (r: RunSummary, split: EvalSplit, folder: EvalFolder) => {
    const m = evaluationOf(r, split, folder);
    if (!m) return '';
    const s = m.interval ? undefined : saved(r, split, folder);
    return cell(m.wer, m.interval?.wer ?? (s && intervalOf(s.decodes).wer));
  };
  const ratioCells = (r: RunSummary): [string, string] => {
    const m = r.tts['test-clean'];
    if (!m) return ['', ''];
    // the TTS voice, when the split has utterances in it (metrics.json's voices say which it has)
    const voice = m.ttsVoice && (!m.voices || m.ttsVoice in m.voices) ? m.ttsVoice : undefined;
    const kept = voice ? m.voices?.[voice]?.oracleRatio : undefined;
    const s = m.oracleRatio && (!voice || kept) ? undefined : saved(r, 'test-clean', 'tts');
    const from = (keep?: (i: number) => boolean) => (s?.oracle ? oracleRatioOf(s.oracle, s.decodes, keep) : undefined);
    const overall = m.oracleRatio ?? from();
    const inVoice = kept ?? (s?.voices?.includes(voice!) ? from((i) => s.voices![i] === voice) : undefined);
    const text = (x: KeptRatio | undefined) => (x ? cell(x.ratio, x) : 'transcripts not kept');
    return [text(overall), voice ? text(inVoice) : ''];
  };
  const rows = runs.map((r) =>
    row([
      `\`${r.name}\``,
      werCell(r, 'test-clean', 'asr'),
      werCell(r, 'test-other', 'asr'),
      werCell(r, 'test-clean', 'asr-lexicon'),
      werCell(r, 'test-other', 'asr-lexicon'),
      werCell(r, 'test-clean', 'tts'),
      ...ratioCells(r),
    ]),
  );
  const ttsVoices = [...new Set(runs.flatMap((r) => r.tts['test-clean']?.ttsVoice ?? []))].sort();
  return [
    '## How sure: 95% intervals over utterances',
    '',
    "Each WER with its 95% bootstrap percentile interval over the split's utterances (1,000 resamples, seed 0; " +
      "for TTS, of the mean over seeds, one draw of utterances for every seed), and TTS's mean WER over the oracle's with the interval of that ratio " +
      "(issue 11's aim: within 1.5x), overall and in the TTS voice" +
      (ttsVoices.length ? ` (${ttsVoices.join(', ')})` : '') +
      ". The test sets' sampling noise only, not the noise between training runs.",
    '',
    row([
      'run',
      'ASR test-clean (text tower)',
      'ASR test-other (text tower)',
      'CTC head + word LM, test-clean',
      'CTC head + word LM, test-other',
      'TTS test-clean',
      'TTS / oracle',
      'TTS / oracle in the TTS voice',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...rows,
    '',
  ];
}

function renderPage(args: {
  runs: readonly RunSummary[];
  peers: readonly Metrics[];
  assets: string;
  command: string;
  samples: Map<string, string[]>;
}): string {
  const { runs, peers, assets } = args;
  const saved = savedEvaluations(); // the paper checks and the intervals table read the same transcripts
  const asr = (r: RunSummary, s: EvalSplit) => r.asr[s];
  const tts = (r: RunSummary) => r.tts['test-clean'] ?? r.tts['test-other'] ?? r.tts.dev;
  const lines: string[] = [
    '# Results',
    '',
    `Generated by \`zipper eval report\` from ${runs.length} saved run${runs.length === 1 ? '' : 's'}; do not edit by hand. Regenerate with:`,
    '',
    '```sh',
    args.command,
    '```',
    '',
    'WER and CER: `@zipper/eval` (sclite-identical counts on normalized text). ASR: greedy decoding (`zipper eval asr`).',
    "TTS: text -> units (sampled, once per seed) -> the speech tokenizer's vocoder -> pocketsphinx; **the mean over seeds of the corpus WER** (`zipper eval tts`).",
    "Oracle: gold units -> vocoder -> pocketsphinx vs gold text. Target: WER of the synthesized speech against the oracle's transcripts.",
    'Final losses: training loss per stream, mean of the last 20 steps; held-out: the last evaluation on the dev split.',
    '',
    ...renderData(runs),
    '## Runs',
    '',
    row([
      'run',
      'model',
      'aligned',
      'pairs',
      'steps',
      'tokens',
      'wall',
      'seed',
      'train loss text / speech',
      'held-out text / speech',
      'ASR WER test-clean',
      'ASR WER test-other',
      'TTS WER',
      'TTS oracle',
      'TTS vs target',
    ]),
    row(Array.from({ length: 15 }, (_, i) => (i < 2 ? '---' : '---:'))),
    ...runs.map((r) => {
      const t = tts(r);
      return row([
        `\`${r.name}\``,
        r.label,
        `${r.run.data.percent}%`,
        intl(r.run.counts.kept),
        `${intl(r.steps)} / ${intl(r.run.recipe.steps)}`,
        intl(r.tokens),
        duration(r.wallSeconds),
        r.run.seed,
        streamsText(r.trainLoss),
        streamsText(r.heldOut),
        f3(asr(r, 'test-clean')?.wer),
        f3(asr(r, 'test-other')?.wer),
        t ? `${f3(t.wer)}${t.split === 'test-clean' ? '' : ` (${t.split})`}` : '',
        f3(t?.oracle?.wer),
        f3(t?.vsTarget?.wer),
      ]);
    }),
    '',
  ];
  const ctcRows = runs.flatMap((r) =>
    (
      [
        ['greedy', r.asrCtc],
        ['lexicon + word LM', r.asrLexicon],
      ] as const
    )
      .filter(([, m]) => Object.keys(m).length > 0)
      .map(([decoder, m]) =>
        row([
          `\`${r.name}\``,
          decoder,
          f3(m['test-clean']?.wer),
          f3(m['test-clean']?.cer),
          f3(m['test-other']?.wer),
          f3(m['test-other']?.cer),
          f3(m.dev?.wer),
        ]),
      ),
  );
  if (ctcRows.length) {
    // the search's settings as the evaluations recorded them (the defaults and the shipped word LM change over time)
    const settings = [
      ...new Set(
        runs.flatMap((r) =>
          Object.values(r.asrLexicon).map((m) =>
            m?.lexicon
              ? `a word LM of ${intl(m.lexicon.words)} words${m.lexicon.dictionary ? ` and a dictionary of ${intl(m.lexicon.dictionary)}` : ''}, ${lexiconSearchText(m.lexicon)}`
              : 'settings not recorded',
          ),
        ),
      ),
    ];
    lines.push(
      '## ASR by the CTC head',
      '',
      "The zipped model's auxiliary CTC head, not the text tower: greedy decoding (`zipper eval asr --decoder ctc`)" +
        (settings.length === 0
          ? '.'
          : `, and the lexicon beam search (\`--decoder lexicon\`: ${settings.length === 1 ? `${settings[0]!}, as its metrics.json records` : "each run's settings are in its metrics.json"}).`),
      '',
      row(['run', 'decoder', 'WER test-clean', 'CER test-clean', 'WER test-other', 'CER test-other', 'WER dev']),
      row(['---', '---', '---:', '---:', '---:', '---:', '---:']),
      ...ctcRows,
      '',
    );
  }
  const spreadRows = runs.flatMap((r) =>
    (Object.entries(r.asrSpread) as [string, TranscriptSpread][]).map(([split, t]) =>
      row([
        `\`${r.name}\``,
        split,
        `${intl(t.distinct)} of ${intl(t.utterances)}`,
        t.utterances ? `${quoted(t.top)} (${intl(t.topCount)})` : '',
      ]),
    ),
  );
  lines.push(...renderIntervals(runs, saved));
  if (spreadRows.length) {
    lines.push(
      '## ASR: do the transcripts follow the audio?',
      '',
      "The text tower's transcripts (`eval/SPLIT/asr/hyp.txt`): how many differ, and the most frequent one. " +
        'A model that ignores the audio writes the same transcript for every utterance, whatever its WER.',
      '',
      row(['run', 'split', 'distinct transcripts', 'most frequent (times)']),
      row(['---', '---', '---:', '---']),
      ...spreadRows,
      '',
    );
  }
  if (peers.length) {
    lines.push(
      '## Peer row: pocketsphinx on the same audio',
      '',
      row(['split', 'WER', 'CER', 'words', 'utterances']),
      row(['---', '---:', '---:', '---:', '---:']),
    );
    for (const p of peers) lines.push(row([p.split, f3(p.wer), f3(p.cer), intl(p.words), intl(p.utterances)]));
    lines.push('');
  }
  lines.push(...renderPaperChecks(runs, testCleanDecodes(saved)));
  lines.push('## ASR: WER against aligned fraction', '', `![ASR WER against aligned fraction](${assets}/wer-asr.svg)`, '');
  const withTts = runs.filter((r) => Object.keys(r.tts).length > 0);
  lines.push('## TTS', '', `![TTS WER against aligned fraction](${assets}/wer-tts.svg)`, '');
  if (withTts.length) {
    lines.push(
      row(['run', 'split', 'seeds', 'WER mean', 'min', 'max', 'vs target', 'oracle', `WER in the TTS voice`, 'units / gold units']),
      row(['---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    );
    for (const r of withTts) {
      for (const [split, t] of Object.entries(r.tts) as [EvalSplit, Metrics][]) {
        const inVoice = t.ttsVoice ? t.voices?.[t.ttsVoice] : undefined;
        lines.push(
          row([
            `\`${r.name}\``,
            split,
            (t.seeds ?? []).join(','),
            f3(t.wer),
            f3(t.werMin),
            f3(t.werMax),
            f3(t.vsTarget?.wer),
            f3(t.oracle?.wer),
            inVoice ? `${f3(inVoice.wer)} (oracle ${f3(inVoice.oracle)}, ${inVoice.utterances} utt.)` : '',
            f3(t.unitsRatio),
          ]),
        );
      }
    }
    lines.push('');
  }
  const withTrain = runs.filter((r) => r.train.asr || r.train.tts);
  if (withTrain.length) {
    lines.push(
      '## On the training pairs',
      '',
      'Each run scored on the pairs it trained on (`zipper eval asr|tts --split train`: aligned-asr, aligned-tts at its fraction) next to test-clean: low on its own pairs and high held out is memorization; high on both, underfitting.',
      '',
      row([
        'run',
        'pairs',
        'ASR WER train',
        'ASR WER test-clean',
        'TTS WER train',
        'TTS oracle train',
        'TTS WER test-clean',
        'TTS oracle test-clean',
      ]),
      row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    );
    for (const r of withTrain) {
      const a = r.train.asr;
      const t = r.train.tts;
      const tc = r.tts['test-clean'];
      lines.push(
        row([
          `\`${r.name}\``,
          intl(r.run.counts.kept),
          a ? `${f3(a.wer)} (${a.utterances} utt.)` : '',
          f3(asr(r, 'test-clean')?.wer),
          t ? `${f3(t.wer)} (${t.utterances} utt.)` : '',
          f3(t?.oracle?.wer),
          f3(tc?.wer),
          f3(tc?.oracle?.wer),
        ]),
      );
    }
    lines.push('');
  }
  if (args.samples.size) {
    lines.push('### Audio samples', '');
    for (const [name, files] of args.samples)
      lines.push(`- \`${name}\`: ${files.map((f) => `[${path.basename(f, '.wav')}](${assets}/${f})`).join(', ')}`);
    lines.push('');
  }
  lines.push('## Loss curves', '');
  for (const r of runs) lines.push(`![loss of ${r.name}](${assets}/loss-${r.name}.svg)`);
  lines.push('', '## Commands', '');
  for (const r of runs) {
    lines.push(`\`${r.name}\`:`, '', '```sh', r.run.command);
    for (const m of evaluations(r)) if (m.command) lines.push(m.command);
    lines.push('```', '');
  }
  return lines.join('\n');
}

/** Clears (or creates) the assets folder; refuses a non-empty folder the report did not make. */
function resetAssets(dir: string): void {
  if (existsSync(dir)) {
    if (readdirSync(dir).length > 0 && !existsSync(path.join(dir, MARKER)))
      throw new UsageError(`${dir} exists and was not written by zipper eval report; move it away or choose another --out`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(path.join(dir, 'audio'), { recursive: true });
  writeFileSync(path.join(dir, MARKER), 'written by zipper eval report; cleared and rewritten on every run\n');
}

export async function runEvalReport(argv: readonly string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, OPTIONS, REPORT_USAGE, { positionals: true });
  if (v.help) {
    console.log(REPORT_USAGE);
    return 0;
  }
  const dirs = [...(v.runs ?? []), ...positionals];
  if (dirs.length === 0) throw new UsageError(`--runs RUN_DIR... is required\n\n${REPORT_USAGE}`);
  if (!v.out || !v.out.endsWith('.md'))
    throw new UsageError(`--out FILE.md is required (e.g. docs/results.md), got ${v.out === undefined ? 'nothing' : `"${v.out}"`}`);
  const samplesPer = v.samples === undefined ? 1 : Number(v.samples);
  if (!Number.isSafeInteger(samplesPer) || samplesPer < 0) throw new UsageError(`--samples must be an integer >= 0, got "${v.samples}"`);
  const runs = sortRuns(dirs.map((d) => readRun(d)));
  const names = runs.map((r) => r.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`two runs are named "${twice}"; give every run directory its own name`);
  const peers = readPeers(v.peer ?? []);

  const out = path.resolve(v.out);
  const assetsDir = out.slice(0, -3);
  const assets = path.basename(assetsDir);
  resetAssets(assetsDir);
  const labels = [...new Set(runs.map((r) => r.label))];
  // the text tower's greedy transcripts (the paper's decoder), then a CTC head's lexicon search
  // where a run has one (its own colours: one per model after the text tower's)
  const lexicon = (series: PlotSeries[]) => series.map((x) => ({ ...x, color: x.color + labels.length }));
  const asrSeries = [
    ...seriesOf(runs, labels, (r) => r.asr['test-clean']?.wer, ', test-clean', false),
    ...seriesOf(runs, labels, (r) => r.asr['test-other']?.wer, ', test-other', true),
    ...lexicon(seriesOf(runs, labels, (r) => r.asrLexicon['test-clean']?.wer, ', CTC head + word LM, test-clean', false)),
    ...lexicon(seriesOf(runs, labels, (r) => r.asrLexicon['test-other']?.wer, ', CTC head + word LM, test-other', true)),
  ];
  const peerLines: PlotLine[] = peers
    .filter((p) => p.split !== 'dev')
    .map((p) => ({ label: `pocketsphinx, ${p.split}`, value: p.wer, dashed: p.split === 'test-other' }));
  writeFileSync(path.join(assetsDir, 'wer-asr.svg'), renderWerPlot('ASR WER against aligned fraction', asrSeries, peerLines));
  const ttsOf = (r: RunSummary) => r.tts['test-clean'];
  const oracles = [...new Set(runs.map((r) => ttsOf(r)?.oracle?.wer).filter((x): x is number => x !== undefined))].sort((a, b) => a - b);
  writeFileSync(
    path.join(assetsDir, 'wer-tts.svg'),
    renderWerPlot(
      'TTS WER (test-clean, mean over seeds) against aligned fraction',
      seriesOf(runs, labels, (r) => ttsOf(r)?.wer, '', false),
      oracles.map((o) => ({ label: 'oracle', value: o, dashed: true })),
    ),
  );
  for (const r of runs)
    writeFileSync(
      path.join(assetsDir, `loss-${r.name}.svg`),
      renderLossSvg(r.losses, { title: `${r.name}: ${r.label}, ${r.run.data.percent}% aligned, seed ${r.run.seed}` }),
    );

  // audio: the first --samples kept utterances of each run's first TTS evaluation (oracle + every seed)
  const samples = new Map<string, string[]>();
  for (const r of runs) {
    const entry = SAMPLE_SPLITS.find((s) => r.tts[s]);
    if (!entry || samplesPer === 0) continue;
    const dir = path.join(r.dir, 'eval', entry, 'tts');
    const file = path.join(dir, 'utterances.jsonl');
    if (!existsSync(file)) continue;
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; wavs?: string[] })
      .filter((x) => x.wavs?.length)
      .slice(0, samplesPer);
    const copied: string[] = [];
    for (const x of rows) {
      for (const w of x.wavs!) {
        if (!existsSync(path.join(dir, w))) continue;
        const rel = `audio/${r.name}.${entry}.${path.basename(w)}`;
        copyFileSync(path.join(dir, w), path.join(assetsDir, rel));
        copied.push(rel);
      }
    }
    if (copied.length) samples.set(r.name, copied);
  }
  const shown = (dir: string) => {
    const rel = path.relative(process.cwd(), dir);
    return rel === '' ? '.' : rel.startsWith('..') ? dir : rel;
  };
  const command = [
    'zipper eval report',
    ...runs.map((r) => `--runs ${shown(r.dir)}`),
    ...(v.peer ?? []).map((p) => `--peer ${p}`),
    `--out ${v.out}`,
    ...(v.samples !== undefined ? [`--samples ${samplesPer}`] : []),
  ].join(' ');
  writeFileSync(out, `${renderPage({ runs, peers, assets, command, samples })}\n`);
  process.stderr.write(`wrote ${out} and ${assetsDir}/ (${runs.length} runs, ${peers.length} peer rows)\n`);
  console.log(
    JSON.stringify({
      out,
      assets: assetsDir,
      runs: runs.length,
      peers: peers.length,
      samples: [...samples.values()].reduce((a, x) => a + x.length, 0),
    }),
  );
  return 0;
}
