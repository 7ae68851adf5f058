import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url));

// Tests import the workspace packages from source, so `vitest` needs no build. The packaging
// test (tools/pack-check) is the one that exercises the built ESM + CJS outputs.
export default defineConfig({
  resolve: {
    alias: {
      '@zipper/core': src('core'),
      '@zipper/tokenizers': src('tokenizers'),
      '@zipper/text': src('text'),
      '@zipper/speech': src('speech'),
      '@zipper/fuse': src('fuse'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tools/test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
