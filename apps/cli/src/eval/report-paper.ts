/**
 * The report's "What the paper leads us to expect" section: the paper's four claims about zipped
 * models against the single decoder (issue 11), each checked on the runs given, per aligned
 * fraction, with the numbers it rests on; a claim whose runs are missing says which.
 *
 * The runs are grouped as the grid's models (tools/eval/grid.mjs): the single decoder, Zipper as
 * the paper trains it with the speech tower frozen or trained (text frozen, nothing added), and
 * Zipper with this project's additions (any recipe extra, text frozen). Runs of one group and
 * fraction are averaged. WERs are on test-clean: ASR by the text tower (the paper's decoder), TTS
 * the mean over seeds.
 *
 * How sure: where the groups' test-clean transcripts are kept (testCleanDecodes), a comparison
 * carries the paired bootstrap over utterances of its difference (@zipper/eval pairedBootstrap,
 * 1,000 resamples, seed 0, 95%; a group's decodes, its runs' and seeds', averaged), and a verdict
 * whose interval holds 0 says the data do not tell the two apart. Without them, TTS falls back to
 * whether the seeds' WERs overlap.
 */
import { mean } from '@zipper/common';
import { EvalError, pairedBootstrap, type PairedBootstrap } from '@zipper/eval';
import { f3, row } from './report-format.js';
import { frozenTowers, recipeExtras, testCleanDecodes, type RunSummary, type SavedDecodes } from './report-runs.js';

export type PaperModel = 'single' | 'zipper-frozen' | 'zipper-unfrozen' | 'zipper-ours';

export const PAPER_MODEL_NAMES: Readonly<Record<PaperModel, string>> = {
  single: 'single decoder',
  'zipper-frozen': 'Zipper, speech frozen',
  'zipper-unfrozen': 'Zipper, speech trained',
  'zipper-ours': "Zipper, this project's recipe",
};

const ZIPPED: readonly PaperModel[] = ['zipper-frozen', 'zipper-unfrozen', 'zipper-ours'];

/** Thresholds of the verdicts, stated on the page. */
export const PAPER_THRESHOLDS = {
  /** ASR WERs within this relative distance are "about equal". */
  equal: 0.1,
  /** An ASR WER under this is "usable". */
  usable: 0.5,
  /** An ASR WER at or over this is "near 100%". */
  near100: 0.9,
} as const;

/** The grid model a run is, or undefined for a recipe the comparisons leave out (e.g. text trained). */
export function paperModelOf(r: RunSummary): PaperModel | undefined {
  if (r.run.kind === 'baseline') return 'single';
  const frozen = frozenTowers(r.run);
  if (!frozen.includes('text')) return undefined;
  if (recipeExtras(r.run).length > 0) return 'zipper-ours';
  if (frozen.length === 1) return 'zipper-unfrozen';
  if (frozen.length === 2 && frozen[1] === 'speech') return 'zipper-frozen';
  return undefined;
}

interface Cell {
  readonly asr?: number;
  /** ASR by a CTC head's lexicon search, where the runs have one (this project's recipe). */
  readonly lexicon?: number;
  readonly tts?: number;
  /** The lowest and highest TTS WER of any seed in the group (a run without per-seed numbers gives its mean). */
  readonly ttsSpread?: readonly [number, number];
  /** Every decode of the group's runs on test-clean, where each run kept its transcripts. */
  readonly asrDecodes?: SavedDecodes;
  readonly ttsDecodes?: SavedDecodes;
}

const meanOrNone = (xs: readonly number[]) => (xs.length ? mean(xs) : undefined);
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** A run's test-clean decodes per task, where kept (testCleanDecodes reads the run's saved transcripts). */
export type DecodesOf = (r: RunSummary, task: 'asr' | 'tts') => SavedDecodes | undefined;

/** Mean test-clean ASR and TTS WER per (model, aligned percent). */
function cells(runs: readonly RunSummary[], decodesOf: DecodesOf): Map<string, Cell> {
  type Acc = { asr: number[]; lexicon: number[]; tts: number[]; lo: number[]; hi: number[]; asrD?: SavedDecodes; ttsD?: SavedDecodes };
  const acc = new Map<string, Acc>();
  /** The group's decodes so far plus a run's; undefined once a run with the metric lacks them. */
  const join = (sofar: SavedDecodes | undefined, first: boolean, more: SavedDecodes | undefined) =>
    more && (first || sofar) ? [...(sofar ?? []), ...more] : undefined;
  for (const r of runs) {
    const m = paperModelOf(r);
    if (!m) continue;
    const key = `${m}@${r.run.data.percent}`;
    const a: Acc = acc.get(key) ?? { asr: [], lexicon: [], tts: [], lo: [], hi: [] };
    const asr = r.asr['test-clean']?.wer;
    const lexicon = r.asrLexicon['test-clean']?.wer;
    const t = r.tts['test-clean'];
    const tts = t?.wer;
    if (asr !== undefined) {
      a.asrD = join(a.asrD, a.asr.length === 0, decodesOf(r, 'asr'));
      a.asr.push(asr);
    }
    if (lexicon !== undefined) a.lexicon.push(lexicon);
    if (tts !== undefined) {
      a.ttsD = join(a.ttsD, a.tts.length === 0, decodesOf(r, 'tts'));
      a.tts.push(tts);
      a.lo.push(t?.werMin ?? tts);
      a.hi.push(t?.werMax ?? tts);
    }
    acc.set(key, a);
  }
  return new Map(
    [...acc].map(([k, v]) => [
      k,
      {
        asr: meanOrNone(v.asr),
        lexicon: meanOrNone(v.lexicon),
        tts: meanOrNone(v.tts),
        ...(v.tts.length ? { ttsSpread: [Math.min(...v.lo), Math.max(...v.hi)] as const } : {}),
        ...(v.asrD ? { asrDecodes: v.asrD } : {}),
        ...(v.ttsD ? { ttsDecodes: v.ttsD } : {}),
      },
    ]),
  );
}

