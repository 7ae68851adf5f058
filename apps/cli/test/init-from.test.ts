// `zipper fuse train --init-from RUN`: a new run starts from another run's trained weights. Its
// held-out loss before the first step equals the source's last held-out loss exactly (a fresh run
// with the same seed does not); run.json records the source and its weights' sha256; a resume
// before the first checkpoint refuses a source whose weights changed; a source of another kind,
// other towers or other weight keys is one usage error line (exit 2). --reopen-gates X sets the
// source's cross-attention gates to X without changing the model (held-out loss at step 0 within
// float rounding of the source's), and with --freeze-gates holds them there.
import { cpSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelWeightsSha256 } from '../src/fuse/init-from.js';
import type { FuseRun } from '../src/fuse/run-file.js';
import type { LossPoint } from '../src/progress/index.js';
import { readLosses, runZipper, saveTinyTowers, tinyData, tinyRunArgs, weightsOf } from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
const runs = { source: '', other: '' };
type Held = Extract<LossPoint, { heldOut: number }>;
const held = (out: string) => readLosses(out).filter((p): p is Held => 'heldOut' in p);
const runJson = (out: string) => JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as FuseRun;
const common = () => [...tinyRunArgs(towers, data), '--workers', '0', '--no-progress', '--freeze', 'text'];
/** A 2-step `zipper fuse train` with `args`, out `data/out`, started from the source run. */
const fromSource = (args: readonly string[], out: string, ...extra: string[]) =>
  runZipper(['fuse', 'train', ...args, '--out', path.join(data, out), '--steps', '2', '--init-from', runs.source, ...extra]);

beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-init-from-test-');
  towers = await saveTinyTowers(data, data);
  runs.source = path.join(data, 'source');
  runs.other = path.join(data, 'other');
  for (const [out, seed] of [
    [runs.source, '0'],
    [runs.other, '5'],
  ] as const) {
    const r = await runZipper(['fuse', 'train', ...common(), '--out', out, '--seed', seed, '--steps', '6', '--every', '3', '--lr', '1e-2']);
    expect(r.code, r.stderr).toBe(0);
  }
}, 300_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

