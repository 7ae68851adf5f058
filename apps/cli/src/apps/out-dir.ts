/** Creating an output folder of the apps (`speak --in ... --out DIR`, `demo speech --out DIR`); a path that cannot be one is a usage error. */
import { mkdirSync } from 'node:fs';
import { fsReason } from '../args.js';
import { UsageError } from '../command.js';

export function makeOutDir(dir: string, option = '--out'): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException)?.code === 'EEXIST' ? 'a file of that name is in the way (EEXIST)' : fsReason(e);
    throw new UsageError(`cannot create ${option} ${dir}: ${why}; pass a folder path`);
  }
}
