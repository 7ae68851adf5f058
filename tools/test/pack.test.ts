import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Builds are done by `npm test` (turbo run build) before vitest starts.
describe('published packages', () => {
  it('install from their packed tarballs into an empty folder and import under ESM and CJS', () => {
    const out = execFileSync('node', ['tools/pack-check.mjs'], { encoding: 'utf8', timeout: 300_000 });
    const rows = out.trim().split('\n').map((l) => JSON.parse(l) as { package: string; ok: boolean; esmExports: number });
    expect(rows.map((r) => r.package).sort()).toEqual(['@zipper/core', '@zipper/fuse', '@zipper/speech', '@zipper/text', '@zipper/tokenizers']);
    for (const r of rows) {
      expect(r.ok, r.package).toBe(true);
      expect(r.esmExports, r.package).toBeGreaterThan(0);
    }
  }, 300_000);
});
