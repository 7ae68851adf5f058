/** Speech tokenizer directories on disk (Node), in the format of io.ts. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerFormatError } from '../errors.js';
import { CENTROIDS_FILE, deserializeSpeechTokenizer, serializeSpeechTokenizer, SPEECH_TOKENIZER_JSON } from './io.js';
import type { SpeechTokenizer } from './tokenizer.js';

export function saveSpeechTokenizer(tok: SpeechTokenizer, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const { json, centroids } = serializeSpeechTokenizer(tok);
  writeFileSync(join(dir, CENTROIDS_FILE), centroids);
  writeFileSync(join(dir, SPEECH_TOKENIZER_JSON), json);
}

export function loadSpeechTokenizer(dir: string): SpeechTokenizer {
  let json: string;
  let bytes: Uint8Array;
  try {
    json = readFileSync(join(dir, SPEECH_TOKENIZER_JSON), 'utf8');
    bytes = readFileSync(join(dir, CENTROIDS_FILE));
  } catch (e) {
    throw new TokenizerFormatError(
      dir,
      `cannot read a speech tokenizer here (${(e as Error).message}); train one with \`zipper units train\``,
    );
  }
  return deserializeSpeechTokenizer(json, bytes);
}
