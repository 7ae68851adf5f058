// Issue 9, reliability defect 1: a WAV header's sample rate and a units file's "samples" are
// bounded by what the file can honestly hold. Before: a 100 KB WAV claiming 1 Hz resampled to
// ~14 h of audio (90+ s, 1+ GB); "samples": 3e8 took 41 s and 5.9 GB, 1e12 was a raw RangeError.
// Now each is a typed one-line error, exit 1, in well under a second of work.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readWav, writeWav } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, STACK_LINE } from './cli-harness.js';

const TOKENIZER = path.resolve('packages/speech/assets/speech-units-default');
let tmp = '';
const at = (...p: string[]) => path.join(tmp, ...p);

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-units-bounds-'));
  // 100 KB of 16-bit mono audio, then the header's rate (bytes 24..27) set to 1 Hz
  const bytes = writeWav(
    Float32Array.from({ length: 50_000 }, (_, i) => 0.3 * Math.sin(i / 7)),
    16000,
    'pcm16',
  );
  new DataView(bytes.buffer).setUint32(24, 1, true);
  await fs.writeFile(at('rate1.wav'), bytes);
  await fs.writeFile(
    at('speech.wav'),
    writeWav(
      Float32Array.from({ length: 8000 }, (_, i) => 0.3 * Math.sin(i / 5) * Math.sin(i / 900)),
      16000,
      'pcm16',
    ),
  );
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('units: bounds from the input', () => {
  it('a WAV whose header says 1 Hz is a WavSampleRateError, not hours of resampling', async () => {
    const t0 = performance.now();
    const r = await runCli(['units', 'encode', '--tokenizer', TOKENIZER, '--in', at('rate1.wav')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/WavSampleRateError: the "fmt " chunk's sample rate 1 Hz is outside 1000\.\.384000 Hz/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('"samples" beyond what the units stand for is a UnitLengthError; an honest count decodes to exactly that length', async () => {
    const enc = await runCli(['units', 'encode', '--tokenizer', TOKENIZER, '--in', at('speech.wav'), '--out', at('units.json')]);
    expect(enc.code).toBe(0);
    const units = JSON.parse(await fs.readFile(at('units.json'), 'utf8')) as { units: number[]; samples: number };
    expect(units.samples).toBe(8000);
    for (const samples of [3e8, 1e12, -5, 12.5]) {
      await fs.writeFile(at('bad.json'), JSON.stringify({ ...units, samples }));
      const t0 = performance.now();
      const r = await runCli(['units', 'decode', '--tokenizer', TOKENIZER, '--in', at('bad.json'), '--out', at('bad.wav'), '--gl', '2']);
      expect({ samples, code: r.code }).toEqual({ samples, code: 1 });
      expect(r.stderr).toMatch(
        new RegExp(
          `UnitLengthError: length \\(the "samples" of a units file\\) is ${samples}, but ${units.units.length} units at 320 samples each stand for at most ${(units.units.length + 1) * 320}`,
        ),
      );
      expect(r.stderr).not.toMatch(STACK_LINE);
      expect(existsSync(at('bad.wav'))).toBe(false);
      expect(performance.now() - t0).toBeLessThan(5_000);
    }
    const ok = await runCli(['units', 'decode', '--tokenizer', TOKENIZER, '--in', at('units.json'), '--out', at('back.wav'), '--gl', '2']);
    expect(ok.code).toBe(0);
    expect(readWav(await fs.readFile(at('back.wav'))).channels[0]!.length).toBe(8000);
  });
});
