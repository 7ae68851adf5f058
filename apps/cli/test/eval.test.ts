// `zipper eval asr|tts|peer|report|record` on a tiny data build with tiny towers fine-tuned for a few
// steps (zipped and single decoder): the printed metrics equal @zipper/eval's scoring of the saved
// transcript files; TTS computes the oracle and target rows and the mean over seeds; the peer row
// runs pocketsphinx; the report is byte-identical when regenerated and holds the rows, and the same
// when made from the runs' records; bad input is one typed line.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@zipper/core';
import { bootstrapInterval, ratioBootstrap, scoreCorpus, type UtteranceScore } from '@zipper/eval';
import { readWav } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, runZipper, saveTinyTowers, summaryOf, tinyData, tinyRunArgs } from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
const runs = { fuse: '', baseline: '' };
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const jsonl = (file: string) => lines(file).map((l) => JSON.parse(l) as Record<string, unknown>);
/** `zipper eval asr --model MODEL --data <the tiny build> --split SPLIT ...extra`. */
const evalAsr = (model: string, split: string, ...extra: string[]) =>
  runZipper(['eval', 'asr', '--model', model, '--data', data, '--split', split, ...extra]);

beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-eval-cli-test-');
  towers = await saveTinyTowers(data, data);
  const common = [...tinyRunArgs(towers, data), '--workers', '0', '--no-progress'];
  runs.fuse = path.join(data, 'runs', 'fuse-1pct');
  runs.baseline = path.join(data, 'runs', 'baseline-1pct');
  const f = await runZipper([
    'fuse',
    'train',
    ...common,
    '--out',
    runs.fuse,
    '--freeze',
    'none',
    '--steps',
    '12',
    '--every',
    '6',
    '--lr',
    '1e-2',
  ]);
  expect(f.code, f.stderr).toBe(0);
  const b = await runZipper(['baseline', 'train', ...common, '--out', runs.baseline, '--steps', '6', '--every', '6']);
  expect(b.code, b.stderr).toBe(0);
}, 300_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

/** The metrics' interval: @zipper/eval's bootstrapInterval (defaults: 1,000 resamples, seed 0, 95%) of these decodes' scores. */
function expectInterval(m: Record<string, unknown>, systems: readonly (readonly UtteranceScore[])[]): void {
  const w = bootstrapInterval(systems, { unit: 'words' });
  const c = bootstrapInterval(systems, { unit: 'chars' });
  expect(m['interval']).toEqual({
    wer: { low: w.low, high: w.high },
    cer: { low: c.low, high: c.high },
    samples: 1000,
    seed: 0,
    level: 0.95,
  });
  expect(w.low).toBeLessThanOrEqual(m['wer'] as number);
  expect(w.high).toBeGreaterThanOrEqual(m['wer'] as number);
}

/** The metrics' counts and interval equal @zipper/eval's scoring of two saved files. */
function expectScored(m: Record<string, unknown>, ref: string, hyp: string): void {
  const s = scoreCorpus(lines(ref), lines(hyp));
  expectInterval(m, [s.perUtterance]);
  expect({
    wer: m['wer'],
    cer: m['cer'],
    words: m['words'],
    sub: m['sub'],
    del: m['del'],
    ins: m['ins'],
    utterances: m['utterances'],
  }).toEqual({ wer: s.wer, cer: s.cer, words: s.words, sub: s.sub, del: s.del, ins: s.ins, utterances: s.utterances });
}

