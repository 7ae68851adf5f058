/**
 * The browser entry of @zipper/tokenizers (package.json "exports" condition `browser`): the BPE
 * and speech tokenizers, WAV bytes, features and the vocoder, and the tokenizer files as bytes
 * (`textTokenizerFiles` / `readTextTokenizer`, `serializeSpeechTokenizer` /
 * `deserializeSpeechTokenizer`). Left out: reading and writing directories and WAV files on disk
 * (`loadTextTokenizer`, `saveTextTokenizer`, `loadSpeechTokenizer`, `saveSpeechTokenizer`,
 * `readWavFile`), which need Node.
 */
export * from './errors.js';
export * from './text/index.js';
export * from './speech/index.js';
