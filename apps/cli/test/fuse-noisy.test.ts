// `zipper data build --noisy` feeding `zipper fuse train --asr-audio ...,noisy` and `zipper eval
// asr --split dev-noisy`: the noisy renderings are read as a third set of ASR examples (counted and
// recorded), a build without them is refused with the command that makes them, and dev-noisy is a
// split the evaluations read.
import { cpSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildData } from '../src/data/build.js';
import { asrSources } from '../src/fuse/aligned.js';
import type { FuseRun } from '../src/fuse/run-file.js';
import type { LossPoint } from '../src/progress/index.js';
import { readLosses, runZipper, saveTinyTowers, summaryOf, tinyData, tinyRunArgs } from './fuse-helpers.js';

type Held = Extract<LossPoint, { heldOut: number }>;

let clean = '';
let noisy = '';
let towers = { text: '', speech: '' };
beforeAll(async () => {
  await initBackend();
  clean = await tinyData('zipper-fuse-noisy-test-');
  noisy = `${clean}-noisy`;
  cpSync(clean, noisy, { recursive: true });
  await buildData({ out: noisy, size: 'tiny', seed: 0, noisy: true });
  towers = await saveTinyTowers(clean, clean);
}, 240_000);
afterAll(() => {
  rmSync(clean, { recursive: true, force: true });
  rmSync(noisy, { recursive: true, force: true });
});

describe('noisy renderings', () => {
  it('asrSources lists the renderings --asr-audio names, pair after pair, aligned-asr first', () => {
    const item = (tag: number) => ({ text: [tag], speech: [tag] });
    const a = { asr: [item(1), item(2)], tts: [item(3), item(4)], noisy: [item(5), item(6)] };
    const tags = (x: readonly { text?: readonly number[] }[]) => x.map((it) => it.text![0]);
    expect(tags(asrSources('asr', a))).toEqual([1, 2]);
    expect(tags(asrSources('asr,tts', a))).toEqual([1, 2, 3, 4]);
    expect(tags(asrSources('asr,noisy', a))).toEqual([1, 2, 5, 6]);
    expect(tags(asrSources('asr,tts,noisy', a))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => asrSources('asr,noisy', { asr: a.asr, tts: a.tts })).toThrow(/needs the noisy renderings/);
  });

  it('fuse train --asr-audio asr,tts,noisy reads and records them; eval asr scores dev-noisy; a build without them is refused', async () => {
    const out = path.join(noisy, 'run');
    const args = [...tinyRunArgs(towers, noisy), '--workers', '0', '--no-progress'];
    const r = await runZipper([
      'fuse',
      'train',
      ...args,
      '--out',
      out,
      '--asr-audio',
      'asr,tts,noisy',
      '--steps',
      '4',
      '--every',
      '4',
      '--eval-every',
      '2',
      '--keep-best',
      'noisy_text',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /aligned 100%: 13 pairs \(.* TTS units, [\d,]+ noisy units\); held out: 3 dev utterances for ASR, \d+ for TTS, 3 dev-noisy for ASR/,
    );
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as FuseRun;
    expect(run.asrAudio).toBe('asr,tts,noisy');
    expect(run.command).toContain('--asr-audio asr,tts,noisy');
    expect(run.data.noisy).toBe(true);
    expect(run.counts.noisyUnits).toBeGreaterThan(0);
    // the noisy audio is another rendering: its units differ from the clean ASR audio's
    expect(run.counts.noisyUnits).not.toBe(run.counts.asrUnits);
    expect(run.counts.devNoisy).toBe(3);
    // dev-noisy is a second held-out set: its streams are logged as noisy_<stream>, beside clean
    // dev's, and --keep-best chooses by one of them; the total stays clean dev's
    const held = readLosses(out).filter((p): p is Held => 'heldOut' in p);
    expect(held.map((p) => p.step)).toEqual([0, 2, 4]);
    for (const p of held) {
      expect(Object.keys(p.streams!).sort()).toEqual(expect.arrayContaining(['noisy_text', 'speech', 'text']));
      expect(Object.keys(p.streams!).filter((k) => k.startsWith('noisy_'))).not.toContain('noisy_noisy_text');
    }
    // at step 0 the gates are 0 (the lone towers): the text loss cannot depend on the audio; once
    // trained, the noisy audio gives another text loss than the clean
    expect(held[0]!.streams!['noisy_text']).toBe(held[0]!.streams!['text']);
    for (const p of held.slice(1)) expect(p.streams!['noisy_text']).not.toBe(p.streams!['text']);
    const svg = readFileSync(path.join(out, 'loss.svg'), 'utf8');
    expect(svg).toMatch(/noisy_text held-out \(last /);
    expect(svg).not.toContain('noisy_text train');
    const argmin = held.slice(1).reduce((a, b) => (b.streams!['noisy_text']! < a.streams!['noisy_text']! ? b : a));
    const best = JSON.parse(readFileSync(path.join(out, 'best', 'run.json'), 'utf8')) as FuseRun;
    expect(best.best).toMatchObject({ step: argmin.step, by: 'noisy_text', value: argmin.streams!['noisy_text'], heldOut: argmin.heldOut });

    const e = await runZipper(['eval', 'asr', '--model', out, '--data', noisy, '--split', 'dev-noisy', '--decoder', 'attention', '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(summaryOf(e)).toMatchObject({ split: 'dev-noisy', manifest: 'dev-noisy.jsonl', utterances: 3 });

    const refused = await runZipper([
      'fuse',
      'train',
      ...tinyRunArgs(towers, clean),
      '--no-progress',
      '--out',
      path.join(clean, 'never'),
      '--asr-audio',
      'asr,noisy',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /has no aligned-noisy split: it was built without --noisy; run npx zipper data build again with the same options and --noisy \(only that flag's renderings are synthesized\); or drop noisy from --asr-audio$/m,
    );
    const noSplit = await runZipper(['eval', 'asr', '--model', out, '--data', clean, '--split', 'dev-noisy', '--decoder', 'attention']);
    expect(noSplit.code).toBe(2);
    expect(noSplit.stderr).toMatch(/has no dev-noisy split: it was built without --noisy; run npx zipper data build again/);
  }, 300_000);
});
