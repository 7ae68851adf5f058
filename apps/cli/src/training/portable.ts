/**
 * Machine paths out of what ships: a checkpoint package's run.json and model card are read on
 * other machines, so the absolute paths of the training machine (the data build, the run
 * directory, a tower's or tokenizer's folder) are replaced by placeholders (`DATA`, `OUT`) or by
 * the package name that finds the same files anywhere. One function for `zipper pretrain`'s and
 * `zipper fuse release`'s packages.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * `text` with every occurrence of each absolute path (longest first) replaced by its placeholder:
 * the whole path or a prefix of a longer one at a `/`, not part of a longer name (`/tmp/run` is
 * not replaced inside `/tmp/run-copy`).
 */
export function portable(text: string, paths: Readonly<Record<string, string>>): string {
  const entries = Object.entries(paths)
    .filter(([p]) => path.isAbsolute(p))
    .map(([p, to]) => [path.resolve(p), to] as const)
    .sort((a, b) => b[0].length - a[0].length);
  let out = text;
  for (const [p, to] of entries) out = out.replace(new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`, 'g'), () => to);
  return out;
}

/** The folder of an installed package (for mapping its files back to `name/...`), or undefined. */
export function packageDir(name: string): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** The version in an existing package.json of `dir`, if any (a re-release keeps it unless --version is given). */
export function existingVersion(dir: string): string | undefined {
  const f = path.join(dir, 'package.json');
  if (!existsSync(f)) return undefined;
  return (JSON.parse(readFileSync(f, 'utf8')) as { version?: string }).version;
}

/**
 * The version of the installed library `name` (e.g. @zipper/fuse), which a checkpoint package it
 * writes names as its peer, `>=` that version: the reader that wrote it reads it.
 */
export function libraryVersion(name: string): string {
  const dir = packageDir(name);
  const version = dir === undefined ? undefined : existingVersion(dir);
  if (version === undefined) throw new Error(`${name}/package.json has no version: the CLI is installed without ${name}`);
  return version;
}
