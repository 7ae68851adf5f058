// `zipper fuse release`: a trained run as an installable checkpoint package (float16 weights,
// package.json naming the exact tower versions, a model card), on a tiny data build and tiny towers.
// A run stopped before its schedule ended (--minutes) is refused unless --allow-unfinished.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256Hex } from '@zipper/common/node';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageSource } from '../src/fuse/init-from.js';
import { evaluationRunDir, relabel } from '../src/fuse/release.js';
import type { FuseRun } from '../src/fuse/run-file.js';
import { buildData } from '../src/data/build.js';
import { loadTrainedModel } from '../src/fuse/trained-model.js';
import type { LossPoint } from '../src/progress/index.js';
import {
  buildTinyWordLm,
  publishTinyTowers,
  readLosses,
  runZipper,
  saveTinyTowers,
  summaryOf,
  tinyData,
  tinyRunArgs,
  trainTinyFuse,
  weightsOf,
} from './fuse-helpers.js';

type Held = Extract<LossPoint, { heldOut: number }>;

let data = '';
let towers = { text: '', speech: '' };
beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-fuse-release-test-');
  towers = await saveTinyTowers(data, data);
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const train = (out: string, ...more: string[]) => trainTinyFuse(towers, data, out, ...more);

describe("relabel: a package card's placeholders in the card of a run that started from it", () => {
  it('renames all at once, whole names only; DATA stays when the build is the same', () => {
    const text = '--out OUT --init-from INIT --aligned DATA on INIT_2_DATA, OUT/best, INIT_DATA; OUTPUT INITIAL DATASET';
    expect(relabel(text, 1, false)).toBe(
      '--out INIT --init-from INIT_2 --aligned INIT_DATA on INIT_3_DATA, INIT/best, INIT_2_DATA; OUTPUT INITIAL DATASET',
    );
    expect(relabel(text, 2, true)).toBe(
      '--out INIT_2 --init-from INIT_3 --aligned DATA on INIT_4_DATA, INIT_2/best, INIT_3_DATA; OUTPUT INITIAL DATASET',
    );
    // an interpolated release's TUNED (zipper fuse interpolate) is the OUT's: INIT_k_TUNED
    expect(relabel('--run TUNED --out OUT; INIT_TUNED, INIT_2_TUNED; TUNEDX', 1, true)).toBe(
      '--run INIT_TUNED --out INIT; INIT_2_TUNED, INIT_3_TUNED; TUNEDX',
    );
    // a soup's parts (zipper fuse soup) are the OUT's: INIT_k_PART_j, their own builds INIT_k_PART_j_DATA
    expect(relabel('--runs PART_1,PART_2 --out OUT; PART_2_DATA, INIT_PART_1, INIT_2_PART_3_DATA; PARTS PART_X', 1, true)).toBe(
      '--runs INIT_PART_1,INIT_PART_2 --out INIT; INIT_PART_2_DATA, INIT_2_PART_1, INIT_3_PART_3_DATA; PARTS PART_X',
    );
  });
});

