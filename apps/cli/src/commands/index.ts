import type { Command } from '../command.js';
import { baseline } from './baseline.js';
import { bench } from './bench.js';
import { bpe } from './bpe.js';
import { continueCommand } from './continue.js';
import { data } from './data.js';
import { demo } from './demo.js';
import { evaluate } from './eval.js';
import { fuse } from './fuse.js';
import { info } from './info.js';
import { lm } from './lm.js';
import { pretrain } from './pretrain.js';
import { quality } from './quality.js';
import { speak } from './speak.js';
import { train } from './train.js';
import { transcribe } from './transcribe.js';
import { units } from './units.js';
import { wer } from './wer.js';

/** Every subcommand, in the order `zipper --help` lists them. Add one line per command file. */
export const COMMANDS: readonly Command[] = [
  info,
  demo,
  transcribe,
  speak,
  data,
  bpe,
  bench,
  units,
  train,
  pretrain,
  continueCommand,
  quality,
  baseline,
  fuse,
  wer,
  evaluate,
  lm,
];
