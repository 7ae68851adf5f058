import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: the browser-safe contract (index) and the filesystem parts (node).
  entry: { index: 'src/index.ts', node: 'src/node/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // One TensorFlow.js engine per process: never bundle a copy of it.
  external: [/^@tensorflow\//],
});