describe('packageSource: what a run started from a package records of it', () => {
  it("reads run.json's lineage; a package released before that is read from its card's training block", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zipper-package-source-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@zipper/checkpoint-x', version: '0.2.0' }));
      const block = ['zipper fuse train --out INIT --aligned DATA', 'zipper fuse train --out OUT --init-from INIT --aligned DATA'];
      const legendLine = '`INIT`: the run OUT started from (`--init-from`, weights sha256 `ab`), trained first by the command above it.';
      const card = [
        '# x',
        '',
        '## Training',
        '',
        '```sh',
        ...block,
        '```',
        '',
        '`DATA`: the data build below.',
        legendLine,
        '',
        '| | |',
        '',
      ];
      writeFileSync(path.join(dir, 'README.md'), card.join('\n'));
      const run = { data: { buildSha256: 'cd' } } as unknown as FuseRun;
      const about = { name: '@zipper/checkpoint-x', version: '0.2.0', dataSha256: 'cd' };
      expect(packageSource(dir, run)).toEqual({ ...about, commands: block, legend: [legendLine] });
      const lineage = { commands: ['zipper fuse train --out OUT'], legend: [] };
      expect(packageSource(dir, { ...run, lineage })).toEqual({ ...about, ...lineage });
      rmSync(path.join(dir, 'README.md'));
      expect(() => packageSource(dir, run)).toThrow(/has no model card with a "## Training" block/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('zipper fuse release', () => {
  it('refuses a run whose towers are plain directories, not versioned packages; --tower m=PACKAGE names those folders published since (same sha256)', async () => {
    const run = path.join(data, 'run-dirs');
    expect((await train(run)).code).toBe(0);
    const out = path.join(data, 'pkg-dirs');
    const r = await runZipper(['fuse', 'release', '--run', run, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tower of .* is a directory .*not a checkpoint package.*pass --tower text=PACKAGE/);
    expect(existsSync(out)).toBe(false);

    // the two folders published as packages (copies with a package.json), and a speech package of other weights
    const publish = (from: string, to: string, name: string) => {
      cpSync(from, to, { recursive: true });
      writeFileSync(path.join(to, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
      return to;
    };
    const pubText = publish(towers.text, path.join(data, 'pub-text'), '@acme/checkpoint-text-tiny');
    const pubSpeech = publish(towers.speech, path.join(data, 'pub-speech'), '@acme/checkpoint-speech-tiny');
    const other = await saveTinyTowers(data, path.join(data, 'other-towers'), { speech: 9 });
    const otherSpeech = publish(other.speech, path.join(data, 'pub-other'), '@acme/checkpoint-speech-other');
    const sha = (dir: string) =>
      (JSON.parse(readFileSync(path.join(dir, 'tower', 'metadata.json'), 'utf8')) as { weights: { sha256: string } }).weights.sha256;

    const release = (...given: string[]) =>
      runZipper(['fuse', 'release', '--run', run, '--out', out, ...given.flatMap((g) => ['--tower', g])]);
    const one = await release(`text=${pubText}`);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/the speech tower of .* is a directory .*pass --tower speech=PACKAGE/);
    const wrong = await release(`text=${pubText}`, `speech=${otherSpeech}`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `--tower speech=${otherSpeech}: @acme/checkpoint-speech-other@1.0.0 has tower weights sha256 ${sha(otherSpeech)}, but ${run} was trained on speech (${towers.speech}) with sha256 ${sha(towers.speech)}`,
    );
    const plain = await release(`text=${pubText}`, `speech=${other.speech}`);
    expect(plain.stderr).toMatch(/--tower speech=.*: .* is not a checkpoint package \(no package.json with a name and a version\)/);
    expect(existsSync(out)).toBe(false); // nothing written by a refused release

    const ok = await release(`text=${pubText}`, `speech=${pubSpeech}`);
    expect(ok.code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies).toEqual({ '@acme/checkpoint-text-tiny': '1.0.0', '@acme/checkpoint-speech-tiny': '1.0.0' });
    // the reader of model/: the @zipper/fuse that wrote it, or later
    const fuseVersion = (
      JSON.parse(readFileSync(new URL('../../../packages/fuse/package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
    expect((manifest as { peerDependencies?: unknown }).peerDependencies).toEqual({ '@zipper/fuse': `>=${fuseVersion}` });
    const zipperJson = JSON.parse(readFileSync(path.join(out, 'model', 'zipper.json'), 'utf8')) as {
      towers: { name: string; checkpoint: { name: string; version: string | null; sha256: string } }[];
    };
    expect(zipperJson.towers.map((t) => t.checkpoint)).toEqual([
      { name: '@acme/checkpoint-text-tiny', version: '1.0.0', sha256: sha(towers.text) },
      { name: '@acme/checkpoint-speech-tiny', version: '1.0.0', sha256: sha(towers.speech) },
    ]);
    const shipped = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as FuseRun;
    expect(shipped.towers.speech).toMatchObject({
      name: '@acme/checkpoint-speech-tiny',
      version: '1.0.0',
      dir: '@acme/checkpoint-speech-tiny',
    });
    expect(shipped.command).toContain('--tower text=@acme/checkpoint-text-tiny --tower speech=@acme/checkpoint-speech-tiny');
    const card = readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(card).toContain(`| speech | \`@acme/checkpoint-speech-tiny@1.0.0\` | \`${sha(towers.speech)}\` |`);
    expect(card + JSON.stringify(shipped)).not.toContain(data); // no path of the training machine

    // it loads from the packages (verified by sha256) and decodes like the run
    const model = await loadTrainedModel(out, { text: pubText, speech: pubSpeech });
    const source = await loadTrainedModel(run);
    try {
      const input = [[model.segment('text', model.text.encode('a test'))]];
      const a = await model.generate(input, 'speech', { maxNewTokens: 4 });
      const b = await source.generate(input, 'speech', { maxNewTokens: 4 });
      expect(a[0]!.output).toBe('speech');
      expect(a[0]!.output === 'speech' && b[0]!.output === 'speech' && Array.from(a[0]!.units)).toEqual(
        b[0]!.output === 'speech' && Array.from(b[0]!.units),
      );
    } finally {
      model.dispose();
      source.dispose();
    }
  }, 240_000);

  it('refuses a run stopped early (--minutes) and its OUT/best, naming the step and how to continue; --allow-unfinished releases it; after --resume both release', async () => {
    publishTinyTowers(towers);
    const run = path.join(data, 'run-early');
    const best = path.join(run, 'best');
    // --minutes 0: every session makes one step, so the run stops at step 1 of 6 (best: step 1, evaluated every step)
    const t = await train(run, '--minutes', '0', '--keep-best', 'speech', '--eval-every', '1');
    expect(t.code, t.stderr).toBe(0);
    const release = (from: string, out: string, ...more: string[]) =>
      runZipper(['fuse', 'release', '--run', from, '--out', path.join(data, out), ...more]);

    const early = await release(run, 'pkg-early');
    expect(early.code).toBe(2);
    expect(early.stderr).toContain(
      `${run} stopped at step 1 of its 6-step schedule (--minutes, or a kill, stops a run early): continue it with \`zipper fuse train --out ${run} --resume\` and release again, or pass --allow-unfinished`,
    );
    expect(existsSync(path.join(data, 'pkg-early'))).toBe(false); // nothing written
    const earlyBest = await release(best, 'pkg-early-best');
    expect(earlyBest.code).toBe(2);
    expect(earlyBest.stderr).toContain(
      `${best} is the best evaluation so far (step 1) of ${run}, which stopped at step 1 of its 6-step schedule, so a later evaluation may replace it: continue the run with \`zipper fuse train --out ${run} --resume\``,
    );
    // a stop named with --until-step is the schedule's end for the release: not reached, or passed
    const notYet = await release(run, 'pkg-early', '--until-step', '3');
    expect(notYet.code).toBe(2);
    expect(notYet.stderr).toContain(`stopped at step 1 of its stop at --until-step 3`);
    expect(notYet.stderr).toContain(`--out ${run} --resume --until-step 3\``);

    const allowed = await release(run, 'pkg-early', '--allow-unfinished');
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain(`released unfinished (--allow-unfinished): ${run} stopped at step 1 of its 6-step schedule`);
    expect(readFileSync(path.join(data, 'pkg-early', 'README.md'), 'utf8')).toContain('| steps | 1 of 6 x 4 examples');

    const resumed = await runZipper(['fuse', 'train', '--out', run, '--resume', '--workers', '0', '--no-progress']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const done = await release(run, 'pkg-done');
    expect(done.code, done.stderr).toBe(0);
    expect(readFileSync(path.join(data, 'pkg-done', 'README.md'), 'utf8')).toContain('| steps | 6 of 6 x 4 examples');
    const doneBest = await release(best, 'pkg-done-best'); // the best of a finished run, whatever its step
    expect(doneBest.code, doneBest.stderr).toBe(0);
    const past = await release(run, 'pkg-past', '--until-step', '3');
    expect(past.code).toBe(2);
    expect(past.stderr).toContain(`${run} is at step 6, past --until-step 3`);
  }, 240_000);

  it('writes float16 weights equal to the run rounded to float16, the exact tower versions, a card; loads; same bytes twice', async () => {
    publishTinyTowers(towers);
    const run = path.join(data, 'run-pkgs');
    expect((await train(run)).code).toBe(0);
    const pkg = path.join(data, 'pkg');
    const notes = path.join(data, 'notes.md');
    writeFileSync(notes, '## Limitations\n\nA tiny test model.\n');
    // a peer output copied away from where it was written (as docs/runs/peer is): its recorded --out prints as PEER too
    const peer = path.join(data, 'peer-copy');
    const wrote = '/elsewhere/peer/test-clean';
    cpSync(notes, path.join(peer, 'unused')); // creates the folder
    const asr = path.join(run, 'eval', 'test-clean', 'asr'); // the table needs an evaluation of the run to print the peer's row
    cpSync(notes, path.join(asr, 'unused'));
    const scored = { split: 'test-clean', wer: 0.75, cer: 0.5, words: 8, utterances: 2, data };
    writeFileSync(
      path.join(asr, 'metrics.json'),
      JSON.stringify({
        ...scored,
        task: 'asr',
        interval: { wer: { low: 0.5, high: 1 }, cer: { low: 0.25, high: 0.75 }, samples: 1000, seed: 0, level: 0.95 },
        voices: { 'flite/slt': { wer: 0.5, utterances: 1 }, 'flite/awb': { wer: 1, utterances: 1 } },
        out: asr,
        command: `zipper eval asr --model ${run} --out ${asr}`,
      }),
    );
    // a TTS evaluation in the TTS voice and one other, whose oracle made no error (its ratio is null in JSON)
    const tts = path.join(run, 'eval', 'test-clean', 'tts');
    cpSync(notes, path.join(tts, 'unused'));
    const ratio = (r: number | null, low: number | null, high: number | null) => ({
      ratio: r,
      low,
      high,
      samples: 1000,
      seed: 0,
      level: 0.95,
    });
    writeFileSync(
      path.join(tts, 'metrics.json'),
      JSON.stringify({
        ...scored,
        task: 'tts',
        wer: 1.2,
        werMin: 1.1,
        werMax: 1.3,
        seeds: [0, 1],
        oracle: { wer: 0.6 },
        oracleRatio: ratio(2, 1.5, 3),
        ttsVoice: 'flite/slt',
        voices: {
          'flite/slt': { wer: 1.2, oracle: 0.4, utterances: 1, oracleRatio: ratio(3, 2, 4) },
          'flite/awb': { wer: 1.2, oracle: 0, utterances: 1, oracleRatio: ratio(null, null, null) },
        },
        out: tts,
        command: `zipper eval tts --model ${run} --out ${tts}`,
      }),
    );
    writeFileSync(
      path.join(peer, 'metrics.json'),
      JSON.stringify({
        task: 'peer',
        split: 'test-clean',
        wer: 0.5,
        cer: 0.25,
        words: 8,
        utterances: 2,
        data,
        out: wrote,
        voices: { 'flite/slt': { wer: 0.75, utterances: 1 }, 'flite/awb': { wer: 0.25, utterances: 1 } },
        command: `zipper eval peer --data ${data} --split test-clean --out ${wrote} --json`,
      }),
    );
    const release = (runDir: string, out: string, peerDir = peer, ...more: string[]) =>
      runZipper([
        'fuse',
        'release',
        '--run',
        runDir,
        '--out',
        out,
        '--version',
        '0.2.0',
        '--until-step',
        '6',
        '--notes',
        notes,
        '--peer',
        peerDir,
        ...more,
      ]);
    const r = await release(run, pkg);
    expect(r.code).toBe(0);
    expect(summaryOf(r)).toMatchObject({ name: '@zipper/checkpoint-zipper-small', version: '0.2.0', dtype: 'float16' });

    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['dependencies']).toEqual({ '@zipper/checkpoint-text-tiny': '0.0.1', '@zipper/checkpoint-speech-tiny': '0.0.1' });
    const info = JSON.parse(readFileSync(path.join(pkg, 'model', 'zipper.json'), 'utf8')) as { weights: { dtype: string } };
    expect(info.weights.dtype).toBe('float16');

    // every trained weight is the run's, rounded to float16 (relative error <= 2^-11, or tiny absolute near 0)
    const full = weightsOf(path.join(run, 'model', 'model.safetensors'));
    const half = weightsOf(path.join(pkg, 'model', 'model.safetensors'));
    expect([...half.keys()].sort()).toEqual([...full.keys()].sort());
    let worst = 0;
    for (const [k, t] of full) {
      const a = t.data as Float32Array;
      const b = half.get(k)!.data as Float32Array;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(a[i]!), 2 ** -14));
    }
    expect(worst).toBeGreaterThan(0); // really stored as float16
    expect(worst).toBeLessThanOrEqual(2 ** -11);

    const card = readFileSync(path.join(pkg, 'README.md'), 'utf8');
    expect(card).toContain('```\n\n## Limitations\n\nA tiny test model.\n\n## Towers');
    expect(card).toContain('| test-clean | 2 | 75.0% / 50.0%; WER 95% interval 50.0%-100.0% | 50.0% / 25.0% |'); // the peer's metrics keep no interval
    expect(card).toContain('zipper eval peer --data DATA --split test-clean --out PEER --json');
    expect(card).toContain(
      '| test-clean | 2 | 120.0% (110.0%-130.0%), seeds 0, 1 | n/a | 60.0%; this model x2.00 (95% interval 1.50-3.00) |',
    );
    // by voice: the apps' decoder beside pocketsphinx, TTS beside its oracle, the TTS voice marked
    expect(card).toContain('### test-clean by voice (WER)');
    expect(card).toContain('| flite/awb | 1 | 100.0% | 25.0% | 1 | 120.0% | 0.0% | n/a (the oracle made no error) |');
    expect(card).toContain('| flite/slt (the TTS voice) | 1 | 50.0% | 75.0% | 1 | 120.0% | 40.0% | x3.00 (2.00-4.00) |');
    expect(card).not.toContain(wrote);
    expect(card).toContain('| tasks | asr + tts, mixed asr 1 : tts 1.26 by example count |');
    const runJson = JSON.parse(readFileSync(path.join(run, 'run.json'), 'utf8')) as {
      command: string;
      towers: Record<string, { sha256: string }>;
    };
    const shipped = JSON.parse(readFileSync(path.join(pkg, 'run.json'), 'utf8')) as {
      command: string;
      towers: Record<string, { dir: string }>;
    };
    expect(shipped.command).toBe(
      runJson.command
        .split(towers.text)
        .join('@zipper/checkpoint-text-tiny')
        .split(towers.speech)
        .join('@zipper/checkpoint-speech-tiny')
        .split(run)
        .join('OUT')
        .split(data)
        .join('DATA'),
    );
    expect(shipped.towers['text']!.dir).toBe('@zipper/checkpoint-text-tiny'); // found by name on another machine
    expect(card).toContain(`${shipped.command} --until-step 6`);
    expect(card + JSON.stringify(shipped)).not.toContain(data); // no path of the training machine
    expect(card).toContain(runJson.towers['text']!.sha256);
    expect(card).toMatch(/^---\nlibrary_name: zipper\n/);

    // the package loads as a model (towers verified by sha256) and decodes
    // (the tiny towers are not installed packages here: pass their folders, as --tower does)
    const model = await loadTrainedModel(pkg, { text: towers.text, speech: towers.speech });
    try {
      const rows = await model.generate([[model.segment('text', model.text.encode('a test'))]], 'speech', { maxNewTokens: 4 });
      expect(rows[0]!.output).toBe('speech');
    } finally {
      model.dispose();
    }
    // the package's model is dated when the run's model was made, not when it was released
    const createdAt = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'zipper.json'), 'utf8')) as { createdAt: string }).createdAt;
    expect(createdAt(path.join(pkg, 'model'))).toBe(createdAt(path.join(run, 'model')));
    // so a second release of the same run writes the same model, byte for byte
    const again = path.join(data, 'pkg-again');
    expect((await runZipper(['fuse', 'release', '--run', run, '--out', again, '--version', '0.2.0'])).code).toBe(0);
    for (const f of ['model/model.safetensors', 'model/zipper.json'])
      expect([f, Buffer.compare(readFileSync(path.join(again, f)), readFileSync(path.join(pkg, f)))]).toEqual([f, 0]);

    // the run folder lost (a new machine): its record (zipper eval record, kept in git) and the package's own
    // float16 weights release the same package again, every file byte for byte
    const record = path.join(data, 'record-of-run');
    expect((await runZipper(['eval', 'record', '--run', run, '--out', record])).code).toBe(0);
    expect(existsSync(path.join(record, 'model'))).toBe(false);
    const restored = path.join(data, 'restored-run');
    cpSync(record, restored, { recursive: true });
    cpSync(path.join(pkg, 'model'), path.join(restored, 'model'), { recursive: true });
    const rereleased = path.join(data, 'pkg-from-record');
    expect((await release(restored, rereleased)).code).toBe(0);
    const packageFiles = ['model/model.safetensors', 'model/zipper.json', 'run.json', 'package.json', 'README.md', 'loss.svg'];
    for (const f of packageFiles)
      expect([f, Buffer.compare(readFileSync(path.join(rereleased, f)), readFileSync(path.join(pkg, f)))]).toEqual([f, 0]);

    // --record keeps that record as it releases, the peer's too (peers/NAME): with the package's model it releases again
    const kept = path.join(data, 'kept-record');
    const withRecord = await release(run, path.join(data, 'pkg-recorded'), peer, '--record', kept);
    expect(withRecord.code, withRecord.stderr).toBe(0);
    expect(summaryOf(withRecord)).toMatchObject({ record: kept });
    const recorded = (dir: string) =>
      (JSON.parse(readFileSync(path.join(dir, 'record.json'), 'utf8')) as { files: { name: string }[] }).files;
    expect(recorded(kept).map((f) => f.name)).toEqual([
      ...recorded(record).map((f) => f.name),
      'peers/peer-copy/metrics.json', // the peer's files, after the run's
    ]);
    expect(existsSync(path.join(kept, 'model'))).toBe(false);
    const restored2 = path.join(data, 'restored-run-2');
    cpSync(kept, restored2, { recursive: true });
    cpSync(path.join(pkg, 'model'), path.join(restored2, 'model'), { recursive: true });
    // a record of that copy names the trained run as its source, and the copy it came through
    const ofCopy = path.join(data, 'record-of-restored');
    expect((await runZipper(['eval', 'record', '--run', restored2, '--out', ofCopy])).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(ofCopy, 'record.json'), 'utf8'))).toMatchObject({ source: run, via: [restored2] });
    expect(JSON.parse(readFileSync(path.join(kept, 'record.json'), 'utf8'))).not.toHaveProperty('via');
    const rereleased2 = path.join(data, 'pkg-from-kept-record');
    const keptAgain = path.join(data, 'kept-record-again');
    const restoredPeer = path.join(restored2, 'peers', 'peer-copy');
    expect((await release(restored2, rereleased2, restoredPeer, '--record', keptAgain)).code).toBe(0);
    // the peer too is named by the folder first recorded, through the copy of the record that held it
    expect(JSON.parse(readFileSync(path.join(kept, 'record.json'), 'utf8'))).toMatchObject({ peers: { 'peer-copy': { source: peer } } });
    expect(JSON.parse(readFileSync(path.join(keptAgain, 'record.json'), 'utf8'))).toMatchObject({
      source: run,
      via: [restored2],
      peers: { 'peer-copy': { source: peer, via: [restoredPeer] } },
    });
    for (const f of packageFiles)
      expect([f, Buffer.compare(readFileSync(path.join(rereleased2, f)), readFileSync(path.join(pkg, f)))]).toEqual([f, 0]);
    // a run renamed after its last command wrote it (an interpolation written beside, then moved), then copied:
    // the folder its evaluations were written into is OUT too, so the card names no machine path
    const moved = path.join(data, 'restored-run-3');
    cpSync(restored2, moved, { recursive: true });
    const movedRunJson = path.join(moved, 'run.json');
    writeFileSync(movedRunJson, readFileSync(movedRunJson, 'utf8').replaceAll(`--out ${run} `, `--out ${run}-i `));
    expect(readFileSync(movedRunJson, 'utf8')).toContain(`--out ${run}-i `);
    const rereleased3 = path.join(data, 'pkg-from-moved-run');
    expect((await release(moved, rereleased3, path.join(moved, 'peers', 'peer-copy'))).code).toBe(0);
    const card3 = readFileSync(path.join(rereleased3, 'README.md'), 'utf8');
    expect(card3).toBe(readFileSync(path.join(pkg, 'README.md'), 'utf8'));
    expect(card3).toContain('zipper eval asr --model OUT --out OUT/eval/test-clean/asr');
    expect(evaluationRunDir('/r/x/eval/dev/asr-lexicon')).toBe('/r/x');
    expect(evaluationRunDir('/r/x/evals/dev/asr')).toBeUndefined();
    // a folder that is no run is named by the option that gave it
    const none = await runZipper(['fuse', 'release', '--run', path.join(data, 'no-such-run'), '--out', path.join(data, 'pkg-none')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^zipper: --run .*no-such-run: no run\.json/);
    // checked before anything is written: a folder that is not a record, or inside the package
    const notRecord = path.join(data, 'not-a-record');
    cpSync(notes, path.join(notRecord, 'notes.md'));
    for (const [dir, message, out] of [
      [notRecord, /--record .*not-a-record: exists and is not a record/, path.join(data, 'pkg-refused-1')],
      [path.join(data, 'pkg-refused-2', 'record'), /--record .*: inside the package/, path.join(data, 'pkg-refused-2')],
    ] as const) {
      const refused = await release(run, out, peer, '--record', dir);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(message);
      expect(existsSync(path.join(out, 'model'))).toBe(false);
    }
  }, 240_000);
  it('a run of one task: the card says so and names no mixture (its run.json keeps the default mix it never used)', async () => {
    publishTinyTowers(towers);
    const run = path.join(data, 'run-tts-only');
    expect((await train(run, '--tasks', 'tts')).code).toBe(0);
    const pkg = path.join(data, 'pkg-tts-only');
    const r = await runZipper(['fuse', 'release', '--run', run, '--out', pkg]);
    expect(r.code, r.stderr).toBe(0);
    const card = readFileSync(path.join(pkg, 'README.md'), 'utf8');
    expect(card).toContain('| tasks | TTS examples only |');
    expect(card).not.toContain('mixed asr');
    // a fresh run of one task was fine-tuned for that task alone (no earlier stage trained ASR)
    expect(card).toContain('of the aligned pairs for speech synthesis.');
  }, 240_000);

  it('a single decoder (zipper baseline train) releases too: its tower checkpoint dated when the run made it, the same bytes twice', async () => {
    publishTinyTowers(towers);
    const run = path.join(data, 'run-baseline');
    const t = await runZipper([
      ...['baseline', 'train', ...tinyRunArgs(towers, data), '--steps', '4', '--every', '4', '--lr', '1e-2'],
      ...['--workers', '0', '--no-progress', '--out', run],
    ]);
    expect(t.code, t.stderr).toBe(0);
    const createdAt = (dir: string) =>
      (JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as { createdAt: string }).createdAt;
    const [a, b] = [path.join(data, 'pkg-baseline'), path.join(data, 'pkg-baseline-again')];
    for (const pkg of [a, b]) {
      const r = await runZipper(['fuse', 'release', '--run', run, '--out', pkg]);
      expect(r.code, r.stderr).toBe(0);
      expect(createdAt(path.join(pkg, 'model'))).toBe(createdAt(path.join(run, 'model')));
    }
    for (const f of ['model/model.safetensors', 'model/metadata.json', 'model/config.json'])
      expect([f, Buffer.compare(readFileSync(path.join(a, f)), readFileSync(path.join(b, f)))]).toEqual([f, 0]);
  }, 240_000);

  it("a warm-started run: the card names the source run's command first (INIT); OUT/best of --keep-best: its --until-step command; no machine path", async () => {
    publishTinyTowers(towers);
    const source = path.join(data, 'run-source');
    const warm = path.join(data, 'run-warm');
    expect((await train(source)).code).toBe(0);
    expect((await train(warm, '--init-from', source, '--keep-best', 'speech', '--eval-every', '2', '--seed', '3')).code).toBe(0);
    const sourceCommand = (JSON.parse(readFileSync(path.join(source, 'run.json'), 'utf8')) as FuseRun).command;
    const warmRun = JSON.parse(readFileSync(path.join(warm, 'run.json'), 'utf8')) as FuseRun;

    // an evaluation on another build whose dev manifest is the same bytes (a copy) prints as DATA
    const copyOfData = (prefix: string) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
      cpSync(data, dir, { recursive: true, filter: (f) => !f.includes('run-') && !f.includes('pkg') });
      return dir;
    };
    const evalOn = (dir: string, split: string) =>
      runZipper([
        'eval',
        'asr',
        '--model',
        warm,
        '--data',
        dir,
        '--split',
        split,
        '--out',
        path.join(warm, 'eval', split, 'asr'),
        '--json',
      ]);
    const copy = copyOfData('zipper-release-copy-');
    const e = await evalOn(copy, 'dev');
    expect(e.code, e.stderr).toBe(0);
    const devSha = sha256Hex(readFileSync(path.join(data, 'dev.jsonl')));
    expect((summaryOf(e) as { manifest: string; manifestSha256: string }).manifestSha256).toBe(devSha);
    rmSync(copy, { recursive: true, force: true }); // the release goes by the recorded manifestSha256, not the copy's file
    // one on a build whose test-clean differs (another build): EVAL_DATA, its command in the legend
    const other = copyOfData('zipper-release-other-');
    const lines = readFileSync(path.join(other, 'test-clean.jsonl'), 'utf8').trimEnd().split('\n');
    writeFileSync(path.join(other, 'test-clean.jsonl'), `${lines.slice(0, -1).join('\n')}\n`);
    const o = await evalOn(other, 'test-clean');
    expect(o.code, o.stderr).toBe(0);
    const otherBuild = readFileSync(path.join(other, 'build.json'));
    // one on a build with --dev-other, whose dev-other manifest is also on disk in the run's build (as a rebuild
    // without the flag leaves it) but not in the run's build.json: EVAL_DATA_2, not DATA
    const withDevOther = copyOfData('zipper-release-devother-');
    await buildData({ out: withDevOther, size: 'tiny', seed: 0, devOther: true });
    cpSync(path.join(withDevOther, 'dev-other.jsonl'), path.join(data, 'dev-other.jsonl'));
    const d = await evalOn(withDevOther, 'dev-other');
    expect(d.code, d.stderr).toBe(0);

    const pkg = path.join(data, 'pkg-warm');
    const r = await runZipper(['fuse', 'release', '--run', warm, '--out', pkg]);
    expect(r.code, r.stderr).toBe(0);
    const card = readFileSync(path.join(pkg, 'README.md'), 'utf8');
    const shipped = readFileSync(path.join(pkg, 'run.json'), 'utf8');
    const commands = /## Training\n\n```sh\n([\s\S]*?)\n```/.exec(card)![1]!.split('\n');
    const placeholders = (cmd: string) =>
      [
        [towers.text, '@zipper/checkpoint-text-tiny'],
        [towers.speech, '@zipper/checkpoint-speech-tiny'],
        [source, 'INIT'],
        [warm, 'OUT'],
        [data, 'DATA'],
      ].reduce((c, [from, to]) => c.split(from!).join(to), cmd);
    expect(commands).toEqual([placeholders(sourceCommand), placeholders(warmRun.command)]);
    expect(commands[1]).toContain('--init-from INIT ');
    const legend = [
      `\`INIT\`: the run OUT started from (\`--init-from\`, weights sha256 \`${warmRun.initFrom!.sha256}\`), trained first by the command above it.`,
    ];
    expect(card).toContain(legend[0]);
    expect((JSON.parse(shipped) as FuseRun).lineage).toEqual({ commands, legend }); // the card's block, kept in run.json
    expect(card + shipped).not.toContain(data);
    expect(card).toContain(`--data DATA --split dev --out OUT/eval/dev/asr --json`);
    expect(card).not.toContain(copy);
    expect(card).toContain(`--data EVAL_DATA --split test-clean --out OUT/eval/test-clean/asr --json`);
    const { size, seed } = JSON.parse(otherBuild.toString('utf8')) as { size: string; seed: number };
    expect(card).toContain(
      `\`EVAL_DATA\`: the data build of the evaluations that name it, \`zipper data build --out EVAL_DATA --size ${size} --seed ${seed}\` (build.json sha256 \`${sha256Hex(otherBuild)}\`).`,
    );
    expect(card + shipped).not.toContain(other);
    rmSync(other, { recursive: true, force: true });
    expect(card).toContain(`--data EVAL_DATA_2 --split dev-other --out OUT/eval/dev-other/asr --json`);
    expect(card).toContain('--size tiny --seed 0 --dev-other` (build.json sha256');
    expect(card + shipped).not.toContain(withDevOther);
    rmSync(withDevOther, { recursive: true, force: true });
    rmSync(path.join(data, 'dev-other.jsonl'));

    const best = JSON.parse(readFileSync(path.join(warm, 'best', 'run.json'), 'utf8')) as FuseRun;
    const b = await runZipper(['fuse', 'release', '--run', path.join(warm, 'best'), '--out', path.join(data, 'pkg-best')]);
    expect(b.code, b.stderr).toBe(0);
    const bestCard = readFileSync(path.join(data, 'pkg-best', 'README.md'), 'utf8');
    expect(bestCard).toContain(`--out OUT --seed 3`);
    expect(bestCard).toContain(` --until-step ${best.best!.step}\n\`\`\``);
    expect(bestCard + readFileSync(path.join(data, 'pkg-best', 'run.json'), 'utf8')).not.toContain(data);

    // a run started from the released package (--init-from its folder): it starts at the package's weights (float16),
    // run.json keeps the package's card chain, and its release names the whole chain with the package folder gone
    // (the chain is read from the package's run.json, not its card: the card is gone)
    rmSync(path.join(pkg, 'README.md'));
    const warm2 = path.join(data, 'run-warm2');
    const t2 = await train(warm2, '--init-from', pkg, '--seed', '4');
    expect(t2.code, t2.stderr).toBe(0);
    const pkgJson = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { name: string; version: string };
    const w2 = JSON.parse(readFileSync(path.join(warm2, 'run.json'), 'utf8')) as FuseRun;
    expect(w2.initFrom!.package).toEqual({
      name: pkgJson.name,
      version: pkgJson.version,
      commands,
      legend,
      dataSha256: warmRun.data.buildSha256,
    });
    const heldOut = (out: string) => readLosses(out).filter((p): p is Held => 'heldOut' in p);
    const last = heldOut(warm).at(-1)!;
    expect(last.step).toBe(6);
    expect(Math.abs(heldOut(warm2)[0]!.heldOut - last.heldOut)).toBeLessThan(0.02); // float16 weights of the same model
    rmSync(pkg, { recursive: true });
    const pkg2 = path.join(data, 'pkg-warm2');
    const r2 = await runZipper(['fuse', 'release', '--run', warm2, '--out', pkg2]);
    expect(r2.code, r2.stderr).toBe(0);
    const card2 = readFileSync(path.join(pkg2, 'README.md'), 'utf8');
    const commands2 = /## Training\n\n```sh\n([\s\S]*?)\n```/.exec(card2)![1]!.split('\n');
    expect(commands2).toEqual([
      commands[0]!.replace('--out INIT ', '--out INIT_2 '),
      commands[1]!.replace('--out OUT ', '--out INIT ').replace('--init-from INIT ', '--init-from INIT_2 '),
      w2.command
        .split(towers.text)
        .join('@zipper/checkpoint-text-tiny')
        .split(towers.speech)
        .join('@zipper/checkpoint-speech-tiny')
        .split(warm2)
        .join('OUT')
        .split(pkg)
        .join('INIT')
        .split(data)
        .join('DATA'),
    ]);
    expect(commands2[2]).toContain('--init-from INIT ');
    expect(card2).toContain(
      `\`INIT\`: the run OUT started from (\`--init-from\`): the checkpoint package \`${pkgJson.name}@${pkgJson.version}\` (its weights as released, sha256 \`${w2.initFrom!.sha256}\`)`,
    );
    expect(card2).toContain(
      `\`INIT_2\`: the run INIT started from (\`--init-from\`, weights sha256 \`${warmRun.initFrom!.sha256}\`), trained first by the command above it.`,
    );
    expect(card2 + readFileSync(path.join(pkg2, 'run.json'), 'utf8')).not.toContain(data);

    // without the source's run.json the card could not say how the weights came to be
    rmSync(path.join(source, 'run.json'));
    const gone = await runZipper(['fuse', 'release', '--run', warm, '--out', path.join(data, 'pkg-gone')]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`the run started from ${source} (--init-from), which has no run.json here`);
  }, 240_000);
  it('--beam, --word-bonus, --blank-penalty, --rescore, --n-best: the package carries the settings its lexicon evaluations used, and the apps search with them; other settings refused', async () => {
    // the tiny towers as packages, installed beside the release (found by name, as npm installs them)
    const modules = path.join(data, 'node_modules', '@zipper');
    mkdirSync(modules, { recursive: true });
    for (const [m, dir] of Object.entries(towers)) {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `@zipper/checkpoint-${m}-tiny`, version: '0.0.1' }));
      if (!existsSync(path.join(modules, `checkpoint-${m}-tiny`))) symlinkSync(dir, path.join(modules, `checkpoint-${m}-tiny`));
    }
    const run = path.join(data, 'run-search');
    expect((await train(run, '--ctc-weight', '0.3', '--ctc-labels', 'bytes')).code).toBe(0);
    const lm = path.join(data, 'search-lm.safetensors');
    expect((await buildTinyWordLm(data, lm)).code).toBe(0);
    const lexiconEval = (model: string, ...more: string[]) =>
      runZipper([
        ...['eval', 'asr', '--model', model, '--data', data, '--split', 'test-clean', '--limit', '4'],
        ...['--decoder', 'lexicon', '--lm', lm, '--json', ...more],
      ]);
    const settings = ['--beam', '8', '--word-bonus', '1', '--blank-penalty', '0'];
    const evaluated = await lexiconEval(run, ...settings);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const runEval = summaryOf(evaluated) as { out: string };

    // released with the search's defaults, the card would show what the apps do not do
    const pkg = path.join(data, 'pkg-search');
    const refused = await runZipper(['fuse', 'release', '--run', run, '--out', pkg, '--dtype', 'float32']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'test-clean (beam 8 where the package has 128, word bonus 1 where the package has -2, blank penalty 0 where the package has 1.5)',
    );
    expect(existsSync(pkg)).toBe(false);
    // refused before the weights load: the same refusal for a copy whose weights are garbage
    const garbled = path.join(data, 'run-search-garbled');
    cpSync(run, garbled, { recursive: true });
    writeFileSync(path.join(garbled, 'model', 'model.safetensors'), 'not weights');
    const refusedEarly = await runZipper(['fuse', 'release', '--run', garbled, '--out', pkg, '--dtype', 'float32']);
    expect(refusedEarly.code).toBe(2);
    expect(refusedEarly.stderr).toContain('test-clean (beam 8 where the package has 128, word bonus 1 where the package has -2');
    const r = await runZipper(['fuse', 'release', '--run', run, '--out', pkg, '--dtype', 'float32', ...settings]);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(readFileSync(path.join(pkg, 'model', 'zipper.json'), 'utf8')) as { options: { ctc: { search?: unknown }[] } };
    expect(info.options.ctc[0]!.search).toEqual({ beam: 8, wordBonus: 1, blankPenalty: 0 });
    expect(readFileSync(path.join(pkg, 'README.md'), 'utf8')).toContain(
      "with LM weight 1, word bonus 1, blank penalty 0, beam 8: this package's own settings (model/zipper.json, its CTC head's `search`), which the apps use.",
    );
    // the package evaluated with no setting given searches with its own: the run's transcripts
    const pkgEval = await lexiconEval(pkg, '--out', path.join(data, 'pkg-search-eval'));
    expect(pkgEval.code, pkgEval.stderr).toBe(0);
    const pm = summaryOf(pkgEval) as { out: string; lexicon: Record<string, number> };
    expect(pm.lexicon).toMatchObject({ beam: 8, lmWeight: 1, wordBonus: 1, blankPenalty: 0 });
    const hyps = (out: string) => readFileSync(path.join(out, 'hyp.txt'), 'utf8');
    expect(hyps(pm.out)).toBe(hyps(runEval.out));
    // zipper transcribe too; a setting given overrides its own, the others stay
    const first = JSON.parse(readFileSync(path.join(runEval.out, 'utterances.jsonl'), 'utf8').split('\n')[0]!) as {
      id: string;
      hyp: string;
    };
    const t = await runZipper([
      'transcribe',
      path.join(data, 'audio', 'test-clean', `${first.id}.wav`),
      '--model',
      pkg,
      '--lm',
      lm,
      '--json',
    ]);
    expect(t.code, t.stderr).toBe(0);
    expect((summaryOf(t) as { decoder: string; results: { text: string }[] }).results[0]!.text).toBe(first.hyp.trim());
    const over = await lexiconEval(pkg, '--word-bonus', '-2', '--out', path.join(data, 'pkg-search-over'));
    const om = summaryOf(over) as { out: string; lexicon: Record<string, number> };
    expect(om.lexicon).toMatchObject({ beam: 8, wordBonus: -2, blankPenalty: 0 });
    expect(hyps(om.out)).not.toBe(hyps(pm.out)); // the setting matters on these utterances
    // an utterance the override transcribes differently: zipper transcribe with it gives the override's transcript
    const rowsOf = (out: string) =>
      readFileSync(path.join(out, 'utterances.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; hyp: string });
    const own = rowsOf(pm.out);
    const moved = rowsOf(om.out).find((u, i) => u.hyp !== own[i]!.hyp)!;
    const wav = path.join(data, 'audio', 'test-clean', `${moved.id}.wav`);
    const t2 = await runZipper(['transcribe', wav, '--model', pkg, '--lm', lm, '--word-bonus', '-2', '--json']);
    expect(t2.code, t2.stderr).toBe(0);
    expect((summaryOf(t2) as { results: { text: string }[] }).results[0]!.text).toBe(moved.hyp.trim());
    const notLexicon = await runZipper(['transcribe', wav, '--model', pkg, '--decoder', 'ctc', '--word-bonus', '1']);
    expect(notLexicon.code).toBe(2);
    expect(notLexicon.stderr).toContain(
      '--lm, --beam, --lm-weight, --word-bonus, --blank-penalty, --rescore, --n-best, --oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range and --level-down are for --decoder lexicon (or auto)',
    );

    // the rescoring is a setting too: carried, it makes the package's default decoder the two-pass one
    const rescoring = [...settings, '--rescore', '1', '--n-best', '4'];
    const pkgR = path.join(data, 'pkg-search-rescore');
    const refusedR = await runZipper(['fuse', 'release', '--run', run, '--out', pkgR, '--dtype', 'float32', ...rescoring]);
    expect(refusedR.code).toBe(2);
    expect(refusedR.stderr).toContain('test-clean (rescore weight 0 where the package has 1, n best 1 where the package has 4)');
    expect(refusedR.stderr).toContain(
      "evaluate them again with the package's (zipper eval asr --decoder lexicon --beam 8 --lm-weight 1 --word-bonus 1 --blank-penalty 0 --rescore 1 --n-best 4)",
    );
    const rescored = await lexiconEval(run, ...rescoring, '--out', runEval.out);
    expect(rescored.code, rescored.stderr).toBe(0);
    expect((summaryOf(rescored) as { rescore: { weight: number; nBest: number } }).rescore).toMatchObject({ weight: 1, nBest: 4 });
    const rr = await runZipper(['fuse', 'release', '--run', run, '--out', pkgR, '--dtype', 'float32', ...rescoring]);
    expect(rr.code, rr.stderr).toBe(0);
    const infoR = JSON.parse(readFileSync(path.join(pkgR, 'model', 'zipper.json'), 'utf8')) as { options: { ctc: { search?: unknown }[] } };
    expect(infoR.options.ctc[0]!.search).toEqual({ beam: 8, wordBonus: 1, blankPenalty: 0, rescoreWeight: 1, nBest: 4 });
    const cardR = readFileSync(path.join(pkgR, 'README.md'), 'utf8');
    expect(cardR).toContain(
      "with LM weight 1, word bonus 1, blank penalty 0, beam 8, then the 4 best re-ranked by the zipped model's decoder at weight 1: this package's own settings",
    );
    // the table's column names the second pass; the package that searches alone does not
    expect(cardR).toContain("| its CTC head + word LM, rescored by the text tower (`--decoder lexicon`, the apps' default) |");
    expect(readFileSync(path.join(pkg, 'README.md'), 'utf8')).toContain(
      "| its CTC head + word LM (`--decoder lexicon`, the apps' default) |",
    );
    // its evaluation with no setting given rescores, as the run's did with the flags; --rescore 0 is the search alone
    const pkgR1 = await lexiconEval(pkgR, '--out', path.join(data, 'pkg-rescore-eval'));
    expect(pkgR1.code, pkgR1.stderr).toBe(0);
    expect(hyps((summaryOf(pkgR1) as { out: string }).out)).toBe(hyps(runEval.out));
    expect((summaryOf(pkgR1) as { rescore: { weight: number; nBest: number } }).rescore).toMatchObject({ weight: 1, nBest: 4 });
    const pkgR0 = await lexiconEval(pkgR, '--rescore', '0', '--out', path.join(data, 'pkg-rescore-off'));
    expect(pkgR0.code, pkgR0.stderr).toBe(0);
    expect(hyps((summaryOf(pkgR0) as { out: string }).out)).toBe(hyps(pm.out));
    expect('rescore' in (summaryOf(pkgR0) as object)).toBe(false);

    // a carried unknown-word cost: --oov-byte-log-prob none searches without it (as the package without one)
    const spelling = [...settings, '--oov-byte-log-prob=-1'];
    const spelled = await lexiconEval(run, ...spelling, '--out', runEval.out);
    expect(spelled.code, spelled.stderr).toBe(0);
    const pkgO = path.join(data, 'pkg-search-oov');
    const ro = await runZipper(['fuse', 'release', '--run', run, '--out', pkgO, '--dtype', 'float32', ...spelling]);
    expect(ro.code, ro.stderr).toBe(0);
    const pkgO1 = await lexiconEval(pkgO, '--out', path.join(data, 'pkg-oov-eval'));
    expect((summaryOf(pkgO1) as { lexicon: Record<string, number> }).lexicon).toMatchObject({ oovByteLogProb: -1 });
    expect(hyps((summaryOf(pkgO1) as { out: string }).out)).toBe(hyps(runEval.out));
    const pkgO0 = await lexiconEval(pkgO, '--oov-byte-log-prob', 'none', '--out', path.join(data, 'pkg-oov-none'));
    expect(pkgO0.code, pkgO0.stderr).toBe(0);
    expect('oovByteLogProb' in (summaryOf(pkgO0) as { lexicon: object }).lexicon).toBe(false);
    expect(hyps((summaryOf(pkgO0) as { out: string }).out)).toBe(hyps(pm.out));

    // the settings need a byte-label head; bad values are usage errors
    const noHead = path.join(data, 'run-search-nohead');
    expect((await train(noHead)).code).toBe(0);
    const none = await runZipper(['fuse', 'release', '--run', noHead, '--out', path.join(data, 'pkg-nohead'), '--word-bonus', '1']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /--views, --level-range, --level-down set the lexicon search, which needs a byte-label CTC head .*this model has none/,
    );
    const bad = await runZipper(['fuse', 'release', '--run', run, '--out', path.join(data, 'pkg-bad'), '--beam', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--beam must be an integer >= 1/);
  }, 240_000);
});
