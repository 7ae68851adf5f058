/**
 * Text tokenizer directories on disk (Node): `saveTextTokenizer` writes the files of
 * tokenizer-dir.ts, `loadTextTokenizer` reads them through its `readTextTokenizer`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerFormatError } from '../errors.js';
import { readTextTokenizer, textTokenizerFiles, type TextTokenizerManifest, type TextTokenizerRef } from './tokenizer-dir.js';
import type { BpeTokenizer } from './tokenizer.js';

/** Writes DIR/tokenizer.json and DIR/zipper-tokenizer.json; returns the ref a checkpoint stores. */
export async function saveTextTokenizer(tok: BpeTokenizer, dir: string): Promise<TextTokenizerRef> {
  await mkdir(dir, { recursive: true });
  const { files, ref } = await textTokenizerFiles(tok, dir);
  for (const f of files) await writeFile(join(dir, f.name), f.data);
  return ref;
}

async function readText(path: string, field: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new TokenizerFormatError(
      field,
      `cannot read ${path} (${(e as Error).message}); is this a tokenizer directory written by saveTextTokenizer / \`zipper bpe train\`?`,
    );
  }
}

/**
 * Loads a tokenizer directory. With a `ref` (from a checkpoint), also checks that the version,
 * vocabulary size and hash are the ones the checkpoint was built with.
 */
export async function loadTextTokenizer(
  dir: string,
  ref?: Omit<TextTokenizerRef, 'dir'>,
): Promise<{ tokenizer: BpeTokenizer; manifest: TextTokenizerManifest }> {
  return readTextTokenizer((file) => readText(join(dir, file), file), dir, ref);
}
