import type { Command } from '../command.js';
import { bpe } from './bpe.js';
import { data } from './data.js';
import { genBench } from './gen-bench.js';
import { info } from './info.js';

/** Every subcommand, in the order `zipper --help` lists them. Add one line per command file. */
export const COMMANDS: readonly Command[] = [
  info,
  data,
  bpe,
  genBench,
];
