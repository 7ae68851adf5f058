export * from './mulberry32.js';
export * from './xoshiro128.js';
export * from './hash.js';
