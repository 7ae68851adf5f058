import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/bin.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
  // One TensorFlow.js engine per process: never bundle a copy of it.
  external: [/^@tensorflow\//],
  banner: { js: '#!/usr/bin/env node' },
  // npm links bin/zipper at install time (before any build); keep the rebuilt file executable.
  onSuccess: 'chmod +x dist/bin.js',
});
