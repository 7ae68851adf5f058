// The apps on a tiny zipped run (`zipper fuse train` for 4 steps on the tiny data build, tiny
// towers): `zipper transcribe` prints a line per file and valid JSON, cuts audio longer than the
// speech context into pieces; `zipper speak` writes a WAV of exactly units x 320 samples, the same
// seed gives the same bytes, --in/--out writes one WAV per non-blank line; `zipper demo speech`
// runs the round trip; `zipper bench asr|tts` prints its JSON keys; bad input exits 2 (or 1) with
// one message and no stack. No assertion depends on the tiny model's quality.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@zipper/core';
import { scoreCorpus } from '@zipper/eval';
import { readWav } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchUtterances, sampleUtterance } from '../src/apps/assets.js';
import { DEFAULT_MODEL, findModelDir } from '../src/apps/model.js';
import { toneWav } from './apps-helpers.js';
import { STACK_LINE } from './cli-harness.js';
import { runZipper, saveTinyTowers, summaryOf, tinyData, tinyRunArgs } from './fuse-helpers.js';

let data = '';
let model = '';
/** Whether the shipped zipped checkpoint resolves from here (it ships near the end of the session that adds the apps). */
const defaultInstalled = ((): boolean => {
  try {
    findModelDir(DEFAULT_MODEL);
    return true;
  } catch {
    return false;
  }
})();
const at = (...p: string[]) => path.join(data, 'apps', ...p);
const asrWavs = (n: number): string[] =>
  readFileSync(path.join(data, 'test-clean.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .slice(0, n)
    .map((l) => path.join(data, (JSON.parse(l) as { path: string }).path));

beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-apps-test-');
  const towers = await saveTinyTowers(data, data);
  model = path.join(data, 'zip');
  const r = await runZipper([
    'fuse',
    'train',
    ...tinyRunArgs(towers, data),
    '--steps',
    '4',
    '--every',
    '4',
    '--workers',
    '0',
    '--no-progress',
    '--out',
    model,
  ]);
  expect(r.code, r.stderr).toBe(0);
  mkdirSync(at(), { recursive: true });
}, 300_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

/** A failure: the exit code, one "zipper: ..." message matching `re`, no stack. */
function failed(r: { code: number; stderr: string }, code: number, re: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(/^zipper: /m);
  expect(r.stderr).toMatch(re);
  expect(r.stderr).not.toMatch(STACK_LINE);
}

describe('zipper transcribe', () => {
  it('one file: the transcript alone; several: a line per file; --json parses; no tensor leaks', async () => {
    const wavs = asrWavs(3);
    const before = tf.memory().numTensors;
    const one = await runZipper(['transcribe', wavs[0]!, '--model', model]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toHaveLength(1);
    expect(one.stderr).toBe(''); // no progress when stderr is not a terminal
    expect(tf.memory().numTensors).toBe(before);

    const many = await runZipper(['transcribe', ...wavs, '--model', model]);
    expect(many.code, many.stderr).toBe(0);
    expect(many.stdout.map((l) => l.slice(0, l.indexOf(': ')))).toEqual(wavs);
    // the first file's transcript is the same alone and in a batch (greedy decoding, no padding)
    expect(many.stdout[0]).toBe(`${wavs[0]}: ${one.stdout[0]}`);

    const json = await runZipper(['transcribe', ...wavs, '--model', model, '--json', '--batch', '2']);
    expect(json.code, json.stderr).toBe(0);
    const s = summaryOf(json) as { results: { file: string; text: string; seconds: number; units: number; pieces: number }[] };
    expect(s.results.map((x) => x.file)).toEqual(wavs);
    expect(s.results.map((x) => `${x.file}: ${x.text}`)).toEqual(many.stdout);
    for (const x of s.results) {
      expect(x.pieces > 1).toBe(x.units > 398); // the tiny speech tower's context: 400 - bos - eos
      expect(Math.abs(x.units - x.seconds * 50)).toBeLessThanOrEqual(1); // 50 units a second
    }
    expect(summaryOf(json)).toMatchObject({ model, load_seconds: expect.any(Number), rtf: expect.any(Number) });
  }, 120_000);

  it('audio longer than the speech context (398 units) is cut into pieces; 22.05 kHz input is resampled', async () => {
    const long = toneWav(at('long.wav'), 12.5, 22050); // 625 units at 16 kHz (ceil((1 + floor(n / 160)) / 2) of the resampled n): 2 pieces
    const r = await runZipper(['transcribe', long, '--model', model, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [x] = (summaryOf(r) as { results: { pieces: number; units: number }[] }).results;
    expect(Math.abs(x!.units - 625)).toBeLessThanOrEqual(1);
    expect(x!.pieces).toBe(2);
  }, 60_000);

  it('bad input: over 100 MB, not a WAV, too long, too short, missing, a folder, no file: exit 2 with the reason', async () => {
    writeFileSync(at('notes.wav'), 'these are words, not audio\n');
    writeFileSync(at('song.mp3.wav'), Buffer.concat([Buffer.from('ID3\x04\x00'), Buffer.alloc(200)]));
    writeFileSync(at('huge.wav'), '');
    truncateSync(at('huge.wav'), 100 * 2 ** 20 + 1); // sparse: refused by its size before any byte is read
    const cases: [string[], RegExp][] = [
      [[at('huge.wav')], /huge\.wav is 100\.0 MB, above the limit of 100 MB .*cut it first, e\.g\. `sox/],
      [[at('notes.wav')], /notes\.wav is not a WAV file zipper can read/],
      [[at('song.mp3.wav')], /MP3/],
      [[toneWav(at('31s.wav'), 31)], /31\.0 s long, above the limit of 30 s per file; cut it .*sox/],
      [[toneWav(at('short.wav'), 0.05)], /below 0\.1 s/],
      [[at('missing.wav')], /cannot read .*missing\.wav: no such file/],
      [[at()], /is not a file/],
      [[], /which WAV file/],
    ];
    for (const [files, re] of cases) failed(await runZipper(['transcribe', ...files, '--model', model]), 2, re);
    failed(await runZipper(['transcribe', asrWavs(1)[0]!, '--model', at('missing-model')]), 1, /is not a directory/);
    failed(await runZipper(['transcribe', asrWavs(1)[0]!, '--model', data]), 2, /has no run\.json/);
  }, 60_000);

  it.skipIf(defaultInstalled)(
    'without --model and no shipped package: a typed error saying how to install it (skipped when the package is installed)',
    async () => {
      failed(
        await runZipper(['transcribe', asrWavs(1)[0]!]),
        1,
        /ModelMissingError: the default model @zipper\/checkpoint-zipper-small is not installed here: run `npm ci`/,
      );
    },
    30_000,
  );

  it.skipIf(!defaultInstalled)(
    `the shipped ${DEFAULT_MODEL}: transcribe (no --model) decodes with the lexicon search, the 8 bundled WAVs within corpus WER 0.2; --decoder attention prints what zipper fuse generate prints; speak repeats its bytes (skipped while the package is not installed; npm ci installs it)`,
    async () => {
      const { wav } = sampleUtterance();
      const set = benchUtterances();
      const d = await runZipper(['transcribe', ...set.map((u) => u.wav), '--json']);
      expect(d.code, d.stderr).toBe(0);
      const got = summaryOf(d) as { decoder: string; results: { text: string }[] };
      expect(got.decoder).toBe('lexicon'); // a byte-label CTC head and the text tower package's word LM
      const s = scoreCorpus(
        set.map((u) => u.text),
        got.results.map((r) => r.text),
      );
      expect(s.wer).toBeLessThanOrEqual(0.2); // 0.114 on 2026-12-02 (zipper bench asr: pocketsphinx 0.159; the release before, 0.216)
      const r = await runZipper(['transcribe', wav, '--decoder', 'attention']);
      expect(r.code, r.stderr).toBe(0);
      const g = await runZipper(['fuse', 'generate', '--model', findModelDir(DEFAULT_MODEL), '--in', wav, '--output', 'text']);
      expect(g.code, g.stderr).toBe(0);
      expect(r.stdout).toEqual(g.stdout); // both greedy over the same units with the same limit
      const say = (out: string) => ['speak', 'The weather is warm today.', '--out', out, '--seed', '3', '--json'];
      const s1 = await runZipper(say(at('shipped-1.wav')));
      expect(s1.code, s1.stderr).toBe(0);
      expect((await runZipper(say(at('shipped-2.wav')))).code).toBe(0);
      expect(Buffer.compare(readFileSync(at('shipped-1.wav')), readFileSync(at('shipped-2.wav')))).toBe(0);
      expect(readWav(new Uint8Array(readFileSync(at('shipped-1.wav')))).channels[0]!.length).toBe((summaryOf(s1)['units'] as number) * 320);
      // a cross window: recorded, deterministic; one wider than any text decodes as none, a narrow one otherwise
      const w = await runZipper([...say(at('w.wav')), '--cross-window', '1']);
      expect(w.code, w.stderr).toBe(0);
      expect(summaryOf(w)).toMatchObject({ cross_window: 1, seed: 3 });
      expect(readWav(new Uint8Array(readFileSync(at('w.wav')))).channels[0]!.length).toBe((summaryOf(w)['units'] as number) * 320);
      expect(Buffer.compare(readFileSync(at('shipped-1.wav')), readFileSync(at('w.wav')))).not.toBe(0);
      expect((await runZipper([...say(at('w2.wav')), '--cross-window', '1'])).code).toBe(0);
      expect(Buffer.compare(readFileSync(at('w.wav')), readFileSync(at('w2.wav')))).toBe(0);
      expect((await runZipper([...say(at('wide.wav')), '--cross-window', '1000'])).code).toBe(0);
      expect(Buffer.compare(readFileSync(at('shipped-1.wav')), readFileSync(at('wide.wav')))).toBe(0);
      expect(summaryOf(s1)['cross_window']).toBe(0);
    },
    180_000,
  );
});

describe('zipper speak', () => {
  it('a valid WAV of exactly units x 320 samples; the same seed gives the same bytes, another seed other bytes', async () => {
    const args = (out: string, seed: string) => [
      'speak',
      'And God said, let there be light.',
      '--out',
      out,
      '--model',
      model,
      '--seed',
      seed,
      '--max-units',
      '60',
      '--json',
    ];
    const r = await runZipper(args(at('a.wav'), '7'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // no progress when stderr is not a terminal
    const s = summaryOf(r);
    expect(s).toMatchObject({ text: 'and god said let there be light', chunks: 1, seed: 7, dropped: [] });
    const audio = readWav(new Uint8Array(readFileSync(at('a.wav'))));
    expect(audio.sampleRate).toBe(16_000);
    expect(audio.channels).toHaveLength(1);
    expect(s['units']).toBeGreaterThan(0);
    expect(s['units']).toBeLessThanOrEqual(60);
    expect(audio.channels[0]!.length).toBe((s['units'] as number) * 320);
    expect(s['seconds']).toBeCloseTo((s['units'] as number) / 50, 3);
    expect((await runZipper(args(at('b.wav'), '7'))).code).toBe(0);
    expect(Buffer.compare(readFileSync(at('a.wav')), readFileSync(at('b.wav')))).toBe(0);
    expect((await runZipper(args(at('c.wav'), '8'))).code).toBe(0);
    expect(Buffer.compare(readFileSync(at('a.wav')), readFileSync(at('c.wav')))).not.toBe(0);
    // classifier-free guidance: recorded, and a WAV of its units again
    const g = await runZipper([...args(at('g.wav'), '7'), '--guidance', '2']);
    expect(g.code, g.stderr).toBe(0);
    const gs = summaryOf(g);
    expect(gs).toMatchObject({ guidance: 2, seed: 7 });
    expect(readWav(new Uint8Array(readFileSync(at('g.wav')))).channels[0]!.length).toBe((gs['units'] as number) * 320);
    expect(s['guidance']).toBe(0);
    // decode-time unit noise: recorded, a WAV of its units; the same seed gives the same bytes
    const n = await runZipper([...args(at('n.wav'), '7'), '--unit-noise', '0.5']);
    expect(n.code, n.stderr).toBe(0);
    expect(summaryOf(n)).toMatchObject({ unit_noise: 0.5, seed: 7 });
    expect(readWav(new Uint8Array(readFileSync(at('n.wav')))).channels[0]!.length).toBe((summaryOf(n)['units'] as number) * 320);
    expect((await runZipper([...args(at('n2.wav'), '7'), '--unit-noise', '0.5'])).code).toBe(0);
    expect(Buffer.compare(readFileSync(at('n.wav')), readFileSync(at('n2.wav')))).toBe(0);
    expect(s['unit_noise']).toBe(0);
    // a cross window needs cross positions, which this run was trained without: refused before decoding, no WAV
    failed(
      await runZipper([...args(at('never-windowed.wav'), '7'), '--cross-window', '1']),
      2,
      /--cross-window: .*no cross positions \(config.crossRope\)/,
    );
    expect(existsSync(at('never-windowed.wav'))).toBe(false);
    expect(s['cross_window']).toBe(0);
  }, 60_000);

  it('--in FILE.txt --out DIR: one WAV per non-blank line, named by line number', async () => {
    writeFileSync(at('lines.txt'), 'the first line\n\nthe third line, with 3 words more\n');
    const r = await runZipper(['speak', '--in', at('lines.txt'), '--out', at('lines'), '--model', model, '--max-units', '20']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(at('lines')).sort()).toEqual(['001.wav', '003.wav']);
    expect(r.stdout).toHaveLength(2);
    expect(r.stdout[1]).toMatch(/^wrote .*003\.wav: [\d.]+ s of speech \(\d+ units/);
    for (const f of ['001.wav', '003.wav']) expect(readWav(new Uint8Array(readFileSync(at('lines', f)))).sampleRate).toBe(16_000);
  }, 60_000);

  it('characters the model never saw are dropped and named; long text is split into sentences and parts', async () => {
    const r = await runZipper([
      'speak',
      "Café @ 5 <b>o'clock</b> 🙂 déjà vu",
      '--out',
      at('d.wav'),
      '--model',
      model,
      '--max-units',
      '10',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/dropped characters the model never saw: "@", "<", ">", "\/", U\+1F642/);
    expect(summaryOf(r)).toMatchObject({ text: "cafe five b o'clock b deja vu", dropped: ['@', '<', '>', '/', '🙂'] });

    const sentence = 'One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen';
    const long = `${sentence}. ${sentence} ${sentence}. Done.`; // sentences of 15 words; 30 words (two parts of 15); 1 word
    const l = await runZipper(['speak', long, '--out', at('long.wav'), '--model', model, '--max-units', '4', '--json']);
    expect(l.code, l.stderr).toBe(0);
    expect(summaryOf(l)).toMatchObject({ chunks: 4 });
  }, 60_000);

  it('bad input: empty text, nothing speakable, over 1000 characters, both or no inputs, a folder as --out: exit 2', async () => {
    const speakArgs = (...a: string[]) => ['speak', ...a, '--model', model];
    const cases: [string[], RegExp][] = [
      [speakArgs('', '--out', at('x.wav')), /holds no word to speak/],
      [speakArgs('@@ ### <>', '--out', at('x.wav')), /holds no word to speak \(dropped "@", "#", "<", ">"\)/],
      [speakArgs('word '.repeat(201), '--out', at('x.wav')), /1005 characters, above the limit of 1000 .* --in FILE\.txt --out DIR/],
      [speakArgs('hi', '--in', at('lines.txt'), '--out', at('x')), /exactly one input/],
      [speakArgs('--out', at('x.wav')), /exactly one input/],
      [speakArgs('hello there'), /--out is required/],
      [speakArgs('hello there', '--out', at()), /is a folder; pass the WAV file/],
      [speakArgs('hello there', '--out', at('nodir', 'x.wav')), /the folder .*nodir does not exist/],
      [speakArgs('hello there', '--out', at('x.wav'), '--top-p', '0'), /--top-p must be in \(0, 1\]/],
      [speakArgs('hello there', '--out', at('x.wav'), '--guidance', '-1'), /--guidance must be a non-negative number, got "-1"/],
      [speakArgs('hello there', '--out', at('x.wav'), '--unit-noise', '1'), /--unit-noise takes a probability in \[0, 1\), got "1"/],
      [speakArgs('hello there', '--out', at('x.wav'), '--cross-window', '-2'), /--cross-window must be a non-negative number, got "-2"/],
      [speakArgs('--in', at('missing.txt'), '--out', at('x')), /cannot read --in/],
    ];
    for (const [argv, re] of cases) failed(await runZipper(argv), 2, re);
    writeFileSync(at('blank.txt'), '\n  \n');
    failed(await runZipper(speakArgs('--in', at('blank.txt'), '--out', at('x'))), 2, /no non-blank line/);
    writeFileSync(at('bad-line.txt'), 'fine words here\n$$$\n');
    failed(await runZipper(speakArgs('--in', at('bad-line.txt'), '--out', at('x'))), 2, /line 2 of .*bad-line\.txt holds no word/);
    expect(existsSync(at('x'))).toBe(false); // every line is checked before anything is written
  }, 60_000);
});

describe('zipper demo speech', () => {
  it('speaks the sample sentence, transcribes its WAV and the bundled one, prints both', async () => {
    const out = at('demo');
    const r = await runZipper(['demo', 'speech', '--model', model, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r) as {
      text: string;
      speech: { wav: string; transcript: string; units: number };
      sample: { wav: string; transcript: string };
    };
    expect(s.text).toBe(sampleUtterance().text);
    expect(s.speech.wav).toBe(path.resolve(out, 'speech.wav'));
    expect(readWav(new Uint8Array(readFileSync(s.speech.wav))).channels[0]!.length).toBe(s.speech.units * 320);
    expect(s.sample.wav).toBe(sampleUtterance().wav);
    expect(r.stdout.slice(0, 5).map((l) => l.split(':')[0])).toEqual(['said', 'spoke', 'heard back', 'bundled WAV', 'heard']);
    expect(r.stdout[2]).toContain(s.speech.transcript);
    expect(r.stdout[4]).toContain(s.sample.transcript);
  }, 120_000);
});

describe('zipper bench asr|tts', () => {
  it('prints the JSON keys with tiny settings (pocketsphinx as the ASR reference on the same WAVs)', async () => {
    const asr = await runZipper(['bench', 'asr', '--model', model, '--runs', '1', '--limit', '2', '--json']);
    expect(asr.code, asr.stderr).toBe(0);
    const a = summaryOf(asr);
    expect(a).toMatchObject({ mode: 'asr', target: 0.1, utterances: 2, set: 'bundled', median_of: 1, threads: 1 });
    for (const k of ['rtf', 'load_seconds', 'peak_rss_mb', 'audio_seconds', 'wer']) expect(a[k], k).toEqual(expect.any(Number));
    expect(a['audio_seconds']).toBeCloseTo(6.09, 2); // sample.wav 3.0 s + bench/01.wav 3.09 s
    expect(a['reference']).toMatchObject({ engine: 'pocketsphinx', rtf: expect.any(Number), jobs: 1 });
    expect(a['ratio']).toBeCloseTo((a['rtf'] as number) / (a['reference'] as { rtf: number }).rtf, 1);

    const tts = await runZipper(['bench', 'tts', '--model', model, '--runs', '1', '--limit', '1', '--max-units', '20', '--json']);
    expect(tts.code, tts.stderr).toBe(0);
    const t = summaryOf(tts);
    expect(t).toMatchObject({ mode: 'tts', target: 0.25, utterances: 1 });
    for (const k of ['rtf', 'decode_rtf', 'vocoder_rtf', 'speech_seconds', 'load_seconds', 'peak_rss_mb'])
      expect(t[k], k).toEqual(expect.any(Number));
    expect(t['units']).toBeLessThanOrEqual(20);
    expect(t['speech_seconds']).toBeCloseTo((t['units'] as number) / 50, 3);

    const fromData = await runZipper([
      'bench',
      'asr',
      '--model',
      model,
      '--runs',
      '1',
      '--data',
      data,
      '--split',
      'test-clean',
      '--limit',
      '1',
    ]);
    expect(fromData.code, fromData.stderr).toBe(0);
    expect(summaryOf(fromData)).toMatchObject({ utterances: 1, set: `${data} test-clean` });
    failed(await runZipper(['bench', 'asr', '--model', model, '--split', 'dev']), 2, /--split needs --data/);
    failed(await runZipper(['bench', 'asr', '--model', model, '--max-units', '3']), 2, /--max-units applies to `bench tts` only/);
  }, 180_000);
});
