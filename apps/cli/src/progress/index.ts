export * from './train-bar.js';
export * from './loss-log.js';
export * from './loss-plot.js';
