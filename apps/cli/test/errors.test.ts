// Everyday mistakes get one line and an exit code (2: usage, 1: runtime), never a stack trace
// (issue 9, reliability defect 2). Every case runs in-process through main(), the function bin.ts
// calls; `spawn.test` in fuzz.test.ts checks the real process exit codes.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckpointError, initBackend } from '@zipper/core';
import { saveTextTokenizer, trainBpe, writeWav } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { reportError } from '../src/main.js';
import { runCli, STACK_LINE, stdinBox } from './cli-harness.js';

vi.mock('../src/args.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../src/args.js')>()),
  readStdin: () => stdinBox.data,
}));

let tmp = '';
let ids = '';
let wav = '';
let tokDir = '';
const at = (...p: string[]) => path.join(tmp, ...p);

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-cli-errors-'));
  ids = at('ids.txt');
  await fs.writeFile(ids, '1 2 3 4 5 6 7 8 9 10 11 12\n3 4 5 6 7 8 9 1 2\n');
  wav = at('a.wav');
  await fs.writeFile(
    wav,
    writeWav(
      Float32Array.from({ length: 1600 }, (_, i) => 0.3 * Math.sin(i / 5)),
      16000,
      'pcm16',
    ),
  );
  tokDir = at('bpe');
  await saveTextTokenizer(trainBpe(['was as it was said, as it was'], { vocabSize: 270 }), tokDir);
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Runs argv and checks: exit code, no stack, stderr matches. */
async function expectError(argv: string[], code: number, message: RegExp, stdin = ''): Promise<string> {
  const r = await runCli(argv, stdin);
  expect({ code: r.code, argv }).toEqual({ code, argv });
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(STACK_LINE);
  expect(r.stderr.startsWith('zipper: ')).toBe(true);
  return r.stderr;
}

