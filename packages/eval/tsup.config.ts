import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: the browser-safe metrics (index) and the Node-only recognizer runner (node).
  entry: { index: 'src/index.ts', node: 'src/node/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // the node entry imports the main entry by name: one EvalError class for both
  external: ['@zipper/eval'],
});
