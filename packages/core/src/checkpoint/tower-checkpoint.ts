/**
 * A tower checkpoint is a directory:
 *   model.safetensors  weights under their module-path keys (float32, or float16 storage)
 *   config.json        the resolved TowerConfig plus `arch`
 *   metadata.json      format version, sha256 of model.safetensors, dtype, created-with
 *                      versions, free-form user metadata (e.g. a tokenizer reference)
 * written atomically (atomic.ts). Reading goes through `ModelFiles` (model-files.ts): a directory
 * path under Node, or `fetchModelFiles(url)` in a browser, one loader for both. Loading verifies the hash, the header, the full key set,
 * every shape and every stored dtype (F32, or F16 when metadata.json says float16), and throws
 * CheckpointError saying what is wrong. Saving first removes temp folders that a killed save of
 * the same directory left behind (stale-temps.ts); a save that fails on the device (disk full)
 * throws a CheckpointError saying that the tower saved before is intact.
 */
import { CheckpointError, ConfigError } from '../errors.js';
import { resolveTowerConfig, type TowerConfig, type TowerConfigInput } from '../model/config.js';
import { shapesOf } from '../model/keys.js';
import { paramSetProblems, towerParamSpecs } from '../model/params.js';
import { Tower } from '../model/tower.js';
import { decodeSafetensors, encodeSafetensors, sha256HexAsync, showValue } from '@zipper/common';
import type { WriteHook } from '@zipper/common/node';
import { checkpointCreatedAt } from './created-at.js';
import { toHostTensors, toTfTensors } from './host-tensors.js';
import { joinLocation, modelFileSystem, openCheckpointFiles, openModelFiles, readModelJson, type ModelFiles } from './model-files.js';

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
  /**
   * metadata.json's `createdAt` (checkpointCreatedAt: an ISO 8601 date and time with its zone, kept verbatim; default now): the
   * time the weights were made, kept when the same weights are written again (a release).
   */
  readonly createdAt?: string;
  /** Fault injection for tests (see atomic.ts). */
  readonly hook?: WriteHook;
}

const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');

export async function saveTower(dir: string, tower: Tower, options: SaveTowerOptions = {}): Promise<void> {
  const fs = modelFileSystem();
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') throw new CheckpointError(`dtype must be "float32" or "float16", got ${String(dtype)}`);
  const createdAt = checkpointCreatedAt(options.createdAt);
  const weights = encodeSafetensors(await toHostTensors(tower.params), { dtype, metadata: { format: 'pt', arch: TOWER_ARCH } });
  const metadata: CheckpointMetadata = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    weights: { file: WEIGHTS_FILE, sha256: await sha256HexAsync(weights), bytes: weights.length, dtype },
    createdAt,
    createdWith: fs.versions(),
    user: { ...(options.metadata ?? {}) },
  };
  await fs.writeCheckpoint(
    dir,
    [
      { name: WEIGHTS_FILE, data: weights },
      { name: 'config.json', data: json({ arch: TOWER_ARCH, ...tower.config }) },
      { name: 'metadata.json', data: json(metadata) },
    ],
    { what: 'the tower', hook: options.hook },
  );
}

/** A tower checkpoint's validated metadata.json and config.json, and where they were found. */
export interface TowerCheckpointInfo {
  readonly dir: string;
  readonly files: ModelFiles;
  readonly config: TowerConfig;
  readonly metadata: CheckpointMetadata;
}

/**
 * Reads and validates metadata.json and config.json of a checkpoint: a directory (its `.prev`
 * backup after a crashed save) or ModelFiles. `dir` is where it was found.
 */
export async function readTowerCheckpointInfo(source: string | ModelFiles): Promise<TowerCheckpointInfo> {
  const files = await openCheckpointFiles(source, (dir) => `no checkpoint directory at ${dir}; save one with saveTower first`);
  const root = files.location;
  const meta = await readModelJson(files, 'metadata.json');
  if (meta['format'] !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`${root}/metadata.json: format ${JSON.stringify(meta['format'])} is not "${CHECKPOINT_FORMAT}"`);
  if (meta['formatVersion'] !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      `${root}/metadata.json: formatVersion ${JSON.stringify(meta['formatVersion'])} is not supported (this reader knows ${CHECKPOINT_FORMAT_VERSION}); upgrade @zipper/core`,
    );
  }
  const w = meta['weights'] as Record<string, unknown> | undefined;
  if (!w || typeof w['sha256'] !== 'string' || w['file'] !== WEIGHTS_FILE)
    throw new CheckpointError(`${root}/metadata.json: "weights" must name ${WEIGHTS_FILE} and its sha256`);
  if (w['dtype'] !== 'float32' && w['dtype'] !== 'float16')
    throw new CheckpointError(`${root}/metadata.json: "weights.dtype" must be "float32" or "float16", got ${showValue(w['dtype'])}`);
  const raw = await readModelJson(files, 'config.json');
  const { arch, ...rest } = raw;
  if (arch !== TOWER_ARCH)
    throw new CheckpointError(`${root}/config.json: arch ${JSON.stringify(arch)} is not "${TOWER_ARCH}"; this checkpoint is not a tower`);
  let config: TowerConfig;
  try {
    config = resolveTowerConfig(rest as unknown as TowerConfigInput);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(`${root}/config.json: ${e.message}`);
    throw e;
  }
  return { dir: root, files, config, metadata: meta as unknown as CheckpointMetadata };
}