describe('zipper fuse train --init-from', () => {
  it("starts from the source's weights: held-out loss at step 0 = the source's last; recorded in run.json", async () => {
    const out = path.join(data, 'warm');
    const r = await runZipper([
      'fuse',
      'train',
      ...common(),
      '--out',
      out,
      '--seed',
      '1',
      '--steps',
      '4',
      '--every',
      '2',
      '--init-from',
      runs.source,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const last = held(runs.source).at(-1)!;
    expect(last.step).toBe(6);
    const first = held(out)[0]!;
    expect(first.step).toBe(0);
    expect({ heldOut: first.heldOut, streams: first.streams }).toEqual({ heldOut: last.heldOut, streams: last.streams });
    // a fresh run with the same seed starts elsewhere
    const fresh = path.join(data, 'fresh');
    const f = await runZipper(['fuse', 'train', ...common(), '--out', fresh, '--seed', '1', '--steps', '1', '--every', '1']);
    expect(f.code, f.stderr).toBe(0);
    expect(Math.abs(held(fresh)[0]!.heldOut - last.heldOut)).toBeGreaterThan(1e-3);
    const run = runJson(out);
    expect(run.initFrom).toEqual({ dir: runs.source, sha256: modelWeightsSha256(path.join(runs.source, 'model')) });
    expect(run.command).toContain(`--init-from ${runs.source}`);
  }, 180_000);

  it('--reopen-gates 1 --freeze-gates: step 0 is the source (held-out loss within 1e-5), every cross gate is 1 and stays 1; recorded', async () => {
    const out = path.join(data, 'reopen');
    const r = await fromSource(common(), 'reopen', '--every', '1', '--reopen-gates', '1', '--freeze-gates');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /reopen-gates: 8 cross-attention gates set to tanh 0\.762 \(were -?0\.\d+ to -?0\.\d+\), their output weights rescaled/,
    );
    const last = held(runs.source).at(-1)!;
    const first = held(out)[0]!;
    expect(first.step).toBe(0);
    expect(Math.abs(first.heldOut - last.heldOut)).toBeLessThan(1e-5);
    for (const [k, v] of Object.entries(last.streams!)) expect(Math.abs(first.streams![k]! - v), k).toBeLessThan(1e-5);
    const source = weightsOf(path.join(runs.source, 'model', 'model.safetensors'));
    const weights = weightsOf(path.join(out, 'model', 'model.safetensors'));
    const gates = [...weights.keys()].filter((k) => /^cross\..*\.gate_(attn|ff)$/.test(k));
    expect(gates).toHaveLength(8);
    for (const k of gates) {
      expect(Array.from(weights.get(k)!.data), k).toEqual([1]);
      expect(Math.abs(source.get(k)!.data[0]!), k).toBeLessThan(0.2); // the source's trained gates, near 0
    }
    const run = runJson(out);
    expect(run.model.reopenGates).toBe(1);
    expect(run.command).toContain(`--init-from ${runs.source} --reopen-gates 1`);
  }, 180_000);

  it.each([
    [['--reopen-gates', '1'], false, /--reopen-gates X .* it needs --init-from$/],
    [['--reopen-gates', '0'], true, /--reopen-gates X \(X != 0\)/],
    [['--freeze-gates'], true, /--freeze-gates with --init-from would hold the source's trained gates .* give --reopen-gates X/],
  ])(
    '%j (with --init-from: %s): one usage line',
    async (extra, warm, message) => {
      const out = `bad-reopen-${extra.join('')}-${warm}`;
      const r = warm
        ? await fromSource(common(), out, ...extra)
        : await runZipper(['fuse', 'train', ...common(), '--out', path.join(data, out), '--steps', '2', ...extra]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(message);
    },
    120_000,
  );

  it('a resume before the first checkpoint refuses a source whose weights changed since', async () => {
    const source = path.join(data, 'source-copy');
    cpSync(runs.source, source, { recursive: true });
    const out = path.join(data, 'warm-resume');
    const r = await runZipper(['fuse', 'train', ...common(), '--out', out, '--steps', '2', '--every', '2', '--init-from', source]);
    expect(r.code, r.stderr).toBe(0);
    rmSync(path.join(out, 'train'), { recursive: true }); // as if killed before its first checkpoint
    cpSync(path.join(runs.other, 'model'), path.join(source, 'model'), { recursive: true }); // the source trained on
    const again = await runZipper(['fuse', 'train', '--out', out, '--resume', '--workers', '0', '--no-progress']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /--init-from .*source-copy: its weights are not the ones recorded when the run started \(sha256 [0-9a-f]{12}\.\.\., recorded [0-9a-f]{12}\.\.\.\); start a new run/,
    );
  }, 180_000);

  it.each([
    [['--ctc-weight', '0.3'], /its weights do not fit this model \(missing keys: ctc\./],
    [['--cross-layers', '1'], /its weights do not fit this model/],
  ])(
    'other model options %j: one usage line',
    async (extra, message) => {
      const r = await fromSource(common(), `bad-${extra[0]}`, ...extra);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(message);
    },
    120_000,
  );

  it('a source trained on another tower: one usage line naming the tower and both hashes', async () => {
    const text2 = (await saveTinyTowers(data, path.join(data, 'towers-2'), { text: 3 })).text; // same shapes, other weights
    const args = common().map((a) => (a === `text=${towers.text}` ? `text=${text2}` : a));
    const r = await fromSource(args, 'bad-tower');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /--init-from .* was trained on another text tower \(sha256 [0-9a-f]{12}\.\.\., this run's [0-9a-f]{12}\.\.\.\); pass the same --tower text/,
    );
  }, 120_000);

  it('freezing a tower the source trained: one usage line (its trained weights would not be saved)', async () => {
    const r = await fromSource([...common().slice(0, -2), '--freeze', 'text,speech'], 'bad-freeze');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /--init-from .*source trained the speech tower, which this run freezes: .* --tower-lr-scale 0 \(and --freeze text\)$/,
    );
  }, 120_000);

  it('another kind, a folder without a run, or with --resume: one usage line, before the data is read', async () => {
    const b = await runZipper([
      'baseline',
      'train',
      ...common().slice(0, -2),
      '--out',
      path.join(data, 'bad-kind'),
      '--steps',
      '2',
      '--init-from',
      runs.source,
    ]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--init-from .* holds a zipper fuse train run; this is zipper baseline train/);
    const n = await runZipper(['fuse', 'train', ...common(), '--out', path.join(data, 'bad-none'), '--steps', '2', '--init-from', data]);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/--init-from .*: no run\.json; pass the --out directory of a zipper fuse train run/);
    for (const r of [b, n]) expect(r.stderr).not.toMatch(/^aligned \d+%:/m); // refused before the data is featurized
    const res = await runZipper(['fuse', 'train', '--out', runs.source, '--resume', '--init-from', runs.other]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--init-from cannot change on resume/);
  }, 120_000);
});
