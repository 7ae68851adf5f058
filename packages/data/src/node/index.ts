export * from './data-dir.js';
export * from './unit-cache.js';
export * from './speech-units.js';
