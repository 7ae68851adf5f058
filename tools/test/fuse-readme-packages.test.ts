/**
 * packages/fuse/README.md, "Towers from their packages", run as written: this file holds the
 * example between the markers, and the test checks that the README contains the same lines. The
 * shipped tower packages load by name; the fused checkpoint names them (name, version, sha256) and
 * loads back with the frozen text tower given by package name, decoding exactly as before.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectReadmeHolds } from '../../packages/fuse/test/readme-snippets.js';
// README-PACKAGES-IMPORTS-START
import { Zipper, generateZipped, loadTowerEntry, loadZipper, saveZipper } from '@zipper/fuse';
import { SpeechTower, speechVocab } from '@zipper/speech';
import { TextTower } from '@zipper/text';
// README-PACKAGES-IMPORTS-END

const out = mkdtempSync(path.join(tmpdir(), 'zipper-readme-packages-'));
beforeAll(async () => {
  await initBackend();
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

const here = (f: string) => new URL(f, import.meta.url);

it('README: the shipped towers zip by package name, and the fused checkpoint loads back naming them', async () => {
  const before = tf.memory().numTensors;
  // README-PACKAGES-START
  // The shipped towers by package name (a `zipper pretrain` output directory of your own loads the same way, by path).
  const words = await TextTower.loadTokenizer('@zipper/checkpoint-text-small');
  const units = speechVocab((await SpeechTower.loadTokenizer('@zipper/checkpoint-speech-small')).units.numUnits);
  const zipper = Zipper.create(
    [
      await loadTowerEntry('@zipper/checkpoint-text-small', { name: 'text', bos: words.roleId('bos'), eos: words.roleId('eos') }),
      await loadTowerEntry('@zipper/checkpoint-speech-small', { name: 'speech', bos: units.bos, eos: units.eos }),
    ],
    { schedule: { every: 2 }, freeze: ['text'] },
    { seed: 0 },
  );
  console.log(zipper.sources.get('text')); // { name: '@zipper/checkpoint-text-small', version: <its package.json's>, sha256: <its weights'> }

  // Fine-tune on aligned pairs as above (text ids from words.encode, units from the speech tokenizer), then save:
  // the fused checkpoint refers to the frozen text tower by its sha256 and stores everything else.
  await saveZipper(out, zipper);
  const again = await loadZipper(out, { text: '@zipper/checkpoint-text-small' }); // TowerMismatchError if that tower changed
  // README-PACKAGES-END

  const pkg = (dir: string) =>
    JSON.parse(readFileSync(here(`../../packages/checkpoints/${dir}/package.json`), 'utf8')) as { version: string };
  const meta = (dir: string) =>
    JSON.parse(readFileSync(here(`../../packages/checkpoints/${dir}/tower/metadata.json`), 'utf8')) as { weights: { sha256: string } };
  expect(zipper.sources.get('text')).toEqual({
    name: '@zipper/checkpoint-text-small',
    version: pkg('text-small').version,
    sha256: meta('text-small').weights.sha256,
  });
  expect(zipper.sources.get('speech')).toEqual({
    name: '@zipper/checkpoint-speech-small',
    version: pkg('speech-small').version,
    sha256: meta('speech-small').weights.sha256,
  });
  // the same tower by path (the package's folder) and by its tower/ folder: the same checkpoint
  for (const p of ['../../packages/checkpoints/text-small', '../../packages/checkpoints/text-small/tower'].map((d) =>
    fileURLToPath(here(d)),
  )) {
    const e = await loadTowerEntry(p, { name: 'text', bos: 0, eos: 1 });
    expect(e.source?.sha256).toBe(meta('text-small').weights.sha256);
    e.tower.dispose();
  }
  await expect(loadTowerEntry(out, { name: 'text', bos: 0, eos: 1 })).rejects.toThrow(
    /holds no tower checkpoint, neither itself nor in tower\//,
  );

  // ASR decoding with a made-up unit prompt: the loaded model decodes exactly as the one saved
  const prompt = [[{ tower: 'speech', ids: [units.bos, 3, 17, 17, 250, 41, 8, units.eos] }]];
  const a = await generateZipped(zipper, prompt, { output: ['text'], maxNewTokens: 6 });
  const b = await generateZipped(again, prompt, { output: ['text'], maxNewTokens: 6 });
  expect(b.rows).toEqual(a.rows);
  expect(a.rows[0]![0]!.ids.length).toBeGreaterThan(0);
  zipper.dispose();
  again.dispose();
  expect(tf.memory().numTensors).toBe(before);

  expectReadmeHolds(import.meta.url, here('../../packages/fuse/README.md'), [
    { name: 'README-PACKAGES-IMPORTS' },
    { name: 'README-PACKAGES', indent: 2 },
  ]);
});
