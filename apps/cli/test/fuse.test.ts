// `zipper fuse train|generate` and `zipper baseline train|generate` on a tiny data build with tiny
// freshly initialized towers (saved as `zipper pretrain` outputs): per-stream losses fall; a run
// killed (SIGKILL) and resumed equals an uninterrupted one (every loss, final weights, bit for
// bit); a frozen tower stays bit-identical; the trained models transcribe a WAV and synthesize
// one; a data-parallel chunk (--workers 1 --minutes) follows the in-process curve; bad input is
// one typed error line with exit code 2 (usage) or 1 (a tower that changed).
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { voteTranscripts } from '@zipper/eval';
import { initBackend } from '@zipper/core';
import { TextTower, WordLm } from '@zipper/text';
import { fitLevel, loadSpeechTokenizer, readWav, readWavFile, scaleAudio, toMono, writeWav } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenBytesMap } from '../src/fuse/models.js';
import type { FuseRun } from '../src/fuse/run-file.js';
import type { LossPoint } from '../src/progress/index.js';
import { defaultSpeechTokenizerDir } from '../src/pretrain/prepare.js';
import {
  buildTinyWordLm,
  killAfterSteps,
  readLosses,
  runZipper,
  saveTinyTowers,
  summaryOf,
  tinyData,
  tinyRunArgs,
  weightsOf,
} from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-fuse-cli-test-');
  towers = await saveTinyTowers(data, data);
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const towerArgs = () => ['--tower', `text=${towers.text}`, '--tower', `speech=${towers.speech}`];
const common = (workers = 0) => [...tinyRunArgs(towers, data), '--workers', String(workers), '--no-progress'];
type Train = Extract<LossPoint, { loss: number }>;
const trainPoints = (out: string) => readLosses(out).filter((p): p is Train => 'loss' in p);
const held = (out: string) => readLosses(out).filter((p): p is Extract<LossPoint, { heldOut: number }> => 'heldOut' in p);
/** Mean of a stream's loss over the first / last n steps that have it. */
function ends(points: readonly Train[], stream: string, n: number): [number, number] {
  const xs = points.map((p) => p.streams?.[stream]).filter((x): x is number => x !== undefined);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  return [mean(xs.slice(0, n)), mean(xs.slice(-n))];
}
const firstAsrWav = () =>
  path.join(data, (JSON.parse(readFileSync(path.join(data, 'aligned-asr.100pct.jsonl'), 'utf8').split('\n')[0]!) as { path: string }).path);

