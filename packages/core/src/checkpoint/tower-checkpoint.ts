/**
 * A tower checkpoint is a directory:
 *   model.safetensors  weights under their module-path keys (float32, or float16 storage)
 *   config.json        the resolved TowerConfig plus `arch`
 *   metadata.json      format version, sha256 of model.safetensors, dtype, created-with
 *                      versions, free-form user metadata (e.g. a tokenizer reference)
 * written atomically (atomic.ts). Loading verifies the hash, the header, the full key set and
 * every shape, and throws CheckpointError saying what is wrong.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { backendInfo } from '../backend.js';
import { CheckpointError, ConfigError } from '../errors.js';
import { resolveTowerConfig, type TowerConfig, type TowerConfigInput } from '../model/config.js';
import { paramSetProblems, towerParamSpecs } from '../model/params.js';
import { Tower } from '../model/tower.js';
import { resolveCheckpointDir, writeDirAtomic, type WriteHook } from './atomic.js';
import { decodeSafetensors, encodeSafetensors } from '@zipper/common';
import { sha256Hex as sha256 } from '@zipper/common/node';
import { readFileOrThrow, toHostTensors, toTfTensors } from './tensors-file.js';

export const TOWER_ARCH = 'zipper-decoder-tower';
export const CHECKPOINT_FORMAT = 'zipper-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;
export const WEIGHTS_FILE = 'model.safetensors';

export interface CheckpointMetadata {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly formatVersion: number;
  readonly weights: { readonly file: string; readonly sha256: string; readonly bytes: number; readonly dtype: 'float32' | 'float16' };
  readonly createdAt: string;
  readonly createdWith: Readonly<Record<string, string>>;
  /** Free-form, e.g. `{ tokenizer: "bpe-512@sha256:..." }`. */
  readonly user: Readonly<Record<string, unknown>>;
}

export interface SaveTowerOptions {
  readonly dtype?: 'float32' | 'float16';
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Fault injection for tests (see atomic.ts). */
  readonly hook?: WriteHook;
}

function createdWith(): Record<string, string> {
  const out: Record<string, string> = { ...(backendInfo()?.versions ?? { node: process.versions.node }) };
  try {
    out['@zipper/core'] = (createRequire(import.meta.url)('@zipper/core/package.json') as { version: string }).version;
  } catch {
    // running from an unpublished copy: no version to record
  }
  return out;
}

const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');

export async function saveTower(dir: string, tower: Tower, options: SaveTowerOptions = {}): Promise<void> {
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') throw new CheckpointError(`dtype must be "float32" or "float16", got ${String(dtype)}`);
  const weights = encodeSafetensors(await toHostTensors(tower.params), { dtype, metadata: { format: 'pt', arch: TOWER_ARCH } });
  const metadata: CheckpointMetadata = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    weights: { file: WEIGHTS_FILE, sha256: sha256(weights), bytes: weights.length, dtype },
    createdAt: new Date().toISOString(),
    createdWith: createdWith(),
    user: { ...(options.metadata ?? {}) },
  };
  await writeDirAtomic(
    dir,
    [
      { name: WEIGHTS_FILE, data: weights },
      { name: 'config.json', data: json({ arch: TOWER_ARCH, ...tower.config }) },
      { name: 'metadata.json', data: json(metadata) },
    ],
    options.hook,
  );
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  const text = (await readFileOrThrow(file, what)).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${file} is not valid JSON (${(e as Error).message}); the checkpoint is corrupted`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CheckpointError(`${file} must hold a JSON object`);
  return v as Record<string, unknown>;
}

/** Reads and validates metadata.json and config.json of a checkpoint directory. */
export async function readTowerCheckpointInfo(dir: string): Promise<{ dir: string; config: TowerConfig; metadata: CheckpointMetadata }> {
  const root = await resolveCheckpointDir(dir);
  if (!root) throw new CheckpointError(`no checkpoint directory at ${path.resolve(dir)}; save one with saveTower first`);
  const meta = await readJson(path.join(root, 'metadata.json'), 'checkpoint metadata');
  if (meta['format'] !== CHECKPOINT_FORMAT) throw new CheckpointError(`${root}/metadata.json: format ${JSON.stringify(meta['format'])} is not "${CHECKPOINT_FORMAT}"`);
  if (meta['formatVersion'] !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(`${root}/metadata.json: formatVersion ${JSON.stringify(meta['formatVersion'])} is not supported (this reader knows ${CHECKPOINT_FORMAT_VERSION}); upgrade @zipper/core`);
  }
  const w = meta['weights'] as Record<string, unknown> | undefined;
  if (!w || typeof w['sha256'] !== 'string' || w['file'] !== WEIGHTS_FILE) throw new CheckpointError(`${root}/metadata.json: "weights" must name ${WEIGHTS_FILE} and its sha256`);
  const raw = await readJson(path.join(root, 'config.json'), 'checkpoint config');
  const { arch, ...rest } = raw;
  if (arch !== TOWER_ARCH) throw new CheckpointError(`${root}/config.json: arch ${JSON.stringify(arch)} is not "${TOWER_ARCH}"; this checkpoint is not a tower`);
  let config: TowerConfig;
  try {
    config = resolveTowerConfig(rest as unknown as TowerConfigInput);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(`${root}/config.json: ${e.message}`);
    throw e;
  }
  return { dir: root, config, metadata: meta as unknown as CheckpointMetadata };
}

/** Loads a tower saved by `saveTower`, checking hash, header, key set and shapes. */
export async function loadTower(dir: string): Promise<Tower> {
  const { dir: root, config, metadata } = await readTowerCheckpointInfo(dir);
  const file = path.join(root, WEIGHTS_FILE);
  const buf = await readFileOrThrow(file, 'checkpoint weights');
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const digest = sha256(bytes);
  if (digest !== metadata.weights.sha256) {
    throw new CheckpointError(`${file}: sha256 ${digest} does not match ${metadata.weights.sha256} in metadata.json; the weights were modified or corrupted, restore them or re-save`);
  }
  const { tensors } = decodeSafetensors(bytes, file);
  const problems = paramSetProblems(towerParamSpecs(config), new Map([...tensors].map(([k, t]) => [k, t.shape])));
  if (problems.length > 0) throw new CheckpointError(`${file} does not match config.json: ${problems.join('; ')}`);
  const tfTensors = toTfTensors(tensors);
  try {
    return Tower.fromTensors(config, tfTensors);
  } finally {
    for (const t of tfTensors.values()) t.dispose();
  }
}
