/**
 * One error root: every error class any package exports (every entry of its package.json
 * "exports") is a `ZipperError`, the one class of @zipper/common, so `instanceof ZipperError`
 * catches what any Zipper package throws on purpose; and no package carries its own copy of it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ZipperError } from '@zipper/common';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every `@zipper/<pkg>[/<sub>]` entry point the workspace packages publish. */
function entryPoints(): string[] {
  const out: string[] = [];
  for (const dir of readdirSync(path.join(root, 'packages'))) {
    let pkg: { name: string; exports?: Record<string, unknown> };
    try {
      pkg = JSON.parse(readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8'));
    } catch {
      continue; // a folder without a package
    }
    for (const key of Object.keys(pkg.exports ?? { '.': null })) {
      if (key === './package.json') continue;
      out.push(key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`);
    }
  }
  return out.sort();
}

const isErrorClass = (v: unknown): v is new (...a: never[]) => Error => typeof v === 'function' && v.prototype instanceof Error;
/** Names of the error classes among a module's exports that are not ZipperErrors. */
const strays = (mod: Record<string, unknown>): string[] =>
  Object.entries(mod)
    .filter(([, v]) => isErrorClass(v) && v !== ZipperError && !(v.prototype instanceof ZipperError))
    .map(([k]) => k);

describe('one error root', () => {
  const entries = entryPoints();

  it('the check flags a plain Error subclass', () => {
    class Plain extends Error {}
    class Typed extends ZipperError {}
    expect(strays({ Plain, Typed, ZipperError, notAClass: 1, fn: () => 0 })).toEqual(['Plain']);
  });

  it('finds the packages', () => {
    expect(entries).toEqual(
      expect.arrayContaining([
        '@zipper/common',
        '@zipper/common/node',
        '@zipper/core',
        '@zipper/tokenizers',
        '@zipper/speech',
        '@zipper/text',
      ]),
    );
  });

  it.each(entries)('every error class exported by %s is a ZipperError', async (entry) => {
    const mod = (await import(/* @vite-ignore */ entry)) as Record<string, unknown>;
    expect(strays(mod)).toEqual([]);
    if ('ZipperError' in mod) expect(mod['ZipperError']).toBe(ZipperError); // re-exported, not copied
  });

  it('the CLI and the data builder throw ZipperErrors too', async () => {
    const modules = [await import('../../apps/cli/src/command.js'), await import('../../apps/cli/src/data/errors.js')] as Record<
      string,
      unknown
    >[];
    expect(modules.flatMap((m) => Object.values(m).filter(isErrorClass)).length).toBeGreaterThanOrEqual(5);
    expect(modules.flatMap(strays)).toEqual([]);
  });

  it('errors of different packages are caught by one instanceof', async () => {
    const core = await import('@zipper/core');
    const tokenizers = await import('@zipper/tokenizers');
    expect(new tokenizers.WavFormatError('x')).toBeInstanceOf(core.ZipperError);
    expect(new core.DataParallelWorkerError('x', 1)).toBeInstanceOf(ZipperError);
    expect(new core.CheckpointError('x')).toBeInstanceOf(ZipperError);
    expect(new tokenizers.TokenizerError('x').name).toBe('TokenizerError');
  });
});
