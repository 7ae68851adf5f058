/**
 * `--tower text=PACKAGE --tower speech=PACKAGE` (apps/cli/src/fuse/towers.ts): the shipped tower
 * packages load by name, their refs carry the package's name and version and the tower's sha256,
 * the same folder by path gives the same weights, and the zipper entries name their sources.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@zipper/core';
import { beforeAll, expect, it } from 'vitest';
import { loadTowers, parseTowerOptions, towerEntries } from '../src/fuse/towers.js';

beforeAll(async () => {
  await initBackend();
});

const checkpoints = new URL('../../../packages/checkpoints/', import.meta.url);
const json = (f: string) => JSON.parse(readFileSync(new URL(f, checkpoints), 'utf8')) as Record<string, unknown>;

it('loads the shipped towers by package name, as by path, naming package, version and sha256', async () => {
  const before = tf.memory().numTensors;
  const byName = await loadTowers(
    parseTowerOptions(['text=@zipper/checkpoint-text-small', 'speech=@zipper/checkpoint-speech-small']) as { text: string; speech: string },
  );
  for (const [m, dir] of [
    ['text', 'text-small'],
    ['speech', 'speech-small'],
  ] as const) {
    const ref = byName.refs[m];
    expect(ref.location).toBe(`@zipper/checkpoint-${dir}`);
    expect(ref.name).toBe(json(`${dir}/package.json`)['name']);
    expect(ref.version).toBe(json(`${dir}/package.json`)['version']);
    expect(ref.sha256).toBe((json(`${dir}/tower/metadata.json`)['weights'] as { sha256: string }).sha256);
    expect(ref.dir).toBe(fileURLToPath(new URL(dir, checkpoints)));
  }
  const entries = towerEntries(byName);
  expect(entries.map((e) => [e.name, e.source?.name])).toEqual([
    ['text', '@zipper/checkpoint-text-small'],
    ['speech', '@zipper/checkpoint-speech-small'],
  ]);
  const byPath = await loadTowers({ text: byName.refs.text.dir, speech: byName.refs.speech.dir }, byName.refs);
  expect(byPath.refs.text.sha256).toBe(byName.refs.text.sha256);
  const a = byName.text.tower.param('emb.weight').dataSync();
  const b = byPath.text.tower.param('emb.weight').dataSync();
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
  for (const t of [byName, byPath]) {
    t.text.dispose();
    t.speech.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
  await expect(loadTowers({ text: '@zipper/no-such-checkpoint', speech: byName.refs.speech.dir })).rejects.toThrow(
    /"@zipper\/no-such-checkpoint" is neither a directory nor a package installed/,
  );
});
