/**
 * The main entry must run in a browser bundle: no module of it (src/ outside src/node/) imports
 * a Node built-in or uses Node globals; and when the package is built, dist/index.* neither.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const NODE_ONLY = /from\s+['"](node:|fs['"]|path['"]|crypto['"]|os['"])|require\(|\bprocess\.|\bBuffer\b|__dirname/;

/** The code of a source file, without comments (which may name Node things). */
const code = (file: string): string =>
  readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('browser-safe main entry', () => {
  it('no source outside src/node uses Node built-ins or globals', () => {
    const src = path.join(pkg, 'src');
    const main = files(src).filter((f) => !f.startsWith(path.join(src, 'node') + path.sep));
    expect(main.length).toBeGreaterThan(5);
    const offenders = main.filter((f) => NODE_ONLY.test(code(f)));
    expect(offenders).toEqual([]);
    // the check itself catches a Node import
    expect(NODE_ONLY.test(code(path.join(src, 'node', 'sha256.ts')))).toBe(true);
  });

  it.skipIf(!existsSync(path.join(pkg, 'dist', 'index.js')))(
    'the built ESM entry imports nothing but its own chunks (shared with the node entry), and none of them imports anything',
    () => {
      const dist = path.join(pkg, 'dist');
      const built = readFileSync(path.join(dist, 'index.js'), 'utf8');
      const from = (code: string) => [...code.matchAll(/^import [\s\S]*? from ["']([^"']+)["'];$/gm)].map((m) => m[1]!);
      const chunks = from(built);
      // the error classes are one chunk shared with @zipper/common/node, so instanceof holds across both entries
      expect(chunks.every((c) => /^\.\/chunk-[\w-]+\.js$/.test(c))).toBe(true);
      expect(built.match(/^import /gm)?.length ?? 0).toBe(chunks.length); // every import is one of its chunks
      for (const code of [built, ...chunks.map((c) => readFileSync(path.join(dist, c), 'utf8'))]) expect(code).not.toMatch(/node:/);
      expect(chunks.flatMap((c) => from(readFileSync(path.join(dist, c), 'utf8')))).toEqual([]);
    },
  );
});
