/**
 * The browser entry of @zipper/speech (package.json "exports" condition `browser`): index.ts
 * without `speechTokenizerHash` (synchronous, Node's crypto); use `speechTokenizerSha256`.
 */
export * from './presets.js';
export * from './vocab.js';
export * from './speech-tower.js';
