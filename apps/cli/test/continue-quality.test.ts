// `zipper continue text|speech` and `zipper quality text|speech` on tiny towers (`zipper pretrain
// --preset tiny --steps 20` on a tiny data build): a text continuation is printed, a speech
// continuation is a WAV of the requested length (+- one unit), the quality command scores the
// tower and the Kneser-Ney n-gram on the same number of targets (= held-out tokens - documents,
// i.e. every token after <bos>), the tower's number equals TextTower.loss over the same documents,
// and bad inputs give one typed line.
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { generate, initBackend } from '@zipper/core';
import { DataDir } from '@zipper/data/node';
import { SpeechTower } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import { loadSpeechTokenizer, readWav, writeWav } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { continueUnits } from '../src/commands/continue.js';
import { documentBatches, silenceShare, uniqueRatio } from '../src/commands/quality.js';
import { defaultSpeechTokenizerDir } from '../src/pretrain/prepare.js';
import { runCli, STACK_LINE } from './cli-harness.js';
import { buildTinyData, runPretrain } from './pretrain-helpers.js';

let data = '';
const run = (m: string) => path.join(data, `run-${m}`);
beforeAll(async () => {
  await initBackend();
  data = await buildTinyData('zipper-continue-test-');
  for (const m of ['text', 'speech']) {
    const r = await runPretrain([
      m,
      '--data',
      data,
      '--preset',
      'tiny',
      '--steps',
      '20',
      '--out',
      run(m),
      '--workers',
      '0',
      '--no-progress',
    ]);
    expect(r.code).toBe(0);
  }
}, 180_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const lastLine = (s: string): string => s.trimEnd().split('\n').pop() ?? '';
const oneLineError = (r: { code: number; stderr: string }, pattern: RegExp) => {
  expect(r.code).not.toBe(0);
  expect(r.stderr).not.toMatch(STACK_LINE);
  expect(r.stderr.trimEnd().split('\n')[0]).toMatch(pattern);
};

describe('zipper continue', () => {
  it('text: prints the continuation (last line), the same for the same seed; --json names its tokens', async () => {
    const before = tf.memory().numTensors;
    const a = await runCli([
      'continue',
      'text',
      '--model',
      run('text'),
      '--prompt',
      'the king',
      '--max-tokens',
      '12',
      '--temperature',
      '0.9',
      '--seed',
      '3',
    ]);
    expect(a.code).toBe(0);
    const b = await runCli([
      'continue',
      'text',
      '--model',
      run('text'),
      '--prompt',
      'the king',
      '--max-tokens',
      '12',
      '--temperature',
      '0.9',
      '--seed',
      '3',
      '--json',
    ]);
    const j = JSON.parse(lastLine(b.stdout)) as { continuation: string; tokens: number; finishReason: string; promptTokens: number };
    expect(j.continuation).toBe(a.stdout.replace(/\n$/, ''));
    expect(j.tokens).toBeGreaterThan(0);
    expect(j.tokens).toBeLessThanOrEqual(12);
    expect(j.continuation.length).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    // characters the BPE never saw are bytes: the prompt still works
    const c = await runCli([
      'continue',
      'text',
      '--model',
      path.join(run('text'), 'package'),
      '--prompt',
      '日本語 ☃ ∑',
      '--max-tokens',
      '5',
      '--json',
    ]);
    expect(c.code).toBe(0);
    const cj = JSON.parse(lastLine(c.stdout)) as { promptTokens: number; tokens: number };
    // never-merged bytes: about one token per UTF-8 byte (17 bytes; merges only around the spaces)
    expect(cj.promptTokens).toBeGreaterThan(10);
    expect(cj.promptTokens).toBeLessThanOrEqual(Buffer.byteLength('日本語 ☃ ∑'));
    expect(cj.tokens).toBeGreaterThan(0);
  });

  it('by package name: an installed checkpoint package continues like its folder', async () => {
    const app = path.join(data, 'app');
    mkdirSync(path.join(app, 'node_modules', '@zipper'), { recursive: true });
    symlinkSync(path.join(run('text'), 'package'), path.join(app, 'node_modules', '@zipper', 'checkpoint-text-tiny'));
    const args = ['--prompt', 'and the', '--max-tokens', '10', '--temperature', '0.7', '--seed', '5'];
    const byDir = await runCli(['continue', 'text', '--model', path.join(run('text'), 'package'), ...args]);
    const cwd = process.cwd();
    process.chdir(app);
    try {
      const byName = await runCli(['continue', 'text', '--model', '@zipper/checkpoint-text-tiny', ...args]);
      expect(byName.code, byName.stderr).toBe(0);
      expect(byName.stdout).toBe(byDir.stdout);
    } finally {
      process.chdir(cwd);
    }
    oneLineError(
      await runCli(['continue', 'text', '--model', '@zipper/checkpoint-text-tiny', ...args]),
      /^zipper: CheckpointError: "@zipper\/checkpoint-text-tiny" is neither a directory nor a package installed/,
    );
  });

  it('speech: a WAV of the prompt + the requested seconds (+- one unit), or the continuation alone', async () => {
    const d = DataDir.open(data);
    const rec = d.records('speech-only')[0]!;
    const prompt = path.join(data, 'prompt.wav');
    writeFileSync(prompt, readFileSync(d.audioPath(rec)));
    const out = path.join(data, 'more.wav');
    const before = tf.memory().numTensors;
    const r = await runCli([
      'continue',
      'speech',
      '--model',
      run('speech'),
      '--in',
      prompt,
      '--out',
      out,
      '--prompt-seconds',
      '0.4',
      '--seconds',
      '0.6',
      '--seed',
      '1',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const j = JSON.parse(lastLine(r.stdout)) as { units: number; promptUnits: number; seconds: number };
    expect(j).toMatchObject({ units: 30 });
    expect(Math.abs(j.promptUnits - 20)).toBeLessThanOrEqual(1); // 0.4 s at 50 units/s (frames centred: one more)
    const wav = readWav(readFileSync(out));
    const unit = wav.sampleRate / 50;
    expect(Math.abs(wav.channels[0]!.length - 1.0 * wav.sampleRate)).toBeLessThanOrEqual(unit);
    const only = path.join(data, 'only.wav');
    expect(
      (
        await runCli([
          'continue',
          'speech',
          '--model',
          run('speech'),
          '--in',
          prompt,
          '--out',
          only,
          '--prompt-seconds',
          '0.4',
          '--seconds',
          '0.6',
          '--seed',
          '1',
          '--only-continuation',
        ])
      ).code,
    ).toBe(0);
    const w2 = readWav(readFileSync(only));
    expect(Math.abs(w2.channels[0]!.length - 0.6 * wav.sampleRate)).toBeLessThanOrEqual(unit);
    // same seed: the continuation is the tail of the first file
    expect(Array.from(w2.channels[0]!.subarray(0, 50))).toEqual(
      Array.from(wav.channels[0]!.subarray(wav.channels[0]!.length - w2.channels[0]!.length).subarray(0, 50)),
    );
  });

  it('continueUnits: the tower cannot end before the requested count (its <eos> masked), and gives exactly that many units', async () => {
    // near-uniform sampling (temperature 100) over 512 units + <bos> + <eos>: unmasked, ~2 ends in 500 draws
    const model = SpeechTower.create(loadSpeechTokenizer(defaultSpeechTokenizerDir()), 'tiny', { seed: 0 });
    const before = tf.memory().numTensors;
    const { bos, eos } = model.vocab;
    const free = await generate(model.tower, [bos, 7], { maxNewTokens: 500, stopTokens: [eos, bos], temperature: 100, seed: 0 });
    expect(free.finishReasons[0]).toBe('stop'); // what the mask prevents
    const c = await continueUnits(model, [7], 500, { temperature: 100, topK: 0, topP: 1, seed: 0 });
    expect(c.units.length).toBe(500);
    expect(Math.max(...c.units)).toBeLessThan(512); // no <bos>/<eos> among the units
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('bad input: a missing model, a non-WAV --in, a prompt too long for maxSeqLen: one typed line each', async () => {
    oneLineError(
      await runCli(['continue', 'text', '--model', path.join(data, 'nope'), '--prompt', 'x']),
      /^zipper: CheckpointError: .*is not a directory/,
    );
    const junk = path.join(data, 'junk.wav');
    writeFileSync(junk, 'ID3 this is not a wav file at all');
    oneLineError(
      await runCli(['continue', 'speech', '--model', run('speech'), '--in', junk, '--out', path.join(data, 'x.wav')]),
      /^zipper: Wav\w*Error: /,
    );
    oneLineError(
      await runCli(['continue', 'speech', '--model', run('speech'), '--in', junk, '--out', path.join(data, 'x.wav'), '--seconds', '3']),
      /^zipper: Wav\w*Error: /,
    );
    const sine = path.join(data, 'sine.wav');
    writeFileSync(
      sine,
      writeWav(
        Float32Array.from({ length: 16000 }, (_, i) => 0.3 * Math.sin(i / 5)),
        16000,
      ),
    );
    oneLineError(
      await runCli(['continue', 'speech', '--model', run('speech'), '--in', sine, '--out', path.join(data, 'x.wav'), '--seconds', '3']),
      /^zipper: the prompt \(51 units \+ <bos>\) and 150 new units need 202 positions; the tower's maxSeqLen is 64/,
    );
    oneLineError(
      await runCli([
        'continue',
        'speech',
        '--model',
        run('speech'),
        '--in',
        sine,
        '--out',
        path.join(data, 'nodir', 'x.wav'),
        '--seconds',
        '0.2',
        '--prompt-seconds',
        '0.2',
      ]),
      /^zipper: cannot write --out .*does not exist/,
    );
    oneLineError(
      await runCli(['continue', 'text', '--model', run('text'), '--prompt', 'word '.repeat(100)]),
      /^zipper: the prompt is \d+ tokens \+ <bos>; the tower's maxSeqLen is 64/,
    );
    oneLineError(
      await runCli(['continue', 'text', '--model', run('speech'), '--prompt', 'x']),
      /^zipper: .* holds a speech tower, not text; use zipper continue speech$/,
    );
    oneLineError(await runCli(['continue', 'video', '--model', run('text')]), /^zipper: first argument must be text or speech/);
  });
});

describe('zipper quality', () => {
  it('documentBatches: every target of every document exactly once, windows of at most maxSeqLen', () => {
    const docs = [5, 13, 29, 7, 8].map((L, d) => Array.from({ length: L }, (_, i) => 1000 * d + i));
    const batches = documentBatches(docs, 7, 3);
    const seen: number[] = [];
    for (const b of batches) {
      expect(b.seqLen).toBeLessThanOrEqual(7);
      for (let i = 0; i < b.batchSize * b.seqLen; i++) {
        if (b.mask[i] === 1) {
          seen.push(b.targets[i]!);
          expect(b.inputs[i]).toBe(b.targets[i]! - 1); // the previous token of the same document
        }
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual(docs.flatMap((d) => d.slice(1)).sort((a, b) => a - b));
    expect(silenceShare(new Float32Array(3200), 16000)).toBe(1);
    expect(
      silenceShare(
        Float32Array.from({ length: 3200 }, (_, i) => (i < 1600 ? 0.5 * Math.sin(i) : 0)),
        16000,
      ),
    ).toBe(0.5);
    expect(uniqueRatio([1, 1, 2, 3])).toBe(0.75);
  });

  it('text: tower and Kneser-Ney on the same targets (= held-out tokens after <bos>); the tower equals TextTower.loss per document', async () => {
    const before = tf.memory().numTensors;
    const r = await runCli(['quality', 'text', '--model', run('text'), '--data', data, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const q = JSON.parse(lastLine(r.stdout)) as {
      heldOut: { documents: number; tokens: number; targets: number };
      tower: { nats: number; perplexity: number; targets: number };
      kneserNey: { nats: number; targets: number; order: number };
      sameBuild: boolean;
    };
    expect(q.sameBuild).toBe(true);
    expect(q.heldOut.documents).toBe(3); // the tiny build's dev transcripts
    expect(q.tower.targets).toBe(q.heldOut.tokens - q.heldOut.documents);
    expect(q.kneserNey.targets).toBe(q.tower.targets);
    expect(q.kneserNey.order).toBe(3);
    expect(q.tower.perplexity).toBeCloseTo(Math.exp(q.tower.nats), 2);
    // independent reference: TextTower.loss (one forward per document) weighted by its targets
    const model = await TextTower.load(run('text'));
    const dev = DataDir.open(data)
      .records('dev')
      .map((x) => x.text);
    let sum = 0;
    let n = 0;
    for (const t of dev) {
      const k = model.encodeDocument(t).length - 1;
      expect(k).toBeLessThan(64);
      sum += model.loss(t) * k;
      n += k;
    }
    model.dispose();
    expect(n).toBe(q.tower.targets);
    expect(q.tower.nats).toBeCloseTo(sum / n, 3);
    // after 20 steps on 3,000 sentences both are far below the uniform ln(320) = 5.77
    expect(q.tower.nats).toBeLessThan(5.77);
    expect(q.kneserNey.nats).toBeLessThan(5.77);
  });

  it('speech: same-target comparison over units (windows past maxSeqLen) and continuations transcribed by pocketsphinx', async () => {
    const before = tf.memory().numTensors;
    const r = await runCli([
      'quality',
      'speech',
      '--model',
      run('speech'),
      '--data',
      data,
      '--order',
      '4',
      '--prompts',
      '1',
      '--seeds',
      '2',
      '--prompt-seconds',
      '0.4',
      '--seconds',
      '0.6',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    type Summary = { clips: number; seconds: number; wordsRecognized: number; silenceShare: number; uniqueUnitRatio: number };
    const q = JSON.parse(lastLine(r.stdout)) as {
      heldOut: { documents: number; tokens: number; targets: number };
      tower: { nats: number; targets: number };
      kneserNey: { nats: number; targets: number; order: number };
      continuations: { generated: Summary; real: Summary; clips: { seed: number | null; transcript: string }[] };
    };
    expect(q.heldOut.documents).toBe(2); // the last 20% of 11 speech-only utterances (tiny preset)
    expect(q.heldOut.tokens).toBeGreaterThan(2 * 64); // longer than maxSeqLen: scored in windows
    expect(q.tower.targets).toBe(q.heldOut.tokens - q.heldOut.documents);
    expect(q.kneserNey).toMatchObject({ order: 4, targets: q.tower.targets });
    expect(q.tower.nats).toBeLessThan(Math.log(514));
    const c = q.continuations;
    expect(c.generated.clips).toBe(2);
    expect(c.real.clips).toBe(1);
    expect(Math.abs(c.generated.seconds - 0.6)).toBeLessThanOrEqual(0.02); // one unit
    for (const s of [c.generated, c.real]) {
      expect(s.silenceShare).toBeGreaterThanOrEqual(0);
      expect(s.silenceShare).toBeLessThanOrEqual(1);
      expect(s.uniqueUnitRatio).toBeGreaterThan(0);
      expect(s.uniqueUnitRatio).toBeLessThanOrEqual(1);
    }
    expect(c.clips.map((x) => x.seed)).toEqual([null, 0, 1]);
    for (const x of c.clips) expect(typeof x.transcript).toBe('string');
  });

  it('bad input: missing data, a text tower as speech, one typed line each', async () => {
    oneLineError(await runCli(['quality', 'text', '--model', run('text'), '--data', path.join(data, 'nope')]), /^zipper: DataDirError: /);
    oneLineError(await runCli(['quality', 'speech', '--model', run('text'), '--data', data]), /^zipper: .*holds a text tower, not speech/);
    oneLineError(await runCli(['quality', 'text', '--model', path.join(data, 'nope'), '--data', data]), /^zipper: CheckpointError: /);
  });
});
