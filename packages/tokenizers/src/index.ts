export * from './errors.js';
export * from './text/index.js';
export * from './speech/index.js';
// Node only (file system); the browser entry (browser.ts) leaves these out.
export { loadTextTokenizer, saveTextTokenizer } from './text/tokenizer-dir-node.js';
export * from './speech/io-node.js';
export * from './speech/wav-file.js';
