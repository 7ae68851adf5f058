/**
 * A text tokenizer directory, which a tower checkpoint names by `{ dir, formatVersion }`:
 *
 *   DIR/tokenizer.json          HF format (loadable by `tokenizers`' Tokenizer.fromFile)
 *   DIR/zipper-tokenizer.json   manifest: format, formatVersion, vocabSize, roles, sha256 of tokenizer.json
 *
 * Loading checks the format name, the version, and the hash, so a checkpoint never silently runs
 * with a different vocabulary than it was trained with.
 *
 * This module is browser-safe: `textTokenizerFiles` gives the two files' bytes, and
 * `readTextTokenizer` rebuilds the tokenizer through any file reader (a directory under Node:
 * tokenizer-dir-node.ts; a model served over HTTP: @zipper/text's TextTower.load).
 */
import { sha256HexAsync as sha256 } from '@zipper/common';
import { TokenizerFormatError } from '../errors.js';
import { parseHfJson, stringifyHfJson } from './hf-json.js';
import type { BpeTokenizer, SpecialTokenRoles } from './tokenizer.js';

export const TEXT_TOKENIZER_FORMAT = 'zipper.text-tokenizer';
export const TEXT_TOKENIZER_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'zipper-tokenizer.json';
export const HF_FILE = 'tokenizer.json';

/** What a checkpoint stores to name its text tokenizer. */
export interface TextTokenizerRef {
  /** The tokenizer directory (absolute, or relative to the checkpoint directory). */
  readonly dir: string;
  readonly formatVersion: number;
  /** Vocabulary size the tower's embedding was built for. */
  readonly vocabSize: number;
  /** sha256 (hex) of tokenizer.json. */
  readonly sha256: string;
}

export interface TextTokenizerManifest {
  readonly format: typeof TEXT_TOKENIZER_FORMAT;
  readonly formatVersion: number;
  readonly kind: 'byte-level-bpe';
  readonly file: typeof HF_FILE;
  readonly vocabSize: number;
  readonly roles: SpecialTokenRoles;
  readonly sha256: string;
}

/** The two files of a tokenizer directory and the ref a checkpoint stores (with `dir` as given). */
export async function textTokenizerFiles(
  tok: BpeTokenizer,
  dir: string,
): Promise<{ files: { name: string; data: Uint8Array }[]; ref: TextTokenizerRef }> {
  const json = stringifyHfJson(tok);
  const manifest: TextTokenizerManifest = {
    format: TEXT_TOKENIZER_FORMAT,
    formatVersion: TEXT_TOKENIZER_FORMAT_VERSION,
    kind: 'byte-level-bpe',
    file: HF_FILE,
    vocabSize: tok.vocabSize,
    roles: tok.roles,
    sha256: await sha256(json),
  };
  const utf8 = (text: string) => new TextEncoder().encode(text);
  return {
    files: [
      { name: HF_FILE, data: utf8(json) },
      { name: MANIFEST_FILE, data: utf8(JSON.stringify(manifest, null, 2) + '\n') },
    ],
    ref: { dir, formatVersion: manifest.formatVersion, vocabSize: manifest.vocabSize, sha256: manifest.sha256 },
  };
}

/**
 * Reads a tokenizer directory through `read` (file name -> its text; throws when missing),
 * `where` naming the directory in messages. With a `ref` (from a checkpoint), also checks that
 * the version, vocabulary size and hash are the ones the checkpoint was built with.
 */
export async function readTextTokenizer(
  read: (file: string) => Promise<string>,
  where: string,
  ref?: Omit<TextTokenizerRef, 'dir'>,
): Promise<{ tokenizer: BpeTokenizer; manifest: TextTokenizerManifest }> {
  const mText = await read(MANIFEST_FILE);
  let m: Partial<TextTokenizerManifest>;
  try {
    m = JSON.parse(mText) as Partial<TextTokenizerManifest>;
  } catch {
    throw new TokenizerFormatError(MANIFEST_FILE, 'not valid JSON; re-save the tokenizer with saveTextTokenizer');
  }
  if (m?.format !== TEXT_TOKENIZER_FORMAT)
    throw new TokenizerFormatError(
      `${MANIFEST_FILE}.format`,
      `expected ${JSON.stringify(TEXT_TOKENIZER_FORMAT)}, got ${JSON.stringify(m?.format)}`,
    );
  if (m.formatVersion !== TEXT_TOKENIZER_FORMAT_VERSION) {
    throw new TokenizerFormatError(
      `${MANIFEST_FILE}.formatVersion`,
      `this build reads version ${TEXT_TOKENIZER_FORMAT_VERSION}, the directory has ${JSON.stringify(m.formatVersion)}; upgrade @zipper/tokenizers or re-save the tokenizer`,
    );
  }
  const json = await read(HF_FILE);
  const hash = await sha256(json);
  if (hash !== m.sha256)
    throw new TokenizerFormatError(
      `${MANIFEST_FILE}.sha256`,
      `tokenizer.json was modified after saving (sha256 ${hash}, manifest says ${String(m.sha256)}); restore it or re-save the directory`,
    );
  const roles = m.roles && typeof m.roles === 'object' ? m.roles : undefined;
  const tokenizer = parseHfJson(json, roles);
  if (tokenizer.vocabSize !== m.vocabSize)
    throw new TokenizerFormatError(
      `${MANIFEST_FILE}.vocabSize`,
      `manifest says ${String(m.vocabSize)}, tokenizer.json has ${tokenizer.vocabSize}; re-save the directory`,
    );
  if (ref) {
    if (ref.formatVersion !== m.formatVersion)
      throw new TokenizerFormatError(
        'ref.formatVersion',
        `checkpoint expects version ${ref.formatVersion}, directory has ${m.formatVersion}`,
      );
    if (ref.vocabSize !== tokenizer.vocabSize || ref.sha256 !== hash) {
      throw new TokenizerFormatError(
        'ref.sha256',
        `the checkpoint was built with a different tokenizer (vocabSize ${ref.vocabSize}, sha256 ${ref.sha256.slice(0, 12)}...) than ${where} (vocabSize ${tokenizer.vocabSize}, sha256 ${hash.slice(0, 12)}...); point it at the tokenizer it was trained with`,
      );
    }
  }
  return { tokenizer, manifest: m as TextTokenizerManifest };
}
