import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** Every published package of packages/ and each of its subpath exports (e.g. @zipper/core/ops). */
function publishedEntries(): string[] {
  const out: string[] = [];
  for (const d of readdirSync('packages')) {
    const file = `packages/${d}/package.json`;
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; private?: boolean; exports?: Record<string, unknown> };
    if (pkg.private) continue;
    out.push(pkg.name);
    for (const sub of Object.keys(pkg.exports ?? {})) if (sub !== '.' && !sub.endsWith('.json')) out.push(pkg.name + sub.slice(1));
  }
  return out.sort();
}

// Builds are done by `npm test` (turbo run build) before vitest starts.
describe('published packages', () => {
  it('install from their packed tarballs into an empty folder, import under ESM and CJS, and core trains with a worker and its native GEMM; each tower package alone with its checkpoint continues a prompt', async () => {
    // npm pack + install of every package: ~1-2 min idle, 6 min 47 s measured under load. Not
    // execFileSync: a worker blocked for over 60 s misses vitest's RPC deadline and fails the run
    // ("Timeout calling onTaskUpdate", the CI of 5f11d28 with every test passed).
    const { stdout: out } = await promisify(execFile)('node', ['tools/pack-check.mjs'], {
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const all = out
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            package: string;
            ok: boolean;
            esmExports?: number;
            check?: string;
            lossInProcess?: number;
            lossWorkers?: number;
            native?: boolean;
          },
      );
    const rows = all.filter((r) => r.check === undefined);
    const expected = publishedEntries();
    expect(expected).toEqual(
      expect.arrayContaining([
        '@zipper/common',
        '@zipper/core',
        '@zipper/core/ops',
        '@zipper/fuse',
        '@zipper/speech',
        '@zipper/text',
        '@zipper/tokenizers',
      ]),
    );
    expect(rows.map((r) => r.package).sort()).toEqual(expected);
    for (const r of rows) {
      expect(r.ok, r.package).toBe(true);
      expect(r.esmExports, r.package).toBeGreaterThan(0);
    }
    // The installed @zipper/core trains with a data-parallel worker (its shipped worker script)
    // and loads its shipped native GEMM on linux-x64, under ESM and CJS.
    const checks = all.filter((r) => r.check !== undefined && r.check.startsWith('train step'));
    expect(all.find((r) => r.check?.startsWith('one copy of the ops'))?.ok).toBe(true);
    expect(checks.map((r) => r.check)).toEqual([
      'train step in-process vs 1 worker, native GEMM (esm)',
      'train step in-process vs 1 worker, native GEMM (cjs)',
    ]);
    for (const r of checks) {
      expect(r.ok, r.check).toBe(true);
      expect(Math.abs(r.lossInProcess! - r.lossWorkers!)).toBeLessThanOrEqual(1e-5 * r.lossInProcess!);
      if (process.platform === 'linux' && process.arch === 'x64') expect(r.native, r.check).toBe(true);
    }
    // Each tower package alone with its checkpoint (issue 10): only these packages installed, and
    // a text continuation / 1 s of continued speech written to a WAV and read back.
    const alone = all.filter((r) => r.check?.endsWith('tower alone with its checkpoint package')) as unknown as {
      check: string;
      ok: boolean;
      installed: string[];
      tokens?: number;
      units?: number;
      seconds?: number;
    }[];
    expect(alone.map((r) => r.check)).toEqual([
      'text tower alone with its checkpoint package',
      'speech tower alone with its checkpoint package',
    ]);
    expect(alone[0]!.installed).toEqual(['checkpoint-text-small', 'common', 'core', 'text', 'tokenizers']);
    expect(alone[0]!.tokens).toBeGreaterThan(0);
    expect(alone[1]!.installed).toEqual(['checkpoint-speech-small', 'common', 'core', 'speech', 'tokenizers']);
    expect(alone[1]!.units).toBe(50);
    expect(Math.abs(alone[1]!.seconds! - 1)).toBeLessThanOrEqual(0.02);
    for (const r of alone) expect(r.ok, r.check).toBe(true);
  }, 660_000);
});
