/**
 * The fused checkpoint (docs/zipper.md, "Checkpoint format"): a directory with
 *   model.safetensors  inproj.*, cross.* and towers.<X>.* of every tower that is not frozen
 *   zipper.json        format, tower names/configs/bos/eos/frozen, and for each tower the
 *                      name, version and sha256 of the tower checkpoint it was built on;
 *                      schedule, options, the weights file's sha256
 * written atomically. A frozen tower's weights come from its tower checkpoint, which loading
 * requires and verifies; any tower checkpoint given is verified against the stored sha256 and a
 * mismatch is refused with `TowerMismatchError` naming the tower and both hashes.
 * Checkpoints and towers load from directories (Node) or ModelFiles (e.g. `fetchModelFiles(url)`
 * in a browser), through the same loader.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decodeSafetensors, encodeSafetensors, sha256HexAsync } from '@zipper/common';
import {
  checkpointCreatedAt,
  CheckpointError,
  ConfigError,
  joinLocation,
  towerFromCheckpoint,
  type TowerCheckpointInfo,
  modelFileSystem,
  openCheckpointFiles,
  openTowerCheckpoint,
  readModelText,
  toHostTensors,
  toTfTensors,
  Tower,
  TOWER_ARCH,
  ZipperError,
  type ModelFiles,
} from '@zipper/core';
import { ctcHeadName, resolveZipperConfig, type CrossRopeSpec, type CtcHeadSpec, type ZipperConfig } from './config.js';
import type { LexiconSearchSettings } from './ctc-lexicon.js';
import { TowerMismatchError } from './errors.js';
import type { FusionLink } from './schedule.js';
import { Zipper, type TowerEntry, type TowerSource } from './zipper.js';

/** Moved to @zipper/core (every tower loader takes the same sources); re-exported here as before. */
export { openTowerCheckpoint } from '@zipper/core';

export const FUSED_FORMAT = 'zipper-fused-checkpoint';
export const FUSED_FORMAT_VERSION = 1;
const WEIGHTS = 'model.safetensors';
const META = 'zipper.json';

/** zipper.json */
export interface FusedCheckpointInfo {
  readonly format: typeof FUSED_FORMAT;
  readonly formatVersion: number;
  readonly towers: readonly {
    readonly name: string;
    readonly config: Readonly<Record<string, unknown>>;
    readonly bos: number;
    readonly eos: number;
    readonly frozen: boolean;
    readonly checkpoint: TowerSource | null;
  }[];
  readonly schedule: { readonly links: readonly FusionLink[] };
  readonly options: {
    readonly inputProjection: string;
    readonly inputProjectionLayers: number;
    readonly projectionLayers: number;
    /** Auxiliary CTC heads (absent when none). */
    readonly ctc?: readonly CtcHeadSpec[];
    /** Rotary cross positions (absent when none). */
    readonly crossRope?: readonly CrossRopeSpec[];
  };
  readonly weights: { readonly file: string; readonly sha256: string; readonly bytes: number; readonly dtype: 'float32' | 'float16' };
  readonly createdAt: string;
  readonly createdWith: Readonly<Record<string, string>>;
}

/**
 * The `name` and `version` of the package.json at `files`' location, or undefined when it has
 * none (or one without a name): how a tower checkpoint package names the towers it holds.
 */
export async function readPackageIdentity(files: ModelFiles): Promise<{ name: string; version: string | null } | undefined> {
  let p: { name?: unknown; version?: unknown };
  try {
    p = JSON.parse(await readModelText(files, 'package.json')) as typeof p;
  } catch {
    return undefined; // no package.json, or not one we can read: not a package
  }
  if (typeof p.name !== 'string') return undefined;
  return { name: p.name, version: typeof p.version === 'string' ? p.version : null };
}

/**
 * Loads a tower as a zipper tower and records where it came from (for the fused checkpoint).
 * `source` as `openTowerCheckpoint` takes it. `name` / `version` default to the package.json's
 * next to `tower/` when there is one, else the directory's basename and null.
 */
