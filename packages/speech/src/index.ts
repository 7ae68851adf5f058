export * from './presets.js';
export * from './vocab.js';
export * from './speech-tower.js';
export * from './tokenizer-hash.js';
