/**
 * Checkpoints: round trips (float32 bit-exact, float16 within tolerance), metadata, every
 * corruption named (hash, truncation, JSON, offsets, shapes, key sets), atomic saves under
 * injected failures, and no leaked tensors. The safetensors format itself (header validation,
 * alignment) is tested with its code in packages/common/test/safetensors.test.ts.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sha256Hex as sha } from '@zipper/common/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointCreatedAt,
  CheckpointError,
  encodeSafetensors,
  initBackend,
  loadTensors,
  loadTower,
  readTowerCheckpointInfo,
  saveTensors,
  saveTower,
  Tower,
  towerFromCheckpoint,
} from '../src/index.js';

const cfg = { vocabSize: 13, dModel: 28, nLayers: 2, nHeads: 2 };
let root: string;
let tower: Tower;

beforeAll(async () => {
  await initBackend();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-ckpt-'));
  tower = Tower.create(cfg, { seed: 17 });
});
afterAll(async () => {
  tower.dispose();
  await fs.rm(root, { recursive: true, force: true });
});

const ids = () =>
  tf.tensor2d(
    [
      [1, 2, 3, 4, 5, 6, 7],
      [12, 11, 10, 9, 8, 7, 6],
    ],
    undefined,
    'int32',
  );
function logitsOf(t: Tower): Float32Array {
  return tf.tidy(() => t.forward(ids()).logits.dataSync() as Float32Array);
}

/** Replaces a checkpoint's weights by `tensors` and re-hashes them, so only the content is wrong. */
async function rewriteWeights(dir: string, tensors: Map<string, tf.Tensor>): Promise<void> {
  await saveTensors(path.join(dir, 'model.safetensors'), tensors);
  const bytes = await fs.readFile(path.join(dir, 'model.safetensors'));
  const metaFile = path.join(dir, 'metadata.json');
  const meta = JSON.parse(await fs.readFile(metaFile, 'utf8'));
  meta.weights.sha256 = sha(bytes);
  await fs.writeFile(metaFile, JSON.stringify(meta));
}

