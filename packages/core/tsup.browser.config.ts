import { defineConfig } from 'tsup';

// The `browser` export condition (package.json): src/browser.ts and the ops as ESM for bundlers,
// built after tsup.config.ts (package.json "build") into dist/browser/, with shared chunks so
// both load one copy of the ops (one watched-variable set, ops/tape.ts). No Node shims (the
// main build's import.meta.url / __dirname shims import node modules), no Node built-ins:
// apps/web/test/browser-bundle.test.ts bundles it for the browser.
export default defineConfig({
  entry: { index: 'src/browser.ts', ops: 'src/ops/index.ts' },
  outDir: 'dist/browser',
  format: ['esm'],
  platform: 'browser',
  splitting: true,
  shims: false,
  sourcemap: true,
  clean: false,
  target: 'es2022',
  // One TensorFlow.js engine per page: never bundle a copy of it.
  external: [/^@tensorflow\//],
  // tfjs-core's gradient registrations exist only as extensionless ESM (see src/kernels/gradients.ts).
  noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
});
