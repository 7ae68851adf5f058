/**
 * Fused checkpoints: round trip (same logits, bit for bit), frozen tower weights referenced by
 * hash rather than stored, a different tower checkpoint refused naming the tower and both hashes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeSafetensors } from '@zipper/common';
import { CheckpointError, saveTower } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layoutBatch, loadTowerEntry, loadZipper, saveZipper, TowerMismatchError, Zipper } from '../src/index.js';
import { examples, perturbFusion, SCHEDULE, setGates, setup, towers, values } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'fuse-ckpt-'));
beforeAll(setup);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fused checkpoint', () => {
  it('round trips: frozen text referenced by sha256, speech and fusion weights stored; same logits bit for bit', async () => {
    const [text, speech] = towers();
    await saveTower(path.join(root, 'text-tower'), text!.tower);
    await saveTower(path.join(root, 'speech-tower'), speech!.tower);
    text!.tower.dispose();
    speech!.tower.dispose();
    const t = await loadTowerEntry(path.join(root, 'text-tower'), { name: 'text', bos: 11, eos: 12 });
    const s = await loadTowerEntry(path.join(root, 'speech-tower'), { name: 'speech', bos: 9, eos: 10 });
    const z = Zipper.create([t, s], { ...SCHEDULE, freeze: ['text'] }, { seed: 3 });
    perturbFusion(z);
    setGates(z, 0.7);
    const sp = z.param('towers.speech.blocks.0.up.weight');
    sp.assign(tf.mul(sp, 1.5)); // the stored speech weights differ from its tower checkpoint
    await saveZipper(path.join(root, 'fused'), z);

    const info = JSON.parse(readFileSync(path.join(root, 'fused', 'zipper.json'), 'utf8'));
    expect(info.format).toBe('zipper-fused-checkpoint');
    expect(
      info.towers.map((x: { name: string; frozen: boolean; checkpoint: { name: string; sha256: string } }) => [
        x.name,
        x.frozen,
        x.checkpoint.name,
      ]),
    ).toEqual([
      ['text', true, 'text-tower'],
      ['speech', false, 'speech-tower'],
    ]);
    expect(info.towers[0].checkpoint.sha256).toBe(
      JSON.parse(readFileSync(path.join(root, 'text-tower', 'metadata.json'), 'utf8')).weights.sha256,
    );
    expect(info.schedule.links.map((l: { to: string; toLayer: number }) => `${l.to}.${l.toLayer}`)).toEqual([
      'speech.2',
      'speech.3',
      'text.1',
      'text.2',
    ]);
    const keys = [...decodeSafetensors(new Uint8Array(readFileSync(path.join(root, 'fused', 'model.safetensors')))).tensors.keys()];
    expect(keys.some((k) => k.startsWith('towers.text.'))).toBe(false);
    expect(keys.filter((k) => k.startsWith('towers.speech.')).length).toBe(speech!.tower.params.size);
    expect(keys).toContain('cross.text_from_speech.2.attn.kv.weight');

    const loaded = await loadZipper(path.join(root, 'fused'), { text: path.join(root, 'text-tower') });
    const batch = layoutBatch(z.config, examples());
    const a = z.forward(batch);
    const b = loaded.forward(batch);
    for (const n of ['text', 'speech']) expect(Buffer.from(values(b[n]!).buffer).equals(Buffer.from(values(a[n]!).buffer))).toBe(true);
    tf.dispose([a, b]);
    expect([...loaded.params.keys()]).toEqual([...z.params.keys()]);

    // saved again with the first save's createdAt (a release of a run keeps its model's): the same bytes
    const stamped = info.createdAt as string;
    expect(new Date(stamped).toISOString()).toBe(stamped);
    await new Promise((r) => setTimeout(r, 5));
    await saveZipper(path.join(root, 'fused-again'), loaded, { createdAt: stamped });
    for (const f of ['model.safetensors', 'zipper.json'])
      expect([f, readFileSync(path.join(root, 'fused-again', f)).equals(readFileSync(path.join(root, 'fused', f)))]).toEqual([f, true]);
    await expect(saveZipper(path.join(root, 'fused-bad'), loaded, { createdAt: 'Mon Dec 7 2026' })).rejects.toThrow(CheckpointError);
    loaded.dispose();
    z.dispose();
  });

  it('refuses a different tower checkpoint, naming the tower and both hashes; requires frozen towers', async () => {
    const [other] = towers(42);
    await saveTower(path.join(root, 'text-other'), other!.tower);
    other!.tower.dispose();
    const want = JSON.parse(readFileSync(path.join(root, 'text-tower', 'metadata.json'), 'utf8')).weights.sha256 as string;
    const have = JSON.parse(readFileSync(path.join(root, 'text-other', 'metadata.json'), 'utf8')).weights.sha256 as string;
    const err = await loadZipper(path.join(root, 'fused'), { text: path.join(root, 'text-other') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TowerMismatchError);
    expect((err as Error).message).toContain('tower "text"');
    expect((err as Error).message).toContain(want);
    expect((err as Error).message).toContain(have);
    await expect(loadZipper(path.join(root, 'fused'), { speech: path.join(root, 'text-other') })).rejects.toThrow(CheckpointError);
    await expect(loadZipper(path.join(root, 'fused'))).rejects.toThrow(/tower "text" is frozen/);
    const before = tf.memory().numTensors;
    await expect(loadZipper(path.join(root, 'fused'), { text: path.join(root, 'text-other') })).rejects.toThrow(TowerMismatchError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('sources: names a tower checkpoint published since under another name (same sha256), the weights file unchanged; other weights refused', async () => {
    const z = await loadZipper(path.join(root, 'fused'), { text: path.join(root, 'text-tower') });
    const sha = (dir: string) => JSON.parse(readFileSync(path.join(root, dir, 'metadata.json'), 'utf8')).weights.sha256 as string;
    const published = { name: '@acme/checkpoint-text-tiny', version: '1.2.3', sha256: sha('text-tower') };
    await saveZipper(path.join(root, 'renamed'), z, { sources: { text: published } });
    const info = (dir: string) => JSON.parse(readFileSync(path.join(root, dir, 'zipper.json'), 'utf8'));
    expect(info('renamed').towers[0].checkpoint).toEqual(published);
    expect(info('renamed').towers[1].checkpoint).toEqual(info('fused').towers[1].checkpoint); // speech as it was
    expect(info('renamed').weights.sha256).toBe(info('fused').weights.sha256);
    const back = await loadZipper(path.join(root, 'renamed'), { text: path.join(root, 'text-tower') });
    expect(back.sources.get('text')).toEqual(published);
    back.dispose();

    const other = { ...published, sha256: sha('text-other') };
    const err = await saveZipper(path.join(root, 'renamed-bad'), z, { sources: { text: other } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TowerMismatchError);
    expect((err as Error).message).toBe(
      `sources: tower "text" was loaded from text-tower with sha256 ${sha('text-tower')}; @acme/checkpoint-text-tiny@1.2.3 has sha256 ${sha('text-other')}, so it does not hold these weights`,
    );
    await expect(saveZipper(path.join(root, 'renamed-bad'), z, { sources: { image: published } })).rejects.toThrow(
      /sources: tower "image" is not in this model \(towers: text, speech\)/,
    );
    z.dispose();
  });
});