describe('zipper fuse train', () => {
  it('both towers trained: the text and speech losses fall, per stream, in training and held out', async () => {
    const out = path.join(data, 'fuse-all');
    const before = tf.memory().numTensors;
    const r = await runZipper([
      'fuse',
      'train',
      ...common(),
      '--out',
      out,
      '--freeze',
      'none',
      '--steps',
      '24',
      '--every',
      '8',
      '--lr',
      '1e-2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    expect(summaryOf(r)).toMatchObject({ kind: 'fuse', step: 24, finished: true });
    const points = trainPoints(out);
    expect(points.map((p) => p.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    // fresh towers start near ln V (text BPE 320: 5.77, speech 514: 6.24)
    const [t0, t1] = ends(points, 'text', 4);
    const [s0, s1] = ends(points, 'speech', 4);
    expect(t0).toBeGreaterThan(5.5);
    expect(t1).toBeLessThan(t0 - 0.5);
    expect(s1).toBeLessThan(s0 - 0.5);
    const h = held(out);
    expect(h.map((p) => p.step)).toEqual([0, 8, 16, 24]);
    expect(h.at(-1)!.streams!['text']!).toBeLessThan(h[0]!.streams!['text']! - 0.3);
    expect(Object.keys(h[0]!.streams!).sort()).toEqual(['speech', 'text']);
    const svg = readFileSync(path.join(out, 'loss.svg'), 'utf8');
    expect(svg.match(/<polyline/g)?.length).toBe(4); // text/speech x train/held-out
    expect(existsSync(path.join(out, 'model', 'zipper.json'))).toBe(true);
  }, 180_000);

  it('--ctc-weight with both towers frozen (the head with a 1-block bidirectional encoder that the links read, gates frozen at 1): the text_ctc stream falls, in training and held out; --asr-audio asr,tts; all recorded', async () => {
    const out = path.join(data, 'fuse-ctc');
    const r = await runZipper([
      'fuse',
      'train',
      ...common(),
      '--out',
      out,
      '--freeze',
      'text,speech',
      '--ctc-weight',
      '0.5',
      '--ctc-encoder-layers',
      '1',
      '--ctc-feed-links',
      '--gate-init',
      '1',
      '--freeze-gates',
      '--asr-audio',
      'asr,tts',
      '--steps',
      '24',
      '--every',
      '12',
      '--lr',
      '1e-2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const points = trainPoints(out);
    const [c0, c1] = ends(points, 'text_ctc', 4);
    expect(c1).toBeLessThan(c0 - 1);
    const h = held(out);
    expect(Object.keys(h[0]!.streams!).sort()).toEqual(['speech', 'text', 'text_ctc']);
    expect(h.at(-1)!.streams!['text_ctc']!).toBeLessThan(h[0]!.streams!['text_ctc']! - 1);
    // the total is text + speech + 0.5 text_ctc
    const p = points.at(-1)!;
    expect(p.loss).toBeCloseTo((p.streams!['text'] ?? 0) + (p.streams!['speech'] ?? 0) + 0.5 * p.streams!['text_ctc']!, 4);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as FuseRun;
    expect(run.model.ctcWeight).toBe(0.5);
    expect(run.asrAudio).toBe('asr,tts');
    expect(run.command).toContain('--ctc-weight 0.5');
    expect(run.command).toContain('--asr-audio asr,tts');
    expect(run.model.ctcLabels).toBe('bytes');
    expect(run.model.ctcEncoderLayers).toBe(1);
    expect(run.command).toContain('--ctc-encoder-layers 1 --ctc-feed-links');
    expect(run.model.ctcFeedLinks).toBe(true);
    expect(run.model.freezeGates).toBe(true);
    expect(run.command).toContain('--gate-init 1 --freeze-gates');
    // the gates kept their initial value, bit for bit
    const weights = weightsOf(path.join(out, 'model', 'model.safetensors'));
    const gates = [...weights.keys()].filter((k) => /^cross\..*\.gate_(attn|ff)$/.test(k));
    expect(gates).toHaveLength(8); // 2 links per direction, 2 gates each
    for (const k of gates) expect(Array.from(weights.get(k)!.data), k).toEqual([1]);
    // the default byte labels: each text token stands for the UTF-8 bytes of its text
    const fused = JSON.parse(readFileSync(path.join(out, 'model', 'zipper.json'), 'utf8')) as {
      options: {
        ctc: { from: string; to: string; labels: { classes: number; map: number[][] }; encoderLayers?: number; feedLinks?: boolean }[];
      };
    };
    const [head] = fused.options.ctc;
    expect([head!.from, head!.to, head!.labels.classes, head!.encoderLayers, head!.feedLinks]).toEqual(['speech', 'text', 256, 1, true]);
    const tok = (await TextTower.load(towers.text)).tokenizer;
    const id = tok.encode(' the')[0]!;
    expect(String.fromCharCode(...head!.labels.map[id]!)).toBe(tok.decode([id]));
    expect(head!.labels.map[tok.roleId('eos')]).toEqual([]);
    // a byte-level base token of a multi-byte character keeps its one byte (0xc3, the lead byte of "é")
    const lead = tok.tokenToId('Ã')!;
    expect(head!.labels.map[lead]).toEqual([0xc3]);
    // zipper eval asr --decoder ctc: greedy decoding of the head, scored like the attention decoder
    const e = await runZipper(['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--decoder', 'ctc', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const m = summaryOf(e) as { decoding: string; wer: number; words: number; out: string };
    expect(m.decoding).toBe('ctc-greedy');
    expect(m.out).toBe(path.join(out, 'eval', 'test-clean', 'asr-ctc'));
    expect(m.words).toBeGreaterThan(0);
    expect(m.wer).toBeGreaterThanOrEqual(0);
    expect(readFileSync(path.join(m.out, 'hyp.txt'), 'utf8').split('\n').length).toBeGreaterThan(1);
    // zipper transcribe --decoder ctc gives the same transcript as the evaluation for the same audio
    const first = JSON.parse(readFileSync(path.join(m.out, 'utterances.jsonl'), 'utf8').split('\n')[0]!) as { id: string; hyp: string };
    const wav = path.join(data, 'audio', 'test-clean', `${first.id}.wav`);
    const tr = await runZipper(['transcribe', wav, '--model', out, '--decoder', 'ctc', '--json']);
    expect(tr.code, tr.stderr).toBe(0);
    const got = summaryOf(tr) as { decoder: string; results: { text: string }[] };
    expect(got.decoder).toBe('ctc');
    expect(got.results[0]!.text).toBe(first.hyp.trim());
    // --decoder joint with --joint-ctc-weight 0 and one beam is the attention decoder's greedy search
    const att = await runZipper(['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '6', '--json']);
    expect(att.code, att.stderr).toBe(0);
    const j0 = await runZipper([
      'eval',
      'asr',
      '--model',
      out,
      '--data',
      data,
      '--split',
      'test-clean',
      '--limit',
      '6',
      '--decoder',
      'joint',
      '--beam',
      '1',
      '--joint-ctc-weight',
      '0',
      '--json',
    ]);
    expect(j0.code, j0.stderr).toBe(0);
    const jm = summaryOf(j0) as { decoding: string; out: string; beam: number };
    expect([jm.decoding, jm.beam]).toEqual(['joint-ctc-attention', 1]);
    expect(jm.out).toBe(path.join(out, 'eval', 'test-clean', 'asr-joint'));
    const hypsOf = (r: typeof att) => readFileSync(path.join((summaryOf(r) as { out: string }).out, 'hyp.txt'), 'utf8');
    expect(hypsOf(j0)).toBe(hypsOf(att));
    // zipper transcribe --decoder joint (beam 4, weight 0.3) gives eval's default joint hypothesis for the same audio
    const jd = await runZipper([
      'eval',
      'asr',
      '--model',
      out,
      '--data',
      data,
      '--split',
      'test-clean',
      '--limit',
      '2',
      '--decoder',
      'joint',
      '--json',
    ]);
    expect(jd.code, jd.stderr).toBe(0);
    const jFirst = JSON.parse(readFileSync(path.join(jm.out, 'utterances.jsonl'), 'utf8').split('\n')[0]!) as { id: string; hyp: string };
    const jt = await runZipper([
      'transcribe',
      path.join(data, 'audio', 'test-clean', `${jFirst.id}.wav`),
      '--model',
      out,
      '--decoder',
      'joint',
      '--json',
    ]);
    expect(jt.code, jt.stderr).toBe(0);
    expect((summaryOf(jt) as { results: { text: string }[] }).results[0]!.text).toBe(jFirst.hyp.trim());
    const wrongBeam = await runZipper(['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--beam', '2']);
    expect(wrongBeam.code).toBe(2);
    expect(wrongBeam.stderr).toMatch(/--beam is for --decoder joint or lexicon/);
    // zipper lm build: a word LM of the data's text; --decoder lexicon spells only its words, and
    // zipper transcribe --decoder lexicon --lm gives the evaluation's hypothesis for the same audio
    const lmFile = path.join(data, 'words.safetensors');
    const built = await buildTinyWordLm(data, lmFile);
    expect(built.code, built.stderr).toBe(0);
    const lmInfo = summaryOf(built) as { order: number; words: number; bigrams: number; trigrams: number; sha256: string };
    expect(lmInfo.words).toBeGreaterThan(10);
    expect(lmInfo.order).toBe(3);
    expect(lmInfo.trigrams).toBeGreaterThan(0);
    const again = await buildTinyWordLm(data, `${lmFile}.2`); // the same bytes again
    expect((summaryOf(again) as { sha256: string }).sha256).toBe(lmInfo.sha256);
    const lx = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '4'],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--beam', '8', '--json'],
    ]);
    expect(lx.code, lx.stderr).toBe(0);
    const lxm = summaryOf(lx) as { decoding: string; out: string; lexicon: { beam: number; words: number } };
    expect([lxm.decoding, lxm.out, lxm.lexicon.beam, lxm.lexicon.words]).toEqual([
      'ctc-lexicon',
      path.join(out, 'eval', 'test-clean', 'asr-lexicon'),
      8,
      lmInfo.words,
    ]);
    const lexicon = new Set(readFileSync(path.join(data, 'text-only.txt'), 'utf8').split(/\s+/));
    const lxRows = readFileSync(path.join(lxm.out, 'utterances.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; hyp: string });
    for (const row of lxRows) for (const w of row.hyp.split(' ').filter(Boolean)) expect(lexicon.has(w)).toBe(true);
    // the unknown-word count (metrics.json and every utterance): 0 without an unknown-word cost; with a
    // nearly free one, the hypothesis words the LM lacks, in every utterance and in all
    expect((lxm as { unknownWords?: number }).unknownWords).toBe(0);
    expect(lxRows.map((r) => (r as { unknownWords?: number }).unknownWords)).toEqual(lxRows.map(() => 0));
    // (an LM of the text without the word "a", which this tiny model says for every utterance)
    const noA = path.join(data, 'no-a.txt');
    const textOnly = readFileSync(path.join(data, 'text-only.txt'), 'utf8').trimEnd().split('\n');
    writeFileSync(
      noA,
      `${textOnly
        .map((l) =>
          l
            .split(' ')
            .filter((w) => w !== 'a')
            .join(' '),
        )
        .join('\n')}\n`,
    );
    const noALm = path.join(data, 'no-a.safetensors');
    expect((await runZipper(['lm', 'build', '--text', noA, '--out', noALm, '--order', '3', '--min-count', '1', '--json'])).code).toBe(0);
    const lmWords = new Set(WordLm.decode(new Uint8Array(readFileSync(noALm))).words);
    expect(lmWords.has('a')).toBe(false);
    const ux = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '4'],
      ...['--decoder', 'lexicon', '--lm', noALm, '--oov-byte-log-prob=-0.01', '--out', path.join(data, 'unknown'), '--json'],
    ]);
    expect(ux.code, ux.stderr).toBe(0);
    const uxRows = readFileSync(path.join(data, 'unknown', 'utterances.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; hyp: string; unknownWords: number });
    const lacked = uxRows.map((r) => r.hyp.split(' ').filter((w) => w !== '' && !lmWords.has(w)).length);
    expect(uxRows.map((r) => r.unknownWords)).toEqual(lacked);
    expect((summaryOf(ux) as { unknownWords: number }).unknownWords).toBe(lacked.reduce((a, n) => a + n, 0));
    expect(lacked.some((n) => n > 0)).toBe(true);
    const ut = await runZipper([
      ...['transcribe', path.join(data, 'audio', 'test-clean', `${uxRows[0]!.id}.wav`), '--model', out],
      ...['--decoder', 'lexicon', '--lm', noALm, '--oov-byte-log-prob=-0.01', '--json'],
    ]);
    expect(ut.code, ut.stderr).toBe(0);
    expect((summaryOf(ut) as { results: { text: string; unknownWords: number }[] }).results[0]).toMatchObject({
      text: uxRows[0]!.hyp.trim(),
      unknownWords: uxRows[0]!.unknownWords,
    });
    // zipper lm build --dictionary: "a" (a word list's "A", normalized) kept beside the no-a counts; lines not one word dropped;
    // with a dictionary-word cost the search spells it (a dictionary word, not an unknown one), without one it cannot
    const dictFile = path.join(data, 'words.txt');
    writeFileSync(dictFile, 'A\nAC/DC\ntwo words\n\nDébâcle\n');
    const dictLm = path.join(data, 'no-a-dict.safetensors');
    const db = await runZipper([
      'lm',
      'build',
      '--text',
      noA,
      '--out',
      dictLm,
      '--order',
      '3',
      '--min-count',
      '1',
      '--dictionary',
      dictFile,
      '--json',
    ]);
    expect(db.code, db.stderr).toBe(0);
    expect(summaryOf(db)).toMatchObject({ dictionary: 2, dictionaryDropped: 2 });
    expect(WordLm.decode(new Uint8Array(readFileSync(dictLm))).dictionary).toEqual(['a', 'debacle']);
    const dictEval = (extra: string[], name: string) =>
      runZipper([
        ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '4'],
        ...['--decoder', 'lexicon', '--lm', dictLm, '--rescore', '0', ...extra, '--out', path.join(data, name), '--json'],
      ]);
    const dx = await dictEval(['--dictionary-word-log-prob=-0.01'], 'dict');
    expect(dx.code, dx.stderr).toBe(0);
    const dxRows = readFileSync(path.join(data, 'dict', 'utterances.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { hyp: string; unknownWords: number; dictionaryWords: number });
    expect(dxRows.some((r) => r.hyp.split(' ').includes('a'))).toBe(true);
    for (const r of dxRows)
      for (const w of r.hyp.split(' ').filter(Boolean)) expect(lmWords.has(w) || w === 'a' || w === 'debacle').toBe(true);
    expect(dxRows.map((r) => r.unknownWords)).toEqual(dxRows.map(() => 0));
    // dictionaryWords: the transcript's words from the dictionary ("a", "debacle"), per utterance and in all
    const fromDict = dxRows.map((r) => r.hyp.split(' ').filter((w) => w === 'a' || w === 'debacle').length);
    expect(dxRows.map((r) => r.dictionaryWords)).toEqual(fromDict);
    expect((summaryOf(dx) as { dictionaryWords: number }).dictionaryWords).toBe(fromDict.reduce((a, n) => a + n, 0));
    expect((summaryOf(dx) as { lexicon: { dictionary?: number; dictionaryWordLogProb?: number } }).lexicon).toMatchObject({
      dictionary: 2,
      dictionaryWordLogProb: -0.01,
    });
    const d0 = await dictEval([], 'dict-off');
    expect(d0.code, d0.stderr).toBe(0);
    expect((summaryOf(d0) as { lexicon: { dictionary?: number } }).lexicon.dictionary).toBeUndefined();
    expect(readFileSync(path.join(data, 'dict-off', 'hyp.txt'), 'utf8').split(/\s+/)).not.toContain('a');
    // --rescore W: a vanishing weight keeps the search's ranking; it writes to asr-lexicon-rescore and records the weight
    const rs = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '4'],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--beam', '8', '--rescore', '1e-12', '--n-best', '4', '--json'],
    ]);
    expect(rs.code, rs.stderr).toBe(0);
    const rsm = summaryOf(rs) as { out: string; wer: number; rescore: { weight: number; nBest: number; oracle: { wer: number } } };
    expect([rsm.out, rsm.rescore.weight, rsm.rescore.nBest]).toEqual([
      path.join(out, 'eval', 'test-clean', 'asr-lexicon-rescore'),
      1e-12,
      4,
    ]);
    // the n-best oracle: at most the first hypothesis's WER
    expect(rsm.rescore.oracle.wer).toBeLessThanOrEqual(rsm.wer);
    expect(rsm.rescore.oracle.wer).toBeGreaterThanOrEqual(0);
    expect(readFileSync(path.join(rsm.out, 'hyp.txt'), 'utf8')).toBe(readFileSync(path.join(lxm.out, 'hyp.txt'), 'utf8'));
    // --rescore 0: the search alone, written where the search writes (asr-lexicon), no rescore record
    const searched = readFileSync(path.join(lxm.out, 'hyp.txt'), 'utf8');
    const rs0 = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '4'],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--beam', '8', '--rescore', '0', '--json'],
    ]);
    expect(rs0.code, rs0.stderr).toBe(0);
    const rs0m = summaryOf(rs0) as { out: string; rescore?: unknown };
    expect([rs0m.out, rs0m.rescore]).toEqual([lxm.out, undefined]);
    expect(readFileSync(path.join(rs0m.out, 'hyp.txt'), 'utf8')).toBe(searched);
    // weight 1: the text tower's tokenizer encodes each hypothesis for the zipped decoder's score
    const rs1 = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '4'],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--beam', '8', '--rescore', '1', '--out', path.join(data, 'rescore-1'), '--json'],
    ]);
    expect(rs1.code, rs1.stderr).toBe(0);
    for (const h of readFileSync(path.join(data, 'rescore-1', 'hyp.txt'), 'utf8')
      .split(/\s+/)
      .filter(Boolean))
      expect(lexicon.has(h)).toBe(true);
    for (const [args, message] of [
      [
        ['--decoder', 'ctc', '--rescore', '1'],
        /--oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range and --level-down are for --decoder lexicon/,
      ],
      [
        ['--decoder', 'ctc', '--n-best', '4'],
        /--oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range and --level-down are for --decoder lexicon/,
      ],
      [
        ['--decoder', 'ctc', '--oov-byte-log-prob=-4'],
        /--oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range and --level-down are for --decoder lexicon/,
      ],
      [
        ['--decoder', 'ctc', '--dictionary-word-log-prob=-4'],
        /--oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range and --level-down are for --decoder lexicon/,
      ],
      [
        ['--decoder', 'lexicon', '--lm', lmFile, '--dictionary-word-log-prob', '2'],
        /--dictionary-word-log-prob must be a number <= 0, got "2"/,
      ],
      [['--decoder', 'lexicon', '--lm', lmFile, '--oov-byte-log-prob', '2'], /--oov-byte-log-prob must be a number <= 0, got "2"/],
      [['--decoder', 'lexicon', '--lm', lmFile, '--rescore', 'x'], /--rescore must be a non-negative number/],
      [
        ['--decoder', 'lexicon', '--lm', lmFile, '--rescore', '1', '--n-best', '200'],
        /nBest must be an integer in \[1, beam = 128\], got 200/,
      ],
    ] as const) {
      const bad = await runZipper(['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', ...args]);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
    const lt = await runZipper([
      ...['transcribe', path.join(data, 'audio', 'test-clean', `${lxRows[0]!.id}.wav`), '--model', out],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--json'],
    ]);
    expect(lt.code, lt.stderr).toBe(0);
    expect((summaryOf(lt) as { decoder: string }).decoder).toBe('lexicon');
    // the eval searched with beam 8, transcribe with the default 128: compare with eval at the default
    const lxd = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '1'],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--out', path.join(data, 'lexicon-default'), '--json'],
    ]);
    expect(lxd.code, lxd.stderr).toBe(0);
    const lxFirst = JSON.parse(readFileSync(path.join(data, 'lexicon-default', 'utterances.jsonl'), 'utf8').split('\n')[0]!) as {
      hyp: string;
    };
    expect((summaryOf(lt) as { results: { text: string }[] }).results[0]!.text).toBe(lxFirst.hyp.trim());
    // transcribe --rescore W --n-best N: the evaluation's second pass for the same audio
    const rsd = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '1'],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--rescore', '1', '--n-best', '4', '--out', path.join(data, 'rescore-default'), '--json'],
    ]);
    expect(rsd.code, rsd.stderr).toBe(0);
    const rt = await runZipper([
      ...['transcribe', path.join(data, 'audio', 'test-clean', `${lxRows[0]!.id}.wav`), '--model', out],
      ...['--lm', lmFile, '--rescore', '1', '--n-best', '4', '--json'],
    ]);
    expect(rt.code, rt.stderr).toBe(0);
    expect((summaryOf(rt) as { results: { text: string }[] }).results[0]!.text).toBe(
      readFileSync(path.join(data, 'rescore-default', 'hyp.txt'), 'utf8').trim(),
    );
    // --views 3: each view decoded alone (the first is the audio as is: the search's own transcript), then voted word by word;
    // zipper transcribe votes the same views of the same audio
    const vx = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '1'],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--views', '3', '--out', path.join(data, 'views-3'), '--json'],
    ]);
    expect(vx.code, vx.stderr).toBe(0);
    expect((summaryOf(vx) as { lexicon: { views?: number } }).lexicon.views).toBe(3);
    const vRow = JSON.parse(readFileSync(path.join(data, 'views-3', 'utterances.jsonl'), 'utf8').split('\n')[0]!) as {
      hyp: string;
      viewHyps: string[];
    };
    expect(vRow.viewHyps).toHaveLength(3);
    expect(vRow.viewHyps[0]).toBe(lxFirst.hyp);
    expect(vRow.hyp).toBe(voteTranscripts(vRow.viewHyps[0]!, vRow.viewHyps.slice(1)));
    const vt = await runZipper([
      ...['transcribe', path.join(data, 'audio', 'test-clean', `${lxRows[0]!.id}.wav`), '--model', out],
      ...['--lm', lmFile, '--views', '3', '--json'],
    ]);
    expect(vt.code, vt.stderr).toBe(0);
    expect((summaryOf(vt) as { results: { text: string; views: number }[] }).results[0]).toMatchObject({ text: vRow.hyp.trim(), views: 3 });
    // --level-range R: each utterance scaled by the gain fitted to the codebook (fitLevel, tested on its own in
    // @zipper/tokenizers), then decoded: the transcript of that scaled audio as recorded; zipper transcribe alike
    const firstWav = path.join(data, 'audio', 'test-clean', `${lxRows[0]!.id}.wav`);
    const lvx = await runZipper([
      ...['eval', 'asr', '--model', out, '--data', data, '--split', 'test-clean', '--limit', '1'],
      ...['--decoder', 'lexicon', '--lm', lmFile, '--level-range', '12', '--out', path.join(data, 'level-12'), '--json'],
    ]);
    expect(lvx.code, lvx.stderr).toBe(0);
    const lvSummary = summaryOf(lvx) as { lexicon: { levelRange?: number }; levelFitted: number };
    expect(lvSummary.lexicon.levelRange).toBe(12);
    const lvRow = JSON.parse(readFileSync(path.join(data, 'level-12', 'utterances.jsonl'), 'utf8').split('\n')[0]!) as {
      hyp: string;
      levelDb: number;
    };
    const samples = toMono(readWavFile(firstWav));
    const fitted = fitLevel(loadSpeechTokenizer(defaultSpeechTokenizerDir()), samples, 12).gainDb;
    expect(fitted).not.toBe(0); // this audio is not at the codebook's level: the option changes the input
    expect(lvRow.levelDb).toBe(fitted);
    expect(lvSummary.levelFitted).toBe(1);
    const scaledWav = path.join(data, 'scaled.wav');
    writeFileSync(scaledWav, writeWav(scaleAudio(samples, fitted), 16000, 'float32'));
    const lt2 = await runZipper(['transcribe', firstWav, '--model', out, '--lm', lmFile, '--level-range', '12', '--json']);
    expect(lt2.code, lt2.stderr).toBe(0);
    expect((summaryOf(lt2) as { results: { text: string; levelDb: number }[] }).results[0]).toMatchObject({
      text: lvRow.hyp.trim(),
      levelDb: fitted,
    });
    const lts = await runZipper(['transcribe', scaledWav, '--model', out, '--lm', lmFile, '--level-range', '0', '--json']);
    expect((summaryOf(lts) as { results: { text: string }[] }).results[0]!.text).toBe(lvRow.hyp.trim());
    // --level-range 0: the audio as recorded, no gain reported
    const lt0 = await runZipper(['transcribe', firstWav, '--model', out, '--lm', lmFile, '--level-range', '0', '--json']);
    expect(lt0.code, lt0.stderr).toBe(0);
    expect((summaryOf(lt0) as { results: { text: string; levelDb?: number }[] }).results[0]).toMatchObject({ text: lxFirst.hyp.trim() });
    expect((summaryOf(lt0) as { results: { levelDb?: number }[] }).results[0]!.levelDb).toBeUndefined();
    const badLevel = await runZipper(['transcribe', firstWav, '--model', out, '--lm', lmFile, '--level-range', '21']);
    expect(badLevel.code, badLevel.stderr).toBe(2);
    expect(badLevel.stderr).toMatch(/--level-range must be an integer/);
    // a checkpoint carrying a setting the views or the level fit cannot take fails as it loads, naming its zipper.json
    for (const [search, message] of [
      [{ views: 9 }, /the number of views must be an integer in \[1, 7\], got 9/],
      [{ levelRange: 25 }, /the level range must be an integer number of dB in \[0, 20\], got 25/],
    ] as const) {
      const carrying = path.join(data, `fuse-ctc-carries-${Object.keys(search)[0]}`);
      cpSync(out, carrying, { recursive: true });
      const file = path.join(carrying, 'model', 'zipper.json');
      const z = JSON.parse(readFileSync(file, 'utf8')) as { options: { ctc: { search?: unknown }[] } };
      z.options.ctc[0]!.search = search;
      writeFileSync(file, JSON.stringify(z));
      const r = await runZipper(['transcribe', firstWav, '--model', carrying, '--decoder', 'ctc']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`${file}: the lexicon search it carries: `);
      expect(r.stderr).toMatch(message);
    }
    for (const [args, message] of [
      [
        ['--decoder', 'ctc', '--rescore', '1'],
        /--oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range and --level-down are for --decoder lexicon \(or auto\)/,
      ],
      [['--n-best', '0'], /--n-best must be an integer >= 1/],
      [['--rescore', '1'], /the lexicon search's settings were given, but .* decodes with ctc here/], // auto without a word LM: ctc
    ] as const) {
      const bad = await runZipper(['transcribe', wav, '--model', out, ...args]);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
    // without a word LM next to its text tower, auto decodes with the CTC head greedily; lexicon needs --lm
    const auto = await runZipper(['transcribe', wav, '--model', out, '--json']);
    expect(auto.code, auto.stderr).toBe(0);
    expect((summaryOf(auto) as { decoder: string; results: { text: string }[] }).decoder).toBe('ctc');
    expect((summaryOf(auto) as { results: { text: string }[] }).results[0]!.text).toBe(first.hyp.trim());
    const noLm = await runZipper(['transcribe', wav, '--model', out, '--decoder', 'lexicon']);
    expect(noLm.code).toBe(2);
    expect(noLm.stderr).toMatch(/ships no word LM for lexicon decoding; build one with zipper lm build .* --lm/);
    const noHead = await runZipper([
      'eval',
      'asr',
      '--model',
      path.join(data, 'fuse-all'),
      '--data',
      data,
      '--split',
      'test-clean',
      '--decoder',
      'ctc',
    ]);
    expect(noHead.code).toBe(2);
    expect(noHead.stderr).toMatch(
      /has no CTC head from speech to text \(train one with zipper fuse train --ctc-weight X\), so it has no ctc decoder; decode with attention/,
    );
    const bad = await runZipper(['fuse', 'train', ...common(), '--out', path.join(data, 'never-ctc'), '--asr-audio', 'tts']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--asr-audio takes asr .* or asr,tts/);
  }, 300_000);

  it('--align-weight --cross-rope: the align stream falls; both recorded; zipper fuse probe equals the held-out losses and reports the gain', async () => {
    const out = path.join(data, 'fuse-align');
    const r = await runZipper([
      'fuse',
      'train',
      ...common(),
      '--out',
      out,
      '--freeze',
      'text,speech',
      '--gate-init',
      '1',
      '--align-weight',
      '1',
      '--cross-rope',
      '--steps',
      '24',
      '--every',
      '12',
      '--lr',
      '1e-2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [a0, a1] = ends(trainPoints(out), 'align', 4);
    console.log(`fuse --align-weight 1: align ${a0.toFixed(4)} -> ${a1.toFixed(4)} (first / last 4 steps)`);
    expect(a1).toBeLessThan(0.9 * a0);
    const h = held(out);
    expect(Object.keys(h[0]!.streams!).sort()).toEqual(['align', 'speech', 'text']);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as FuseRun;
    expect(run.model.alignWeight).toBe(1);
    expect(run.command).toContain('--align-weight 1');
    expect(run.command).toContain('--cross-rope');
    // the rates: speech positions per text position over the training pairs, and its inverse; the model keeps them
    const [ts, st] = run.model.crossRope!;
    expect(ts!.rate * st!.rate).toBeCloseTo(1, 10);
    expect(ts!.rate).toBeGreaterThan(1);
    const fused = JSON.parse(readFileSync(path.join(out, 'model', 'zipper.json'), 'utf8')) as { options: { crossRope: unknown } };
    expect(fused.options.crossRope).toEqual(run.model.crossRope);
    // the probe's matched losses are the run's last held-out text (ASR) and speech (TTS) losses, in other batches
    const p = await runZipper(['fuse', 'probe', '--model', out, '--batch', '3', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const probe = summaryOf(p) as Record<'asr' | 'tts', { matched: number; mismatched: number; gain: number; targets: number }>;
    const last = h.at(-1)!.streams!;
    expect(probe.asr.matched).toBeCloseTo(last['text']!, 4);
    expect(probe.tts.matched).toBeCloseTo(last['speech']!, 4);
    for (const t of [probe.asr, probe.tts]) {
      expect(t.gain).toBeCloseTo(t.mismatched - t.matched, 10);
      expect(t.mismatched).not.toBe(t.matched);
      expect(t.targets).toBeGreaterThan(0);
    }
    // --bins: the same losses by where the target sits; the parts' targets add up and their weighted means are the whole's
    const b = await runZipper(['fuse', 'probe', '--model', out, '--batch', '2', '--bins', '3', '--json']);
    expect(b.code, b.stderr).toBe(0);
    type Row = { matched: number; mismatched: number; gain: number; targets: number; bins: Omit<Row, 'bins'>[] };
    const binned = summaryOf(b) as Record<'asr' | 'tts', Row>;
    for (const k of ['asr', 'tts'] as const) {
      const whole = binned[k];
      expect(whole.bins).toHaveLength(3);
      expect(whole.matched).toBeCloseTo(probe[k].matched, 4);
      expect(whole.bins.reduce((a, x) => a + x.targets, 0)).toBe(whole.targets);
      for (const key of ['matched', 'mismatched'] as const)
        expect(whole.bins.reduce((a, x) => a + x[key] * x.targets, 0) / whole.targets).toBeCloseTo(whole[key], 4);
      for (const x of whole.bins) expect(x.gain).toBeCloseTo(x.mismatched - x.matched, 10);
    }
    const bad = await runZipper(['fuse', 'probe', '--model', out, '--limit', '1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit/);
    expect((await runZipper(['fuse', 'probe', '--model', out, '--bins', '0'])).code).toBe(2);
    // a run whose data build is elsewhere (a checkpoint package's run.json names DATA): --data names it, and scores the same
    const moved = `${out}-moved`;
    cpSync(out, moved, { recursive: true });
    const movedRun = JSON.parse(readFileSync(path.join(moved, 'run.json'), 'utf8')) as { data: { dir: string; size: string } };
    const dataDir = movedRun.data.dir;
    writeFileSync(path.join(moved, 'run.json'), JSON.stringify({ ...movedRun, data: { ...movedRun.data, dir: 'DATA' } }));
    const lost = await runZipper(['fuse', 'probe', '--model', moved, '--batch', '3', '--json']);
    expect(lost.code).toBe(2);
    expect(lost.stderr).toMatch(/names its data build as DATA, which is not here; pass --data DIR/);
    expect(lost.stderr).toContain(`its own: zipper data build --size ${movedRun.data.size} --seed`);
    const found = await runZipper(['fuse', 'probe', '--model', moved, '--data', dataDir, '--batch', '3', '--json']);
    expect(found.code, found.stderr).toBe(0);
    expect(summaryOf(found)).toEqual(probe);
  }, 180_000);

  it('--cross-rope-bytes: the speech <- text links count the text by its bytes, a text position weighing 1 on average; recorded; the probe reads it; data-parallel follows it; needs --cross-rope', async () => {
    const out = path.join(data, 'fuse-rope-bytes');
    const flags = ['--freeze', 'text,speech', '--gate-init', '1', '--align-weight', '1', '--cross-rope'];
    const args = [...common(), '--out', out, ...flags];
    const r = await runZipper(['fuse', 'train', ...args, '--cross-rope-bytes', '--steps', '4', '--every', '4']);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as FuseRun;
    expect(run.command).toContain('--cross-rope --cross-rope-bytes');
    const [ts, st] = run.model.crossRope!;
    expect(ts!.sourceWeights).toBeUndefined(); // text <- speech keeps its ranks
    const weights = st!.sourceWeights!;
    const tok = (await TextTower.load(towers.text)).tokenizer;
    expect(weights).toHaveLength(tok.vocabSize);
    // a token weighs its bytes times one factor; tokens without bytes (bos, eos) weigh 1
    const bytes = tokenBytesMap(tok).map((b) => b.length); // the bytes the CTC head's labels spell, too
    const c = weights.find((_, id) => bytes[id] === 1)!;
    weights.forEach((w, id) => expect(w, `id ${id}`).toBeCloseTo(bytes[id] === 0 ? 1 : bytes[id]! * c, 5));
    // over the training pairs' text positions (bos and eos included) a position weighs 1 on average
    const texts = readFileSync(path.join(data, 'aligned-asr.100pct.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => tok.encode((JSON.parse(l) as { text: string }).text));
    const positions = texts.reduce((a, t) => a + t.length + 2, 0);
    const weighed = texts.reduce((a, t) => a + 2 + t.reduce((b, id) => b + weights[id]!, 0), 0);
    expect(weighed / positions).toBeCloseTo(1, 4);
    const fused = JSON.parse(readFileSync(path.join(out, 'model', 'zipper.json'), 'utf8')) as { options: { crossRope: unknown } };
    expect(fused.options.crossRope).toEqual(run.model.crossRope);
    // the probe (whole texts, cached keys) reads the weighted model and equals its held-out losses
    const p = await runZipper(['fuse', 'probe', '--model', out, '--batch', '3', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const probe = summaryOf(p) as Record<'asr' | 'tts', { matched: number }>;
    expect(probe.tts.matched).toBeCloseTo(held(out).at(-1)!.streams!['speech']!, 4);
    // a data-parallel run (--workers 1: the replica resolves the config) follows the in-process curve
    // (float summation order only); the same run by ranks does not, so the weights reached the replica
    const train = (o: string, workers: number, ...more: string[]) =>
      runZipper(['fuse', 'train', ...common(workers), '--out', path.join(data, o), ...flags, ...more, '--steps', '4', '--every', '4']);
    const [dp, ranks] = await Promise.all([train('fuse-rope-bytes-dp', 1, '--cross-rope-bytes'), train('fuse-rope-ranks', 0)]);
    expect(dp.code, dp.stderr).toBe(0);
    expect(summaryOf(dp)).toMatchObject({ workers: 1 });
    expect(ranks.code, ranks.stderr).toBe(0);
    const mine = trainPoints(out);
    const gap = (o: string) => Math.max(...trainPoints(path.join(data, o)).map((q, i) => Math.abs(q.loss - mine[i]!.loss)));
    expect(trainPoints(path.join(data, 'fuse-rope-bytes-dp'))).toHaveLength(mine.length);
    expect(gap('fuse-rope-bytes-dp')).toBeLessThan(1e-4);
    expect(gap('fuse-rope-ranks')).toBeGreaterThan(1e-3);
    const bad = await runZipper(['fuse', 'train', ...common(), '--out', path.join(data, 'never-bytes'), '--cross-rope-bytes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--cross-rope-bytes .* needs --cross-rope/);
  }, 180_000);

  it('--tower-lr-scale: the unfrozen speech tower trains at the scaled rate (0 keeps it bit-identical, the fusion weights still move); recorded; refused when both towers are frozen', async () => {
    const train = (out: string, scale: string) =>
      runZipper([
        'fuse',
        'train',
        ...common(),
        '--out',
        out,
        '--freeze',
        'text',
        '--tower-lr-scale',
        scale,
        '--steps',
        '4',
        '--every',
        '2',
        '--lr',
        '1e-2',
      ]);
    const original = weightsOf(path.join(towers.speech, 'tower', 'model.safetensors'));
    const moved = (out: string) => {
      const w = weightsOf(path.join(out, 'train/step-00000004/model.safetensors'));
      let tower = 0;
      for (const [k, t] of original) {
        const a = t.data as Float32Array;
        const b = w.get(`towers.speech.${k}`)!.data as Float32Array;
        for (let i = 0; i < a.length; i++) tower = Math.max(tower, Math.abs(a[i]! - b[i]!));
      }
      return { tower, w };
    };
    const zero = path.join(data, 'fuse-lr-scale-0');
    const half = path.join(data, 'fuse-lr-scale-half');
    for (const [out, scale] of [
      [zero, '0'],
      [half, '0.5'],
    ] as const) {
      const r = await train(out, scale);
      expect(r.code, r.stderr).toBe(0);
    }
    const z = moved(zero);
    const h = moved(half);
    expect(z.tower).toBe(0);
    expect(h.tower).toBeGreaterThan(1e-4);
    // the fusion weights move between steps 2 and 4 even at scale 0
    const key = [...z.w.keys()].find((k) => k.startsWith('cross.text_from_speech.') && k.endsWith('weight'))!;
    const at2 = weightsOf(path.join(zero, 'train/step-00000002/model.safetensors')).get(key)!.data as Float32Array;
    const at4 = z.w.get(key)!.data as Float32Array;
    expect(at4.some((x, i) => Math.abs(x - at2[i]!) > 1e-6)).toBe(true);
    const run = JSON.parse(readFileSync(path.join(half, 'run.json'), 'utf8')) as FuseRun;
    expect(run.recipe.towerLrScale).toBe(0.5);
    expect(run.command).toContain('--tower-lr-scale 0.5');
    const state = JSON.parse(readFileSync(path.join(half, 'train/step-00000004/trainer.json'), 'utf8')) as {
      optimizer: { lrScales: Record<string, number> };
    };
    expect(Object.keys(state.optimizer.lrScales).length).toBe(original.size);
    expect(Object.entries(state.optimizer.lrScales).every(([k, x]) => k.startsWith('towers.speech.') && x === 0.5)).toBe(true);
    const bad = await runZipper([
      'fuse',
      'train',
      ...common(),
      '--out',
      path.join(data, 'never-scale'),
      '--freeze',
      'text,speech',
      '--tower-lr-scale',
      '0.1',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--tower-lr-scale .* --freeze freezes both/);
    const noHead = await runZipper(['fuse', 'train', ...common(), '--out', path.join(data, 'never-enc'), '--ctc-encoder-layers', '2']);
    expect(noHead.code).toBe(2);
    expect(noHead.stderr).toMatch(/--ctc-encoder-layers needs --ctc-weight X > 0/);
    const noEncoder = await runZipper([
      'fuse',
      'train',
      ...common(),
      '--out',
      path.join(data, 'never-feed'),
      '--ctc-weight',
      '0.3',
      '--ctc-feed-links',
    ]);
    expect(noEncoder.code).toBe(2);
    expect(noEncoder.stderr).toMatch(/--ctc-feed-links needs --ctc-encoder-layers N > 0/);
    const shut = await runZipper(['fuse', 'train', ...common(), '--out', path.join(data, 'never-gates'), '--freeze-gates']);
    expect(shut.code).toBe(2);
    expect(shut.stderr).toMatch(/--freeze-gates needs --gate-init X != 0/);
    const neg = await runZipper(['fuse', 'train', ...common(), '--out', path.join(data, 'never-scale'), '--tower-lr-scale=-1']);
    expect(neg.code).toBe(2);
    expect(neg.stderr).toMatch(/--tower-lr-scale takes a number >= 0, got "-1"/);
  }, 180_000);

  it('killed (SIGKILL) and resumed equals an uninterrupted run; the frozen text tower stays bit-identical', async () => {
    const args = (out: string) => [
      'fuse',
      'train',
      ...common(),
      '--out',
      out,
      '--steps',
      '16',
      '--every',
      '4',
      '--eval-every',
      '8',
      '--lr',
      '1e-2',
    ];
    const straight = path.join(data, 'fuse-straight');
    expect((await runZipper(args(straight))).code).toBe(0);

    const killed = path.join(data, 'fuse-killed');
    await killAfterSteps(args(killed), killed, 6); // killed mid-run, after the step-4 checkpoint
    const b = await runZipper(['fuse', 'train', '--out', killed, '--resume', '--workers', '0', '--no-progress']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/resumed from .*step-0000000[48] \(step [48] of 16\)/);

    expect(readLosses(killed)).toEqual(readLosses(straight));
    for (const f of ['train/step-00000016/model.safetensors', 'model/model.safetensors']) {
      expect(Buffer.compare(readFileSync(path.join(killed, f)), readFileSync(path.join(straight, f))), f).toBe(0);
    }
    // the frozen text tower: its weights after 16 steps equal the tower checkpoint's, and the fused checkpoint does not store them
    const trained = weightsOf(path.join(straight, 'train/step-00000016/model.safetensors'));
    const original = weightsOf(path.join(towers.text, 'tower', 'model.safetensors'));
    expect(original.size).toBeGreaterThan(5);
    for (const [k, t] of original)
      expect(Buffer.from(trained.get(`towers.text.${k}`)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
    expect([...weightsOf(path.join(straight, 'model/model.safetensors')).keys()].some((k) => k.startsWith('towers.text.'))).toBe(false);
    const [s0, s1] = ends(trainPoints(straight), 'speech', 3);
    expect(s1).toBeLessThan(s0 - 0.3);

    const run = JSON.parse(readFileSync(path.join(straight, 'run.json'), 'utf8')) as FuseRun;
    const sha = (dir: string) =>
      (JSON.parse(readFileSync(path.join(dir, 'tower', 'metadata.json'), 'utf8')) as { weights: { sha256: string } }).weights.sha256;
    expect(run.towers.text).toMatchObject({ dir: towers.text, name: 'text', version: null, sha256: sha(towers.text) });
    expect(run.towers.speech.sha256).toBe(sha(towers.speech));
    expect(run.command).toBe(
      `zipper fuse train --tower text=${towers.text} --tower speech=${towers.speech} --tasks asr,tts --aligned ${data} --fraction 1 --out ${straight} --seed 0 --steps 16 --batch 4 --lr 0.01 --mix 1:1.26 --freeze text --cross-layers 2 --projection-layers 3 --every 4 --eval-every 8 --workers 0`,
    );
    expect(run).toMatchObject({ kind: 'fuse', model: { freeze: ['text'] }, counts: { pairs: 13, kept: 13, devAsr: 3 } });
  }, 240_000);
});

describe('zipper fuse train --workers 1 --minutes', () => {
  it('a data-parallel chunk follows the in-process curve (float summation order only) and stops with a checkpoint', async () => {
    const out = path.join(data, 'fuse-workers');
    const straight = path.join(data, 'fuse-straight');
    const r = await runZipper([
      'fuse',
      'train',
      ...common(1),
      '--out',
      out,
      '--steps',
      '16',
      '--every',
      '4',
      '--eval-every',
      '8',
      '--lr',
      '1e-2',
      '--minutes',
      '0.00001', // 0.6 ms: the session stops after its first step, whatever the machine's speed
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s).toMatchObject({ kind: 'fuse', finished: false, workers: 1, step: 1 });
    expect(r.stderr).toMatch(/stopped after .* at step \d+ of 16 \(checkpoint saved\); continue with --resume/);
    const mine = trainPoints(out);
    const ref = trainPoints(straight);
    expect(mine.length).toBeGreaterThan(0);
    mine.forEach((p, i) => {
      expect(Math.abs(p.loss - ref[i]!.loss), `step ${p.step}`).toBeLessThan(1e-4);
      expect(p.tokens).toBe(ref[i]!.tokens);
    });
    expect(existsSync(path.join(out, 'train', `step-${String(s['step']).padStart(8, '0')}`))).toBe(true);
    const sessions = readFileSync(path.join(out, 'sessions.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { workers: number });
    expect(sessions.at(-1)!.workers).toBe(1);
  }, 120_000);
});

describe('zipper fuse generate', () => {
  it('ASR: a transcript of a WAV; TTS: a WAV of a sentence; a seeded sampled decode repeats exactly', async () => {
    const model = path.join(data, 'fuse-all');
    const asr = await runZipper([
      'fuse',
      'generate',
      '--model',
      model,
      '--in',
      firstAsrWav(),
      '--output',
      'text',
      '--max-tokens',
      '12',
      '--json',
    ]);
    expect(asr.code, asr.stderr).toBe(0);
    const a = summaryOf(asr);
    expect(a).toMatchObject({ kind: 'fuse', output: 'text', input: { units: expect.any(Number) } });
    expect(typeof a['text']).toBe('string');
    expect(a['tokens']).toBeLessThanOrEqual(12);

    const wav = path.join(data, 'tts.wav');
    const tts = [
      'fuse',
      'generate',
      '--model',
      model,
      '--text',
      'And God said, let there be light.',
      '--output',
      'speech',
      '--out',
      wav,
      '--max-tokens',
      '40',
      '--temperature',
      '1',
      '--seed',
      '7',
      '--json',
    ];
    const t = await runZipper(tts);
    expect(t.code, t.stderr).toBe(0);
    const s = summaryOf(t);
    expect(s).toMatchObject({ output: 'speech', input: { text: 'and god said let there be light' } });
    const audio = readWav(new Uint8Array(readFileSync(wav)));
    expect(audio.sampleRate).toBe(16_000);
    expect(s['units']).toBeGreaterThan(0);
    expect(Math.abs(audio.channels[0]!.length - (s['units'] as number) * 320)).toBeLessThanOrEqual(320); // 50 units/s at 16 kHz
    const again = path.join(data, 'tts-again.wav');
    expect((await runZipper(tts.map((x) => (x === wav ? again : x)))).code).toBe(0);
    expect(Buffer.compare(readFileSync(again), readFileSync(wav))).toBe(0);
  }, 120_000);
});

describe('zipper baseline train', () => {
  it('the single decoder on the same examples: both losses fall; it decodes too', async () => {
    const out = path.join(data, 'baseline');
    const r = await runZipper(['baseline', 'train', ...common(), '--out', out, '--steps', '16', '--every', '8', '--lr', '1e-2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/one stream, maxSeqLen 496/);
    const points = trainPoints(out);
    const [t0, t1] = ends(points, 'text', 3);
    const [s0, s1] = ends(points, 'speech', 3);
    expect(t1).toBeLessThan(t0 - 0.5);
    expect(s1).toBeLessThan(s0 - 0.3);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as FuseRun;
    expect(run).toMatchObject({ kind: 'baseline', model: { maxSeqLen: 496 }, parameters: { total: run.parameters.trained } });
    const g = await runZipper([
      'baseline',
      'generate',
      '--model',
      out,
      '--in',
      firstAsrWav(),
      '--output',
      'text',
      '--max-tokens',
      '8',
      '--json',
    ]);
    expect(g.code, g.stderr).toBe(0);
    expect(summaryOf(g)).toMatchObject({ kind: 'baseline', output: 'text' });
  }, 120_000);
});

describe('bad input: one typed error line', () => {
  const oneLine = (r: { stderr: string }) => r.stderr.trimEnd().split('\n');
  it('unknown tower name, missing --tower, a fraction that is not a subset, a changed tower on --resume', async () => {
    const out = path.join(data, 'never');
    const base = ['fuse', 'train', '--aligned', data, '--out', out];
    const cases: [string[], RegExp][] = [
      [
        [...base, '--fraction', '1', '--tower', `text=${towers.text}`, '--tower', `image=${towers.speech}`],
        /^zipper: unknown tower name "image" in --tower image=.*; the towers are text and speech/,
      ],
      [[...base, '--fraction', '1', '--tower', `text=${towers.text}`], /^zipper: --tower speech=DIR\|PACKAGE is missing/],
      [[...base, '--fraction', '0.5', ...towerArgs()], /^zipper: --fraction must be 0.01, 0.1 or 1 .*got "0.5"$/],
      [['baseline', 'train', ...common(), '--out', out, '--freeze', 'text'], /^zipper: --freeze is not an option of zipper baseline train/],
      [
        ['baseline', 'train', ...common(), '--out', out, '--ctc-weight', '0.3'],
        /^zipper: --ctc-weight is not an option of zipper baseline train/,
      ],
      [[...base, '--fraction', '1', ...towerArgs(), '--ctc-weight=-1'], /^zipper: --ctc-weight must be a non-negative number, got "-1"$/],
    ];
    for (const [argv, want] of cases) {
      const r = await runZipper(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(oneLine(r)).toHaveLength(1);
      expect(oneLine(r)[0]).toMatch(want);
    }
    expect(existsSync(out)).toBe(false);

    // the text tower's weights change under the same directory name: resume refuses it, naming both hashes
    const moved = path.join(data, 'moved', 'text');
    cpSync(towers.text, moved, { recursive: true });
    const t = await TextTower.load(towers.text);
    const other = TextTower.create(t.tokenizer, { dModel: 32, nLayers: 2, nHeads: 2, maxSeqLen: 96 }, { seed: 99 });
    await other.save(moved);
    t.dispose();
    other.dispose();
    const r = await runZipper([
      'fuse',
      'train',
      '--out',
      path.join(data, 'fuse-straight'),
      '--resume',
      '--tower',
      `text=${moved}`,
      '--workers',
      '0',
    ]);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toHaveLength(1);
    expect(oneLine(r)[0]).toMatch(
      /^zipper: TowerMismatchError: tower "text": .*moved\/text has weights sha256 [0-9a-f]{64}, but this run was trained on text \(.*\) with sha256 [0-9a-f]{64}; pass --tower text=/,
    );
  }, 120_000);
});
