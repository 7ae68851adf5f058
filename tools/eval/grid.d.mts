// Types of what tools/test imports from tools/eval/grid.mjs (plain JS, run by node directly).

/** A zipper command's words as option -> values, towers, data and output aside (machine paths). */
export declare function commandOptions(words: readonly string[]): Record<string, string[]>;
