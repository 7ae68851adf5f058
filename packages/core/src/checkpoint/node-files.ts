/**
 * The Node side of model-files.ts: `directoryFiles(dir)` reads files under a directory, and the
 * file system the loaders and savers use for names and paths (registered when this module loads,
 * i.e. by the Node entry of @zipper/core): package names through `resolveModelLocation`,
 * checkpoint directories with their `.prev` fallback, atomic checkpoint writes.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { backendInfo } from '../backend.js';
import { CheckpointError } from '../errors.js';
import { resolveCheckpointDir, writeDirAtomic, type WriteHook } from './atomic.js';
import { resolveModelLocation } from './model-location.js';
import { setModelFileSystem, type ModelFile, type ModelFiles, type ModelFileSystem } from './model-files.js';
import { removeStaleTemps } from './stale-temps.js';

/** The files under `dir` (paths relative to it; `../` and absolute paths resolve as on disk). */
export function directoryFiles(dir: string): ModelFiles {
  const root = path.resolve(dir);
  return {
    location: root,
    at: (sub) => directoryFiles(path.resolve(root, sub)),
    async read(file) {
      const full = path.resolve(root, file);
      try {
        const buf = await fs.readFile(full);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (e) {
        throw new CheckpointError(`cannot read ${full}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    },
  };
}

async function writeCheckpoint(dir: string, files: readonly ModelFile[], options: { what: string; hook?: WriteHook }): Promise<void> {
  const target = path.resolve(dir);
  await removeStaleTemps(path.dirname(target), (name) => name === path.basename(target));
  try {
    await writeDirAtomic(dir, files, options.hook);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (e instanceof CheckpointError || typeof code !== 'string') throw e;
    const before = (await resolveCheckpointDir(target))
      ? `${options.what} saved before in ${target} is intact`
      : `nothing was written to ${target}`;
    const reason = code === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : (e as Error).message.split('\n')[0];
    throw new CheckpointError(`cannot save ${options.what} to ${target}: ${reason}; ${before}. Free space and save again`, { cause: e });
  }
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { ...(backendInfo()?.versions ?? { node: process.versions.node }) };
  try {
    out['@zipper/core'] = (createRequire(import.meta.url)('@zipper/core/package.json') as { version: string }).version;
  } catch {
    // running from an unpublished copy: no version to record
  }
  return out;
}

export const nodeModelFileSystem: ModelFileSystem = {
  open: (nameOrDir, options) => directoryFiles(resolveModelLocation(nameOrDir, options)),
  openCheckpoint: async (dir) => {
    const root = await resolveCheckpointDir(dir);
    return root === undefined ? undefined : directoryFiles(root);
  },
  writeCheckpoint,
  async writeFiles(dir, files) {
    await fs.mkdir(dir, { recursive: true });
    for (const f of files) await fs.writeFile(path.join(dir, f.name), f.data);
  },
  versions,
};

setModelFileSystem(nodeModelFileSystem);