describe('tower checkpoints', () => {
  it('float32 round trip is bit-exact, leaks nothing, and records metadata', async () => {
    const dir = path.join(root, 'f32');
    const before = tf.memory().numTensors;
    await saveTower(dir, tower, { metadata: { tokenizer: 'bpe-13@test', note: 'unit test' } });
    expect(tf.memory().numTensors).toBe(before);
    expect((await fs.readdir(dir)).sort()).toEqual(['config.json', 'metadata.json', 'model.safetensors']);
    const loaded = await loadTower(dir);
    expect(tf.memory().numTensors).toBe(before + tower.params.size);
    expect(loaded.config).toEqual(tower.config);
    expect([...loaded.params.keys()]).toEqual([...tower.params.keys()]);
    for (const [key, v] of tower.params) {
      expect(Buffer.from(loaded.param(key).dataSync().buffer).equals(Buffer.from(v.dataSync().buffer)), key).toBe(true);
    }
    expect(logitsOf(loaded)).toEqual(logitsOf(tower));
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);

    const info = await readTowerCheckpointInfo(dir);
    const bytes = await fs.readFile(path.join(dir, 'model.safetensors'));
    expect(info.metadata.weights).toEqual({ file: 'model.safetensors', sha256: sha(bytes), bytes: bytes.length, dtype: 'float32' });
    expect(info.metadata.user).toEqual({ tokenizer: 'bpe-13@test', note: 'unit test' });
    expect(info.metadata.formatVersion).toBe(1);
    expect(info.metadata.createdWith['node']).toBe(process.versions.node);
    expect(info.metadata.createdWith['@tensorflow/tfjs-core']).toBe('4.22.0');
    expect(JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'))).toEqual({ arch: 'zipper-decoder-tower', ...tower.config });
    // the weights file is plain safetensors: 8-byte length, JSON header
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(header['blocks.1.qkv.weight']).toMatchObject({ dtype: 'F32', shape: [28, 84] });
    expect(n % 8).toBe(0);
  });

  it('createdAt: now by default; a given time is kept, so the same weights saved again give the same bytes; a bad one is refused', async () => {
    const a = path.join(root, 'dated-a');
    const b = path.join(root, 'dated-b');
    const t0 = Date.now();
    await saveTower(a, tower);
    const stamped = (await readTowerCheckpointInfo(a)).metadata.createdAt;
    expect(Date.parse(stamped)).toBeGreaterThanOrEqual(t0 - 1);
    expect(Date.parse(stamped)).toBeLessThanOrEqual(Date.now());
    await new Promise((r) => setTimeout(r, 5)); // a later save would stamp a later time
    await saveTower(b, tower, { createdAt: stamped });
    for (const f of ['model.safetensors', 'config.json', 'metadata.json'])
      expect([f, (await fs.readFile(path.join(a, f))).equals(await fs.readFile(path.join(b, f)))]).toEqual([f, true]);
    for (const bad of ['2026-12-07', '2026-12-07T06:01:02', '2026-13-07T06:01:02Z', 'yesterday', ''])
      await expect(saveTower(path.join(root, 'dated-bad'), tower, { createdAt: bad })).rejects.toThrow(CheckpointError);
    await expect(fs.stat(path.join(root, 'dated-bad'))).rejects.toThrow();
    // kept verbatim: toISOString's form, and Python's isoformat() (tools/interop/convert.py writes it)
    for (const good of ['2026-12-07T06:01:02.345Z', '2026-12-07T06:01:02Z', '2026-12-07T06:01:02.345678+00:00'])
      expect(checkpointCreatedAt(good)).toBe(good);
  });

  it('float16 storage halves the file and stays within fp16 rounding', async () => {
    const dir = path.join(root, 'f16');
    await saveTower(dir, tower, { dtype: 'float16' });
    const f32 = (await fs.stat(path.join(root, 'f32', 'model.safetensors'))).size;
    const f16 = (await fs.stat(path.join(dir, 'model.safetensors'))).size;
    expect(f16).toBeLessThan(f32 * 0.52);
    const loaded = await loadTower(dir);
    for (const [key, v] of tower.params) {
      const a = v.dataSync();
      const b = loaded.param(key).dataSync();
      for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!), key).toBeLessThanOrEqual(Math.abs(a[i]!) * 2 ** -11 + 2 ** -25);
    }
    const la = logitsOf(tower);
    const lb = logitsOf(loaded);
    let d = 0;
    for (let i = 0; i < la.length; i++) d = Math.max(d, Math.abs(la[i]! - lb[i]!));
    expect(d).toBeLessThan(1e-3);
    expect(d).toBeGreaterThan(0); // it really was rounded
    expect((await readTowerCheckpointInfo(dir)).metadata.weights.dtype).toBe('float16');
    loaded.dispose();
  });

  it('a tampered byte fails the sha256 check', async () => {
    const dir = path.join(root, 'tampered');
    await saveTower(dir, tower);
    const file = path.join(dir, 'model.safetensors');
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 5]! ^= 0x01;
    await fs.writeFile(file, bytes);
    await expect(loadTower(dir)).rejects.toThrow(CheckpointError);
    await expect(loadTower(dir)).rejects.toThrow(/sha256 [0-9a-f]{64} does not match [0-9a-f]{64} in metadata.json/);
  });

  it('towerFromCheckpoint loads from the JSON already read, with the same checks as loadTower', async () => {
    const dir = path.join(root, 'from-info');
    await saveTower(dir, tower);
    const info = await readTowerCheckpointInfo(dir);
    const loaded = await towerFromCheckpoint(info);
    expect(logitsOf(loaded)).toEqual(logitsOf(tower));
    loaded.dispose();
    // the weights changed after the JSON was read: the hash recorded in it catches that
    const file = path.join(dir, 'model.safetensors');
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 5]! ^= 0x01;
    await fs.writeFile(file, bytes);
    await expect(towerFromCheckpoint(info)).rejects.toThrow(/sha256 [0-9a-f]{64} does not match [0-9a-f]{64} in metadata.json/);
  });

  it('a truncated weights file is rejected', async () => {
    const dir = path.join(root, 'truncated');
    await saveTower(dir, tower);
    const file = path.join(dir, 'model.safetensors');
    await fs.truncate(file, 1000);
    await expect(loadTower(dir)).rejects.toThrow(/sha256/);
    await rewriteWeights(dir, new Map()); // rehash, then truncate the header itself
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'));
    const good = encodeSafetensors(new Map([['emb.weight', { shape: [13, 28], data: new Float32Array(13 * 28) }]]));
    const cut = good.subarray(0, 40);
    await fs.writeFile(file, cut);
    meta.weights.sha256 = sha(cut);
    await fs.writeFile(path.join(dir, 'metadata.json'), JSON.stringify(meta));
    await expect(loadTower(dir)).rejects.toThrow(/truncated: header length \d+ runs past the end of the 40-byte file/);
  });

  it('a wrong shape names the key', async () => {
    const dir = path.join(root, 'shape');
    await saveTower(dir, tower);
    const tensors = new Map<string, tf.Tensor>([...tower.params]);
    const bad = tf.zeros([28, 111]);
    tensors.set('blocks.1.up.weight', bad);
    await rewriteWeights(dir, tensors);
    bad.dispose();
    await expect(loadTower(dir)).rejects.toThrow('blocks.1.up.weight: shape [28, 111], expected [28, 112]');
  });

  it('missing and unexpected keys are named', async () => {
    const dir = path.join(root, 'keys');
    await saveTower(dir, tower);
    const tensors = new Map<string, tf.Tensor>([...tower.params].filter(([k]) => k !== 'blocks.0.ln2.scale' && k !== 'norm.scale'));
    const extra = tf.ones([28]);
    tensors.set('blocks.0.ln3.scale', extra);
    await rewriteWeights(dir, tensors);
    extra.dispose();
    const err = await loadTower(dir).catch((e: Error) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toContain('missing keys: blocks.0.ln2.scale, norm.scale');
    expect((err as Error).message).toContain('unexpected keys: blocks.0.ln3.scale');
  });

  it('bad config.json and missing directories are CheckpointErrors that say what is wrong', async () => {
    const dir = path.join(root, 'badconfig');
    await saveTower(dir, tower);
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ arch: 'zipper-decoder-tower', ...tower.config, nHeads: 3 }));
    await expect(loadTower(dir)).rejects.toThrow(/config.json: dModel % nHeads !== 0/);
    await fs.writeFile(path.join(dir, 'config.json'), '{"arch": "zipper-decoder-tower", ');
    await expect(loadTower(dir)).rejects.toThrow(/config.json is not valid JSON/);
    await expect(loadTower(path.join(root, 'nope'))).rejects.toThrow(/no checkpoint directory at .*nope; save one with saveTower first/);
  });
});

