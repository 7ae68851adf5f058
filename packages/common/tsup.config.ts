import { defineConfig } from 'tsup';

export default defineConfig({
  // index: browser-safe (no node: imports, checked by test/browser-safe.test.ts);
  // node: Node-only helpers (atomic writes, sha256), published as `@zipper/common/node`.
  entry: { index: 'src/index.ts', node: 'src/node/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