/** Where a `zipper pretrain` output or a checkpoint package keeps its tower checkpoint. */
export const TOWER_DIR = 'tower';

/**
 * The `tower/` inside `files` (opened from `source`): a path when `source` was one, so that
 * reading it keeps the checkpoint's `.prev` fallback (a crashed save), else ModelFiles.
 */
export function towerDirIn(source: string | ModelFiles, files: ModelFiles): string | ModelFiles {
  return typeof source === 'string' ? joinLocation(files.location, TOWER_DIR) : files.at(TOWER_DIR);
}

/**
 * A tower checkpoint where `source` points: a tower checkpoint directory (`saveTower`), or a
 * folder holding one as `tower/`: a `zipper pretrain` output directory or a checkpoint package,
 * also by its package name (e.g. `'@zipper/checkpoint-text-small'`, resolved from the working
 * directory; Node); or the ModelFiles of either (any platform). `outer`: the folder around
 * `tower/` when the checkpoint is there (where a package.json names it).
 */
export async function openTowerCheckpoint(source: string | ModelFiles): Promise<{ info: TowerCheckpointInfo; outer?: ModelFiles }> {
  let first: CheckpointError;
  try {
    return { info: await readTowerCheckpointInfo(source) }; // a checkpoint directory (with its `.prev` fallback) or ModelFiles
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    first = e;
  }
  const fail = () =>
    new CheckpointError(
      `${typeof source === 'string' ? source : source.location} holds no tower checkpoint, neither itself nor in ${TOWER_DIR}/ (${first.message}); pass a saveTower directory, a zipper pretrain output or a checkpoint package`,
    );
  let root: ModelFiles;
  try {
    root = openModelFiles(source); // resolves a package name (Node)
  } catch {
    throw fail();
  }
  // the usual layout first (a package or a pretrain output: tower/), then a package folder that is
  // itself the checkpoint (only a package name resolves to a folder not already read above)
  const inner = towerDirIn(source, root);
  try {
    return { info: await readTowerCheckpointInfo(inner), outer: root };
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
  }
  if (typeof source === 'string')
    try {
      return { info: await readTowerCheckpointInfo(root.location) };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
    }
  throw fail();
}

/**
 * Loads a tower saved by `saveTower`, checking hash, header, key set and shapes: from any `source`
 * `openTowerCheckpoint` takes (its directory, a `zipper pretrain` output or checkpoint package
 * holding it as `tower/`, an installed package's name, or ModelFiles of these).
 */
export async function loadTower(source: string | ModelFiles): Promise<Tower> {
  return towerFromCheckpoint((await openTowerCheckpoint(source)).info);
}

/**
 * The tower of a checkpoint whose metadata.json and config.json were read already
 * (`readTowerCheckpointInfo`, `openTowerCheckpoint`): reads its weights and checks hash, header,
 * key set and shapes as `loadTower` does, without reading the two JSON files again.
 */
export async function towerFromCheckpoint(info: TowerCheckpointInfo): Promise<Tower> {
  const { files, config, metadata } = info;
  const file = joinLocation(files.location, WEIGHTS_FILE);
  const bytes = await files.read(WEIGHTS_FILE);
  const digest = await sha256HexAsync(bytes);
  if (digest !== metadata.weights.sha256) {
    throw new CheckpointError(
      `${file}: sha256 ${digest} does not match ${metadata.weights.sha256} in metadata.json; the weights were modified or corrupted, restore them or re-save`,
    );
  }
  const { tensors } = decodeSafetensors(bytes, file);
  const stored = metadata.weights.dtype === 'float16' ? 'F16' : 'F32';
  for (const [key, t] of tensors) {
    if (t.stored !== stored)
      throw new CheckpointError(
        `${file}: "${key}" is stored as ${t.stored}, but metadata.json says the weights are ${metadata.weights.dtype} (${stored}); the file was modified or converted wrongly, re-save or re-convert it`,
      );
  }
  const problems = paramSetProblems(towerParamSpecs(config), shapesOf(tensors));
  if (problems.length > 0) throw new CheckpointError(`${file} does not match config.json: ${problems.join('; ')}`);
  const tfTensors = toTfTensors(tensors);
  try {
    return Tower.fromTensors(config, tfTensors);
  } finally {
    for (const t of tfTensors.values()) t.dispose();
  }
}
