// `zipper train --workers N`: data-parallel training gives the in-process loss curve (within a
// float-summation tolerance), a run resumes with another worker count, bad counts are refused.
// The workers run the built @zipper/core (packages/core/dist/worker.js): `npx turbo run build` first.
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
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-train-workers-'));
  await fs.writeFile(
    path.join(tmp, 'ids.txt'),
    corpus()
      .map((s) => s.join(' '))
      .join('\n') + '\n',
  );
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function losses(argv: string[]): Promise<{ step: number; loss: number }[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (x: unknown) => void lines.push(String(x));
  try {
    expect(await trainCommand.run(argv)).toBe(0);
  } finally {
    console.log = log;
  }
  return lines.map((l) => {
    const { step, loss } = JSON.parse(l) as Record<string, number>;
    return { step: step!, loss: loss! };
  });
}

describe('zipper train --workers', () => {
  const args = (out: string, workers: number) => [
    '--ids',
    path.join(tmp, 'ids.txt'),
    '--out',
    out,
    '--steps',
    '6',
    '--every',
    '3',
    '--keep',
    '0',
    '--seq',
    '7',
    '--batch',
    '5',
    '--d',
    '12',
    '--heads',
    '2',
    '--log-every',
    '1',
    '--json',
    '--workers',
    String(workers),
  ];

  it('1 worker follows the in-process loss curve (|diff| < 1e-4); a run resumes with another count', async () => {
    const single = await losses(args(path.join(tmp, 'w0'), 0));
    const parallel = await losses(args(path.join(tmp, 'w1'), 1));
    expect(parallel.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 6; i++) expect(Math.abs(parallel[i]!.loss - single[i]!.loss), `step ${i + 1}`).toBeLessThan(1e-4);
    expect(parallel[5]!.loss).toBeLessThan(parallel[0]!.loss);
    // Lose the last checkpoint and the tower, resume the in-process run with 2 workers.
    for (const d of ['train/step-00000006', 'tower']) await fs.rm(path.join(tmp, 'w0', d), { recursive: true });
    const resumed = await losses(['--out', path.join(tmp, 'w0'), '--resume', '--log-every', '1', '--json', '--workers', '2']);
    expect(resumed.map((r) => r.step)).toEqual([4, 5, 6]);
    for (let i = 0; i < 3; i++) expect(Math.abs(resumed[i]!.loss - single[i + 3]!.loss)).toBeLessThan(1e-4);
  });

  it('refuses a worker count that is not an integer >= 0', async () => {
    await expect(trainCommand.run(args(path.join(tmp, 'bad'), 1.5))).rejects.toThrow(/--workers must be an integer >= 0/);
  });
});