/** The section's lines (empty when no run is one of the grid's models). */
export function renderPaperChecks(runs: readonly RunSummary[], decodesOf: DecodesOf = testCleanDecodes()): string[] {
  const by = cells(runs, decodesOf);
  if (by.size === 0) return [];
  const at = (m: PaperModel, p: number) => by.get(`${m}@${p}`);
  const percents = [...new Set([...by.keys()].map((k) => Number(k.split('@')[1])))].sort((a, b) => a - b);
  const name = (m: PaperModel) => PAPER_MODEL_NAMES[m];
  const rows: string[][] = [];
  const missing = (claim: string, p: number | string, what: string) => rows.push([claim, String(p), `missing: ${what}`, '']);
  // the CTC head's lexicon search beside the text tower's ASR, where a group has one
  const lex = (m: PaperModel, p: number) => {
    const x = at(m, p)?.lexicon;
    return x === undefined ? '' : ` (its CTC head + word LM ${f3(x)})`;
  };
  const babble = (...xs: number[]) => (xs.every((x) => x >= 1) ? ' (all at or above 1: babble)' : '');
  // TTS is sampled: two groups whose seeds' WERs overlap are not told apart by these seeds
  const spread = (c: Cell) => `${f3(c.ttsSpread![0])}-${f3(c.ttsSpread![1])}`;
  const overlap = (a: Cell, b: Cell) => a.ttsSpread![0] <= b.ttsSpread![1] && b.ttsSpread![0] <= a.ttsSpread![1];
  const seeds = (a: Cell, b: Cell) => (overlap(a, b) ? `; the seeds' WERs overlap, ${spread(a)} vs ${spread(b)}` : '');
  // the paired bootstrap of b - a over test-clean's utterances, where both groups kept their transcripts of the same utterances
  const paired = (a: SavedDecodes | undefined, b: SavedDecodes | undefined): PairedBootstrap | undefined => {
    if (!a || !b) return undefined;
    try {
      return pairedBootstrap(a, b);
    } catch (e) {
      if (e instanceof EvalError) return undefined; // different utterances (e.g. another --limit): not paired
      throw e;
    }
  };
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${f3(x)}`;
  const interval = (p: PairedBootstrap) => `; difference ${signed(p.delta)} (95% interval ${signed(p.low)} to ${signed(p.high)})`;
  const holdsZero = (p: PairedBootstrap) => p.low <= 0 && p.high >= 0;
  const apart = 'not told apart (the interval holds 0)';
  /** The TTS comparison's note and whether it tells b from a: by the bootstrap where it can, else by the seeds' spread. */
  const ttsEvidence = (a: Cell, b: Cell): { note: string; told: boolean; because: string } => {
    const p = paired(a.ttsDecodes, b.ttsDecodes);
    if (p) return { note: interval(p), told: !holdsZero(p), because: apart };
    return { note: seeds(b, a), told: !overlap(b, a), because: 'not told apart by the seeds' };
  };

  // 1. TTS: zipped about 40% relatively lower WER than the single decoder
  const ttsClaim = 'TTS: Zipper about 40% relatively lower WER than the single decoder';
  for (const p of percents) {
    const sc = at('single', p);
    const s = sc?.tts;
    for (const m of ZIPPED) {
      const zc = at(m, p);
      const z = zc?.tts;
      if (z === undefined) continue;
      if (s === undefined) {
        missing(ttsClaim, `${p}%`, `the single decoder's TTS at ${p}%`);
        break;
      }
      const rel = 1 - z / s;
      const ev = ttsEvidence(sc!, zc!);
      rows.push([
        ttsClaim,
        `${p}%`,
        `${name(m)} ${f3(z)} vs ${f3(s)}${babble(z, s)}${ev.note}`,
        !ev.told ? ev.because : rel > 0 ? `lower by ${pct(rel)}` : `not lower (${pct(-rel)} higher)`,
      ]);
    }
  }
  // 2. ASR: about equal with all the data
  const asrClaim = 'ASR: about equal with all the data';
  const s100 = at('single', 100)?.asr;
  const z100 = ZIPPED.filter((m) => at(m, 100)?.asr !== undefined);
  if (s100 === undefined || z100.length === 0)
    missing(
      asrClaim,
      '100%',
      [s100 === undefined ? 'the single decoder' : '', z100.length ? '' : 'a zipped model'].filter(Boolean).join(' and '),
    );
  else
    for (const m of z100) {
      const z = at(m, 100)!.asr!;
      const ratio = z / s100;
      const pb = paired(at('single', 100)!.asrDecodes, at(m, 100)!.asrDecodes);
      rows.push([
        asrClaim,
        '100%',
        `${name(m)} ${f3(z)}${lex(m, 100)} vs ${f3(s100)}${pb ? interval(pb) : ''}`,
        Math.abs(ratio - 1) > PAPER_THRESHOLDS.equal && pb && holdsZero(pb)
          ? apart
          : Math.abs(ratio - 1) <= PAPER_THRESHOLDS.equal
            ? z >= PAPER_THRESHOLDS.near100 && s100 >= PAPER_THRESHOLDS.near100
              ? 'about equal, but neither transcribes (both near 100%)'
              : 'about equal'
            : ratio < 1
              ? `Zipper lower (x${ratio.toFixed(2)})`
              : `Zipper higher (x${ratio.toFixed(2)})`,
      ]);
    }
  // 3. 1%: zipped usable, single decoder near 100% WER
  const lowClaim = 'ASR with 1%: Zipper usable, the single decoder near 100% WER';
  const s1 = at('single', 1)?.asr;
  const z1 = ZIPPED.filter((m) => at(m, 1)?.asr !== undefined);
  if (s1 === undefined && z1.length === 0) missing(lowClaim, '1%', 'the 1% runs');
  else {
    for (const m of z1) {
      const z = at(m, 1)!.asr!;
      rows.push([lowClaim, '1%', `${name(m)} ${f3(z)}${lex(m, 1)}`, z < PAPER_THRESHOLDS.usable ? 'usable' : 'not usable']);
    }
    if (s1 === undefined) missing(lowClaim, '1%', "the single decoder's ASR");
    else rows.push([lowClaim, '1%', `${name('single')} ${f3(s1)}`, s1 >= PAPER_THRESHOLDS.near100 ? 'near 100%' : 'below 90%']);
  }
  // 4. unfreezing the speech tower helps TTS
  const unfreezeClaim = 'TTS: training the speech tower helps';
  for (const p of percents) {
    const frc = at('zipper-frozen', p);
    const unc = at('zipper-unfrozen', p);
    const fr = frc?.tts;
    const un = unc?.tts;
    if (fr === undefined && un === undefined) continue;
    if (fr === undefined || un === undefined) {
      missing(unfreezeClaim, `${p}%`, `${name(fr === undefined ? 'zipper-frozen' : 'zipper-unfrozen')} with TTS`);
      continue;
    }
    const ev = ttsEvidence(frc!, unc!);
    rows.push([
      unfreezeClaim,
      `${p}%`,
      `trained ${f3(un)} vs frozen ${f3(fr)}${babble(un, fr)}${ev.note}`,
      !ev.told ? ev.because : un < fr ? `helps (${pct(1 - un / fr)} lower)` : `does not help (${pct(un / fr - 1)} higher)`,
    ]);
  }
  return [
    '## What the paper leads us to expect',
    '',
    "Each claim of the paper (issue 11) checked on the runs above, per aligned fraction, test-clean WER: ASR by the text tower (the paper's decoder), TTS the mean over seeds. " +
      `Runs are grouped as the grid's models (${['single' as const, ...ZIPPED].map((m) => `"${name(m)}"`).join(', ')}) and averaged within a group and fraction; the verdict reads the text tower's WER. ` +
      `"About equal": within ${pct(PAPER_THRESHOLDS.equal)} relative; "usable": WER under ${PAPER_THRESHOLDS.usable}; "near 100%": ${PAPER_THRESHOLDS.near100} or more. ` +
      "How sure: where both groups kept their test-clean transcripts, a comparison gives the difference (second minus first) with its 95% interval from the paired bootstrap over utterances (1,000 resamples, seed 0; a group's runs and TTS seeds averaged), and \"not told apart\" where that interval holds 0; it counts the test set's sampling noise and the seeds', not that of training runs. " +
      "Without transcripts, TTS falls back to the seeds: where the seeds' WERs of two groups overlap, the seeds do not tell them apart. Where every TTS WER compared is at or above 1 the speech is babble and the ordering says little.",
    '',
    row(['the paper leads us to expect', 'aligned', 'measured', 'here']),
    row(['---', '---:', '---', '---']),
    ...rows.map(row),
    '',
  ];
}
