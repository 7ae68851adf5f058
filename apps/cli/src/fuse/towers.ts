/**
 * The two towers a fused run zips, from `--tower text=DIR|PACKAGE --tower speech=DIR|PACKAGE`:
 * a `zipper pretrain` output directory (TextTower / SpeechTower layout: DIR/tower, DIR/tokenizer)
 * or an installed checkpoint package (core's `resolveModelLocation`). Each is recorded in
 * run.json by where it was found, its package name and version (if a package), and the sha256 of
 * its weights and tokenizer, so a resume, `fuse generate` and `zipper eval` load the very same
 * towers (a tower whose sha256 changed is refused with `TowerMismatchError`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { openModelFiles, readTowerCheckpointInfo, resolveModelLocation } from '@zipper/core';
import { readPackageIdentity, TowerMismatchError, type TowerEntry, type ZipperTowerInput } from '@zipper/fuse';
import { SpeechTower, speechTokenizerHash } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import { UsageError } from '../command.js';

export const MODALITIES = ['text', 'speech'] as const;
export type Modality = (typeof MODALITIES)[number];

/** One tower as run.json records it. */
export interface TowerRef {
  /** As given to --tower (a path or a package name). */
  readonly location: string;
  /** The directory it resolved to (absolute). */
  readonly dir: string;
  /** The checkpoint package's name and version, or the directory's basename and null. */
  readonly name: string;
  readonly version: string | null;
  /** sha256 of DIR/tower/model.safetensors (the tower checkpoint's weights). */
  readonly sha256: string;
  /** sha256 of the tokenizer (text: tokenizer.json; speech: speechTokenizerHash). */
  readonly tokenizerSha256: string;
  readonly config: {
    readonly vocabSize: number;
    readonly dModel: number;
    readonly nLayers: number;
    readonly nHeads: number;
    readonly maxSeqLen: number;
  };
}

export type TowerLocations = Readonly<Record<Modality, string>>;

/** `--tower text=A --tower speech=B` -> { text: A, speech: B }; every name known, none twice, both given unless `optional`. */
export function parseTowerOptions(values: readonly string[] | undefined, { optional = false } = {}): Partial<Record<Modality, string>> {
  const out: Partial<Record<Modality, string>> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new UsageError(`--tower takes NAME=DIR|PACKAGE (e.g. --tower text=runs/text), got "${v}"`);
    const name = v.slice(0, eq);
    if (!(MODALITIES as readonly string[]).includes(name))
      throw new UsageError(
        `unknown tower name "${name}" in --tower ${v}; the towers are ${MODALITIES.join(' and ')}: --tower text=DIR|PACKAGE --tower speech=DIR|PACKAGE`,
      );
    if (out[name as Modality] !== undefined) throw new UsageError(`--tower ${name}=... is given twice`);
    out[name as Modality] = v.slice(eq + 1);
  }
  if (!optional) {
    for (const m of MODALITIES)
      if (out[m] === undefined)
        throw new UsageError(`--tower ${m}=DIR|PACKAGE is missing (a \`zipper pretrain ${m}\` output directory or a checkpoint package)`);
  }
  return out;
}

/**
 * Where to load a recorded run's towers from: `--tower` when given, else the directory run.json
 * names, else (moved or reinstalled) the location as given at the start (e.g. a package name):
 * resolved from `from` (a run or checkpoint package's folder, whose dependencies the tower
 * packages are) when it is there, else again from the working directory.
 */
export function recordedLocations(
  refs: Readonly<Record<Modality, TowerRef>>,
  given: Partial<Record<Modality, string>>,
  from?: string,
): TowerLocations {
  const of = (m: Modality) => {
    const g = given[m];
    if (g !== undefined) return g;
    if (existsSync(refs[m].dir)) return refs[m].dir;
    if (from !== undefined) {
      try {
        return resolveModelLocation(refs[m].location, { from });
      } catch {
        // not reachable from there: loadTowers resolves (and reports) the recorded location
      }
    }
    return refs[m].location;
  };
  return { text: of('text'), speech: of('speech') };
}

