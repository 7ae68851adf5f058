import { readFileSync } from 'node:fs';

/** Linux USER_HZ: the unit of the times in /proc/<pid>/stat (100 on every mainstream Linux). */
const USER_HZ = 100;

/**
 * CPU seconds used so far by this process and by its finished children (synthesizers, sox), from
 * /proc/self/stat; undefined where /proc is unavailable. Unlike wall time, this does not grow
 * when other jobs share the machine, so it gives a fair projection of build time on idle cores.
 */
export function cpuSeconds(): { self: number; children: number } | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the parenthesized command name: state is field 3; utime..cstime are 14..17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(f[i - 3]);
    return { self: (n(14) + n(15)) / USER_HZ, children: (n(16) + n(17)) / USER_HZ };
  } catch {
    return undefined;
  }
}