describe('zipper eval asr', () => {
  it('a zipped model: the JSON counts equal the scoring of the saved hyp/ref; per utterance and per voice add up', async () => {
    const before = tf.memory().numTensors;
    const r = await evalAsr(runs.fuse, 'test-clean', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const m = summaryOf(r);
    const out = path.join(runs.fuse, 'eval', 'test-clean', 'asr');
    expect(m).toMatchObject({ task: 'asr', kind: 'fuse', split: 'test-clean', utterances: 3, out, decoding: 'greedy' });
    expectScored(m, path.join(out, 'ref.txt'), path.join(out, 'hyp.txt'));
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'))).toEqual(m);
    const gold = jsonl(path.join(data, 'test-clean.jsonl'));
    const rows = jsonl(path.join(out, 'utterances.jsonl'));
    expect(rows.map((x) => [x['id'], x['voice'], x['ref']])).toEqual(gold.map((g) => [g['id'], g['voice'], g['text']]));
    expect(rows.map((x) => x['hyp'])).toEqual(lines(path.join(out, 'hyp.txt')));
    const sum = (k: string) => rows.reduce((a, x) => a + (x['errors'] as Record<string, number>)[k]!, 0);
    expect([sum('words'), sum('sub'), sum('del'), sum('ins')]).toEqual([m['words'], m['sub'], m['del'], m['ins']]);
    const voices = Object.values(m['voices'] as Record<string, Record<string, number>>);
    expect(voices.reduce((a, x) => a + x['words']!, 0)).toBe(m['words']);
    expect(voices.reduce((a, x) => a + x['utterances']!, 0)).toBe(3);
  }, 120_000);

  it('a single decoder (its checkpoint kind told from the run), --limit and --out', async () => {
    const out = path.join(data, 'asr-baseline');
    const r = await evalAsr(runs.baseline, 'test-other', '--limit', '2', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const m = summaryOf(r);
    expect(m).toMatchObject({ task: 'asr', kind: 'baseline', split: 'test-other', utterances: 2, out });
    expectScored(m, path.join(out, 'ref.txt'), path.join(out, 'hyp.txt'));
    // classifier-free guidance (uncond: the empty speech segment), recorded and scored the same way
    const guided = path.join(data, 'asr-baseline-guided');
    const g = await evalAsr(runs.baseline, 'test-other', '--limit', '2', '--guidance', '1.5', '--out', guided, '--json');
    expect(g.code, g.stderr).toBe(0);
    expect(summaryOf(g)).toMatchObject({ decoding: 'greedy', guidance: 1.5, utterances: 2 });
    expectScored(summaryOf(g), path.join(guided, 'ref.txt'), path.join(guided, 'hyp.txt'));
  }, 120_000);
  it('--voice NAME: only the utterances in that voice, recorded in metrics.json; a voice the split lacks is one usage line naming its voices', async () => {
    const gold = jsonl(path.join(data, 'test-clean.jsonl'));
    const voice = gold[0]!['voice'] as string;
    const mine = gold.filter((g) => g['voice'] === voice);
    expect(mine.length).toBeLessThan(gold.length); // the tiny build's test-clean has several voices
    const out = path.join(data, 'asr-voice');
    const r = await evalAsr(runs.fuse, 'test-clean', '--voice', voice, '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const m = summaryOf(r);
    expect(m).toMatchObject({ split: 'test-clean', voice, utterances: mine.length });
    expect(Object.keys(m['voices'] as object)).toEqual([voice]);
    expect(jsonl(path.join(out, 'utterances.jsonl')).map((x) => x['id'])).toEqual(mine.map((g) => g['id']));
    expectScored(m, path.join(out, 'ref.txt'), path.join(out, 'hyp.txt'));
    const all = [...new Set(gold.map((g) => g['voice'] as string))].join(', ');
    for (const task of ['asr', 'tts']) {
      const bad = await runZipper(['eval', task, '--model', runs.fuse, '--data', data, '--split', 'test-clean', '--voice', 'flite/nobody']);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n').at(-1)).toBe(
        `zipper: ${data}: test-clean.jsonl has no utterance in the voice "flite/nobody"; its voices: ${all}`,
      );
    }
  }, 120_000);

  it('an installed checkpoint package holding a run: --model NAME, outputs under ./eval/NAME', async () => {
    const app = path.join(data, 'app');
    const pkg = path.join(app, 'node_modules', 'zipper-run-test');
    cpSync(runs.fuse, pkg, { recursive: true, filter: (f) => !f.includes(`${path.sep}eval`) && !f.includes(`${path.sep}train`) });
    writeFileSync(path.join(pkg, 'package.json'), '{"name": "zipper-run-test", "version": "1.0.0"}\n');
    const cwd = process.cwd();
    process.chdir(app);
    try {
      const r = await evalAsr('zipper-run-test', 'dev', '--limit', '1', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(summaryOf(r)).toMatchObject({
        kind: 'fuse',
        model: pkg,
        out: path.join(app, 'eval', 'zipper-run-test', 'dev', 'asr'),
        utterances: 1,
      });
    } finally {
      process.chdir(cwd);
    }
  }, 60_000);
  it("a package whose towers' recorded folders are gone finds them as its own dependencies, from any working directory", async () => {
    const app = path.join(data, 'app-moved');
    const pkg = path.join(app, 'lib', 'zipper-run-moved');
    cpSync(runs.fuse, pkg, { recursive: true, filter: (f) => !f.includes(`${path.sep}eval`) && !f.includes(`${path.sep}train`) });
    writeFileSync(path.join(pkg, 'package.json'), '{"name": "zipper-run-moved", "version": "1.0.0"}\n');
    const run = JSON.parse(readFileSync(path.join(pkg, 'run.json'), 'utf8')) as {
      towers: Record<string, { dir: string; location: string }>;
    };
    for (const [name, ref] of Object.entries(run.towers)) {
      // the tower as a package installed under the model's own node_modules only
      const dep = `zipper-tower-${name}-moved`;
      cpSync(ref.dir, path.join(pkg, 'node_modules', dep), { recursive: true });
      writeFileSync(path.join(pkg, 'node_modules', dep, 'package.json'), `{"name": "${dep}", "version": "1.0.0"}\n`);
      run.towers[name] = { ...ref, dir: path.join(data, 'gone', name), location: dep };
    }
    writeFileSync(path.join(pkg, 'run.json'), JSON.stringify(run));
    const cwd = process.cwd();
    process.chdir(app);
    try {
      const r = await evalAsr(pkg, 'dev', '--limit', '1', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(summaryOf(r)).toMatchObject({ kind: 'fuse', model: pkg, utterances: 1 });
    } finally {
      process.chdir(cwd);
    }
  }, 60_000);
});

describe("zipper eval asr|tts --split train: the model's own training pairs", () => {
  it("reads the run's aligned subset (aligned-asr for ASR, aligned-tts for TTS) and scores it like a held-out split", async () => {
    const asr = await evalAsr(runs.fuse, 'train', '--limit', '2', '--json');
    expect(asr.code, asr.stderr).toBe(0);
    const a = summaryOf(asr);
    const aOut = path.join(runs.fuse, 'eval', 'train', 'asr');
    expect(a).toMatchObject({ task: 'asr', split: 'train', manifest: 'aligned-asr.100pct.jsonl', utterances: 2, out: aOut });
    expectScored(a, path.join(aOut, 'ref.txt'), path.join(aOut, 'hyp.txt'));
    const goldAsr = jsonl(path.join(data, 'aligned-asr.100pct.jsonl')).slice(0, 2);
    expect(jsonl(path.join(aOut, 'utterances.jsonl')).map((x) => [x['id'], x['voice'], x['ref']])).toEqual(
      goldAsr.map((g) => [g['id'], g['voice'], g['text']]),
    );
    const tts = await runZipper([
      'eval',
      'tts',
      '--model',
      runs.fuse,
      '--data',
      data,
      '--split',
      'train',
      '--limit',
      '1',
      '--seeds',
      '0',
      '--keep',
      '0',
      '--json',
    ]);
    expect(tts.code, tts.stderr).toBe(0);
    const t = summaryOf(tts);
    expect(t).toMatchObject({ task: 'tts', split: 'train', manifest: 'aligned-tts.100pct.jsonl', utterances: 1 });
    const goldTts = jsonl(path.join(data, 'aligned-tts.100pct.jsonl'))[0]!;
    expect(jsonl(path.join(runs.fuse, 'eval', 'train', 'tts', 'utterances.jsonl')).map((x) => x['id'])).toEqual([goldTts['id']]);
  }, 180_000);

  it("refuses another data build than the run's, and --split train for the peer row", async () => {
    const other = path.join(data, 'other-build');
    mkdirSync(other, { recursive: true });
    for (const f of readdirSync(data)) if (f.endsWith('.jsonl') || f === 'text-only.txt') cpSync(path.join(data, f), path.join(other, f));
    const build = JSON.parse(readFileSync(path.join(data, 'build.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(other, 'build.json'), JSON.stringify({ ...build, seed: 12345 }, null, 2));
    const r = await runZipper(['eval', 'asr', '--model', runs.fuse, '--data', other, '--split', 'train']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not the data build the model trained on .*--split train needs --data to be that build/);
    const p = await runZipper(['eval', 'peer', '--data', data, '--split', 'train']);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(
      /unknown split "train"; --split takes dev, test-clean, test-other, dev-noisy, dev-tts-voice, test-clean-tts-voice, dev-other, fresh-dev, fresh-dev-tts-voice \(the held-out splits of zipper data build; dev-noisy of a build made with --noisy, the TTS voice's two with --tts-voice-sets, dev-other with --dev-other, fresh-dev and fresh-dev-tts-voice with --fresh-dev FILE\)$/m,
    );
    // the TTS voice's sets are named, and refused by a build made without them
    for (const split of ['dev-tts-voice', 'test-clean-tts-voice']) {
      const t = await evalAsr(runs.fuse, split);
      expect(t.code).toBe(2);
      expect(t.stderr).toMatch(
        new RegExp(
          `has no ${split} split: it was built without --tts-voice-sets; run npx zipper data build again with the same options and --tts-voice-sets \\(only that flag's renderings are synthesized\\)$`,
          'm',
        ),
      );
    }
    const o = await evalAsr(runs.fuse, 'dev-other');
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(
      /has no dev-other split: it was built without --dev-other; run npx zipper data build again with the same options and --dev-other/,
    );
    for (const split of ['fresh-dev', 'fresh-dev-tts-voice']) {
      const f = await evalAsr(runs.fuse, split);
      expect(f.code).toBe(2);
      expect(f.stderr).toMatch(
        new RegExp(
          `has no ${split} split: it was built without --fresh-dev; run npx zipper data build again with the same options and --fresh-dev`,
        ),
      );
    }
  }, 60_000);

  it('--split fresh-dev and fresh-dev-tts-voice (asr and peer) on the build made again with zipper data build --fresh-dev FILE', async () => {
    const fresh = path.join(data, 'fresh-build');
    mkdirSync(fresh, { recursive: true });
    for (const f of readdirSync(data))
      if (f.endsWith('.jsonl') || f === 'text-only.txt' || f === 'build.json' || f === 'audio')
        cpSync(path.join(data, f), path.join(fresh, f), { recursive: true });
    const file = path.join(data, 'fresh.txt');
    writeFileSync(
      file,
      'The quantum toaster refused to brown the bagel before midnight on Tuesday.\nSeven clockwork owls debated whether the moon tastes of lemon sherbet.\n' +
        'Nobody expected the lighthouse keeper to win the regional yodelling contest twice. A purple giraffe wrote a letter to the city council about parking.\n',
    );
    const b = await runZipper(['data', 'build', '--out', fresh, '--size', 'tiny', '--seed', '0', '--fresh-dev', file, '--no-progress']);
    expect(b.code, b.stderr).toBe(0);
    const built = JSON.parse(b.stdout.join('\n')) as {
      synthesized: number;
      reused: number;
      manifests: Record<string, { utterances: number }>;
    };
    expect([
      built.synthesized,
      built.reused,
      built.manifests['fresh-dev.jsonl']?.utterances,
      built.manifests['fresh-dev-tts-voice.jsonl']?.utterances,
    ]).toEqual([6, 11 + 2 * 13 + 3 + 3 + 5, 3, 3]);
    for (const split of ['fresh-dev', 'fresh-dev-tts-voice']) {
      const out = path.join(data, `asr-${split}`);
      const r = await runZipper(['eval', 'asr', '--model', runs.fuse, '--data', fresh, '--split', split, '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const m = summaryOf(r);
      expect(m).toMatchObject({ task: 'asr', split, manifest: `${split}.jsonl`, utterances: 3 });
      expectScored(m, path.join(out, 'ref.txt'), path.join(out, 'hyp.txt'));
      expect(lines(path.join(out, 'ref.txt'))).toEqual(jsonl(path.join(fresh, `${split}.jsonl`)).map((x) => x['text']));
    }
    const p = await runZipper([
      'eval',
      'peer',
      '--data',
      fresh,
      '--split',
      'fresh-dev-tts-voice',
      '--out',
      path.join(data, 'peer-fresh'),
      '--json',
    ]);
    expect(p.code, p.stderr).toBe(0);
    expect(summaryOf(p)).toMatchObject({ task: 'peer', split: 'fresh-dev-tts-voice', utterances: 3 });
  }, 120_000);
});

describe('zipper eval tts', () => {
  it('runs end to end: oracle, target and every seed scored from the saved transcripts; mean over seeds; WAVs kept', async () => {
    const before = tf.memory().numTensors;
    const r = await runZipper([
      'eval',
      'tts',
      '--model',
      runs.fuse,
      '--data',
      data,
      '--split',
      'test-clean',
      '--limit',
      '2',
      '--seeds',
      '0,1',
      '--max-units',
      '40',
      '--keep',
      '1',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const m = summaryOf(r);
    const out = path.join(runs.fuse, 'eval', 'test-clean', 'tts');
    expect(m).toMatchObject({ task: 'tts', kind: 'fuse', utterances: 2, seeds: [0, 1], ttsVoice: 'flite/slt' });
    const ref = lines(path.join(out, 'ref.txt'));
    const target = lines(path.join(out, 'target.txt'));
    // the oracle: gold units through the vocoder, heard by pocketsphinx: real words, scored against the gold text
    expect(target.join(' ').split(' ').filter(Boolean).length).toBeGreaterThan(5);
    const oracle = scoreCorpus(ref, target);
    expect(m['oracle']).toEqual({
      wer: oracle.wer,
      cer: oracle.cer,
      words: oracle.words,
      sub: oracle.sub,
      del: oracle.del,
      ins: oracle.ins,
      utterances: 2,
    });
    const perSeed = [0, 1].map((s) => scoreCorpus(ref, lines(path.join(out, `hyp.seed${s}.txt`))).wer);
    const seedScores = [0, 1].map((s) => scoreCorpus(ref, lines(path.join(out, `hyp.seed${s}.txt`))).perUtterance);
    expectInterval(m, seedScores);
    // the mean WER over the oracle's, with the bootstrap of that ratio over utterances
    const q = ratioBootstrap(oracle.perUtterance, seedScores);
    expect(m['oracleRatio']).toEqual({ ratio: q.ratio, low: q.low, high: q.high, samples: 1000, seed: 0, level: 0.95 });
    if (oracle.wer > 0) expect(q.ratio).toBeCloseTo((m['wer'] as number) / oracle.wer, 12);
    // and per voice, on that voice's utterances (an oracle without error gives Infinity, stored as null)
    const voiceOf = jsonl(path.join(out, 'utterances.jsonl')).map((x) => x['voice'] as string);
    for (const [v, row] of Object.entries(m['voices'] as Record<string, { oracleRatio: unknown }>)) {
      const pick = <T>(xs: readonly T[]) => xs.filter((_, i) => voiceOf[i] === v);
      const qv = ratioBootstrap(
        pick(oracle.perUtterance),
        seedScores.map((x) => pick(x)),
      );
      const want = { ratio: qv.ratio, low: qv.low, high: qv.high, samples: 1000, seed: 0, level: 0.95 };
      expect(row.oracleRatio).toEqual(JSON.parse(JSON.stringify(want)));
    }
    const vsTarget = [0, 1].map((s) => scoreCorpus(target, lines(path.join(out, `hyp.seed${s}.txt`))).wer);
    expect(m['wer']).toBeCloseTo((perSeed[0]! + perSeed[1]!) / 2, 12);
    expect(m['werMin']).toBe(Math.min(...perSeed));
    expect(m['werMax']).toBe(Math.max(...perSeed));
    expect((m['vsTarget'] as { wer: number }).wer).toBeCloseTo((vsTarget[0]! + vsTarget[1]!) / 2, 12);
    expect((m['perSeed'] as { seed: number; wer: number }[]).map((x) => [x.seed, x.wer])).toEqual([
      [0, perSeed[0]],
      [1, perSeed[1]],
    ]);
    // at most 40 units per utterance and seed; the kept WAVs are 16 kHz audio for pocketsphinx
    const rows = jsonl(path.join(out, 'utterances.jsonl'));
    for (const row of rows) for (const s of row['seeds'] as { units: number }[]) expect(s.units).toBeLessThanOrEqual(40);
    // the sampled units are kept, one utterance a line, as many as counted; the kept WAV is theirs (320 samples a unit, to within one)
    for (const k of [0, 1]) {
      const units = lines(path.join(out, `units.seed${k}.txt`)).map((l) => (l === '' ? [] : l.split(' ').map(Number)));
      expect(units.map((u) => u.length)).toEqual(rows.map((row) => (row['seeds'] as { units: number }[])[k]!.units));
      expect(units.flat().every((u) => Number.isInteger(u) && u >= 0)).toBe(true);
      const kept = readWav(new Uint8Array(readFileSync(path.join(out, 'wav', `test-clean-000000.seed${k}.wav`))));
      if (units[0]!.length === 0) expect(kept.channels[0]!.length).toBe(1600);
      else expect(Math.abs(kept.channels[0]!.length - units[0]!.length * 320)).toBeLessThan(320);
    }
    expect(readdirSync(path.join(out, 'wav')).sort()).toEqual([
      'test-clean-000000.oracle.wav',
      'test-clean-000000.seed0.wav',
      'test-clean-000000.seed1.wav',
    ]);
    const wav = readWav(new Uint8Array(readFileSync(path.join(out, 'wav', 'test-clean-000000.oracle.wav'))));
    const goldSeconds = jsonl(path.join(data, 'test-clean.jsonl'))[0]!['duration'] as number;
    expect(wav.sampleRate).toBe(16000);
    expect(Math.abs(wav.channels[0]!.length / 16000 - goldSeconds)).toBeLessThan(0.1);
  }, 180_000);
  it('a single decoder synthesizes too (its speech ids mapped back to units), with classifier-free guidance and unit noise recorded', async () => {
    const out = path.join(data, 'tts-baseline');
    const r = await runZipper([
      'eval',
      'tts',
      '--model',
      runs.baseline,
      '--data',
      data,
      '--split',
      'dev',
      '--limit',
      '1',
      '--seeds',
      '3',
      '--max-units',
      '20',
      '--guidance',
      '1.5',
      '--unit-noise',
      '0.5',
      '--keep',
      '0',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const m = summaryOf(r);
    expect(m).toMatchObject({ task: 'tts', kind: 'baseline', split: 'dev', utterances: 1, seeds: [3], wavs: 0 });
    expect(m['sampling']).toEqual({ temperature: 1, topK: 0, topP: 1, guidance: 1.5, unitNoise: 0.5, maxUnits: 20 });
    expect(m['wer']).toBe(scoreCorpus(lines(path.join(out, 'ref.txt')), lines(path.join(out, 'hyp.seed3.txt'))).wer);
    expect(readdirSync(path.join(out, 'wav'))).toEqual([]);
  }, 120_000);
  it('--cross-window needs links with cross positions: a single decoder and a run trained without --cross-rope are refused before any work', async () => {
    for (const [model, re] of [
      [runs.baseline, /--cross-window: crossWindow: a single decoder has no cross-attention links/],
      [runs.fuse, /the links speech <- text have no cross positions/],
    ] as const) {
      const out = path.join(data, 'tts-window');
      const r = await runZipper(
        ['eval', 'tts', '--model', model, '--data', data, '--split', 'dev', '--limit', '1', '--seeds', '0'].concat([
          '--max-units',
          '5',
          '--cross-window',
          '2',
          '--out',
          out,
        ]),
      );
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);
      expect(existsSync(path.join(out, 'wav'))).toBe(false); // refused before the oracle's vocoding
    }
  }, 120_000);
});

describe('zipper eval peer', () => {
  it('pocketsphinx on the original audio: counts equal the scoring of the saved files, and it hears words', async () => {
    const r = await runZipper(['eval', 'peer', '--data', data, '--split', 'test-clean', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const m = summaryOf(r);
    const out = path.join(data, 'eval', 'peer', 'test-clean');
    expect(m).toMatchObject({ task: 'peer', split: 'test-clean', utterances: 3, out });
    expectScored(m, path.join(out, 'ref.txt'), path.join(out, 'hyp.txt'));
    expect(m['wer'] as number).toBeLessThan(0.9); // clear synthetic speech: most words are heard
  }, 120_000);
});

describe('zipper eval report', () => {
  it('regenerates byte-identical files from the same saved outputs, with every run, the peer row and the plots', async () => {
    const out = path.join(data, 'docs', 'results.md');
    const args = ['eval', 'report', '--runs', runs.fuse, runs.baseline, '--peer', data, '--out', out];
    const assets = path.join(data, 'docs', 'results');
    /** Every file the report wrote: the page and the assets folder, path -> bytes. */
    const snapshot = () =>
      new Map([[out, readFileSync(out)], ...[...filesUnder(assets)].map(([f, b]) => [path.join(assets, f), b] as const)]);
    // ASR evaluations of the CTC head (here copies of the attention decoder's metrics) get their own table, a row per decoder
    for (const decoder of ['asr-ctc', 'asr-lexicon']) {
      const ctcDir = path.join(runs.fuse, 'eval', 'test-clean', decoder);
      mkdirSync(ctcDir, { recursive: true });
      cpSync(path.join(runs.fuse, 'eval', 'test-clean', 'asr', 'metrics.json'), path.join(ctcDir, 'metrics.json'));
    }
    // the run scored on its own pairs: the --split train test above wrote them
    const trainMetrics = (task: string) => path.join(runs.fuse, 'eval', 'train', task, 'metrics.json');
    const r1 = await runZipper(args);
    expect(r1.code, r1.stderr).toBe(0);
    const first = snapshot();
    const r2 = await runZipper(args);
    expect(r2.code, r2.stderr).toBe(0);
    expect(snapshot()).toEqual(first);
    const md = readFileSync(out, 'utf8');
    const asr = JSON.parse(readFileSync(path.join(runs.fuse, 'eval', 'test-clean', 'asr', 'metrics.json'), 'utf8')) as { wer: number };
    const tts = JSON.parse(readFileSync(path.join(runs.fuse, 'eval', 'test-clean', 'tts', 'metrics.json'), 'utf8')) as {
      wer: number;
      oracle: { wer: number };
    };
    expect(md).toMatch(
      new RegExp(
        `\\| \`fuse-1pct\` \\| zipper, frozen: none \\| 100% \\| 13 \\| 12 / 12 \\| [0-9,]+ \\| [0-9.]+ s \\| 0 \\| .* \\| ${asr.wer.toFixed(3)} \\|  \\| ${tts.wer.toFixed(3)} \\| ${tts.oracle.wer.toFixed(3)} \\|`,
      ),
    );
    expect(md).toContain('| `baseline-1pct` | single decoder | 100% | 13 | 6 / 6 |');
    expect(md).toContain('## ASR by the CTC head');
    // the paper's claims: no zipped run of the grid's models (fuse-1pct trains its text tower), and the single decoder has no test-clean ASR here
    expect(md).toContain('| ASR: about equal with all the data | 100% | missing: the single decoder and a zipped model |  |');
    for (const decoder of ['greedy', 'lexicon \\+ word LM'])
      expect(md).toMatch(new RegExp(`\\| \`fuse-1pct\` \\| ${decoder} \\| ${asr.wer.toFixed(3)} \\| [0-9.]+ \\|  \\|  \\|  \\|`));
    expect(md).toMatch(/\| test-clean \| [0-9.]+ \| [0-9.]+ \| \d+ \| 3 \|/); // the peer row
    expect(md).toMatch(/\| aligned-tts\.100pct\.jsonl \| 13 \| 0\.0\d\d \| 1 \|/); // the data build's pool
    const [trainAsr, trainTts] = ['asr', 'tts'].map(
      (t) => JSON.parse(readFileSync(trainMetrics(t), 'utf8')) as { wer: number; utterances: number; oracle?: { wer: number } },
    );
    expect(md).toContain('## On the training pairs');
    expect(md).toContain(
      `| \`fuse-1pct\` | 13 | ${trainAsr!.wer.toFixed(3)} (${trainAsr!.utterances} utt.) | ${asr.wer.toFixed(3)} | ${trainTts!.wer.toFixed(3)} (${trainTts!.utterances} utt.) | ${trainTts!.oracle!.wer.toFixed(3)} | ${tts.wer.toFixed(3)} | ${tts.oracle.wer.toFixed(3)} |`,
    );
    expect(md).toContain('--split train'); // their commands listed with the run's
    // how the text tower's transcripts vary, counted here from its hyp.txt
    const hyps = readFileSync(path.join(runs.fuse, 'eval', 'test-clean', 'asr', 'hyp.txt'), 'utf8')
      .split('\n')
      .slice(0, -1);
    const counts = hyps.reduce((m, h) => m.set(h, (m.get(h) ?? 0) + 1), new Map<string, number>());
    expect(md).toContain('## ASR: do the transcripts follow the audio?');
    expect(md).toMatch(
      new RegExp(`\\| \`fuse-1pct\` \\| test-clean \\| ${counts.size} of ${hyps.length} \\| .* \\(${Math.max(...counts.values())}\\) \\|`),
    );
    expect(md).toMatch(/\| `fuse-1pct` \| train \| \d+ of \d+ \|/);
    expect(md).toContain('](results/wer-asr.svg)');
    expect(md).toContain('](results/audio/fuse-1pct.test-clean.test-clean-000000.seed0.wav)');
    const svg = readFileSync(path.join(data, 'docs', 'results', 'wer-asr.svg'), 'utf8');
    expect(svg).toContain('>1%<');
    expect(svg).toContain('>100%<');
    expect(svg).toContain('pocketsphinx, test-clean');
    expect(svg).toContain('zipper, frozen: none, CTC head + word LM, test-clean'); // the lexicon search's series beside the text tower's
    expect(first.has(path.join(assets, 'loss-baseline-1pct.svg'))).toBe(true);
    expect(first.has(path.join(assets, 'audio', 'fuse-1pct.test-clean.test-clean-000000.oracle.wav'))).toBe(true);
    // how sure: each cell's 95% interval and the TTS ratio to the oracle as metrics.json keeps them ...
    type Kept = {
      wer: number;
      interval: { wer: { low: number; high: number } };
      oracleRatio?: { ratio: number; low: number; high: number };
      ttsVoice?: string;
      voices?: Record<string, { oracleRatio?: { ratio: number; low: number; high: number } }>;
    };
    const metricsFile = (task: string) => path.join(runs.fuse, 'eval', 'test-clean', task, 'metrics.json');
    const [asrKept, ttsKept] = ['asr', 'tts'].map((t) => JSON.parse(readFileSync(metricsFile(t), 'utf8')) as Kept);
    const cell = (x: number, i: { low: number; high: number }) => `${x.toFixed(3)} (${i.low.toFixed(3)}-${i.high.toFixed(3)})`;
    // the TTS voice's column: its ratio where test-clean has utterances in that voice, else empty
    const inVoice = ttsKept!.ttsVoice ? ttsKept!.voices?.[ttsKept!.ttsVoice]?.oracleRatio : undefined;
    expect(md).toContain('## How sure: 95% intervals over utterances');
    expect(md).toContain(
      `| \`fuse-1pct\` | ${cell(asrKept!.wer, asrKept!.interval.wer)} |  | ${cell(asrKept!.wer, asrKept!.interval.wer)} |  | ${cell(ttsKept!.wer, ttsKept!.interval.wer)} | ${cell(ttsKept!.oracleRatio!.ratio, ttsKept!.oracleRatio!)} | ${inVoice ? cell(inVoice.ratio, inVoice) : ''} |`,
    );
    // ... and the same cells computed from the saved transcripts where metrics.json predates them (the committed records)
    const kept = new Map(['asr', 'tts'].map((t) => [t, readFileSync(metricsFile(t))]));
    try {
      for (const [t, bytes] of kept) {
        const { interval: _i, oracleRatio: _r, voices, ...older } = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
        // the per-voice ratios too (the TTS voice's cell), as the records of 2026-12-02/03 lack them
        const perVoice = Object.entries((voices ?? {}) as Record<string, Record<string, unknown>>).map(
          ([v, { oracleRatio: _v, ...rest }]) => [v, rest],
        );
        writeFileSync(metricsFile(t), JSON.stringify({ ...older, ...(voices ? { voices: Object.fromEntries(perVoice) } : {}) }));
      }
      const r3 = await runZipper(args);
      expect(r3.code, r3.stderr).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(md);
    } finally {
      for (const [t, bytes] of kept) writeFileSync(metricsFile(t), bytes);
    }
    // the assets folder belongs to the report: a folder it did not write is refused, not cleared
    const mine = path.join(data, 'docs', 'x');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'precious.txt'), 'x');
    const r4 = await runZipper(['eval', 'report', '--runs', runs.fuse, '--out', `${mine}.md`]);
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/was not written by zipper eval report/);
    expect(existsSync(path.join(mine, 'precious.txt'))).toBe(true);
  }, 60_000);

  it('zipper eval record keeps what the report reads, no weights; the report from the records equals the one from the runs', async () => {
    const records = path.join(data, 'records');
    const peerRecord = path.join(records, 'peer', 'test-clean');
    for (const [run, out] of [
      [runs.fuse, path.join(records, 'fuse-1pct')],
      [runs.baseline, path.join(records, 'baseline-1pct')],
      [path.join(data, 'eval', 'peer', 'test-clean'), peerRecord],
    ] as const) {
      const r = await runZipper(['eval', 'record', '--run', run, '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(path.join(out, 'record.json'), 'utf8')) as {
        files: { name: string; bytes: number; sha256: string }[];
      };
      const kept = readdirSync(out, { recursive: true, encoding: 'utf8' })
        .filter((f) => statSync(path.join(out, f)).isFile() && f !== 'record.json')
        .sort();
      expect(manifest.files.map((f) => f.name)).toEqual(kept);
      for (const f of manifest.files) expect(readFileSync(path.join(out, f.name))).toEqual(readFileSync(path.join(run, f.name)));
      expect(summaryOf(r)).toMatchObject({ files: kept.length + 1 });
      expect(kept.filter((f) => /safetensors|model|train\//.test(f) && !f.startsWith('eval/train/'))).toEqual([]);
    }
    const fuseKept = readdirSync(path.join(records, 'fuse-1pct'), { recursive: true, encoding: 'utf8' });
    expect(fuseKept).toContain('run.json');
    expect(fuseKept).toContain('loss.jsonl');
    expect(fuseKept).toContain('loss.svg'); // a package's plot: with model/ copied in, the record releases again (fuse-release.test.ts)
    expect(fuseKept).toContain(path.join('eval', 'test-clean', 'tts', 'hyp.seed0.txt'));
    expect(existsSync(path.join(runs.fuse, 'eval', 'test-clean', 'tts', 'units.seed0.txt'))).toBe(true);
    expect(fuseKept.filter((f) => f.includes('units.seed'))).toEqual([]); // the sampled units stay with the run
    // the WAVs of the first kept utterance only (--samples 1), not every kept one
    const wavs = fuseKept.filter((f) => f.startsWith(path.join('eval', 'test-clean', 'tts')) && f.endsWith('.wav'));
    const first = jsonl(path.join(runs.fuse, 'eval', 'test-clean', 'tts', 'utterances.jsonl')).find((u) => Array.isArray(u['wavs']))!;
    expect(wavs.sort()).toEqual((first['wavs'] as string[]).map((w) => path.join('eval', 'test-clean', 'tts', w)).sort());
    expect(wavs.length).toBeGreaterThan(1); // the oracle and every seed

    const page = async (runDirs: readonly string[], peer: string, out: string) => {
      const r = await runZipper(['eval', 'report', '--runs', ...runDirs, '--peer', peer, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const assets = out.replace(/\.md$/, '');
      // the command at the top names the folders; everything else is the same
      const md = readFileSync(out, 'utf8')
        .replaceAll(`${path.basename(assets)}/`, 'ASSETS/')
        .split('\n')
        .filter((l) => !l.includes('zipper eval report'));
      return { md, files: filesUnder(assets) };
    };
    const fromRuns = await page(
      [runs.fuse, runs.baseline],
      path.join(data, 'eval', 'peer', 'test-clean'),
      path.join(data, 'docs', 'from-runs.md'),
    );
    const fromRecords = await page(
      [path.join(records, 'fuse-1pct'), path.join(records, 'baseline-1pct')],
      peerRecord,
      path.join(data, 'docs', 'from-records.md'),
    );
    expect(fromRecords.md).toEqual(fromRuns.md);
    expect(fromRecords.files).toEqual(fromRuns.files);

    // an existing record is replaced; a folder that is not one, or one inside the run, is refused
    writeFileSync(path.join(runs.baseline, 'extra.txt'), 'x\n');
    const again = await runZipper(['eval', 'record', '--run', runs.baseline, '--out', path.join(records, 'baseline-1pct')]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(path.join(records, 'baseline-1pct', 'extra.txt'), 'utf8')).toBe('x\n');
    rmSync(path.join(runs.baseline, 'extra.txt'));
    for (const [out, message] of [
      [path.join(data, 'docs'), /exists and is not a record/],
      [path.join(data, 'docs', 'results.md'), /is a file, not a folder/],
      [path.join(runs.fuse, 'rec'), /inside the run it records/],
    ] as const) {
      const r = await runZipper(['eval', 'record', '--run', runs.fuse, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const none = await runZipper(['eval', 'record', '--run', path.join(data, 'audio'), '--out', path.join(records, 'x')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/neither run\.json .* nor metrics\.json/);
  }, 60_000);
});

describe('bad input is one typed line', () => {
  it.each([
    [['eval', 'asr', '--model', '/nonexistent/run', '--data', '?', '--split', 'test-clean'], 1, /CheckpointError: .*not a directory/],
    [
      ['eval', 'asr', '--model', '?', '--data', '?', '--split', 'test-dirty'],
      2,
      /unknown split "test-dirty"; --split takes dev, test-clean, test-other/,
    ],
    [
      ['eval', 'tts', '--model', '?', '--data', '?', '--split', 'test-clean', '--seeds', '0,x'],
      2,
      /--seeds takes integers in \[0, 4294967295\] separated by commas/,
    ],
    [
      ['eval', 'asr', '--model', '?', '--data', '?', '--split', 'dev', '--decoder', 'lexicon', '--guidance', '1'],
      2,
      /--guidance is for --decoder attention/,
    ],
    [['eval', 'peer', '--data', '/nonexistent/data', '--split', 'dev'], 1, /DataDirError: .*has no build.json/],
    [['eval', 'frobnicate'], 2, /unknown subcommand "frobnicate"/],
    [['eval', 'report', '--out', 'x.md'], 2, /--runs RUN_DIR\.\.\. is required/],
  ])('%j -> exit %i', async (argv, code, message) => {
    const r = await runZipper(argv.map((a) => (a === '?' ? data : a)));
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')[0]).toMatch(message);
    if (code === 1) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a model of the wrong kind: a pretrained tower, a data build, the model/ folder of a run', async () => {
    for (const [model, message] of [
      [towers.text, /ModelKindError: .* is a single pretrained tower \(zipper pretrain output\), not a trained fused model/],
      [data, /ModelKindError: .* is a data build, not a model; pass it as --data/],
      [path.join(runs.fuse, 'model'), /ModelKindError: .* is the model\/ folder of a run; pass the run directory above it/],
    ] as const) {
      const r = await evalAsr(model, 'dev');
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
