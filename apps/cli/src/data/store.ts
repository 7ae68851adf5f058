import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { sha256Hex, writeFileAtomicSync } from '@zipper/common/node';

/**
 * Writes `data` through a temporary sibling renamed over `path` (`writeFileAtomicSync`), so readers
 * never see a partial file. Without fsync: a resumed build re-checks every file's sha256 against
 * the journal, so a file a power loss emptied is re-synthesized, and a build writes thousands.
 */
export function writeAtomic(path: string, data: Uint8Array | string): void {
  writeFileAtomicSync(path, data, { fsync: false });
}

/** SHA-256 of a file, or null if it does not exist. */
export function fileSha256(path: string): string | null {
  return existsSync(path) ? sha256Hex(readFileSync(path)) : null;
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
