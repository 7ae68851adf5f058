// `zipper baseline train --workers N` on data-parallel workers (a `SingleDecoder` replica in each
// worker, `singleDecoderDataParallel`), on a tiny data build with tiny fresh towers: 1 worker
// gives the in-process run's losses (float summation order only) and tokens; a worker run killed
// (SIGKILL) and resumed with the same worker count equals an uninterrupted one bit for bit. The
// workers load the BUILT packages (packages/core/dist, packages/fuse/dist): `npx turbo run build` first.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LossPoint } from '../src/progress/index.js';
import { killAfterSteps, readLosses, runZipper, saveTinyTowers, summaryOf, tinyData, tinyRunArgs } from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-baseline-workers-test-');
  towers = await saveTinyTowers(data, data);
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

/** 12 steps of 4 examples, a checkpoint every 4 steps, held out every 8. */
const args = (out: string, workers: number) => [
  'baseline',
  'train',
  ...tinyRunArgs(towers, data),
  '--steps',
  '12',
  '--every',
  '4',
  '--eval-every',
  '8',
  '--lr',
  '1e-2',
  '--workers',
  String(workers),
  '--no-progress',
  '--out',
  out,
];
type Train = Extract<LossPoint, { loss: number }>;
type Held = Extract<LossPoint, { heldOut: number }>;
const trainPoints = (out: string) => readLosses(out).filter((p): p is Train => 'loss' in p);
const heldPoints = (out: string) => readLosses(out).filter((p): p is Held => 'heldOut' in p);
const sessionWorkers = (out: string) =>
  readFileSync(path.join(out, 'sessions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { workers: number }).workers);

describe('zipper baseline train --workers', () => {
  it('1 worker: the losses of the in-process run per stream within 1e-4, and its tokens', async () => {
    const single = path.join(data, 'baseline-0');
    const dp = path.join(data, 'baseline-1');
    const a = await runZipper(args(single, 0));
    expect(a.code, a.stderr).toBe(0);
    const b = await runZipper(args(dp, 1));
    expect(b.code, b.stderr).toBe(0);
    expect(summaryOf(b)).toMatchObject({ kind: 'baseline', step: 12, finished: true, workers: 1 });
    expect(b.stderr).toMatch(/workers 1/);
    expect(sessionWorkers(dp)).toEqual([1]);
    expect(sessionWorkers(single)).toEqual([0]);
    const mine = trainPoints(dp);
    const ref = trainPoints(single);
    expect(mine.map((p) => p.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(mine.map((p) => p.tokens)).toEqual(ref.map((p) => p.tokens));
    mine.forEach((p, i) => {
      expect(Math.abs(p.loss - ref[i]!.loss), `step ${p.step}`).toBeLessThan(1e-4);
      for (const s of ['text', 'speech'])
        if (ref[i]!.streams?.[s] !== undefined)
          expect(Math.abs(p.streams![s]! - ref[i]!.streams![s]!), `step ${p.step} ${s}`).toBeLessThan(1e-4);
    });
    const h = heldPoints(dp);
    const hr = heldPoints(single);
    expect(h.map((p) => p.step)).toEqual([0, 8, 12]);
    h.forEach((p, i) => expect(Math.abs(p.heldOut - hr[i]!.heldOut), `held out at ${p.step}`).toBeLessThan(1e-4));
  }, 240_000);

  it('a worker run killed (SIGKILL) and resumed with 1 worker equals an uninterrupted worker run, bit for bit', async () => {
    const straight = path.join(data, 'baseline-1'); // the uninterrupted 1-worker run above
    expect(existsSync(path.join(straight, 'model', 'model.safetensors'))).toBe(true);
    const killed = path.join(data, 'baseline-1-killed');
    await killAfterSteps(args(killed, 1), killed, 6); // killed mid-run, after the step-4 checkpoint
    const r = await runZipper(['baseline', 'train', '--out', killed, '--resume', '--workers', '1', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resumed from .*step-0000000[48] \(step [48] of 12\)/);
    expect(summaryOf(r)).toMatchObject({ kind: 'baseline', step: 12, finished: true, workers: 1 });
    expect(readLosses(killed)).toEqual(readLosses(straight));
    for (const f of ['train/step-00000012/model.safetensors', 'model/model.safetensors'])
      expect(Buffer.compare(readFileSync(path.join(killed, f)), readFileSync(path.join(straight, f))), f).toBe(0);
    expect(sessionWorkers(killed).at(-1)).toBe(1);
  }, 240_000);
});
