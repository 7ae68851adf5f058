// Options that were silently ignored or misleading (issue 9, reliability defect 8), each through
// main() in-process: --resume refuses options that would change the run and says when a run is
// complete; --init refuses architecture options; another vocabulary is named on resume; a damaged
// newest checkpoint points at --from-step N, which resumes from it exactly; demo --steps 5 works;
// run.json values are reported as JSON spells them.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, STACK_LINE } from './cli-harness.js';

let tmp = '';
let ids = '';
const at = (...p: string[]) => path.join(tmp, ...p);
const corpus = () =>
  Array.from({ length: 5 }, (_, s) => Array.from({ length: 11 + 2 * s }, (_, i) => (5 * i + 2 * s + ((i * i) % 3)) % 13));
const RUN = [
  '--steps',
  '4',
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
  '--layers',
  '1',
  '--workers',
  '0',
  '--log-every',
  '1',
  '--json',
];

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-cli-options-'));
  ids = at('ids.txt');
  await fs.writeFile(
    ids,
    corpus()
      .map((s) => s.join(' '))
      .join('\n') + '\n',
  );
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function ok(argv: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await runCli(argv);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: r.stderr });
  return r;
}

async function fails(argv: string[], code: number, pattern: RegExp): Promise<void> {
  const r = await runCli(argv);
  expect({ code: r.code, argv }).toEqual({ code, argv });
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(STACK_LINE);
}

const losses = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const { step, loss, lr, gradNorm } = JSON.parse(l) as { step: number; loss: number; lr: number; gradNorm: number }; // not tokensPerSecond
      return { step, loss, lr, gradNorm };
    });

describe('train options', () => {
  it('--resume refuses options that would change the run, and says when the run is complete', async () => {
    const out = at('done');
    await ok(['train', '--ids', ids, '--out', out, ...RUN]);
    await fails(
      ['train', '--out', out, '--resume', '--steps', '400', '--lr', '5'],
      2,
      /--steps, --lr cannot change on resume \(the loss curve would differ\)\. To train further or differently, start a new run from its tower: zipper train --init .*done\/tower/,
    );
    const r = await ok(['train', '--out', out, '--resume', '--workers', '0']);
    expect(r.stderr).toMatch(/the run in .*done is complete: step 4 of --steps 4 \(run\.json\); nothing to train/);
    expect(losses(r.stdout)).toEqual([]);
  });

  it('--init refuses architecture options and windows longer than the tower', async () => {
    const out = at('base');
    await ok(['train', '--ids', ids, '--out', out, ...RUN]);
    await fails(
      ['train', '--ids', ids, '--out', at('ft'), '--init', path.join(out, 'tower'), '--d', '128'],
      2,
      /--init takes the architecture .* from the tower in .*; drop --d/,
    );
    await fails(
      ['train', '--ids', ids, '--out', at('ft'), '--init', path.join(out, 'tower'), '--vocab', '20', '--heads', '4'],
      2,
      /drop --heads, --vocab/,
    );
    await fails(
      ['train', '--ids', ids, '--out', at('ft'), '--init', path.join(out, 'tower'), '--seq', '64'],
      2,
      /--seq 64 is longer than the --init tower's maxSeqLen 7/,
    );
    await fails(['train', '--ids', ids, '--out', at('ft'), '--init', at('no-tower')], 2, /--init .*no-tower: no checkpoint directory/);
    // a fine-tune with compatible options runs
    await ok([
      'train',
      '--ids',
      ids,
      '--out',
      at('ft'),
      '--init',
      path.join(out, 'tower'),
      '--steps',
      '1',
      '--seq',
      '7',
      '--batch',
      '2',
      '--workers',
      '0',
      '--json',
    ]);
  });

  it('resuming with ids of another vocabulary names the cause', async () => {
    const out = at('vocab');
    await ok(['train', '--ids', ids, '--out', out, ...RUN, '--steps', '2']);
    const wide = at('wide.txt');
    await fs.writeFile(
      wide,
      corpus()
        .map((s) => s.map((x) => x + 7).join(' '))
        .join('\n') + '\n',
    );
    await fails(
      ['train', '--out', out, '--resume', '--ids', wide],
      2,
      /id 19 in .*wide\.txt is outside this run's vocabulary of 13 \(ids 0\.\.12, from .*run\.json\)/,
    );
  });

  it('a damaged newest checkpoint points at --from-step, which resumes from the older one exactly', async () => {
    const straight = at('straight');
    const a = losses((await ok(['train', '--ids', ids, '--out', straight, ...RUN])).stdout);
    const out = at('damaged');
    await ok(['train', '--ids', ids, '--out', out, ...RUN]);
    await fs.rm(path.join(out, 'tower'), { recursive: true });
    const weights = path.join(out, 'train', 'step-00000004', 'model.safetensors');
    const bytes = await fs.readFile(weights);
    bytes[bytes.length - 1]! ^= 0x40; // one flipped bit
    await fs.writeFile(weights, bytes);
    await fails(
      ['train', '--out', out, '--resume', '--workers', '0'],
      1,
      /step-00000004\/model\.safetensors: sha256 does not match trainer\.json.*; to resume from an older checkpoint pass --from-step 2 \(saved steps: 2\)/,
    );
    await fails(
      ['train', '--out', out, '--resume', '--from-step', '3'],
      2,
      /--from-step 3: no checkpoint .*step-00000003; saved steps: 2, 4/,
    );
    await fails(
      ['train', '--ids', ids, '--out', at('x'), '--from-step', '2'],
      2,
      /--from-step N picks the checkpoint to --resume from; it needs --resume/,
    );
    // --workers 0 as in RUN: the default worker would sum gradients in another order (README, --workers)
    const b = losses(
      (await ok(['train', '--out', out, '--resume', '--from-step', '2', '--workers', '0', '--log-every', '1', '--json'])).stdout,
    );
    expect(b.map((x) => x.step)).toEqual([3, 4]);
    expect(b).toEqual(a.slice(2)); // the straight run's curve, bit for bit
    const [x, y] = await Promise.all([straight, out].map((d) => fs.readFile(path.join(d, 'tower', 'model.safetensors'))));
    expect(Buffer.compare(x!, y!)).toBe(0);
  });

  it('run.json values are reported as JSON spells them', async () => {
    const out = at('typed');
    await ok(['train', '--ids', ids, '--out', out, ...RUN, '--steps', '2']);
    const run = JSON.parse(await fs.readFile(path.join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(run['vocab']).toBe(13); // resolved when the run started
    await fs.writeFile(path.join(out, 'run.json'), JSON.stringify({ ...run, d: '64' }));
    await fails(['train', '--out', out, '--resume'], 1, /run\.json: "d" must be an integer >= 2, got "64" \(a string\)/);
    await fs.writeFile(path.join(out, 'run.json'), JSON.stringify({ ...run, lr: null }));
    await fails(['train', '--out', out, '--resume'], 1, /run\.json: "lr" must be a number >= 0, got null/);
  });
});

describe('demo and info options', () => {
  it('demo --steps 5 trains 5 steps (the warmup fits the run)', async () => {
    const r = await ok(['demo', '--steps', '5', '--vocab', '300', '--out', at('demo')]);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      steps: number;
      heldout_loss_after: number;
      heldout_loss_before: number;
    };
    expect(summary.steps).toBe(5);
    expect(summary.heldout_loss_after).toBeLessThan(summary.heldout_loss_before);
  });
});
