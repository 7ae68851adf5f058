/**
 * The builder's side of the manifest contract. The contract itself (record types per kind, the
 * validating reader, split file names) lives in `@zipper/data`; this file maps the builder's
 * planned items to records and groups them into manifest files.
 */
import { basename } from 'node:path';
import { ALIGNED_FRACTIONS, isAlignedSplit, manifestFileName, parseManifest, parseManifestFileName, recordKindOf, type ManifestRecord, type RecordKind } from '@zipper/data';
import type { AudioItem } from './plan.js';
import { sha256Hex as sha256 } from '@zipper/common/node';

export { toJsonl, type ManifestRecord } from '@zipper/data';

/** A finished audio file. */
export interface Rendered {
  readonly sha256: string;
  readonly samples: number;
}

export function manifestRecord(item: AudioItem, r: Rendered, sampleRate: number): ManifestRecord {
  // key order is part of the output bytes: id, text | textSha256, voice ... sha256, [tempo, snrDb, noise]
  const body = { voice: item.voice.id, duration: r.samples / sampleRate, sampleRate, samples: r.samples, path: item.path, sha256: r.sha256 };
  if (item.split === 'speech-only') return { id: item.id, textSha256: sha256(item.text), ...body };
  if (item.tempo !== undefined && item.snrDb !== undefined && item.noise !== undefined) return { id: item.id, text: item.text, ...body, tempo: item.tempo, snrDb: item.snrDb, noise: item.noise };
  return { id: item.id, text: item.text, ...body };
}

/** The manifest files of a build: name -> which items, in plan order. */
export function manifestFiles(items: readonly AudioItem[]): Map<string, AudioItem[]> {
  const files = new Map<string, AudioItem[]>();
  const put = (name: string, it: AudioItem) => {
    const list = files.get(name) ?? [];
    list.push(it);
    files.set(name, list);
  };
  for (const it of items) {
    if (!isAlignedSplit(it.split)) put(manifestFileName(it.split), it);
    else for (const pct of ALIGNED_FRACTIONS) if ((it.subset ?? 100) <= pct) put(manifestFileName(it.split, pct), it);
  }
  return files;
}

/**
 * Parses and validates a manifest (`@zipper/data`'s reader). The record kind comes from the file
 * name when it is a manifest name, else from the first line (textSha256: speech-only; tempo:
 * test-other; else transcribed). Throws ManifestError naming the file, line and field.
 */
export function parseJsonl(text: string, file = '<manifest>'): ManifestRecord[] {
  const named = parseManifestFileName(basename(file));
  return parseManifest(text, named ? recordKindOf(named.split) : kindOfFirstLine(text), file);
}

function kindOfFirstLine(text: string): RecordKind {
  const first = text.slice(0, text.indexOf('\n') >>> 0);
  return first.includes('"textSha256"') ? 'speech-only' : first.includes('"tempo"') ? 'test-other' : 'transcribed';
}
