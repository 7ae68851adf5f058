/**
 * Fine-tuning through core's Trainer: per-stream losses, a frozen tower stays bit-identical,
 * ASR + TTS overfit a handful of pairs, checkpoints resume the exact curve, no tensor leak.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Trainer } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASR, freezePrefixes, fusedGradients, generateZipped, TaskMixture, TTS, Zipper } from '../src/index.js';
import { PAIRS, SCHEDULE, setup, towers } from './helpers.js';

beforeAll(setup);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const TASKS = [
  { task: ASR, weight: 1 },
  { task: TTS, weight: 1.26 },
];

function trainer(z: Zipper, opts: { lr?: number; checkpoint?: { dir: string; every: number } } = {}) {
  const data = new TaskMixture(z.config, PAIRS, { batchSize: 4, seed: 7, tasks: TASKS });
  return new Trainer(z, data, {
    strategy: fusedGradients(z),
    freezePrefixes: freezePrefixes(z),
    schedule: { peakLr: opts.lr ?? 1e-2, minLr: opts.lr ?? 1e-2, warmupSteps: 0, totalSteps: 1000 },
    optimizer: { weightDecay: 0 },
    ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
  });
}

const snapshot = (z: Zipper, prefix: string) =>
  new Map(
    [...z.params].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, Buffer.from((v.dataSync() as Float32Array).slice().buffer)]),
  );

describe('fused training', () => {
  it('keeps a frozen tower bit-identical, trains the rest, reports per-stream losses, leaks no tensor', async () => {
    const z = Zipper.create(towers(), { ...SCHEDULE, freeze: ['text'] }, { seed: 2 });
    const t = trainer(z);
    expect(t.trainable.some((k) => k.startsWith('towers.text.'))).toBe(false);
    const text0 = snapshot(z, 'towers.text.');
    const speech0 = snapshot(z, 'towers.speech.');
    const cross0 = snapshot(z, 'cross.');
    await t.trainStep();
    const before = tf.memory().numTensors;
    const steps = await t.train(2);
    expect(tf.memory().numTensors).toBe(before);
    for (const s of steps) {
      expect(Object.keys(s.streams).sort()).toEqual(['speech', 'text']);
      expect(s.streams['text']!.targets + s.streams['speech']!.targets).toBe(s.targets);
      expect(s.loss).toBeCloseTo(s.streams['text']!.loss + s.streams['speech']!.loss, 5);
    }
    for (const [k, v] of snapshot(z, 'towers.text.')) expect(v.equals(text0.get(k)!), k).toBe(true);
    expect([...snapshot(z, 'towers.speech.')].filter(([k, v]) => !v.equals(speech0.get(k)!)).length).toBeGreaterThan(10);
    const gates = [...snapshot(z, 'cross.')].filter(([k, v]) => k.endsWith('gate_attn') && !v.equals(cross0.get(k)!));
    expect(gates.length).toBe(4); // every gate moved off 0
    t.dispose();
    z.dispose();
  });

  it('overfits ASR and TTS on four pairs: both stream losses below 0.3 nats within 150 steps', async () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 2 });
    const t = trainer(z, { lr: 1e-2 });
    const first = await t.trainStep();
    let last = first;
    for (let i = 0; i < 149 && !((last.streams['text']?.loss ?? Infinity) < 0.3 && (last.streams['speech']?.loss ?? Infinity) < 0.3); i++)
      last = await t.trainStep();
    console.log(
      `overfit: step 1 text ${first.streams['text']!.loss.toFixed(3)} speech ${first.streams['speech']!.loss.toFixed(3)}; step ${last.step} text ${last.streams['text']!.loss.toFixed(3)} speech ${last.streams['speech']!.loss.toFixed(3)}`,
    );
    expect(first.streams['text']!.loss).toBeGreaterThan(2);
    expect(first.streams['speech']!.loss).toBeGreaterThan(2);
    expect(last.streams['text']!.loss).toBeLessThan(0.3);
    expect(last.streams['speech']!.loss).toBeLessThan(0.3);
    t.dispose();
    // greedy ASR of a training pair gives its transcript back
    const asr = await generateZipped(z, [[{ tower: 'speech', ids: [9, ...PAIRS[2]!['speech']!, 10] }]], {
      output: ['text'],
      maxNewTokens: 8,
    });
    expect(asr.rows[0]).toEqual([{ tower: 'text', ids: PAIRS[2]!.text, finishReason: 'stop' }]);
    z.dispose();
  });

  it('saves every 2 steps and resumes the exact loss curve', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fuse-train-'));
    dirs.push(dir);
    const a = Zipper.create(towers(), { ...SCHEDULE, freeze: ['text'] }, { seed: 4 });
    const ta = trainer(a, { checkpoint: { dir, every: 2 } });
    const full = (await ta.train(4)).map((s) => s.loss);
    const b = Zipper.create(towers(9), { ...SCHEDULE, freeze: ['text'] }, { seed: 99 });
    const tb = trainer(b);
    await tb.resume(path.join(dir, 'step-00000002'));
    const resumed = (await tb.train(2)).map((s) => s.loss);
    expect(resumed).toEqual(full.slice(2));
    for (const [k, v] of a.params)
      expect(
        Buffer.from((v.dataSync() as Float32Array).buffer).equals(Buffer.from((b.param(k).dataSync() as Float32Array).buffer)),
        k,
      ).toBe(true);
    ta.dispose();
    tb.dispose();
    a.dispose();
    b.dispose();
  });
});
