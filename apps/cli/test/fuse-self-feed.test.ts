// `zipper fuse train --self-feed P`: TTS examples' fed speech units partly the model's own greedy
// predictions in training steps (targets kept), recorded in run.json and its command, exact across
// --until-step and --resume, data-parallel as in-process, refused where it cannot apply. The
// held-out evaluation is as fed: at step 0 it equals a run without it.
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
  data = await tinyData('zipper-fuse-self-feed-test-');
  towers = await saveTinyTowers(data, data);
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const train = (p: LossPoint[]) => p.filter((x) => 'loss' in x);
const held = (p: LossPoint[]) => p.filter((x) => 'heldOut' in x);

const runArgs = (out: string, steps: number) => tinyTtsRunArgs('fuse', towers, data, out, steps);

describe('fuse train --self-feed', () => {
  it('feeds TTS its own predictions in training steps: losses differ from a plain run, held-out at step 0 equal; data-parallel follows it; recorded; resumed = uninterrupted', async () => {
    const plain = await runZipper(runArgs('plain', 4));
    expect(plain.code, plain.stderr).toBe(0);
    const fed = await runZipper([...runArgs('fed', 4), '--self-feed', '0.5']);
    expect(fed.code, fed.stderr).toBe(0);
    const a = readLosses(path.join(data, 'plain'));
    const b = readLosses(path.join(data, 'fed'));
    expect(held(b)[0]).toEqual(held(a)[0]); // step 0: the same model on the same held-out set, fed as it is
    expect(train(b)[0]!.loss).not.toBeCloseTo(train(a)[0]!.loss, 4); // step 1 fed the model's own units
    // data-parallel (--workers 1): the replica feeds the same predictions; the curve follows the
    // in-process one (float summation order only), while the plain run's is further off than that
    const dp = await runZipper([...runArgs('fed-dp', 4), '--self-feed', '0.5', '--workers', '1']);
    expect(dp.code, dp.stderr).toBe(0);
    const gap = (x: LossPoint[]) => Math.max(...train(x).map((p, i) => Math.abs(p.loss - train(b)[i]!.loss)));
    const c = readLosses(path.join(data, 'fed-dp'));
    expect(train(c)).toHaveLength(train(b).length);
    expect(gap(c)).toBeLessThan(1e-4);
    expect(gap(a)).toBeGreaterThan(1e-3);
    const run = JSON.parse(readFileSync(path.join(data, 'fed', 'run.json'), 'utf8')) as FuseRun;
    expect(run.model.selfFeed).toBe(0.5);
    expect(run.command).toContain('--self-feed 0.5');
    expect(recipeExtras(run)).toContain('self-feed 0.5');
    // stopped at step 2, resumed: every loss equals the uninterrupted run's
    const first = await runZipper([...runArgs('resumed', 4), '--self-feed', '0.5', '--until-step', '2']);
    expect(first.code, first.stderr).toBe(0);
    const refused = await runZipper(['fuse', 'train', '--out', path.join(data, 'resumed'), '--resume', '--self-feed', '0.2']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--self-feed cannot change on resume/);
    const rest = await runZipper(['fuse', 'train', '--out', path.join(data, 'resumed'), '--resume', '--workers', '0', '--no-progress']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(readLosses(path.join(data, 'resumed'))).toEqual(b);
  }, 240_000);

  it('refuses a rate outside [0, 1], a run without TTS, and the single decoder', async () => {
    const base = ['fuse', 'train', ...tinyRunArgs(towers, data), '--workers', '0', '--no-progress'];
    const over = await runZipper([...base, '--out', path.join(data, 'never-1'), '--self-feed', '1.5']);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/--self-feed must be a number in \[0, 1\], got "1.5"/);
    const asr = await runZipper([...base, '--out', path.join(data, 'never-asr'), '--tasks', 'asr', '--self-feed', '0.1']);
    expect(asr.code).toBe(2);
    expect(asr.stderr).toMatch(/--self-feed feeds TTS examples their own predicted speech; this run has none \(--tasks, --mix\)/);
    const single = await runZipper(['baseline', ...base.slice(1), '--out', path.join(data, 'never-single'), '--self-feed', '0.1']);
    expect(single.code).toBe(2);
    expect(single.stderr).toMatch(/--self-feed/);
  }, 120_000);
});
