import type { AudioItem, AudioSplit } from './plan.js';
import { sha256 } from './store.js';

/**
 * One line of a JSONL manifest. Paths are relative to the data directory. Speech-only records
 * carry no `text`, only `textSha256` (so training code cannot read the transcript, while a test
 * can still prove the sentence appears in no other split).
 */
export interface ManifestRecord {
  readonly id: string;
  readonly text?: string;
  readonly textSha256?: string;
  readonly voice: string;
  /** Seconds (samples / sampleRate). */
  readonly duration: number;
  readonly sampleRate: number;
  readonly samples: number;
  readonly path: string;
  /** SHA-256 of the WAV file's bytes. */
  readonly sha256: string;
  readonly tempo?: number;
  readonly snrDb?: number;
  readonly noise?: string;
}

/** A finished audio file. */
export interface Rendered {
  readonly sha256: string;
  readonly samples: number;
}

export function manifestRecord(item: AudioItem, r: Rendered, sampleRate: number): ManifestRecord {
  const hidden = item.split === 'speech-only';
  return {
    id: item.id,
    ...(hidden ? { textSha256: sha256(item.text) } : { text: item.text }),
    voice: item.voice.id,
    duration: r.samples / sampleRate,
    sampleRate,
    samples: r.samples,
    path: item.path,
    sha256: r.sha256,
    ...(item.tempo !== undefined ? { tempo: item.tempo, snrDb: item.snrDb, noise: item.noise } : {}),
  };
}

/** The manifest files of a build: name -> which items, in plan order. */
export function manifestFiles(items: readonly AudioItem[]): Map<string, AudioItem[]> {
  const files = new Map<string, AudioItem[]>();
  const put = (name: string, it: AudioItem) => {
    const list = files.get(name) ?? [];
    list.push(it);
    files.set(name, list);
  };
  const simple: readonly AudioSplit[] = ['speech-only', 'dev', 'test-clean', 'test-other'];
  for (const it of items) {
    if (simple.includes(it.split)) put(`${it.split}.jsonl`, it);
    else for (const pct of [1, 10, 100]) if ((it.subset ?? 100) <= pct) put(`${it.split}.${pct}pct.jsonl`, it);
  }
  return files;
}

export function toJsonl(records: readonly ManifestRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}

export function parseJsonl(text: string): ManifestRecord[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as ManifestRecord);
}
