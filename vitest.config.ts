import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

// Tests import the workspace packages from source, so `vitest` needs no build: `@zipper/<pkg>`
// resolves to packages/<pkg>/src/index.ts and a subpath `@zipper/<pkg>/<sub>` to
// packages/<pkg>/src/<sub>/index.ts or packages/<pkg>/src/<sub>.ts. Anything else (e.g. a
// checkpoint package without sources) resolves as usual. The packaging test (tools/pack-check)
// is the one that exercises the built ESM + CJS outputs.
const packages = fileURLToPath(new URL('./packages/', import.meta.url));
const workspaceSources: Plugin = {
  name: 'zipper-workspace-sources',
  enforce: 'pre',
  resolveId(id) {
    const m = /^@zipper\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?$/.exec(id);
    if (!m) return null;
    const [, pkg, sub] = m;
    const src = `${packages}${pkg}/src/`;
    for (const file of sub ? [`${sub}/index.ts`, `${sub}.ts`] : ['index.ts']) if (existsSync(src + file)) return src + file;
    return null;
  },
};

export default defineConfig({
  plugins: [workspaceSources],
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tools/test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
