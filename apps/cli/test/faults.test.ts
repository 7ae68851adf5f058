// Faults from outside through the whole CLI (issue 9, reliability defects 2 and 3): a disk that
// fills up during a checkpoint save (ENOSPC injected into the atomic directory write) gives one
// typed line, exit 1, and the run resumes from the intact checkpoint; `bpe encode` refuses invalid
// UTF-8 naming the byte offset, unless --lossy.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { saveTextTokenizer, trainBpe } from '@zipper/tokenizers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli, STACK_LINE, stdinBox } from './cli-harness.js';

/** When set, the next directory write whose target matches fails with ENOSPC half-way through a file. */
const fault = vi.hoisted(() => ({ target: undefined as RegExp | undefined }));

vi.mock('../src/args.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../src/args.js')>()),
  readStdin: () => stdinBox.data,
}));
vi.mock('@zipper/common/node', async (importOriginal) => {
  const real = await importOriginal<typeof import('@zipper/common/node')>();
  return {
    ...real,
    writeDirAtomic: (dir: string, files: Parameters<typeof real.writeDirAtomic>[1], hook?: (s: string) => void) =>
      real.writeDirAtomic(dir, files, (stage) => {
        hook?.(stage);
        if (fault.target?.test(dir) && stage === 'partial:model.safetensors') {
          fault.target = undefined;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
        }
      }),
  };
});

let tmp = '';
const at = (...p: string[]) => path.join(tmp, ...p);

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-cli-faults-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('faults through the CLI', () => {
  it('a disk full while saving step 4: one typed line, exit 1, the run resumes from step 2', async () => {
    const ids = at('ids.txt');
    await fs.writeFile(
      ids,
      Array.from({ length: 4 }, (_, s) => Array.from({ length: 12 }, (_, i) => (3 * i + s) % 11).join(' ')).join('\n'),
    );
    const out = at('run');
    fault.target = /step-00000004$/;
    const r = await runCli([
      'train',
      '--ids',
      ids,
      '--out',
      out,
      '--steps',
      '4',
      '--every',
      '2',
      '--seq',
      '6',
      '--batch',
      '2',
      '--d',
      '8',
      '--heads',
      '2',
      '--layers',
      '1',
      '--workers',
      '0',
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `zipper: CheckpointError: cannot save the training checkpoint ${path.join(out, 'train', 'step-00000004')}: no space left on the device (ENOSPC); nothing of it was kept and the checkpoints saved before are intact (newest: ${path.join(out, 'train', 'step-00000002')}). Free space and save again, or resume from the newest checkpoint\n`,
    );
    expect((await fs.readdir(path.join(out, 'train'))).sort()).toEqual(['step-00000002']);
    const resumed = await runCli(['train', '--out', out, '--resume', '--workers', '0', '--json', '--log-every', '1']);
    expect(resumed.code).toBe(0);
    expect(
      resumed.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as { step: number }).step),
    ).toEqual([3, 4]);
    expect((await fs.readdir(path.join(out, 'train'))).sort()).toEqual(['step-00000002', 'step-00000004']);
  });

  it('a disk full while saving the final tower says the training checkpoint is kept', async () => {
    const ids = at('ids.txt');
    const out = at('run-tower');
    fault.target = /tower$/;
    const r = await runCli([
      'train',
      '--ids',
      ids,
      '--out',
      out,
      '--steps',
      '2',
      '--every',
      '2',
      '--seq',
      '6',
      '--batch',
      '2',
      '--d',
      '8',
      '--heads',
      '2',
      '--layers',
      '1',
      '--workers',
      '0',
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^zipper: CheckpointError: cannot save the tower to .*run-tower\/tower: no space left on the device \(ENOSPC\); nothing was written to .*\n$/,
    );
    const again = await runCli(['train', '--out', out, '--resume', '--workers', '0']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/is complete: step 2 of --steps 2/);
    await fs.stat(path.join(out, 'tower', 'model.safetensors'));
  });

  it('bpe encode refuses invalid UTF-8 with its byte offset; --lossy encodes it with a warning', async () => {
    const dir = at('bpe');
    await saveTextTokenizer(trainBpe(['abc abc abd'], { vocabSize: 262 }), dir);
    const bad = Buffer.from([0x61, 0x62, 0x63, 0xff]); // printf 'abc\xff'
    const r = await runCli(['bpe', 'encode', '--tokenizer', dir], bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'zipper: TextEncodingError: standard input (pass --lossy to encode invalid bytes as U+FFFD) is not valid UTF-8: byte offset 3 (0xff) does not start a valid UTF-8 character; convert the text to UTF-8 first (e.g. iconv -f latin1 -t utf-8)\n',
    );
    await fs.writeFile(at('bad.txt'), bad);
    expect((await runCli(['bpe', 'encode', '--tokenizer', dir, '--in', at('bad.txt')])).stderr).toMatch(/--in .*bad\.txt .*byte offset 3/);
    const lossy = await runCli(['bpe', 'encode', '--tokenizer', dir, '--lossy'], bad);
    expect(lossy.code).toBe(0);
    expect(lossy.stderr).toMatch(/warning: standard input is not valid UTF-8 \(first at byte offset 3\)/);
    const good = await runCli(['bpe', 'encode', '--tokenizer', dir], 'abc\ufffd');
    expect(lossy.stdout).toBe(good.stdout); // U+FFFD in place of the byte
    expect(good.stderr).toBe('');
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect((await runCli(['bpe', '--help'])).stdout).toMatch(/--lossy/);
  });
});
