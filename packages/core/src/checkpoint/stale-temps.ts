/**
 * Clean-up after interrupted saves. `writeDirAtomic` / `writeFileAtomic` (@zipper/common/node)
 * write through a temp sibling `.<name>.tmp-<pid>-<8 hex>` (`tempSibling`) and remove it when a
 * write fails, but a killed process (`kill -9`, power loss) leaves it behind: a whole checkpoint's
 * bytes that nothing will ever read. `removeStaleTemps` deletes those of a process that is gone
 * (or of this process, which has no save in flight when it calls this), and nothing else: a
 * finished directory, a `.prev` backup or a name of another shape is never touched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** `tempSibling`'s name: `.<target>.tmp-<pid>-<8 hex>`. */
const TEMP = /^\.(.+)\.tmp-(\d+)-[0-9a-f]{8}$/;

function processGone(pid: number): boolean {
  if (pid === process.pid) return true; // ours: callers run between saves, so none is in flight
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the temp siblings in `parent` left by interrupted writes of targets whose name passes
 * `isTarget`; returns the removed names. A missing `parent` removes nothing.
 */
export async function removeStaleTemps(parent: string, isTarget: (name: string) => boolean): Promise<string[]> {
  const entries = await fs.readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of entries) {
    const m = TEMP.exec(name);
    if (!m || !isTarget(m[1]!) || !processGone(Number(m[2]))) continue;
    await fs.rm(path.join(parent, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
