export * from './errors.js';
export * from './float16.js';
export * from './safetensors.js';
export * from './random/index.js';
export * from './stats.js';
export * from './show-value.js';
export * from './sha256-async.js';
