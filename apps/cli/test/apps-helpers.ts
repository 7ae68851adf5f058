// Helpers of the apps tests (transcribe, speak, demo speech, bench asr|tts): a tiny zipped model
// laid out as a run directory (run.json + model/) without a data build, and WAV files.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SpeechTower } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import { loadSpeechTokenizer, trainBpe, writeWav } from '@zipper/tokenizers';
import { createFuseModel } from '../src/fuse/models.js';
import { FUSE_RUN_FORMAT, FUSE_RUN_VERSION, MODEL_DIR, type FuseRun } from '../src/fuse/run-file.js';
import { loadTowers } from '../src/fuse/towers.js';
import { defaultSpeechTokenizerDir } from '../src/pretrain/prepare.js';

/**
 * An untrained zipped model of two tiny towers (text: BPE 300 on `lines`, d 16; speech: the default
 * 512-unit tokenizer, d 16, maxSeqLen 120 = 2.4 s per decode) saved under `dir` as a run directory
 * the apps load (`zipper fuse train` writes the same files; no data build is needed). Returns the run directory.
 */
export async function untrainedZippedRun(dir: string, lines: readonly string[]): Promise<string> {
  const text = TextTower.create(trainBpe(lines, { vocabSize: 300 }), { dModel: 16, nLayers: 2, nHeads: 2, maxSeqLen: 48 }, { seed: 1 });
  const speech = SpeechTower.create(
    loadSpeechTokenizer(defaultSpeechTokenizerDir()),
    { dModel: 16, nLayers: 2, nHeads: 2, maxSeqLen: 120 },
    { seed: 2 },
  );
  await text.save(path.join(dir, 'text'));
  await speech.save(path.join(dir, 'speech'));
  text.dispose();
  speech.dispose();
  const towers = await loadTowers({ text: path.join(dir, 'text'), speech: path.join(dir, 'speech') });
  const refs = towers.refs;
  const model = createFuseModel(towers, { crossLayers: 1, projectionLayers: 1, freeze: [], seed: 3 });
  const run = path.join(dir, 'run');
  await model.save(path.join(run, MODEL_DIR));
  model.dispose();
  const record: FuseRun = {
    format: FUSE_RUN_FORMAT,
    version: FUSE_RUN_VERSION,
    kind: 'fuse',
    command: 'untrainedZippedRun (apps/cli/test/apps-helpers.ts)',
    seed: 3,
    towers: refs,
    data: { dir: '', buildSha256: '', size: 'none', seed: 0, fraction: 0, percent: 0 },
    tasks: ['asr', 'tts'],
    mix: { asr: 1, tts: 1 },
    recipe: { steps: 0, batchSize: 0, peakLr: 0, minLr: 0, warmup: 0, weightDecay: 0, clip: 0, every: 0, keep: 0, evalEvery: 0 },
    model: { crossLayers: 1, projectionLayers: 1, freeze: [] },
    counts: {} as FuseRun['counts'],
    parameters: { total: 0, trained: 0 },
    createdWith: { '@tensorflow/tfjs-core': tf.version_core },
    createdAt: new Date(0).toISOString(),
  };
  writeFileSync(path.join(run, 'run.json'), JSON.stringify(record, null, 2));
  return run;
}

/** `seconds` of a seeded mixture of tones at 16 kHz as a 16-bit WAV file. */
export function toneWav(file: string, seconds: number, rate = 16000): string {
  const n = Math.round(seconds * rate);
  writeFileSync(
    file,
    writeWav(
      Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i / 5) * Math.sin(i / 900) + 0.1 * Math.sin(i / 1.7)),
      rate,
      'pcm16',
    ),
  );
  return file;
}
