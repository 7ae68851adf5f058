// Types of tools/test/processes.mjs.

/** Pids of the processes whose whole command line matches `pattern` (`pgrep -f`, an extended regex). */
export declare function pidsMatching(pattern: string): number[];
