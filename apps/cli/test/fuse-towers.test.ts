/**
 * `--tower text=PACKAGE --tower speech=PACKAGE` (apps/cli/src/fuse/towers.ts): the shipped tower
 * packages load by name, their refs carry the package's name and version and the tower's sha256,
 * the same folder by path gives the same weights (every one, both towers), core's loadTower takes
 * the package's name, folder and tower/ alike, and the zipper entries name their sources.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, loadTower, type Tower } from '@zipper/core';
import { beforeAll, expect, it } from 'vitest';
import { loadTowers, parseTowerOptions, towerEntries } from '../src/fuse/towers.js';

beforeAll(async () => {
  await initBackend();
});

const checkpoints = new URL('../../../packages/checkpoints/', import.meta.url);

/** Every weight of `a` equals `b`'s, bit for bit, under the same names. */
function expectSameWeights(a: Tower, b: Tower): void {
  expect([...a.params.keys()]).toEqual([...b.params.keys()]);
  for (const [k, v] of a.params) {
    const x = v.dataSync();
    const y = b.params.get(k)!.dataSync();
    expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), k).toBe(true);
  }
}
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
  for (const m of ['text', 'speech'] as const) {
    expect(byPath.refs[m].sha256).toBe(byName.refs[m].sha256);
    expectSameWeights(byName[m].tower, byPath[m].tower);
    // core's loadTower takes the same sources: the package's name, its folder, its tower/ folder
    const dir = byName.refs[m].dir;
    for (const source of [`@zipper/checkpoint-${m}-small`, dir, path.join(dir, 'tower')]) {
      const tower = await loadTower(source);
      expectSameWeights(tower, byName[m].tower);
      tower.dispose();
    }
  }
  for (const t of [byName, byPath]) {
    t.text.dispose();
    t.speech.dispose();
  }
  await expect(loadTower(fileURLToPath(checkpoints))).rejects.toThrow(/holds no tower checkpoint, neither itself nor in tower\//);
  expect(tf.memory().numTensors).toBe(before);
  await expect(loadTowers({ text: '@zipper/no-such-checkpoint', speech: byName.refs.speech.dir })).rejects.toThrow(
    /"@zipper\/no-such-checkpoint" is neither a directory nor a package installed/,
  );
});