describe('one-line errors instead of stack traces', () => {
  it('train: unknown option, bad number, stray argument, missing ids file -> usage error, exit 2', async () => {
    await expectError(['train', '--bogus'], 2, /Unknown option '--bogus'/);
    await expectError(['train', '--ids', ids, '--out', at('r0'), '--steps=-5'], 2, /--steps must be an integer >= 1, got "-5"/);
    await expectError(['train', '--ids', ids, '--out', at('r0'), '--steps', '-5'], 2, /--steps must be an integer >= 1, got "-5"/); // "--steps -5" reads as --steps=-5
    await expectError(['train', '--steps', '-x'], 2, /argument is ambiguous/); // parseArgs' own word for "-x", still one usage error
    await expectError(['train', 'foo'], 2, /unexpected argument "foo"/);
    await expectError(
      ['train', '--ids', at('missing.txt'), '--out', at('r0')],
      2,
      /cannot read --ids .*missing\.txt: no such file or folder \(ENOENT\)/,
    );
    await expectError(['train', '--ids', tmp, '--out', at('r0')], 2, /cannot read --ids .*: is a folder, not a file \(EISDIR\)/);
  });

  it('train: an id of 1000000000 names the tower size instead of a RangeError', async () => {
    const big = at('big-ids.txt');
    await fs.writeFile(big, '1 2 3 1000000000 4 5\n');
    await expectError(
      ['train', '--ids', big, '--out', at('r-big')],
      2,
      /vocabulary 1000000001 \(max id 1000000000 \+ 1 in .*big-ids\.txt\).* parameters, more than this command trains/,
    );
    // found by fuzz.test.ts (seed 3): 2e8 attention scores per layer took 49 s, grew the heap to 4 GB and left the engine aborting
    await expectError(
      ['train', '--ids', ids, '--out', at('r-big'), '--seq', '5000', '--batch', '2', '--heads', '4', '--layers', '1'],
      2,
      /--layers 1 x --batch 2 x --heads 4 x --seq 5000\^2 = 2\.00e\+8 attention scores per step, more than 67108864/,
    );
    await fs.writeFile(big, '1 2 3 4294967301 4 5\n');
    await expectError(
      ['train', '--ids', big, '--out', at('r-big')],
      2,
      /sequence 1 holds 4294967301; ids must be integers in \[0, 2147483647\]/,
    );
    await fs.writeFile(big, '1 2 x3 4\n');
    await expectError(['train', '--ids', big, '--out', at('r-big')], 2, /sequence 1 holds "x3" \(a string\)/);
  });

  it('train --resume with a run.json of {} names the missing field', async () => {
    await fs.mkdir(at('r-empty'), { recursive: true });
    await fs.writeFile(at('r-empty', 'run.json'), '{}');
    await expectError(
      ['train', '--out', at('r-empty'), '--resume'],
      1,
      /CheckpointError: .*run\.json: "ids" must be a file path \(a non-empty string\), got nothing \(the field is missing\)/,
    );
    await fs.writeFile(at('r-empty', 'run.json'), '{"ids": "x", "d": "64"');
    await expectError(['train', '--out', at('r-empty'), '--resume'], 1, /run\.json: not valid JSON/);
  });

  it('units: missing or folder WAV, missing output folder, malformed JSON and JSONL', async () => {
    await expectError(['units', 'encode', '--in', at('nope.wav')], 2, /cannot read --in .*nope\.wav: no such file or folder \(ENOENT\)/);
    await expectError(['units', 'encode', '--in', at('dir.wav')], 2, /cannot read --in .*dir\.wav: no such file/);
    await fs.mkdir(at('folder.wav'));
    await expectError(['units', 'encode', '--in', at('folder.wav')], 2, /cannot read --in .*folder\.wav: not a regular file/);
    await expectError(
      ['units', 'resynth', '--in', wav, '--out', '/nodir/x.wav'],
      2,
      /cannot write --out \/nodir\/x\.wav: the folder \/nodir does not exist/,
    );
    await fs.writeFile(at('bad.json'), '{"units": [1, 2');
    await expectError(['units', 'decode', '--in', at('bad.json'), '--out', at('b.wav')], 2, /--in .*bad\.json: not valid JSON/);
    await fs.writeFile(at('bad.jsonl'), '{"path": "a.wav"}\n{"path": \n');
    await expectError(['units', 'train', '--in', at('bad.jsonl'), '--out', at('units')], 2, /bad\.jsonl:2: not valid JSON/);
    await fs.writeFile(at('null.jsonl'), 'null\n');
    await expectError(['units', 'train', '--in', at('null.jsonl'), '--out', at('units')], 2, /cannot read --in .*null|null\.jsonl:1/);
  });

  it('bpe: missing input file, truncated JSON on stdin, non-id items', async () => {
    await expectError(
      ['bpe', 'encode', '--tokenizer', tokDir, '--in', at('missing')],
      2,
      /cannot read --in .*missing: no such file or folder \(ENOENT\)/,
    );
    await expectError(['bpe', 'decode', '--tokenizer', tokDir], 2, /standard input: not valid JSON/, '[1,2\n');
    await expectError(['bpe', 'decode', '--tokenizer', tokDir], 2, /standard input: item 2 is "x" \(a string\)/, '[1,"x"]');
    await expectError(['bpe', 'decode', '--tokenizer', tokDir], 2, /standard input: item 3 is "-1"/, '4 5 -1');
    await expectError(['bpe', 'encode', '--tokenizer', at('no-tokenizer')], 1, /TokenizerFormatError: .*cannot read/);
  });

  it('a disk full during a save is one typed line that says the old checkpoint is intact', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    const typed = new CheckpointError(
      `cannot save the training checkpoint /r/step-4: no space left on the device (ENOSPC); the checkpoints saved before are intact`,
      { cause: enospc },
    );
    expect(reportError(typed)).toEqual({ code: 1, message: `zipper: CheckpointError: ${typed.message}` });
    // an untyped system error still gets one line (plus the debug hint), exit 1
    const raw = reportError(Object.assign(enospc, { path: '/r/x' }));
    expect(raw.code).toBe(1);
    expect(raw.message).toBe('zipper: write /r/x failed: no space left on the device (ENOSPC)\n(run with ZIPPER_DEBUG=1 for the stack)');
  });

  it('unknown errors: one line and the ZIPPER_DEBUG hint; with ZIPPER_DEBUG=1 the stack', () => {
    const r = reportError(new RangeError('Invalid typed array length: 64000000000'));
    expect(r).toEqual({
      code: 1,
      message: 'zipper: unexpected error: RangeError: Invalid typed array length: 64000000000\n(run with ZIPPER_DEBUG=1 for the stack)',
    });
    vi.stubEnv('ZIPPER_DEBUG', '1');
    try {
      expect(reportError(new RangeError('boom')).message).toMatch(STACK_LINE);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('info and unknown commands refuse unknown options', async () => {
    await expectError(['info', '--bogus'], 2, /Unknown option '--bogus'/);
    await expectError(['info', 'extra'], 2, /unexpected argument "extra"/);
    expect((await runCli(['info', '--help'])).code).toBe(0);
    expect((await runCli(['nope'])).code).toBe(2);
  });
});
