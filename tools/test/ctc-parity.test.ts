/**
 * core's ctcLoss (packages/core/src/ops/ctc.ts) against PyTorch's F.ctc_loss (reduction 'none',
 * float64): per-row losses and the gradient with respect to the logits, blank last, ragged rows,
 * repeated labels, a row of 19 labels in 40 frames. The interpreter is tools/setup's
 * requireTorchPython (ZIPPER_PYTHON, else the first python3 on PATH with torch).
 *
 * Legend: B batch, T frames, V classes (blank included).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@zipper/core';
import { ctcLoss } from '@zipper/core/ops';
import { requireTorchPython, torchEnv } from '../setup/system.mjs';

/** Deterministic values in [-3, 3). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = 3 * (s / 2 ** 31 - 1);
  }
  return out;
}

describe('ctcLoss against PyTorch', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('equals F.ctc_loss and its gradient (blank last, ragged rows, long labels)', async () => {
    const [b, t, v] = [4, 40, 29];
    const blank = v - 1;
    const x = values(b * t * v, 21);
    const labels = [[1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [27, 27, 27, 0], [5], Array.from({ length: 19 }, (_, i) => (i * 7) % 28)];
    const frames = [40, 31, 7, 40];
    const script = `
import json, sys, torch
d = json.load(sys.stdin)
x = torch.tensor(d['x'], dtype=torch.float64).reshape(${b}, ${t}, ${v}).requires_grad_(True)
lp = torch.log_softmax(x, -1).transpose(0, 1)
tg = torch.tensor([k for row in d['labels'] for k in row])
loss = torch.nn.functional.ctc_loss(lp, tg, torch.tensor(d['frames']), torch.tensor([len(r) for r in d['labels']]), blank=${blank}, reduction='none')
loss.sum().backward()
print(json.dumps({'loss': loss.tolist(), 'grad': x.grad.reshape(-1).tolist()}))`;
    const child = promisify(execFile)(requireTorchPython(), ['-c', script], { env: torchEnv(), maxBuffer: 64 << 20 });
    child.child.stdin?.end(JSON.stringify({ x: [...x], labels, frames }));
    const ref = JSON.parse((await child).stdout) as { loss: number[]; grad: number[] };
    const logits = tf.tensor3d(x, [b, t, v]);
    const ours = ctcLoss(logits, labels, { blank, frameLengths: frames }).dataSync();
    const g = tf
      .grad((l: tf.Tensor) => tf.sum(ctcLoss(l as tf.Tensor3D, labels, { blank, frameLengths: frames })))(logits)
      .dataSync();
    for (let i = 0; i < b; i++) expect(Math.abs(ours[i]! - ref.loss[i]!) / ref.loss[i]!).toBeLessThan(1e-5);
    let worst = 0;
    for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i]! - ref.grad[i]!));
    expect(worst).toBeLessThan(1e-5);
    for (let i = 0; i < v; i++) expect(g[2 * t * v + 7 * v + i]).toBe(0); // row 2 ends at frame 7
    logits.dispose();
  });
});
