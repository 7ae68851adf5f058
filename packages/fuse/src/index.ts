// Node entry: the browser entry's modules plus the data-parallel replica (worker threads).
export * from './browser.js';
export * from './replica.js';
