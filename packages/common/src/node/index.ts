export * from './atomic.js';
export * from './sha256.js';
export * from './run-program.js';
