/**
 * The apps' bundled audio (apps/cli/assets, README there): `sample.wav` + `sample.txt` (the WAV
 * `zipper demo speech` transcribes) and `bench/NN.wav` + `.txt`; with the sample they are the
 * fixed utterances of `zipper bench asr|tts`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZipperError } from '@zipper/core';

/** apps/cli/assets, from src/apps/ or dist/ (both below apps/cli). */
export function assetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['..', '../..']) {
    const dir = path.resolve(here, up, 'assets');
    if (existsSync(path.join(dir, 'sample.wav'))) return dir;
  }
  throw new ZipperError('the bundled assets/sample.wav is not next to the zipper CLI; reinstall it (the file is part of apps/cli)');
}

export interface Utterance {
  readonly id: string;
  readonly wav: string;
  readonly text: string;
}

const textOf = (wav: string) => readFileSync(wav.replace(/\.wav$/, '.txt'), 'utf8').trim();

/** The bundled sample sentence. */
export function sampleUtterance(): Utterance {
  const wav = path.join(assetsDir(), 'sample.wav');
  return { id: 'sample', wav, text: textOf(wav) };
}

/** The fixed set of the speed benchmark: the sample and bench/*.wav, in name order. */
export function benchUtterances(): Utterance[] {
  const dir = path.join(assetsDir(), 'bench');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort();
  return [
    sampleUtterance(),
    ...files.map((f) => ({ id: f.replace(/\.wav$/, ''), wav: path.join(dir, f), text: textOf(path.join(dir, f)) })),
  ];
}
