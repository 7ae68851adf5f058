/**
 * Interop with the PyTorch reference through tools/interop/convert.py.
 *
 * Always: the committed fixture (a torch tower converted by convert.py, plus golden logits, loss
 * and gradients from tools/interop/make_golden.py) loads with loadTower and matches.
 * Through PyTorch (Debian's python3-torch, which `npm test` installs; the interpreter is
 * tools/setup's requireTorchPython: ZIPPER_PYTHON, else the first python3 on PATH with torch):
 * a tower of ours goes to torch and back bit-exactly, loads into the reference with strict=True,
 * and torch's logits equal ours.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, loadTower, maskedCrossEntropy, saveTower, Tower } from '@zipper/core';
import { requireTorchPython } from '../setup/system.mjs';

const fixtures = new URL('../interop/fixtures/', import.meta.url).pathname;
const convert = new URL('../interop/convert.py', import.meta.url).pathname;
const golden = JSON.parse(readFileSync(path.join(fixtures, 'golden.json'), 'utf8')) as {
  ids: number[][];
  mask: number[][];
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
};

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i] as number));
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m / scale;
}

let tower: Tower;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-interop-'));

beforeAll(async () => {
  await initBackend();
  tower = await loadTower(path.join(fixtures, 'tiny-tower'));
});
afterAll(() => {
  tower?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a torch tower converted by tools/interop/convert.py', () => {
  const inputs = () =>
    tf.tensor2d(
      golden.ids.map((r) => r.slice(0, -1)),
      undefined,
      'int32',
    );
  const targets = () =>
    tf.tensor2d(
      golden.ids.map((r) => r.slice(1)),
      undefined,
      'int32',
    );
  const mask = () => tf.tensor2d(golden.mask, undefined, 'float32');

  it('gives the reference logits and masked loss', () => {
    const before = tf.memory().numTensors;
    const [diff, loss] = tf.tidy(() => {
      const logits = tower.forward(inputs()).logits;
      return [maxRelDiff(logits.dataSync(), golden.logits), maskedCrossEntropy(logits, targets(), mask()).dataSync()[0] as number];
    });
    expect(diff).toBeLessThan(1e-5);
    expect(Math.abs(loss - golden.loss) / golden.loss).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the reference gradient for every parameter', () => {
    const keys = [...tower.params.keys()];
    expect(keys.sort()).toEqual(Object.keys(golden.grads).sort());
    const vars = keys.map((k) => tower.params.get(k)!);
    const diffs = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => maskedCrossEntropy(tower.forward(inputs()).logits, targets(), mask()), vars);
      return keys.map((k, i) => [k, maxRelDiff(grads[vars[i]!.name]!.dataSync(), golden.grads[k]!)] as const);
    });
    for (const [k, d] of diffs) expect(d, k).toBeLessThan(1e-4);
  });
});

describe('round trips through PyTorch', () => {
  let PY = '';
  beforeAll(() => {
    PY = requireTorchPython(); // throws with the install command when no python3 has torch
  });

  it('zipper -> torch -> zipper is bit-exact, and torch loads it strictly with equal logits', async () => {
    const ours = Tower.create({ vocabSize: 17, dModel: 44, nLayers: 3, nHeads: 2, maxSeqLen: 64 }, { seed: 5 });
    const a = path.join(tmp, 'ours');
    const pt = path.join(tmp, 'ours.pt');
    const b = path.join(tmp, 'back');
    await saveTower(a, ours);
    const toTorch = JSON.parse(
      execFileSync(PY, [convert, 'to-torch', '--in', a, '--out', pt, '--check'], { encoding: 'utf8' }).trim().split('\n').pop()!,
    );
    expect(toTorch.check).toEqual({ strict_load: true, logits_shape: [1, 4, 17], finite: true });
    execFileSync(PY, [convert, 'to-zipper', '--in', pt, '--heads', '2', '--max-seq-len', '64', '--out', b], { stdio: 'ignore' });
    const back = await loadTower(b);
    for (const [k, v] of ours.params) expect(Array.from(back.params.get(k)!.dataSync()), k).toEqual(Array.from(v.dataSync()));
    expect(back.config).toEqual(ours.config);

    // torch's logits on our weights equal ours
    const ids = [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9]];
    const script = [
      'import sys, json, torch',
      `sys.path.insert(0, ${JSON.stringify(path.dirname(convert))})`,
      'from convert import reference_module',
      'ref = reference_module()',
      'm = ref.Tower(17, 44, 3, 2)',
      `m.load_state_dict(torch.load(${JSON.stringify(pt)}), strict=True)`,
      `print(json.dumps(m(torch.tensor(${JSON.stringify(ids)})).detach().flatten().tolist()))`,
    ].join('\n');
    const torchLogits = JSON.parse(execFileSync(PY, ['-c', script], { encoding: 'utf8' })) as number[];
    const oursLogits = tf.tidy(() => ours.forward(tf.tensor2d(ids, undefined, 'int32')).logits.dataSync());
    expect(maxRelDiff(oursLogits, torchLogits)).toBeLessThan(1e-5);
    ours.dispose();
    back.dispose();
  });

  it('regenerating the golden values reproduces the committed ones', () => {
    const out = path.join(tmp, 'golden');
    execFileSync(PY, [new URL('../interop/make_golden.py', import.meta.url).pathname, '--out', out], { stdio: 'ignore' });
    const fresh = JSON.parse(readFileSync(path.join(out, 'golden.json'), 'utf8'));
    expect(Math.abs(fresh.loss - golden.loss)).toBeLessThan(1e-6);
    expect(maxRelDiff(fresh.logits, golden.logits)).toBeLessThan(1e-6);
    expect(existsSync(path.join(out, 'tiny-tower', 'model.safetensors'))).toBe(true);
  });
});
