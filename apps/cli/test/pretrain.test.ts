// `zipper pretrain text|speech --preset tiny` on a tiny data build: the training and held-out
// losses fall, run.json names everything needed to reproduce the run, the loss plot exists, the
// saved tower loads with its tokenizer, and a second speech run reads every unit from the cache.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@zipper/core';
import { SpeechTower } from '@zipper/speech';
import { TextTower, WordLm } from '@zipper/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LossPoint } from '../src/progress/index.js';
import type { PretrainRun } from '../src/pretrain/run-file.js';
import { defaultSpeechTokenizerDir } from '../src/pretrain/prepare.js';
import { buildTinyData, readLosses, runPretrain } from './pretrain-helpers.js';

let data = '';
beforeAll(async () => {
  await initBackend();
  data = await buildTinyData('zipper-pretrain-test-');
});
afterAll(() => rmSync(data, { recursive: true, force: true }));

/** A 2-step speech run of the tiny preset into `out` (`more`: options before --workers). */
const tinySpeechRun = (out: string, ...more: string[]) =>
  runPretrain(['speech', '--data', data, '--preset', 'tiny', '--out', out, '--steps', '2', ...more, '--workers', '0', '--no-progress']);

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

  it('text: the finished run is a checkpoint package that loads by name and by path, and rebuilds bit-identically from its card', async () => {
    const out = path.join(data, 'run-text');
    const pkg = path.join(out, 'package');
    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { name: string; files: string[] };
    expect(manifest.name).toBe('@zipper/checkpoint-text-tiny');
    const card = readFileSync(path.join(pkg, 'README.md'), 'utf8');
    expect(card).toMatch(
      /^---\nlibrary_name: zipper\npipeline_tag: text-generation\nlicense: apache-2.0\ndatasets:\n- zipper-data-build-tiny-seed0\n/,
    );
    const held = /\| held-out loss \| (\d+\.\d{4}) at the end \(perplexity (\d+\.\d{2})\); best \d+\.\d{4} at step \d+ \|/.exec(card);
    expect(held, 'the held-out row of the card').not.toBeNull();
    expect(Math.exp(Number(held![1])).toFixed(2)).toBe(held![2]); // the perplexity of the end value, beside it
    // install it where an app would: node_modules/@zipper/checkpoint-text-tiny -> the package
    const app = path.join(data, 'app');
    mkdirSync(path.join(app, 'node_modules', '@zipper'), { recursive: true });
    symlinkSync(pkg, path.join(app, 'node_modules', '@zipper', 'checkpoint-text-tiny'));
    const byName = await TextTower.load('@zipper/checkpoint-text-tiny', { from: app });
    const byPath = await TextTower.load(pkg);
    const keys = [...byPath.tower.params.keys()];
    expect([...byName.tower.params.keys()]).toEqual(keys);
    for (const k of keys) expect(byName.tower.params.get(k)!.dataSync()).toEqual(byPath.tower.params.get(k)!.dataSync());
    byName.dispose();
    byPath.dispose();
    await expect(TextTower.load('@zipper/checkpoint-text-none', { from: app })).rejects.toThrow(
      /neither a directory nor a package installed .*npm install @zipper\/checkpoint-text-none/,
    );

    // the card's command, run again into another folder, gives the same bytes
    const command = /```sh\n(zipper pretrain .*)\n```/.exec(card)![1]!.split(' ').slice(2);
    const again = path.join(data, 'run-text-again');
    expect(card).not.toContain(data); // no path of the training machine: DATA and OUT stand for them
    expect(command[command.indexOf('--data') + 1]).toBe('DATA');
    command[command.indexOf('--data') + 1] = data;
    command[command.indexOf('--out') + 1] = again;
    expect((await runPretrain([...command, '--no-progress'])).code).toBe(0);
    const weights = (dir: string) => readFileSync(path.join(dir, 'tower', 'model.safetensors'));
    expect(Buffer.compare(weights(path.join(again, 'package')), weights(pkg))).toBe(0);
  });

  it('speech: a second run featurizes nothing (units come from the cache)', async () => {
    const r = await tinySpeechRun(path.join(data, 'run-speech-2'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/speech units: 11 utterances, [\d,]+ units \(0 featurized, 11 from /);
  });

  it("--name names the checkpoint package; --resume --name renames a finished run's package without training", async () => {
    const out = path.join(data, 'run-named');
    const base = ['text', '--data', data, '--preset', 'tiny', '--out', out, '--steps', '2', '--workers', '0', '--no-progress'];
    await expect(runPretrain([...base, '--name', 'checkpoint-mine'])).rejects.toThrow(
      /--name must be a scoped npm package name, got "checkpoint-mine"/,
    );
    expect(existsSync(out)).toBe(false); // refused before anything is written
    expect((await runPretrain([...base, '--name', '@acme/checkpoint-text-mine'])).code).toBe(0);
    const manifest = () => JSON.parse(readFileSync(path.join(out, 'package', 'package.json'), 'utf8')) as { name: string };
    const runFile = () => JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as PretrainRun;
    const card = () => readFileSync(path.join(out, 'package', 'README.md'), 'utf8');
    expect(manifest().name).toBe('@acme/checkpoint-text-mine');
    expect(runFile().packageName).toBe('@acme/checkpoint-text-mine');
    expect(runFile().command).toBe(
      `zipper pretrain text --data ${data} --preset tiny --out ${out} --seed 0 --steps 2 --name @acme/checkpoint-text-mine --workers 0`,
    );
    expect(card()).toContain("TextTower.load('@acme/checkpoint-text-mine')");
    const weights = readFileSync(path.join(out, 'package', 'tower', 'model.safetensors'));

    const r = await runPretrain(['text', '--out', out, '--resume', '--name', '@acme/checkpoint-text-renamed', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('checkpoint package renamed: @acme/checkpoint-text-mine -> @acme/checkpoint-text-renamed');
    expect(r.summary).toMatchObject({ step: 2, finished: true });
    expect(manifest().name).toBe('@acme/checkpoint-text-renamed');
    expect(runFile().packageName).toBe('@acme/checkpoint-text-renamed');
    expect(runFile().command).toContain(' --name @acme/checkpoint-text-renamed --workers 0');
    expect(card()).toContain("TextTower.load('@acme/checkpoint-text-renamed')");
    expect(card()).not.toContain('checkpoint-text-mine');
    expect(Buffer.compare(readFileSync(path.join(out, 'package', 'tower', 'model.safetensors')), weights)).toBe(0);
    expect(
      readLosses(out)
        .filter((p) => 'loss' in p)
        .map((p) => p.step),
    ).toEqual([1, 2]); // no step trained again
    expect(readFileSync(path.join(out, 'sessions.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(1); // nor a session recorded
    expect(card()).toMatch(/over 1 session\(s\)/);
  });

  it('--lm FILE: the text package ships the word LM (added or replaced by --resume --lm without training); its peer is the @zipper/text that wrote it', async () => {
    const out = path.join(data, 'run-lm');
    const lmA = path.join(data, 'lm-a.safetensors');
    const lmB = path.join(data, 'lm-b.safetensors');
    const sentences = readFileSync(path.join(data, 'text-only.txt'), 'utf8').trimEnd().split('\n');
    writeFileSync(lmA, WordLm.build(sentences, { order: 2, minCount: 1 }).encode());
    writeFileSync(lmB, WordLm.build(sentences, { order: 3, minCount: 2 }).encode());
    const base = ['text', '--data', data, '--preset', 'tiny', '--out', out, '--steps', '2', '--workers', '0', '--no-progress'];
    // refused before anything is written: a file that is not a word LM, and a speech tower
    writeFileSync(path.join(data, 'not-an-lm.safetensors'), 'not safetensors');
    await expect(runPretrain([...base, '--lm', path.join(data, 'not-an-lm.safetensors')])).rejects.toThrow(
      /--lm .*not-an-lm.*zipper lm build/,
    );
    await expect(tinySpeechRun(path.join(data, 'run-lm-speech'), '--lm', lmA)).rejects.toThrow(/--lm is for text towers/);
    expect(existsSync(out) || existsSync(path.join(data, 'run-lm-speech'))).toBe(false);

    expect((await runPretrain([...base, '--lm', lmA])).code).toBe(0);
    const pkg = path.join(out, 'package');
    const manifest = () =>
      JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { files: string[]; peerDependencies: Record<string, string> };
    const textVersion = (
      JSON.parse(readFileSync(path.join(import.meta.dirname, '../../../packages/text/package.json'), 'utf8')) as { version: string }
    ).version;
    expect(manifest().peerDependencies).toEqual({ '@zipper/text': `>=${textVersion}` });
    expect(manifest().files).toContain('lm.safetensors');
    expect(Buffer.compare(readFileSync(path.join(pkg, 'lm.safetensors')), readFileSync(lmA))).toBe(0);
    const loaded = await TextTower.loadWordLm(pkg);
    expect(loaded!.order).toBe(2);
    const record = (JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as PretrainRun).wordLm!;
    expect(record).toMatchObject({ order: 2, words: loaded!.words.length, dictionary: 0, bytes: readFileSync(lmA).length });
    expect(readFileSync(path.join(pkg, 'README.md'), 'utf8')).toContain(`sha256 \`${record.sha256}\``);
    expect(readFileSync(path.join(pkg, 'README.md'), 'utf8')).not.toContain('--lm '); // not in the training command
    const weights = readFileSync(path.join(pkg, 'tower', 'model.safetensors'));

    // --resume --lm on the finished run: the package again, with the other LM, the same weights, no step trained
    const r = await runPretrain(['text', '--out', out, '--resume', '--lm', lmB, '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/word LM replaced: .*lm-b\.safetensors/);
    expect(Buffer.compare(readFileSync(path.join(pkg, 'lm.safetensors')), readFileSync(lmB))).toBe(0);
    expect((await TextTower.loadWordLm(pkg))!.order).toBe(3);
    expect(Buffer.compare(readFileSync(path.join(pkg, 'tower', 'model.safetensors')), weights)).toBe(0);
    expect(readLosses(out).filter((p) => 'loss' in p)).toHaveLength(2);

    // the run's copy changed behind its back: the package is not written with it
    writeFileSync(path.join(out, 'lm.safetensors'), readFileSync(lmA));
    await expect(runPretrain(['text', '--out', out, '--resume', '--no-progress'])).rejects.toThrow(/not the word LM run\.json records/);
    // a run without --lm ships none
    const plain = JSON.parse(readFileSync(path.join(data, 'run-text', 'package', 'package.json'), 'utf8')) as { files: string[] };
    expect(plain.files).not.toContain('lm.safetensors');
  });

  it("speech with --speech-tokenizer DIR: the card's command names it TOKENIZER, this package's tokenizer/ (no machine path)", async () => {
    const tokenizer = path.join(data, 'my-units');
    cpSync(defaultSpeechTokenizerDir(), tokenizer, { recursive: true });
    const out = path.join(data, 'run-own-units');
    const r = await tinySpeechRun(out, '--speech-tokenizer', tokenizer);
    expect(r.code).toBe(0);
    const card = readFileSync(path.join(out, 'package', 'README.md'), 'utf8');
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as PretrainRun;
    expect(card).toContain(
      'zipper pretrain speech --data DATA --preset tiny --out OUT --seed 0 --steps 2 --speech-tokenizer TOKENIZER --workers 0',
    );
    expect(card).toContain(
      `\`TOKENIZER\`: this package's \`tokenizer/\` folder (the speech tokenizer it trained with, sha256 \`${run.tokenizer.sha256}\`)`,
    );
    expect(card).not.toContain(data);
    const shipped = JSON.parse(readFileSync(path.join(out, 'package', 'run.json'), 'utf8')) as PretrainRun;
    expect(shipped.tokenizer.source).toBe('TOKENIZER');
    // the package's tokenizer/ is that tokenizer: the same files (its README aside)
    const files = readdirSync(path.join(out, 'package', 'tokenizer'));
    expect(files.sort()).toEqual(['centroids.safetensors', 'speech-tokenizer.json']);
    for (const f of files)
      expect(Buffer.compare(readFileSync(path.join(out, 'package', 'tokenizer', f)), readFileSync(path.join(tokenizer, f))), f).toBe(0);
    // the default tokenizer is @zipper/speech's, named as such (no TOKENIZER legend)
    const plain = readFileSync(path.join(data, 'run-speech', 'package', 'README.md'), 'utf8');
    expect(plain).not.toContain('TOKENIZER');
  });

  it('refuses to overwrite a run, and run options on --resume', async () => {
    const out = path.join(data, 'run-text');
    await expect(runPretrain(['text', '--data', data, '--preset', 'tiny', '--out', out])).rejects.toThrow(
      /already holds a run; pass --resume/,
    );
    await expect(runPretrain(['text', '--out', out, '--resume', '--seed', '3'])).rejects.toThrow(/--seed cannot change on resume/);
    await expect(runPretrain(['speech', '--out', out, '--resume'])).rejects.toThrow(/holds a text run, not speech/);
    await expect(runPretrain(['text', '--data', data, '--preset', 'huge', '--out', path.join(data, 'x')])).rejects.toThrow(
      /unknown text pretraining preset "huge"; known: tiny, small/,
    );
  });
});
