export * from './atomic.js';
export * from './sha256.js';
