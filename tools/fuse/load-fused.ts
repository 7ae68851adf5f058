/**
 * Reads a fused checkpoint directory as tools/interop/convert.py writes it (docs/zipper.md,
 * "Checkpoint format") into a @zipper/fuse `Zipper`, for the parity tests of the PyTorch twin
 * (tools/test/fuse-*.test.ts). Towers come from their tower checkpoints (`towers[name]`), whose
 * sha256 must equal the one zipper.json records; an unfrozen tower's weights are then replaced by
 * the ones stored in the fused checkpoint.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeSafetensors, loadTower, type TowerConfig } from '@zipper/core';
import { fusionParamSpecs, resolveZipperConfig, Zipper, type FusionLink, type InputProjectionMode, type TowerEntry } from '@zipper/fuse';

export interface FusedTowerDoc {
  readonly name: string;
  readonly config: TowerConfig;
  readonly bos: number;
  readonly eos: number;
  readonly frozen: boolean;
  readonly checkpoint: { readonly name: string; readonly version: string | null; readonly sha256: string };
}

export interface ZipperJson {
  readonly format: string;
  readonly formatVersion: number;
  readonly towers: readonly FusedTowerDoc[];
  readonly schedule: { readonly links: readonly FusionLink[] };
  readonly options: { readonly inputProjection: InputProjectionMode; readonly inputProjectionLayers: number; readonly projectionLayers: number };
  readonly weights: { readonly file: string; readonly sha256: string };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * `inputProjection` overrides zipper.json's (for the golden variants on the same weights): the
 * stored fusion weights that mode does not use are left out.
 */
export async function loadFusedCheckpoint(
  dir: string,
  towers: Readonly<Record<string, string>>,
  override: { readonly inputProjection?: InputProjectionMode } = {},
): Promise<{ zipper: Zipper; doc: ZipperJson }> {
  const doc = JSON.parse(readFileSync(path.join(dir, 'zipper.json'), 'utf8')) as ZipperJson;
  if (doc.format !== 'zipper-fused-checkpoint' || doc.formatVersion !== 1) throw new Error(`${dir}: not a zipper-fused-checkpoint v1`);
  const bytes = readFileSync(path.join(dir, doc.weights.file));
  if (sha256(bytes) !== doc.weights.sha256) throw new Error(`${dir}/${doc.weights.file}: sha256 differs from zipper.json`);
  const { tensors } = decodeSafetensors(bytes);
  const entries: TowerEntry[] = [];
  for (const t of doc.towers) {
    const where = towers[t.name];
    if (!where) throw new Error(`tower "${t.name}": no tower checkpoint given`);
    const meta = JSON.parse(readFileSync(path.join(where, 'metadata.json'), 'utf8')) as { weights: { sha256: string } };
    if (meta.weights.sha256 !== t.checkpoint.sha256) throw new Error(`tower "${t.name}": ${where} has sha256 ${meta.weights.sha256}, the fused checkpoint was built on ${t.checkpoint.sha256}`);
    const tower = await loadTower(where);
    const prefix = `towers.${t.name}.`;
    const stored = [...tensors.keys()].filter((k) => k.startsWith(prefix));
    if (t.frozen && stored.length > 0) throw new Error(`tower "${t.name}" is frozen but its weights are stored`);
    if (!t.frozen) {
      const want = [...tower.params.keys()].map((k) => prefix + k).sort();
      if (JSON.stringify(stored.sort()) !== JSON.stringify(want)) throw new Error(`tower "${t.name}": stored keys ${stored.join(', ')} differ from the tower's`);
      for (const [k, v] of tower.params) {
        const s = tensors.get(prefix + k)!;
        tf.tidy(() => v.assign(tf.tensor(s.data, [...s.shape], 'float32')));
      }
    }
    entries.push({ name: t.name, tower, bos: t.bos, eos: t.eos });
  }
  const config = resolveZipperConfig({
    towers: doc.towers.map((t) => ({ name: t.name, config: t.config, bos: t.bos, eos: t.eos })),
    schedule: doc.schedule.links,
    ...doc.options,
    ...override,
    freeze: doc.towers.filter((t) => t.frozen).map((t) => t.name),
  });
  const fusion = new Map<string, tf.Variable>();
  const used = new Set(fusionParamSpecs(config).map((p) => p.key));
  for (const [k, s] of tensors) {
    if (k.startsWith('towers.')) continue;
    if (!used.has(k) && override.inputProjection === undefined) throw new Error(`${dir}: unexpected weight "${k}"`);
    if (used.has(k)) fusion.set(k, tf.tidy(() => tf.variable(tf.tensor(s.data, [...s.shape], 'float32'), true, undefined)));
  }
  return { zipper: Zipper.fromWeights(entries, config, fusion), doc };
}
