import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Builds are done by `npm test` (turbo run build) before vitest starts.
describe('published packages', () => {
  it('install from their packed tarballs into an empty folder, import under ESM and CJS, and core trains with a worker and its native GEMM', () => {
    const out = execFileSync('node', ['tools/pack-check.mjs'], { encoding: 'utf8', timeout: 300_000 });
    const all = out.trim().split('\n').map((l) => JSON.parse(l) as { package: string; ok: boolean; esmExports?: number; check?: string; lossInProcess?: number; lossWorkers?: number; native?: boolean });
    const rows = all.filter((r) => r.check === undefined);
    expect(rows.map((r) => r.package).sort()).toEqual(['@zipper/core', '@zipper/fuse', '@zipper/speech', '@zipper/text', '@zipper/tokenizers']);
    for (const r of rows) {
      expect(r.ok, r.package).toBe(true);
      expect(r.esmExports, r.package).toBeGreaterThan(0);
    }
    // The installed @zipper/core trains with a data-parallel worker (its shipped worker script)
    // and loads its shipped native GEMM on linux-x64, under ESM and CJS.
    const checks = all.filter((r) => r.check !== undefined);
    expect(checks.map((r) => r.check)).toEqual(['train step in-process vs 1 worker, native GEMM (esm)', 'train step in-process vs 1 worker, native GEMM (cjs)']);
    for (const r of checks) {
      expect(r.ok, r.check).toBe(true);
      expect(Math.abs(r.lossInProcess! - r.lossWorkers!)).toBeLessThanOrEqual(1e-5 * r.lossInProcess!);
      if (process.platform === 'linux' && process.arch === 'x64') expect(r.native, r.check).toBe(true);
    }
  }, 300_000);
});
