export * from './errors.js';
export * from './pocketsphinx.js';