export async function loadTowerEntry(
  source: string | ModelFiles,
  options: { name: string; bos: number; eos: number; source?: { name: string; version: string | null } },
): Promise<TowerEntry> {
  const { info, outer } = await openTowerCheckpoint(source);
  const identity = outer ? await readPackageIdentity(outer) : undefined;
  const dirName = (outer?.location ?? info.dir)
    .replace(/[/\\]+$/, '')
    .split(/[/\\]/)
    .pop() as string;
  const tower = await towerFromCheckpoint(info);
  const from: TowerSource = {
    name: options.source?.name ?? identity?.name ?? dirName,
    version: options.source?.version ?? identity?.version ?? null,
    sha256: info.metadata.weights.sha256,
  };
  return { name: options.name, tower, bos: options.bos, eos: options.eos, source: from };
}

/** Options of `saveZipper`. */
export interface SaveZipperOptions {
  /** The stored weights' dtype (default float32). */
  readonly dtype?: 'float32' | 'float16';
  /**
   * Tower checkpoints to name in zipper.json instead of the ones the towers were loaded from, by
   * tower name: the same weights published since under another name (a tower folder released as a
   * package). Each must have the loaded tower's sha256 (a `TowerMismatchError` otherwise).
   */
  readonly sources?: Readonly<Record<string, TowerSource>>;
  /**
   * The lexicon search settings to store with CTC heads, by head name (`ctcHeadName`, e.g.
   * `text_from_speech`), replacing what the head carried (`{}`: none, the search's defaults):
   * a released model's decoder settings, chosen on dev (`zipper fuse release --word-bonus ...`).
   */
  readonly search?: Readonly<Record<string, LexiconSearchSettings>>;
  /**
   * zipper.json's `createdAt` (@zipper/core checkpointCreatedAt: an ISO 8601 date and time with its zone, kept verbatim; default
   * now): the time the weights were made, kept when the same weights are written again (a release
   * of a run keeps its model's, so releasing it again gives the same bytes).
   */
  readonly createdAt?: string;
}

/** `c`'s CTC heads with the `search` settings given by head name (ConfigError for a head the model lacks). */
function headsWithSearch(c: ZipperConfig, search: Readonly<Record<string, LexiconSearchSettings>>): readonly CtcHeadSpec[] {
  const names = c.ctc.map(ctcHeadName);
  for (const n of Object.keys(search))
    if (!names.includes(n))
      throw new ConfigError(`search: the model has no CTC head "${n}" (heads: ${names.length > 0 ? names.join(', ') : 'none'})`);
  const ctc = c.ctc.map((h) => {
    const given = search[ctcHeadName(h)];
    if (given === undefined) return h;
    const { search: _carried, ...rest } = h;
    return { ...rest, search: given };
  });
  return resolveZipperConfig({ ...c, ctc }).ctc;
}

