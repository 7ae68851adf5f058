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
  // Shared chunks in both formats (tsup splits only ESM by default), so `@zipper/eval` and
  // `@zipper/eval/node` load one copy of EvalError: `instanceof` holds across the two entries.
  splitting: true,
});
