export * from './presets.js';
export * from './text-tower.js';
export * from './word-lm.js';
