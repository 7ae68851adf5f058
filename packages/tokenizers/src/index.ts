export {};
export * from './errors.js';
export * from './text/index.js';
export * from './speech/index.js';
