// `zipper fuse train --freeze-params P,...`: fusion weights held by key prefix. A TTS-only warm start
// that holds the recognition path (the speech input projection, the CTC head, the text <- speech
// links) leaves every one of those weights bit-identical to its source, also across --resume;
// without it AdamW's decoupled weight decay shrinks the weights that get no gradient. Recorded in
// run.json, its command and the recipe label; bad prefixes are usage errors.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recipeExtras } from '../src/eval/report-runs.js';
import type { FuseRun } from '../src/fuse/run-file.js';
import { runZipper, saveTinyTowers, tinyData, tinyRunArgs, weightsOf } from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
let source = '';
beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-fuse-freeze-params-test-');
  towers = await saveTinyTowers(data, data);
  source = path.join(data, 'source');
  const r = await runZipper([...args(source, 4), '--tasks', 'asr,tts', '--gate-init', '1', '--zero-output']);
  expect(r.code, r.stderr).toBe(0);
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const HELD = ['inproj.speech', 'ctc.', 'cross.text_from_speech.'];

/** A tiny fuse run with a CTC head, 4 steps at lr 1e-2 (weight decay 0.1, the default), into OUT. */
function args(out: string, steps: number): string[] {
  return [
    'fuse',
    'train',
    ...tinyRunArgs(towers, data),
    '--ctc-weight',
    '0.3',
    '--steps',
    String(steps),
    '--every',
    '2',
    '--lr',
    '1e-2',
    '--workers',
    '0',
    '--no-progress',
    '--out',
    out,
  ];
}

/** A TTS-only warm start from the source run, 4 steps, with `more` options. */
const ttsStage = (out: string, ...more: string[]) => runZipper([...args(out, 4), '--tasks', 'tts', '--init-from', source, ...more]);

/** The run's trained weights by key. */
const model = (run: string) => weightsOf(path.join(run, 'model', 'model.safetensors'));

/** Keys of `a` whose tensors equal `b`'s bit for bit, and those that differ. */
function compare(a: ReturnType<typeof model>, b: ReturnType<typeof model>): { same: string[]; changed: string[] } {
  const same: string[] = [];
  const changed: string[] = [];
  for (const [k, t] of a) {
    const u = b.get(k)!;
    const bytes = (x: typeof t.data) => Buffer.from(x.buffer, x.byteOffset, x.byteLength); // the tensor's own bytes, even in a shared buffer
    (Buffer.compare(bytes(t.data), bytes(u.data)) === 0 ? same : changed).push(k);
  }
  return { same, changed };
}

const held = (k: string) => HELD.some((p) => k.startsWith(p));

describe('fuse train --freeze-params', () => {
  it('a TTS-only stage holding the recognition path keeps it bit-identical (and across --resume); without it weight decay moves it', async () => {
    const src = model(source);
    expect([...src.keys()].filter(held).length).toBeGreaterThan(10);

    const out = path.join(data, 'held');
    const r = await ttsStage(out, '--freeze-params', HELD.join(','));
    expect(r.code, r.stderr).toBe(0);
    const { same, changed } = compare(model(out), src);
    expect(changed.filter(held)).toEqual([]);
    expect(same.filter(held).length).toBe([...src.keys()].filter(held).length);
    expect(changed.some((k) => k.startsWith('cross.speech_from_text.'))).toBe(true); // the TTS link trained
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as FuseRun;
    expect(run.model.freezeParams).toEqual(HELD);
    expect(run.command).toContain(`--freeze-params ${HELD.join(',')}`);
    expect(recipeExtras(run)).toContain(`held: ${HELD.join(', ')}`);

    // without it: the CTC head and the text <- speech links get no gradient from TTS rows, yet change (weight decay)
    const free = path.join(data, 'free');
    expect((await ttsStage(free)).code).toBe(0);
    const moved = compare(model(free), src).changed;
    expect(moved.some((k) => k.startsWith('ctc.'))).toBe(true);
    expect(moved.some((k) => k.startsWith('cross.text_from_speech.'))).toBe(true);

    // stopped after step 1 (--minutes 0) and resumed: run.json's prefixes still hold, the weights equal the uninterrupted run's
    const resumed = path.join(data, 'resumed');
    expect((await ttsStage(resumed, '--freeze-params', HELD.join(','), '--minutes', '0')).code).toBe(0);
    const again = await runZipper(['fuse', 'train', '--out', resumed, '--resume', '--workers', '0', '--no-progress']);
    expect(again.code, again.stderr).toBe(0);
    expect(compare(model(resumed), model(out)).changed).toEqual([]);
  }, 300_000);

  it('refuses a prefix that names no weight, a tower prefix, an empty item, and the single decoder: exit 2', async () => {
    const bad = async (more: string[], re: RegExp) => {
      const r = await ttsStage(path.join(data, 'bad'), ...more);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(re);
    };
    await bad(
      ['--freeze-params', 'nope.'],
      /--freeze-params nope\. names no weight of this model; its fusion weights start with .*cross\.speech_from_text/,
    );
    await bad(['--freeze-params', 'towers.text.'], /tower weights are held with --freeze text, not --freeze-params/);
    await bad(['--freeze-params', 'ctc.,'], /--freeze-params takes weight key prefixes separated by commas, got "ctc\.,"/);
    const r = await runZipper([
      'baseline',
      'train',
      ...tinyRunArgs(towers, data),
      '--out',
      path.join(data, 'bl'),
      '--freeze-params',
      'ctc.',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--freeze-params/);
  }, 120_000);
});
