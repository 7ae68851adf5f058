export * from './errors.js';
export * from './normalize.js';
export * from './align.js';
export * from './wer.js';
export * from './bootstrap.js';
export * from './ngram.js';
export * from './vote.js';
