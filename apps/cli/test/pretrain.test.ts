// `zipper pretrain text|speech --preset tiny` on a tiny data build: the training and held-out
// losses fall, run.json names everything needed to reproduce the run, the loss plot exists, the
// saved tower loads with its tokenizer, and a second speech run reads every unit from the cache.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@zipper/core';
import { SpeechTower } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyData } from '../../../packages/data/test/tiny-build.js';
import type { LossPoint } from '../src/progress/index.js';
import type { PretrainRun } from '../src/pretrain/run-file.js';
import { readLosses, runPretrain } from './pretrain-helpers.js';

let data = '';
beforeAll(async () => {
  await initBackend();
  data = buildTinyData('zipper-pretrain-test-');
});
afterAll(() => rmSync(data, { recursive: true, force: true }));

describe('zipper pretrain --preset tiny', () => {
  for (const modality of ['text', 'speech'] as const) {
    it(`${modality}: training and held-out loss fall; run.json, loss.svg and a loadable tower`, async () => {
      const out = path.join(data, `run-${modality}`);
      const before = tf.memory().numTensors;
      const r = await runPretrain([modality, '--data', data, '--preset', 'tiny', '--out', out, '--workers', '0', '--no-progress']);
      expect(r.code).toBe(0);
      expect(tf.memory().numTensors).toBe(before);
      expect(r.summary).toMatchObject({ modality, step: 60, finished: true, tokens: 60 * 8 * 64 });
      const points = readLosses(out);
      const train = points.filter((p): p is Extract<LossPoint, { loss: number }> => 'loss' in p);
      const held = points.filter((p): p is Extract<LossPoint, { heldOut: number }> => 'heldOut' in p);
      expect(train.map((p) => p.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(held.map((p) => p.step)).toEqual([0, 10, 20, 30, 40, 50, 60]);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = mean(train.slice(0, 3).map((p) => p.loss));
      const last = mean(train.slice(-5).map((p) => p.loss));
      // from ~ln(V) (5.8 text, 6.2 speech) down by more than 1 nat in 60 steps
      expect(first).toBeGreaterThan(5.5);
      expect(last).toBeLessThan(first - 1);
      // held-out: 3 dev sentences (text), the last 2 of 11 utterances (speech: units are harder)
      expect(held[held.length - 1]!.heldOut).toBeLessThan(held[0]!.heldOut - (modality === 'text' ? 1 : 0.6));

      const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as PretrainRun;
      expect(run.command).toBe(`zipper pretrain ${modality} --data ${data} --preset tiny --out ${out} --seed 0 --workers 0`);
      expect(run.data.buildSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(run).toMatchObject({ modality, preset: 'tiny', seed: 0, config: { steps: 60, seqLen: 64 }, tokensPerStep: 512 });
      expect(run.tokenizer.sha256).toMatch(/^[0-9a-f]{64}$/);
      const svg = readFileSync(path.join(out, 'loss.svg'), 'utf8');
      expect(svg).toMatch(/^<svg/);
      expect(svg.match(/<polyline/g)?.length).toBe(2);
      expect(svg.match(/<circle/g)?.length).toBe(7);
      expect(existsSync(path.join(out, 'train', 'step-00000060'))).toBe(true);

      const model = modality === 'text' ? await TextTower.load(out) : await SpeechTower.load(out);
      expect(model.tower.config.dModel).toBe(64);
      model.dispose();
    });
  }

  it('speech: a second run featurizes nothing (units come from the cache)', async () => {
    const r = await runPretrain(['speech', '--data', data, '--preset', 'tiny', '--out', path.join(data, 'run-speech-2'), '--steps', '2', '--workers', '0', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/speech units: 11 utterances, [\d,]+ units \(0 featurized, 11 from /);
  });

  it('refuses to overwrite a run, and run options on --resume', async () => {
    const out = path.join(data, 'run-text');
    await expect(runPretrain(['text', '--data', data, '--preset', 'tiny', '--out', out])).rejects.toThrow(/already holds a run; pass --resume/);
    await expect(runPretrain(['text', '--out', out, '--resume', '--seed', '3'])).rejects.toThrow(/--seed cannot change on resume/);
    await expect(runPretrain(['speech', '--out', out, '--resume'])).rejects.toThrow(/holds a text run, not speech/);
    await expect(runPretrain(['text', '--data', data, '--preset', 'huge', '--out', path.join(data, 'x')])).rejects.toThrow(/unknown text pretraining preset "huge"; known: tiny, small/);
  });
});
