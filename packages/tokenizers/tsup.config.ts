import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // One TensorFlow.js engine per process: never bundle a copy of it.
  external: [/^@tensorflow\//],
});
