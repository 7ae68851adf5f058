import { normalizeSentence } from './normalize.js';
import type { SourceText } from './sources.js';

export interface SourceStats {
  readonly name: string;
  readonly debianPackage: string;
  readonly sha256: string;
  /** Raw sentences read. */
  readonly raw: number;
  /** Rejected by the normalization rule (code-like, too short or too long). */
  readonly rejected: number;
  /** Normalized sentences already contributed by an earlier source or earlier in this one. */
  readonly duplicates: number;
  /** New unique sentences this source contributed. */
  readonly kept: number;
}

export interface Corpus {
  /** Unique normalized sentences, sorted (code-unit order), so the order does not depend on reading order. */
  readonly sentences: readonly string[];
  readonly sources: readonly SourceStats[];
}

/** Normalizes every source sentence, drops rejects, deduplicates across sources, sorts. */
export function buildCorpus(sources: readonly SourceText[]): Corpus {
  const seen = new Set<string>();
  const stats: SourceStats[] = [];
  for (const src of sources) {
    let rejected = 0;
    let duplicates = 0;
    let kept = 0;
    for (const raw of src.sentences) {
      const s = normalizeSentence(raw);
      if (s === null) rejected++;
      else if (seen.has(s)) duplicates++;
      else {
        seen.add(s);
        kept++;
      }
    }
    stats.push({ name: src.name, debianPackage: src.debianPackage, sha256: src.sha256, raw: src.sentences.length, rejected, duplicates, kept });
  }
  const sentences = [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { sentences, sources: stats };
}
