// Training checkpoints under abuse (issue 9, reliability defects 2, 6, 7): stored dtypes are
// checked (an I32 optimizer moment used to resume and drift the curve), trainer.json is covered
// by an integrity hash and every field is range-checked ("step": 1e12 used to be accepted), a
// disk full mid-save says the saved checkpoints are intact, and temp folders of killed saves are
// removed by the next save or resume (only those).
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sha256Hex, tempSibling } from '@zipper/common/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, decodeSafetensors, encodeSafetensors, initBackend, Tower, type HostTensor } from '../src/index.js';
import { BatchIterator, Trainer, latestCheckpoint, loadTrainingCheckpoint, saveTrainingCheckpoint } from '../src/train/index.js';
import { stateIntegrity } from '../src/train/trainer-state.js';
import { snapshot } from './helpers.js';

const TOWER = { vocabSize: 13, dModel: 12, nLayers: 1, nHeads: 2, maxSeqLen: 16 } as const;
let tmp = '';

const corpus = () => Array.from({ length: 4 }, (_, s) => Array.from({ length: 12 + s }, (_, i) => (3 * i + s) % 13));

function setup(seed: number) {
  const tower = Tower.create(TOWER, { seed });
  const data = new BatchIterator(corpus(), { batchSize: 2, seqLen: 6, seed: 5 });
  const trainer = new Trainer(tower, data, { schedule: { peakLr: 1e-2, minLr: 1e-3, warmupSteps: 1, totalSteps: 8 } });
  return { tower, data, trainer, dispose: () => (trainer.dispose(), tower.dispose()) };
}

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-train-integrity-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A saved step directory after 2 steps. */
async function saved(name: string): Promise<string> {
  const run = setup(1);
  await run.trainer.train(2);
  const dir = await saveTrainingCheckpoint(path.join(tmp, name), run.trainer);
  run.dispose();
  return dir;
}

async function readState(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await fs.readFile(path.join(dir, 'trainer.json'), 'utf8')) as Record<string, unknown>;
}

/** Writes trainer.json, with its integrity hash recomputed unless `keepHash` (a forged or a hand-edited file). */
async function writeState(dir: string, state: Record<string, unknown>, keepHash = false): Promise<void> {
  const out = keepHash ? state : { ...state, integrity: stateIntegrity(state) };
  await fs.writeFile(path.join(dir, 'trainer.json'), JSON.stringify(out, null, 2));
}

/** Loading `dir` fails with `pattern` and changes nothing. */
async function refused(dir: string, pattern: RegExp): Promise<void> {
  const s = setup(9);
  const weights = snapshot(s.tower.params);
  const tensors = tf.memory().numTensors;
  const err = await loadTrainingCheckpoint(dir, s.trainer).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CheckpointError);
  expect((err as Error).message).toMatch(pattern);
  expect(snapshot(s.tower.params)).toEqual(weights);
  expect(s.trainer.step).toBe(0);
  expect(tf.memory().numTensors).toBe(tensors);
  s.dispose();
}

