// The pocketsphinx runner (@zipper/eval/node) on speech made by flite (slt voice, 16 kHz mono
// 16-bit): both modes recognize clear sentences nearly word for word; batch results do not depend
// on the number of jobs or on the file names (spaces); silence gives an empty transcript; audio in
// another format, a missing program and a missing model are typed errors that say what to do.
// A process killed during a batch run leaves neither recognizer nor temporary folder behind.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvalError, scoreCorpus } from '@zipper/eval';
import {
  checkRecognizerWav,
  findPocketsphinx,
  parseBatchHypotheses,
  RecognizerError,
  RecognizerMissingError,
  transcribeWavFiles,
} from '@zipper/eval/node';
import { requireProgram } from '../../../tools/setup/system.mjs';
import { sleepingPids as sleeping } from '../../../tools/test/processes.mjs';

const SENTENCES = [
  'the quick brown fox jumps over the lazy dog',
  'she sells seashells by the seashore',
  'a large tree with green leaves stood near the river',
];

/** A canonical 44-byte-header WAV of int16 samples. */
function wav(samples: Int16Array, rate = 16000, channels = 1): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

let dir = '';
let files: string[] = [];
beforeAll(() => {
  const flite = requireProgram('flite', 'flite');
  dir = mkdtempSync(path.join(os.tmpdir(), 'zipper-pocketsphinx-test-'));
  mkdirSync(path.join(dir, 'a folder'));
  files = SENTENCES.map((s, i) => path.join(dir, i === 1 ? 'a folder' : '', `s ${i}.wav`));
  SENTENCES.forEach((s, i) => execFileSync(flite, ['-voice', 'slt', '-t', s, '-o', files[i]!]));
  writeFileSync(path.join(dir, 'silence.wav'), wav(new Int16Array(16000)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('transcribeWavFiles', () => {
  it('batch mode: clear speech is recognized (WER <= 0.2 on 3 flite sentences), the same for 1 and 2 jobs', async () => {
    const one = await transcribeWavFiles(files, { jobs: 1 });
    const two = await transcribeWavFiles(files, { jobs: 2 });
    expect(two).toEqual(one);
    const s = scoreCorpus(SENTENCES, one);
    expect(s.words).toBe(25);
    expect(s.wer).toBeLessThanOrEqual(0.2);
    expect(s.sub + s.del + s.ins).toBeGreaterThan(0); // an independent recognizer, not an echo (it hears 'the large tree ... leaves to near')
    expect(one[0]).toBe('the quick brown fox jumps over the lazy dog');
  }, 120_000);

  it('continuous mode recognizes them too; silence is an empty transcript in both modes', async () => {
    const all = [...files, path.join(dir, 'silence.wav')];
    const c = await transcribeWavFiles(all, { mode: 'continuous' });
    expect(scoreCorpus(SENTENCES, c.slice(0, 3)).wer).toBeLessThanOrEqual(0.3);
    expect(c[3]).toBe('');
    const b = await transcribeWavFiles([path.join(dir, 'silence.wav')]);
    expect(b).toEqual(['']);
    expect(await transcribeWavFiles([])).toEqual([]);
  }, 120_000);

  it('refuses audio pocketsphinx cannot read, naming the file and the fix', async () => {
    const cases: [string, Buffer, RegExp][] = [
      ['rate.wav', wav(new Int16Array(100), 22050), /22050 Hz, not 16000 Hz/],
      ['stereo.wav', wav(new Int16Array(100), 16000, 2), /2 channels, not mono/],
      ['junk.wav', Buffer.from('ID3 not a wav at all, really not a wav file at all'), /not a RIFF\/WAVE file/],
    ];
    for (const [name, bytes, why] of cases) {
      const f = path.join(dir, name);
      writeFileSync(f, bytes);
      expect(() => checkRecognizerWav(f)).toThrow(why);
      await expect(transcribeWavFiles([files[0]!, f])).rejects.toThrow(RecognizerError);
    }
    expect(() => checkRecognizerWav(path.join(dir, 'absent.wav'))).toThrow(/cannot read/);
    expect(new RecognizerError('x')).toBeInstanceOf(EvalError);
  });

  it('a missing program is a RecognizerMissingError with the install command', async () => {
    const env = { ...process.env, PATH: dir };
    expect(() => findPocketsphinx('batch', env)).toThrow(RecognizerMissingError);
    expect(() => findPocketsphinx('continuous', env)).toThrow(
      /"pocketsphinx_continuous" not found on PATH.*apt-get install -y pocketsphinx pocketsphinx-en-us/,
    );
    await expect(transcribeWavFiles(files, { env })).rejects.toThrow(RecognizerMissingError);
    await expect(transcribeWavFiles(files, { jobs: 0 })).rejects.toThrow(/jobs must be a positive integer/);
  });

  it('a recognizer that fails is a RecognizerError with its exit code and log', async () => {
    const fake = path.join(dir, 'bin');
    mkdirSync(fake);
    writeFileSync(path.join(fake, 'pocketsphinx_batch'), '#!/bin/sh\necho "ERROR: acoustic model broken" >&2\nexit 3\n', { mode: 0o755 });
    await expect(transcribeWavFiles(files, { env: { ...process.env, PATH: fake } })).rejects.toThrow(/pocketsphinx_batch exited with 3/);
  });
});

describe('a process killed during a batch run (the built @zipper/eval/node, a stand-in recognizer)', () => {
  it('SIGTERM: the recognizers end and the temporary folder of links is removed; the process ends by SIGTERM', async () => {
    const dist = fileURLToPath(new URL('../dist/node.js', import.meta.url));
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build first (npx turbo run build --filter=@zipper/eval)`);
    const tag = `${40 + Math.floor(Math.random() * 1000)}.${process.pid}`;
    const fake = path.join(dir, 'slow-bin');
    const tmp = path.join(dir, 'tmp'); // TMPDIR of the killed process: where its folder of links goes
    mkdirSync(fake);
    mkdirSync(tmp);
    writeFileSync(path.join(fake, 'pocketsphinx_batch'), `#!/bin/sh\nexec sleep ${tag}\n`, { mode: 0o755 });
    const program = `const { transcribeWavFiles } = await import(${JSON.stringify(dist)}); await transcribeWavFiles(${JSON.stringify(files)}, { jobs: 2 });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
      env: { ...process.env, PATH: `${fake}${path.delimiter}${process.env['PATH'] ?? ''}`, TMPDIR: tmp },
      stdio: 'ignore',
    });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      for (let i = 0; i < 200 && sleeping(tag).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      const during = readdirSync(tmp);
      expect([sleeping(tag).length, during.length]).toEqual([2, 1]); // two jobs, one folder
      expect(during[0]).toMatch(/^zipper-pocketsphinx-/);
      child.kill('SIGTERM');
      expect(await ended).toBe('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      expect([sleeping(tag).length, readdirSync(tmp)]).toEqual([0, []]);
    } finally {
      child.kill('SIGKILL');
      sleeping(tag).forEach((p) => process.kill(p, 'SIGKILL'));
    }
  });
});

describe('parseBatchHypotheses', () => {
  it('reads words and utterance ids, empty hypotheses included', () => {
    const m = parseBatchHypotheses('the cat  SAT (u0 -1234)\n (u1 -5)\nno id here\nhello (u12 0)\n');
    expect([...m]).toEqual([
      ['u0', 'the cat sat'],
      ['u1', ''],
      ['u12', 'hello'],
    ]);
  });
});
