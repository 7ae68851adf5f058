import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes `data` to a temporary sibling and renames it over `path`, so readers never see a partial file. */
export function writeAtomic(path: string, data: Buffer | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** SHA-256 of a file, or null if it does not exist. */
export function fileSha256(path: string): string | null {
  return existsSync(path) ? sha256(readFileSync(path)) : null;
}

/** One finished utterance, as recorded in the journal. */
export interface JournalEntry {
  readonly id: string;
  /** itemSpecHash of the item when it was synthesized. */
  readonly spec: string;
  readonly sha256: string;
  readonly samples: number;
}

/**
 * Append-only record of finished audio files (`.journal.jsonl` in the data directory). An entry
 * is appended only after its file has been renamed into place; a torn last line (interrupted
 * write) is ignored on reading, so the worst case after a crash is one file synthesized twice.
 */
export class Journal {
  private readonly entries = new Map<string, JournalEntry>();

  constructor(readonly path: string) {
    if (!existsSync(path)) return;
    const text = readFileSync(path, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) appendFileSync(path, '\n'); // end a torn line
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as JournalEntry;
        if (typeof e.id === 'string' && typeof e.sha256 === 'string') this.entries.set(e.id, e);
      } catch {
        // torn line from an interrupted run
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.get(id);
  }

  add(e: JournalEntry): void {
    this.entries.set(e.id, e);
    mkdirSync(dirname(this.path), { recursive: true });
    appendFileSync(this.path, `${JSON.stringify(e)}\n`);
  }
}
