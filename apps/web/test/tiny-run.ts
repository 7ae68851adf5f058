/**
 * A tiny zipped run for the web tests, laid out like the shipped package: `zipper fuse train` (8
 * steps, with a byte-level CTC head) on the tiny data build with tiny fresh towers (apps/cli/test/fuse-helpers.ts). Its
 * transcripts and speech mean nothing; the tests compare the page with Node on the same model.
 */
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { runZipper, saveTinyTowers, tinyData } from '../../cli/test/fuse-helpers.js';

export interface TinyRun {
  /** The data build (aligned WAVs + texts). */
  readonly data: string;
  /** The run directory (run.json, model/). */
  readonly run: string;
}

export async function tinyFusedRun(root: string): Promise<TinyRun> {
  await initBackend();
  const data = await tinyData('zipper-web-data-');
  const towers = await saveTinyTowers(data, root);
  const run = path.join(root, 'run');
  const r = await runZipper([
    'fuse',
    'train',
    '--tower',
    `text=${towers.text}`,
    '--tower',
    `speech=${towers.speech}`,
    '--tasks',
    'asr,tts',
    '--aligned',
    data,
    '--fraction',
    '1',
    '--out',
    run,
    '--seed',
    '0',
    '--steps',
    '8',
    '--batch',
    '4',
    '--lr',
    '0.01',
    '--freeze',
    'text',
    '--cross-layers',
    '2',
    '--ctc-weight',
    '0.3',
    '--ctc-labels',
    'bytes',
    '--every',
    '8',
    '--workers',
    '0',
  ]);
  if (r.code !== 0) throw new Error(`zipper fuse train failed (exit ${r.code}):\n${r.stderr}`);
  return { data, run };
}