describe('atomic saves', () => {
  it('a failure while writing the weights leaves the last good checkpoint loadable and no temp files', async () => {
    const dir = path.join(root, 'atomic');
    await saveTower(dir, tower);
    const other = Tower.create(cfg, { seed: 99 });
    const failAt = (stage: string) => (s: string) => {
      if (s === stage) throw new Error(`injected crash at ${s}`);
    };
    for (const stage of ['write:model.safetensors', 'partial:model.safetensors', 'partial:metadata.json', 'commit']) {
      await expect(saveTower(dir, other, { hook: failAt(stage) })).rejects.toThrow(`injected crash at ${stage}`);
      const back = await loadTower(dir);
      expect(logitsOf(back)).toEqual(logitsOf(tower));
      back.dispose();
    }
    expect((await fs.readdir(root)).filter((n) => n.startsWith('.atomic'))).toEqual([]);
    other.dispose();
  });

  it('a crash between moving the old checkpoint aside and moving the new one in falls back to the old one', async () => {
    const dir = path.join(root, 'swap');
    await saveTower(dir, tower);
    const other = Tower.create(cfg, { seed: 99 });
    await expect(
      saveTower(dir, other, {
        hook: (s) => {
          if (s === 'swap') throw new Error('power cut');
        },
      }),
    ).rejects.toThrow('power cut');
    await expect(fs.stat(dir)).rejects.toThrow(); // the directory itself is gone at that instant
    const back = await loadTower(dir); // ... but the last good one is found in .swap.prev
    expect(logitsOf(back)).toEqual(logitsOf(tower));
    back.dispose();
    await saveTower(dir, other); // the next save completes and cleans up
    expect((await fs.readdir(root)).filter((n) => n.startsWith('.swap'))).toEqual([]);
    const now = await loadTower(dir);
    expect(logitsOf(now)).toEqual(logitsOf(other));
    now.dispose();
    other.dispose();
  });
});

describe('saveTensors / loadTensors', () => {
  it('round-trips float32 and int32 tensors with metadata, atomically', async () => {
    const file = path.join(root, 'state.safetensors');
    const before = tf.memory().numTensors;
    const m = tf.tensor2d([
      [1.5, -2],
      [3.25, 1e-7],
      [0, 7],
    ]);
    const step = tf.tensor1d([3, -4, 2 ** 30], 'int32');
    await saveTensors(file, { 'adam.m.emb': m, step }, { metadata: { step: '3' } });
    const { tensors, metadata } = await loadTensors(file);
    expect(metadata).toEqual({ step: '3' });
    expect([...tensors.keys()]).toEqual(['adam.m.emb', 'step']);
    expect(tensors.get('adam.m.emb')!.arraySync()).toEqual(m.arraySync());
    expect(tensors.get('step')!.dtype).toBe('int32');
    expect(Array.from(tensors.get('step')!.dataSync())).toEqual([3, -4, 2 ** 30]);
    tf.dispose([...tensors.values()]);
    const other = tf.zeros([2]);
    await expect(
      saveTensors(
        file,
        { other },
        {
          hook: (s) => {
            if (s.startsWith('partial:')) throw new Error('disk full');
          },
        },
      ),
    ).rejects.toThrow('disk full');
    const again = await loadTensors(file);
    expect([...again.tensors.keys()]).toEqual(['adam.m.emb', 'step']);
    tf.dispose([m, step, other, ...again.tensors.values()]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('safetensors files written elsewhere', () => {
  it('reads a file written by PyTorch-side code (the reference fixture)', async () => {
    const { tensors, metadata } = await loadTensors(new URL('./fixtures/torch_tower.safetensors', import.meta.url).pathname);
    expect(metadata['source']).toBe('torch_reference.py');
    expect(tensors.get('blocks.0.qkv.weight')!.shape).toEqual([28, 84]);
    tf.dispose([...tensors.values()]);
  });
});
