export * from './presets.js';
export * from './text-tower.js';