export interface LoadedTowers {
  readonly text: TextTower;
  readonly speech: SpeechTower;
  readonly refs: Readonly<Record<Modality, TowerRef>>;
}

/** A tower's identity without loading its weights: where `location` resolves, its package name and version (or the folder's name and null), its weights' sha256. */
export async function towerIdentity(location: string): Promise<Pick<TowerRef, 'location' | 'dir' | 'name' | 'version' | 'sha256'>> {
  const dir = resolveModelLocation(location);
  const { metadata } = await readTowerCheckpointInfo(path.join(dir, 'tower'));
  const identity = (await readPackageIdentity(openModelFiles(dir))) ?? { name: path.basename(dir), version: null };
  return { location, dir, ...identity, sha256: metadata.weights.sha256 };
}

/** Loads both towers; with `expected` (a resume, a trained model) each sha256 must match. */
export async function loadTowers(locations: TowerLocations, expected?: Readonly<Record<Modality, TowerRef>>): Promise<LoadedTowers> {
  const refs = {} as Record<Modality, TowerRef>;
  for (const m of MODALITIES) {
    const found = await towerIdentity(locations[m]);
    const want = expected?.[m];
    if (want && found.sha256 !== want.sha256) {
      throw new TowerMismatchError(
        `tower "${m}": ${found.dir} has weights sha256 ${found.sha256}, but this run was trained on ${want.name}${want.version ? `@${want.version}` : ''} (${want.dir}) with sha256 ${want.sha256}; pass --tower ${m}=<that tower>`,
      );
    }
    refs[m] = { ...found, tokenizerSha256: '', config: { vocabSize: 0, dModel: 0, nLayers: 0, nHeads: 0, maxSeqLen: 0 } };
  }
  const text = await TextTower.load(refs.text.dir);
  let speech: SpeechTower;
  try {
    speech = await SpeechTower.load(refs.speech.dir);
  } catch (e) {
    text.dispose();
    throw e;
  }
  const textMeta = (await readTowerCheckpointInfo(path.join(refs.text.dir, 'tower'))).metadata.user['tokenizer'] as
    { sha256?: string } | undefined;
  const shape = (c: TextTower['tower']['config']) => ({
    vocabSize: c.vocabSize,
    dModel: c.dModel,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    maxSeqLen: c.maxSeqLen,
  });
  refs.text = { ...refs.text, tokenizerSha256: textMeta?.sha256 ?? '', config: shape(text.tower.config) };
  refs.speech = { ...refs.speech, tokenizerSha256: speechTokenizerHash(speech.tokenizer), config: shape(speech.tower.config) };
  for (const m of MODALITIES) {
    const want = expected?.[m];
    if (want && want.tokenizerSha256 !== refs[m].tokenizerSha256) {
      text.dispose();
      speech.dispose();
      throw new TowerMismatchError(
        `tower "${m}": the tokenizer at ${refs[m].dir} has sha256 ${refs[m].tokenizerSha256}, this run's is ${want.tokenizerSha256}; pass --tower ${m}=<the tower it was trained with>`,
      );
    }
  }
  return { text, speech, refs };
}

/** The zipper tower entries (towers taken, not copied) with their sources for the fused checkpoint. */
export function towerEntries(t: LoadedTowers): TowerEntry[] {
  const source = (m: Modality) => ({ name: t.refs[m].name, version: t.refs[m].version, sha256: t.refs[m].sha256 });
  return [
    { name: 'text', tower: t.text.tower, bos: t.text.tokenizer.roleId('bos'), eos: t.text.tokenizer.roleId('eos'), source: source('text') },
    { name: 'speech', tower: t.speech.tower, bos: t.speech.vocab.bos, eos: t.speech.vocab.eos, source: source('speech') },
  ];
}

/** The speech tower as a modality of the single decoder (its vocabulary, not its weights). */
export function speechSpec(t: LoadedTowers): ZipperTowerInput {
  return { name: 'speech', config: t.speech.tower.config, bos: t.speech.vocab.bos, eos: t.speech.vocab.eos };
}
