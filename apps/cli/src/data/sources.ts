import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@zipper/common/node';
import { MissingSourceError } from './errors.js';
import { splitSentences } from './normalize.js';
import { requireTool } from './tools.js';

/** Raw English sentences of one text source, before normalization. */
export interface SourceText {
  readonly name: string;
  /** Debian package providing it. */
  readonly debianPackage: string;
  /** SHA-256 over the source bytes read (for the data README: what the corpus was built from). */
  readonly sha256: string;
  readonly sentences: readonly string[];
}

export const FORTUNES_DIR = '/usr/share/games/fortunes';
export const WORDNET_DIR = '/usr/share/wordnet';
export const BIBLE_DATA = '/usr/lib/bible.data';

/** Fortune files skipped: pictures, not sentences. */
const FORTUNE_SKIP = new Set(['ascii-art', 'art']);

/**
 * fortune-mod cookie files (Debian `fortunes`, `fortunes-min`): entries separated by "%" lines;
 * attribution lines ("-- Mark Twain") and backspace overstrikes removed, lines joined.
 */
export function readFortunes(dir = FORTUNES_DIR): SourceText {
  if (!existsSync(join(dir, 'fortunes'))) throw new MissingSourceError('fortunes', dir, 'fortunes fortunes-min');
  const hashed: string[] = []; // file name, text, file name, text, ...
  const sentences: string[] = [];
  const files = readdirSync(dir)
    .filter((f) => !f.includes('.') && !FORTUNE_SKIP.has(f))
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    hashed.push(f, text);
    sentences.push(...fortuneSentences(text));
  }
  return { name: 'fortunes', debianPackage: 'fortunes fortunes-min', sha256: sha256Hex(hashed), sentences };
}

/** Whether `text` is a fortune-mod cookie file: it has a line that is exactly "%". */
export function isFortuneFile(text: string): boolean {
  return /^%$/m.test(text);
}

/**
 * The raw sentences of one fortune-mod cookie file: entries between "%" lines, each with its
 * attribution ("-- Mark Twain") and what follows cut and backspace overstrikes removed, its lines
 * joined and split into sentences.
 */
export function fortuneSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const entry of text.split(/^%$/m)) {
    const lines = entry.replace(/.\x08/g, '').split('\n');
    const cut = lines.findIndex((l) => /^\s*--\s*\S/.test(l) || /^\s+-- /.test(l));
    const body = (cut >= 0 ? lines.slice(0, cut) : lines).join(' ');
    sentences.push(...splitSentences(body));
  }
  return sentences;
}

/**
 * WordNet 3.0 glosses (Debian `wordnet-base`): each synset line of data.{noun,verb,adj,adv} ends
 * with "| gloss"; the gloss is a definition followed by "; "-separated quoted usage examples.
 * Definitions and examples both become sentences.
 */
export function readWordnet(dir = WORDNET_DIR): SourceText {
  const hashed: string[] = [];
  const sentences: string[] = [];
  for (const pos of ['adj', 'adv', 'noun', 'verb']) {
    const path = join(dir, `data.${pos}`);
    if (!existsSync(path)) throw new MissingSourceError('wordnet', path, 'wordnet-base');
    const text = readFileSync(path, 'utf8');
    hashed.push(text);
    for (const line of text.split('\n')) {
      if (line.startsWith('  ')) continue; // license header
      const bar = line.indexOf(' | ');
      if (bar < 0) continue;
      const gloss = line.slice(bar + 3).trim();
      const quoted = [...gloss.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
      const definition = gloss.replace(/"[^"]*"/g, '').split(';')[0]!.trim();
      if (definition) sentences.push(definition);
      for (const q of quoted) sentences.push(...splitSentences(q));
    }
  }
  return { name: 'wordnet', debianPackage: 'wordnet-base', sha256: sha256Hex(hashed), sentences };
}

/**
 * The King James Bible (Debian `bible-kjv-text`, read with the `bible` program of `bible-kjv`):
 * Genesis 1:1 to Revelation 22:21, one verse per line, split into sentences.
 */
export function readBible(env: NodeJS.ProcessEnv = process.env): SourceText {
  if (!existsSync(BIBLE_DATA)) throw new MissingSourceError('bible', BIBLE_DATA, 'bible-kjv-text');
  const bible = requireTool('bible', env);
  const text = execFileSync(bible, ['-l', '100000', 'gen1:1-rev22:21'], { encoding: 'utf8', maxBuffer: 64 << 20, env });
  const sentences: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+ (.*)$/.exec(line);
    if (m) sentences.push(...splitSentences(m[1]!));
  }
  return { name: 'bible-kjv', debianPackage: 'bible-kjv-text bible-kjv', sha256: sha256Hex(text), sentences };
}

/** Every source, in a fixed order. */
export function readAllSources(env: NodeJS.ProcessEnv = process.env): SourceText[] {
  return [readFortunes(), readWordnet(), readBible(env)];
}

/**
 * Size and mtime of every source file, plus the bible program's path: if this string is
 * unchanged, re-reading the sources would give the same sentences.
 */
export function sourcesFingerprint(env: NodeJS.ProcessEnv = process.env): string {
  const files = [
    ...(existsSync(FORTUNES_DIR) ? readdirSync(FORTUNES_DIR).sort().map((f) => join(FORTUNES_DIR, f)) : []),
    ...['adj', 'adv', 'noun', 'verb'].map((p) => join(WORDNET_DIR, `data.${p}`)),
    BIBLE_DATA,
  ];
  const parts = files.map((f) => {
    try {
      const st = statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    } catch {
      return `${f}:missing`;
    }
  });
  return `${parts.join('|')}|${env.PATH ?? ''}`;
}
