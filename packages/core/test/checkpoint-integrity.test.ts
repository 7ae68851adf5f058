/**
 * Tower checkpoints under abuse (issue 9, reliability defects 2, 6, 7, 8): a stored dtype other
 * than the one metadata.json names is refused naming the key (an I32 weight used to load and give
 * a loss of ~1e9); config values are reported as JSON spells them; a disk full during a save is a
 * CheckpointError that leaves the old tower loadable; temp folders of killed saves are removed by
 * the next save, and nothing else is.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sha256Hex, tempSibling } from '@zipper/common/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  initBackend,
  loadTower,
  saveTower,
  Tower,
  type HostTensor,
} from '../src/index.js';
import { removeStaleTemps } from '../src/checkpoint/stale-temps.js';

const cfg = { vocabSize: 13, dModel: 8, nLayers: 1, nHeads: 2 };
let root = '';
let tower: Tower;

beforeAll(async () => {
  await initBackend();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-ckpt-integrity-'));
  tower = Tower.create(cfg, { seed: 3 });
});
afterAll(async () => {
  tower.dispose();
  await fs.rm(root, { recursive: true, force: true });
});

/** Rewrites model.safetensors with `change` applied and re-hashes it in metadata.json (a deliberate edit, not corruption). */
async function rewriteWeights(dir: string, change: (t: Map<string, HostTensor>) => void): Promise<void> {
  const file = path.join(dir, 'model.safetensors');
  const { tensors } = decodeSafetensors(new Uint8Array(await fs.readFile(file)));
  const host = new Map<string, HostTensor>([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  change(host);
  const bytes = encodeSafetensors(host);
  await fs.writeFile(file, bytes);
  const meta = JSON.parse(await fs.readFile(path.join(dir, 'metadata.json'), 'utf8')) as { weights: { sha256: string; bytes: number } };
  meta.weights.sha256 = sha256Hex(bytes);
  meta.weights.bytes = bytes.length;
  await fs.writeFile(path.join(dir, 'metadata.json'), JSON.stringify(meta));
}

/** A pid that no process has now (a child that already exited). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('tower checkpoint integrity', () => {
  it('refuses a weight stored as I32 (or F16 in a float32 checkpoint), naming the key', async () => {
    const dir = path.join(root, 'i32');
    await saveTower(dir, tower);
    await rewriteWeights(dir, (t) => {
      const w = t.get('blocks.0.qkv.weight')!;
      t.set('blocks.0.qkv.weight', { shape: w.shape, data: Int32Array.from(w.data, (x) => Math.round(x * 1e9)) });
    });
    await expect(loadTower(dir)).rejects.toThrow(CheckpointError);
    await expect(loadTower(dir)).rejects.toThrow(
      /"blocks\.0\.qkv\.weight" is stored as I32, but metadata\.json says the weights are float32 \(F32\)/,
    );

    const f16 = path.join(root, 'f16-in-f32');
    await saveTower(f16, tower);
    const half = path.join(root, 'half');
    await saveTower(half, tower, { dtype: 'float16' });
    await fs.copyFile(path.join(half, 'model.safetensors'), path.join(f16, 'model.safetensors'));
    const meta = JSON.parse(await fs.readFile(path.join(f16, 'metadata.json'), 'utf8')) as { weights: { sha256: string } };
    meta.weights.sha256 = sha256Hex(await fs.readFile(path.join(f16, 'model.safetensors'))); // re-hash only
    await fs.writeFile(path.join(f16, 'metadata.json'), JSON.stringify(meta));
    await expect(loadTower(f16)).rejects.toThrow(/"emb\.weight" is stored as F16, but metadata\.json says the weights are float32/);
    const back = await loadTower(half); // a real float16 checkpoint still loads
    back.dispose();
  });

  it('reports a config value "64" as a string, not as 64', async () => {
    const dir = path.join(root, 'string-config');
    await saveTower(dir, tower);
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...config, dModel: '64' }));
    await expect(loadTower(dir)).rejects.toThrow('config.json: dModel must be a positive integer, got "64" (a string)');
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...config, maxSeqLen: [2048] }));
    await expect(loadTower(dir)).rejects.toThrow('maxSeqLen must be a positive integer, got [2048] (an array)');
  });

  it('a disk full mid-save is a CheckpointError and the tower saved before still loads', async () => {
    const dir = path.join(root, 'enospc');
    await saveTower(dir, tower);
    const other = Tower.create(cfg, { seed: 4 });
    const enospc = (stage: string) => {
      if (stage === 'partial:model.safetensors')
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    };
    const err = await saveTower(dir, other, { hook: enospc }).catch((e: unknown) => e);
    other.dispose();
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(
      `cannot save the tower to ${dir}: no space left on the device (ENOSPC); the tower saved before in ${dir} is intact. Free space and save again`,
    );
    expect((await fs.readdir(root)).filter((e) => e.startsWith('.enospc'))).toEqual([]);
    const back = await loadTower(dir);
    const ids = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
    const [a, b] = [tower.forward(ids).logits, back.forward(ids).logits];
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([ids, a, b]);
    back.dispose();
    // a fresh directory: the message says nothing was written
    const fresh = path.join(root, 'enospc-fresh');
    await expect(saveTower(fresh, tower, { hook: enospc })).rejects.toThrow(`nothing was written to ${fresh}`);
  });

  it('the next save removes temp folders of killed saves, and only those', async () => {
    const dir = path.join(root, 'tower');
    const dead = deadPid();
    const orphans = [`.tower.tmp-${dead}-0123abcd`, path.basename(tempSibling(dir))]; // a killed process's, and this process's own
    const kept = [`.tower.tmp-1-89abcdef` /* pid 1 is alive */, `.other.tmp-${dead}-0123abcd` /* another target */, '.tower.tmp-notes'];
    await fs.mkdir(root, { recursive: true });
    for (const name of [...orphans, ...kept]) {
      await fs.mkdir(path.join(root, name));
      await fs.writeFile(path.join(root, name, 'model.safetensors'), new Uint8Array(1 << 16));
    }
    await saveTower(dir, tower);
    const left = await fs.readdir(root);
    for (const name of orphans) expect(left).not.toContain(name);
    for (const name of [...kept, 'tower']) expect(left).toContain(name);
    // the function alone: a missing folder removes nothing
    expect(await removeStaleTemps(path.join(root, 'none'), () => true)).toEqual([]);
  });
});