/** Saves the fused checkpoint of `zipper` to `dir` (see the file header). */
export async function saveZipper(dir: string, zipper: Zipper, options: SaveZipperOptions = {}): Promise<void> {
  const fs = modelFileSystem();
  const c = zipper.config;
  const dtype = options.dtype ?? 'float32';
  const createdAt = checkpointCreatedAt(options.createdAt);
  const sources = new Map(zipper.sources);
  for (const [name, given] of Object.entries(options.sources ?? {})) {
    const had = zipper.sources.get(name);
    if (!c.towers.some((t) => t.name === name))
      throw new CheckpointError(`sources: tower "${name}" is not in this model (towers: ${c.towers.map((t) => t.name).join(', ')})`);
    if (!had || had.sha256 !== given.sha256)
      throw new TowerMismatchError(
        `sources: tower "${name}" was loaded from ${had ? `${had.name} with sha256 ${had.sha256}` : 'no tower checkpoint'}; ${given.name}${given.version ? `@${given.version}` : ''} has sha256 ${given.sha256}, so it does not hold these weights`,
      );
    sources.set(name, { name: given.name, version: given.version, sha256: given.sha256 });
  }
  for (const f of c.freeze) {
    if (!sources.has(f))
      throw new CheckpointError(
        `tower "${f}" is frozen but has no tower checkpoint to refer to; save it with saveTower and zip the tower loaded with loadTowerEntry, or unfreeze it`,
      );
  }
  const ctc = options.search ? headsWithSearch(c, options.search) : c.ctc;
  const frozen = c.freeze.map((n) => `towers.${n}.`);
  const stored = new Map([...zipper.params].filter(([k]) => !frozen.some((p) => k.startsWith(p))));
  const weights = encodeSafetensors(await toHostTensors(stored), { dtype, metadata: { format: 'pt', arch: FUSED_FORMAT } });
  const info: FusedCheckpointInfo = {
    format: FUSED_FORMAT,
    formatVersion: FUSED_FORMAT_VERSION,
    towers: c.towers.map((t) => ({
      name: t.name,
      config: { arch: TOWER_ARCH, ...t.config },
      bos: t.bos,
      eos: t.eos,
      frozen: c.freeze.includes(t.name),
      checkpoint: sources.get(t.name) ?? null,
    })),
    schedule: { links: c.schedule.links },
    options: {
      inputProjection: c.inputProjection,
      inputProjectionLayers: c.inputProjectionLayers,
      projectionLayers: c.projectionLayers,
      ...(ctc.length > 0 ? { ctc } : {}),
      ...(c.crossRope.length > 0 ? { crossRope: c.crossRope } : {}),
    },
    weights: { file: WEIGHTS, sha256: await sha256HexAsync(weights), bytes: weights.length, dtype },
    createdAt,
    createdWith: { node: fs.versions()['node'] ?? '', '@tensorflow/tfjs-core': tf.version_core },
  };
  await fs.writeCheckpoint(
    dir,
    [
      { name: WEIGHTS, data: weights },
      { name: META, data: new TextEncoder().encode(JSON.stringify(info, null, 2) + '\n') },
    ],
    { what: 'the fused checkpoint' },
  );
}