/** Rewrites a tensor file with `change` and re-hashes it in trainer.json (and trainer.json itself). */
async function rewrite(dir: string, file: string, change: (t: Map<string, HostTensor>) => void): Promise<void> {
  const { tensors } = decodeSafetensors(new Uint8Array(await fs.readFile(path.join(dir, file))));
  const host = new Map<string, HostTensor>([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  change(host);
  const bytes = encodeSafetensors(host, { metadata: { format: 'pt' } });
  await fs.writeFile(path.join(dir, file), bytes);
  const state = await readState(dir);
  const files = state['files'] as Record<string, { sha256: string; bytes: number }>;
  files[file] = { sha256: sha256Hex(bytes), bytes: bytes.length };
  await writeState(dir, state);
}

const asI32 = (t: Map<string, HostTensor>, key: string) => {
  const x = t.get(key)!;
  t.set(key, { shape: x.shape, data: Int32Array.from(x.data, (v) => Math.round(v * 1e6)) });
};

describe('training checkpoint integrity', () => {
  it('refuses an optimizer moment or a weight stored as I32, naming the key', async () => {
    const dir = await saved('i32');
    await rewrite(dir, 'optimizer.safetensors', (t) => asI32(t, 'blocks.0.up.weight.exp_avg'));
    await refused(
      dir,
      /optimizer\.safetensors: "blocks\.0\.up\.weight\.exp_avg" is stored as I32; training checkpoints hold float32 \(F32\) tensors only/,
    );
    const dir2 = await saved('i32-weight');
    await rewrite(dir2, 'model.safetensors', (t) => asI32(t, 'emb.weight'));
    await refused(dir2, /model\.safetensors: "emb\.weight" is stored as I32/);
  });

  it('trainer.json is covered by its integrity hash, and every field is range-checked', async () => {
    const dir = await saved('state');
    const good = await readState(dir);
    expect(good['formatVersion']).toBe(2);
    expect(good['integrity']).toMatch(/^[0-9a-f]{64}$/);
    // a hand edit without the hash
    await fs.writeFile(path.join(dir, 'trainer.json'), JSON.stringify({ ...good, step: 1e12 }, null, 2));
    await refused(
      dir,
      /trainer\.json: integrity hash does not match its content; trainer\.json was modified or corrupted, use an older step directory/,
    );
    // a forged hash: the fields are still checked
    await writeState(dir, { ...good, step: 1e12 });
    await refused(dir, /"step" must be an integer in \[0, 2147483647\], got 1000000000000/);
    await writeState(dir, { ...good, step: '2' });
    await refused(dir, /"step" must be an integer in \[0, 2147483647\], got "2" \(a string\)/);
    await writeState(dir, { ...good, accumulationSteps: 0 });
    await refused(dir, /"accumulationSteps" must be an integer in \[1, 2147483647\], got 0/);
    await writeState(dir, { ...good, maxGradNorm: -1 });
    await refused(dir, /"maxGradNorm" must be a number > 0 or null/);
    await writeState(dir, { ...good, trainable: 'all' });
    await refused(dir, /"trainable" must be an array of parameter keys, got "all" \(a string\)/);
    await writeState(dir, { ...good, integrity: undefined }, true);
    await refused(dir, /"integrity" must be the sha256/);
    await fs.writeFile(path.join(dir, 'trainer.json'), '[1, 2]');
    await refused(dir, /must hold a JSON object, got \[1,2\] \(an array\)/);
    // a version 1 file (written before the hash) still loads
    const v1: Record<string, unknown> = { ...good, formatVersion: 1 };
    delete v1['integrity'];
    await fs.writeFile(path.join(dir, 'trainer.json'), JSON.stringify(v1, null, 2));
    const s = setup(9);
    await loadTrainingCheckpoint(dir, s.trainer);
    expect(s.trainer.step).toBe(2);
    s.dispose();
  });

  it('a disk full mid-save is a CheckpointError naming the intact checkpoint, which resumes', async () => {
    const root = path.join(tmp, 'enospc');
    const run = setup(1);
    await run.trainer.train(1);
    const good = await saveTrainingCheckpoint(root, run.trainer);
    const goodWeights = snapshot(run.tower.params);
    await run.trainer.train(1);
    const enospc = (stage: string) => {
      if (stage === 'partial:model.safetensors')
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    };
    const err = await saveTrainingCheckpoint(root, run.trainer, { hook: enospc }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(
      `cannot save the training checkpoint ${path.join(root, 'step-00000002')}: no space left on the device (ENOSPC); nothing of it was kept and the checkpoints saved before are intact (newest: ${good}). Free space and save again, or resume from the newest checkpoint`,
    );
    expect(((err as Error).cause as { code: string }).code).toBe('ENOSPC');
    expect(await fs.readdir(root)).toEqual(['step-00000001']);
    const fresh = setup(7);
    await fresh.trainer.resume(root);
    expect(fresh.trainer.step).toBe(1);
    expect(snapshot(fresh.tower.params)).toEqual(goodWeights);
    run.dispose();
    fresh.dispose();
  });

  it('saving and resuming remove temp folders of killed saves, never a step directory', async () => {
    const root = path.join(tmp, 'orphans');
    const run = setup(1);
    await run.trainer.train(1);
    await saveTrainingCheckpoint(root, run.trainer);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const plant = async () => {
      const orphans = [`.step-00000002.tmp-${dead}-0badf00d`, path.basename(tempSibling(path.join(root, 'step-00000003')))];
      for (const name of [...orphans, '.step-00000002.tmp-1-0badf00d', `.notes.tmp-${dead}-0badf00d`, 'step-00000009-copy']) {
        await fs.mkdir(path.join(root, name), { recursive: true });
        await fs.writeFile(path.join(root, name, 'model.safetensors'), new Uint8Array(1 << 20));
      }
      return orphans;
    };
    const kept = [
      '.step-00000002.tmp-1-0badf00d' /* pid 1 is alive */,
      `.notes.tmp-${dead}-0badf00d` /* not a step */,
      'step-00000009-copy',
    ];
    await plant();
    await run.trainer.train(1);
    await saveTrainingCheckpoint(root, run.trainer);
    expect((await fs.readdir(root)).sort()).toEqual([...kept, 'step-00000001', 'step-00000002'].sort());
    const orphans = await plant();
    const fresh = setup(3);
    await fresh.trainer.resume(root);
    expect(fresh.trainer.step).toBe(2);
    const left = await fs.readdir(root);
    for (const o of orphans) expect(left).not.toContain(o);
    expect(left.sort()).toEqual([...kept, 'step-00000001', 'step-00000002'].sort());
    expect(await latestCheckpoint(root)).toBe(path.join(root, 'step-00000002'));
    run.dispose();
    fresh.dispose();
  });
});
