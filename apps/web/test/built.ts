/**
 * The web tests use the packages' built browser entries (dist/); `npm test` and `npm run
 * test:web` build them before vitest starts. Throws, saying what to run, when one is missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export function requireBuilt(repo: string): void {
  const entries = [
    'core/dist/browser/index.js',
    'tokenizers/dist/browser.js',
    'speech/dist/browser.js',
    'fuse/dist/browser.js',
    'text/dist/index.js',
  ];
  const missing = entries.filter((e) => !existsSync(path.join(repo, 'packages', e)));
  if (missing.length > 0)
    throw new Error(
      `not built: packages/${missing.join(', packages/')}; run \`npx turbo run build --filter=@zipper/web^...\` (npm run test:web does)`,
    );
}
