// Types of tools/test/processes.mjs.

/** Pids of the processes whose whole command line matches `pattern` (`pgrep -f`, an extended regex). */
export declare function pidsMatching(pattern: string): number[];

/** Pids of `sleep TAG` processes: the stand-in child the signal tests start and look for. */
export declare function sleepingPids(tag: string): number[];