/** Reads and checks zipper.json (of a directory or ModelFiles); returns the resolved config too. */
export async function readZipperCheckpointInfo(
  source: string | ModelFiles,
): Promise<{ dir: string; files: ModelFiles; info: FusedCheckpointInfo; config: ZipperConfig }> {
  const files = await openCheckpointFiles(source, (dir) => `no fused checkpoint at ${dir}; save one with saveZipper first`);
  const root = files.location;
  const file = joinLocation(root, META);
  let info: FusedCheckpointInfo;
  try {
    info = JSON.parse(await readModelText(files, META)) as FusedCheckpointInfo;
  } catch (e) {
    if (e instanceof ZipperError) throw e;
    throw new CheckpointError(`${file} is not valid JSON (${(e as Error).message}); the checkpoint is corrupted`);
  }
  if (info?.format !== FUSED_FORMAT)
    throw new CheckpointError(`${file}: format ${JSON.stringify(info?.format)} is not "${FUSED_FORMAT}"; this is not a fused checkpoint`);
  if (info.formatVersion !== FUSED_FORMAT_VERSION)
    throw new CheckpointError(
      `${file}: formatVersion ${JSON.stringify(info.formatVersion)} is not supported (this reader knows ${FUSED_FORMAT_VERSION}); upgrade @zipper/fuse`,
    );
  let config: ZipperConfig;
  try {
    config = resolveZipperConfig({
      towers: info.towers.map((t) => {
        const { arch, ...rest } = t.config;
        if (arch !== TOWER_ARCH) throw new ConfigError(`tower "${t.name}": arch ${JSON.stringify(arch)} is not "${TOWER_ARCH}"`);
        return { name: t.name, config: rest as never, bos: t.bos, eos: t.eos };
      }),
      schedule: info.schedule.links,
      inputProjection: info.options.inputProjection as never,
      inputProjectionLayers: info.options.inputProjectionLayers,
      projectionLayers: info.options.projectionLayers,
      ...(info.options.ctc ? { ctc: info.options.ctc } : {}),
      ...(info.options.crossRope ? { crossRope: info.options.crossRope } : {}),
      freeze: info.towers.filter((t) => t.frozen).map((t) => t.name),
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(`${file}: ${e.message}`);
    throw e;
  }
  return { dir: root, files, info, config };
}

/**
 * Loads a fused checkpoint (a directory or ModelFiles). `towers` maps tower names to tower
 * checkpoints (any form `openTowerCheckpoint` takes: a directory, a `zipper pretrain` output, a
 * checkpoint package or its name, ModelFiles): required for frozen towers (their weights are not in
 * the fused checkpoint), optional for the others (then only verified). Every given tower
 * checkpoint must have the stored sha256.
 */
export async function loadZipper(source: string | ModelFiles, towers: Readonly<Record<string, string | ModelFiles>> = {}): Promise<Zipper> {
  const { dir: root, files, info, config } = await readZipperCheckpointInfo(source);
  for (const name of Object.keys(towers))
    if (!config.towers.some((t) => t.name === name))
      throw new CheckpointError(`tower "${name}" is not in this fused checkpoint (towers: ${config.towers.map((t) => t.name).join(', ')})`);
  // verify every given tower checkpoint before loading anything
  const opened = new Map<string, TowerCheckpointInfo>();
  for (const t of info.towers) {
    const given = towers[t.name];
    if (t.frozen && !given)
      throw new CheckpointError(
        `tower "${t.name}" is frozen in ${root}: its weights are not stored there; pass its tower checkpoint directory (built on ${t.checkpoint?.name ?? '?'}, sha256 ${t.checkpoint?.sha256 ?? '?'})`,
      );
    if (!given) continue;
    const { info: givenInfo } = await openTowerCheckpoint(given);
    opened.set(t.name, givenInfo);
    const have = givenInfo.metadata.weights.sha256;
    if (t.checkpoint && have !== t.checkpoint.sha256) {
      throw new TowerMismatchError(
        `tower "${t.name}": the tower checkpoint at ${givenInfo.dir} has sha256 ${have}, but this fused checkpoint was built on ${t.checkpoint.name} with sha256 ${t.checkpoint.sha256}; pass the tower checkpoint it was trained with`,
      );
    }
  }
  const file = joinLocation(root, WEIGHTS);
  const bytes = await files.read(WEIGHTS);
  const digest = await sha256HexAsync(bytes);
  if (digest !== info.weights.sha256)
    throw new CheckpointError(
      `${file}: sha256 ${digest} does not match ${info.weights.sha256} in ${META}; the weights were modified or corrupted`,
    );
  const host = decodeSafetensors(bytes, file).tensors;
  const tensors = toTfTensors(host);
  const entries: TowerEntry[] = [];
  const fusion = new Map<string, tf.Variable>();
  try {
    for (const t of info.towers) {
      const spec = config.towers.find((x) => x.name === t.name)!;
      const prefix = `towers.${t.name}.`;
      let tower: Tower;
      if (t.frozen) {
        tower = await towerFromCheckpoint(opened.get(t.name)!);
        if (JSON.stringify(tower.config) !== JSON.stringify(spec.config)) {
          tower.dispose();
          throw new CheckpointError(`tower "${t.name}": the tower checkpoint's config differs from ${META}'s`);
        }
      } else {
        const own = new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
        try {
          tower = Tower.fromTensors(spec.config, own);
        } catch (e) {
          throw new CheckpointError(`${file}, tower "${t.name}": ${(e as Error).message}`);
        }
      }
      entries.push({ name: t.name, tower, bos: t.bos, eos: t.eos, ...(t.checkpoint ? { source: t.checkpoint } : {}) });
    }
    const stray = [...tensors.keys()].filter(
      (k) => k.startsWith('towers.') && !info.towers.some((t) => !t.frozen && k.startsWith(`towers.${t.name}.`)),
    );
    if (stray.length > 0)
      throw new CheckpointError(`${file}: unexpected tower weights ${stray.slice(0, 4).join(', ')} (of a frozen or unknown tower)`);
    for (const [k, v] of tensors) if (!k.startsWith('towers.')) fusion.set(k, tf.variable(v, true));
    try {
      return Zipper.fromWeights(entries, config, fusion);
    } catch (e) {
      throw new CheckpointError(`${file}: ${(e as Error).message}`);
    }
  } catch (e) {
    for (const en of entries) en.tower.dispose();
    for (const v of fusion.values()) v.dispose();
    throw e;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
