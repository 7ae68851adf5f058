// `zipper train`: a run that died after a checkpoint, resumed with --resume, continues the exact
// loss curve and ends with a byte-identical tower.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train as trainCommand } from '../src/commands/train.js';

let tmp = '';
const corpus = () =>
  Array.from({ length: 5 }, (_, s) => Array.from({ length: 11 + 2 * s }, (_, i) => (5 * i + 2 * s + ((i * i) % 3)) % 13));

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-train-cli-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('zipper train', () => {
  it('`zipper train` resumes a run exactly: same losses, byte-identical final tower', async () => {
    const ids = path.join(tmp, 'ids.txt');
    await fs.writeFile(
      ids,
      corpus()
        .map((s) => s.join(' '))
        .join('\n') + '\n',
    );
    const args = (out: string) => [
      '--ids',
      ids,
      '--out',
      out,
      '--steps',
      '6',
      '--every',
      '2',
      '--keep',
      '0',
      '--seq',
      '7',
      '--batch',
      '2',
      '--d',
      '12',
      '--heads',
      '2',
      '--log-every',
      '1',
      '--json',
    ];
    const lines: string[] = [];
    const log = console.log;
    console.log = (x: unknown) => void lines.push(String(x));
    try {
      const losses = async (argv: string[]) => {
        lines.length = 0;
        expect(await trainCommand.run(argv)).toBe(0);
        return lines.map((l) => {
          const { step, loss, lr, gradNorm } = JSON.parse(l) as Record<string, number>; // not tokensPerSecond
          return { step, loss, lr, gradNorm };
        });
      };
      const straight = await losses(args(path.join(tmp, 'cli-a')));
      await losses(args(path.join(tmp, 'cli-b')));
      // Lose the last two checkpoints and the final tower, as if the run had died after step 2.
      for (const d of ['train/step-00000004', 'train/step-00000006', 'tower']) await fs.rm(path.join(tmp, 'cli-b', d), { recursive: true });
      const resumed = await losses(['--out', path.join(tmp, 'cli-b'), '--resume', '--log-every', '1', '--json']);
      expect(resumed.map((r) => r.step)).toEqual([3, 4, 5, 6]);
      expect(resumed).toEqual(straight.slice(2));
    } finally {
      console.log = log;
    }
    const a = await fs.readFile(path.join(tmp, 'cli-a', 'tower', 'model.safetensors'));
    const b = await fs.readFile(path.join(tmp, 'cli-b', 'tower', 'model.safetensors'));
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('refuses to overwrite a run and explains --resume', async () => {
    const ids = path.join(tmp, 'ids.txt');
    await expect(trainCommand.run(['--ids', ids, '--out', path.join(tmp, 'cli-a')])).rejects.toThrow(/already holds a run; pass --resume/);
    await expect(trainCommand.run(['--out', path.join(tmp, 'none'), '--resume'])).rejects.toThrow(/no .*run.json/);
  });
});
