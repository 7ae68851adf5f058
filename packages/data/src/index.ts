export * from './errors.js';
export * from './splits.js';
export * from './records.js';
export * from './validate.js';
export * from './build-info.js';
export * from './holdout.js';
export * from './documents.js';
export * from './batches.js';
