/**
 * Checkpoint directories are written with `writeDirAtomic` of @zipper/common/node (temp dir,
 * fsync, swap; a crash mid-swap leaves the last good directory in `.<name>.prev`). This module
 * adds the reading side: which directory to load after such a crash.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { previousDir } from '@zipper/common/node';

export { previousDir, writeDirAtomic, writeFileAtomic, type NamedBytes, type WriteHook } from '@zipper/common/node';

/**
 * The directory to read a checkpoint from: `dir` itself, or its `.prev` backup when a save
 * crashed between moving the old checkpoint aside and moving the new one in.
 */
export async function resolveCheckpointDir(dir: string): Promise<string | undefined> {
  const target = path.resolve(dir);
  if (
    await fs.stat(target).then(
      (s) => s.isDirectory(),
      () => false,
    )
  )
    return target;
  const prev = previousDir(target);
  if (
    await fs.stat(prev).then(
      (s) => s.isDirectory(),
      () => false,
    )
  )
    return prev;
  return undefined;
}
