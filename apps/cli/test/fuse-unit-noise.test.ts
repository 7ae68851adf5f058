// `zipper fuse train --unit-noise P`: TTS examples' fed speech units corrupted (targets kept),
// recorded in run.json and its command, exact across --until-step and --resume, refused where it
// cannot apply. The held-out evaluation is clean: at step 0 it equals a run without noise.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recipeExtras } from '../src/eval/report-runs.js';
import type { FuseRun } from '../src/fuse/run-file.js';
import type { LossPoint } from '../src/progress/index.js';
import { readLosses, runZipper, saveTinyTowers, tinyData, tinyRunArgs, tinyTtsRunArgs } from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-fuse-unit-noise-test-');
  towers = await saveTinyTowers(data, data);
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const train = (p: LossPoint[]) => p.filter((x) => 'loss' in x);
const held = (p: LossPoint[]) => p.filter((x) => 'heldOut' in x);

const runArgs = (kind: 'fuse' | 'baseline', out: string, steps: number) => tinyTtsRunArgs(kind, towers, data, out, steps);

/** The same run without and with --unit-noise 0.5 (outs PREFIX-plain, PREFIX-noisy): both loss logs and the noisy run's run.json. */
async function plainAndNoisy(kind: 'fuse' | 'baseline', prefix: string, steps: number) {
  const plain = await runZipper(runArgs(kind, `${prefix}plain`, steps));
  expect(plain.code, plain.stderr).toBe(0);
  const noisy = await runZipper([...runArgs(kind, `${prefix}noisy`, steps), '--unit-noise', '0.5']);
  expect(noisy.code, noisy.stderr).toBe(0);
  const run = JSON.parse(readFileSync(path.join(data, `${prefix}noisy`, 'run.json'), 'utf8')) as FuseRun;
  return { a: readLosses(path.join(data, `${prefix}plain`)), b: readLosses(path.join(data, `${prefix}noisy`)), run };
}

describe('fuse train --unit-noise', () => {
  it('corrupts the TTS input only: training losses differ from a clean run, held-out at step 0 equal; recorded; a resumed run equals an uninterrupted one', async () => {
    const { a, b, run } = await plainAndNoisy('fuse', '', 4);
    expect(held(b)[0]).toEqual(held(a)[0]); // step 0: the same model on the same clean held-out set
    expect(train(b)[0]!.loss).not.toBeCloseTo(train(a)[0]!.loss, 4); // step 1 fed other units
    expect(run.recipe.unitNoise).toBe(0.5);
    expect(run.command).toContain('--unit-noise 0.5');
    // stopped at step 2, resumed: every loss equals the uninterrupted run's
    const first = await runZipper([...runArgs('fuse', 'resumed', 4), '--unit-noise', '0.5', '--until-step', '2']);
    expect(first.code, first.stderr).toBe(0);
    const refused = await runZipper(['fuse', 'train', '--out', path.join(data, 'resumed'), '--resume', '--unit-noise', '0.2']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--unit-noise cannot change on resume/);
    const rest = await runZipper(['fuse', 'train', '--out', path.join(data, 'resumed'), '--resume', '--workers', '0', '--no-progress']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(readLosses(path.join(data, 'resumed'))).toEqual(b);
  }, 240_000);

  it('baseline train takes it too: its one stream fed the noisy units, held-out at step 0 equal; the report names it', async () => {
    const { a, b, run } = await plainAndNoisy('baseline', 'single-', 2);
    expect(held(b)[0]).toEqual(held(a)[0]);
    expect(train(b)[0]!.loss).not.toBeCloseTo(train(a)[0]!.loss, 4);
    expect(run.recipe.unitNoise).toBe(0.5);
    expect(recipeExtras(run)).toContain('unit noise 0.5');
  }, 240_000);

  it('refuses a value outside [0, 1) and runs without TTS', async () => {
    const base = ['fuse', 'train', ...tinyRunArgs(towers, data), '--workers', '0', '--no-progress'];
    const one = await runZipper([...base, '--out', path.join(data, 'never-1'), '--unit-noise', '1']);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/--unit-noise takes a probability in \[0, 1\), got "1"/);
    const asr = await runZipper([...base, '--out', path.join(data, 'never-asr'), '--tasks', 'asr', '--unit-noise', '0.1']);
    expect(asr.code).toBe(2);
    expect(asr.stderr).toMatch(/--unit-noise corrupts the speech fed in TTS examples; this run has none \(--tasks, --mix\)/);
  }, 120_000);
});
