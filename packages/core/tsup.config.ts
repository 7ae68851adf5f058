import { defineConfig } from 'tsup';

export default defineConfig({
  // worker: the data-parallel training worker (src/parallel/worker.ts), started by
  // DataParallelGradients from dist/worker.js (ESM) or dist/worker.cjs (CJS) next to the index.
  // ops: the `@zipper/core/ops` subpath (src/ops/index.ts).
  // The `browser` export condition is built by tsup.browser.config.ts (its .d.ts here).
  entry: { index: 'src/index.ts', worker: 'src/parallel/worker.ts', ops: 'src/ops/index.ts' },
  format: ['esm', 'cjs'],
  // Shared chunks in both formats, so `@zipper/core` and `@zipper/core/ops` load one copy of the
  // ops (one watched-variable set, ops/tape.ts) under CJS too (tsup splits only ESM by default).
  splitting: true,
  dts: { entry: { index: 'src/index.ts', ops: 'src/ops/index.ts', browser: 'src/browser.ts' } },
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // One TensorFlow.js engine per process: never bundle a copy of it.
  external: [/^@tensorflow\//],
  // tfjs-core's gradient registrations exist only as extensionless ESM (see src/kernels/gradients.ts).
  noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
});
