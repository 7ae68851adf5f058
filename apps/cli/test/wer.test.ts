// `zipper wer`: scores two files line by line; --json's last line holds the counts.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/command.js';
import { wer } from '../src/commands/wer.js';

let tmp = '';
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-wer-cli-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (x: unknown) => void lines.push(String(x));
  try {
    return { code: await wer.run(argv), lines };
  } finally {
    console.log = log;
  }
}

describe('zipper wer', () => {
  it('prints the corpus counts as JSON on its last line', async () => {
    const ref = path.join(tmp, 'ref.txt');
    const hyp = path.join(tmp, 'hyp.txt');
    await fs.writeFile(ref, 'a b c d\nthe cat sat\n\n');
    await fs.writeFile(hyp, 'a x c\nThe cat sat on\nextra\n');
    const { code, lines } = await run(['--ref', ref, '--hyp', hyp, '--json']);
    expect(code).toBe(0);
    const last = JSON.parse(lines.at(-1)!) as Record<string, number>;
    // a b c d / a x c: 1 sub 1 del; the cat sat / the cat sat on: 1 ins; "" / extra: 1 ins
    expect(last).toEqual({ wer: 4 / 7, cer: last.cer, words: 7, sub: 1, del: 1, ins: 2 });
    // characters: abcd/axc (1 sub, 1 del), thecatsat/thecatsaton (2 ins), ""/extra (5 ins) over 13
    expect(last.cer).toBeCloseTo(9 / 13, 12);
  });

  it('refuses files of different line counts and invalid UTF-8 with usage errors', async () => {
    const ref = path.join(tmp, 'r2.txt');
    const hyp = path.join(tmp, 'h2.txt');
    await fs.writeFile(ref, 'one\ntwo\n');
    await fs.writeFile(hyp, 'one\n');
    await expect(run(['--ref', ref, '--hyp', hyp])).rejects.toThrow(/2 lines but --hyp has 1/);
    await fs.writeFile(hyp, Buffer.from([0x61, 0xff, 0x0a, 0x62, 0x0a]));
    await expect(run(['--ref', ref, '--hyp', hyp])).rejects.toThrow(UsageError);
    await expect(run(['--ref', ref])).rejects.toThrow(/--ref and --hyp are required/);
  });
});
