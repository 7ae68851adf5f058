import { defineConfig } from 'tsup';

export default defineConfig({
  // browser: the `browser` export condition (src/browser.ts, no Node built-ins).
  entry: { index: 'src/index.ts', browser: 'src/browser.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // One TensorFlow.js engine per process: never bundle a copy of it.
  external: [/^@tensorflow\//],
});
