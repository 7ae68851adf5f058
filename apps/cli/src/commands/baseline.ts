/**
 * `zipper baseline train|generate`: the paper's single decoder (the text tower with the speech
 * units as new vocabulary), trained on the same examples by the same loop as `zipper fuse train`,
 * decoded like it (docs/fuse-cli.md).
 */
import { UsageError, type Command } from '../command.js';
import { GENERATE_USAGE, runFusedGenerate } from '../fuse/generate-command.js';
import { runFusedTraining, trainUsage } from '../fuse/train-command.js';

export const baseline: Command = {
  name: 'baseline',
  summary: 'train the single-decoder baseline on the same aligned examples and loop as zipper fuse train (train), decode (generate)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'train') return runFusedTraining('baseline', rest);
    if (sub === 'generate') return runFusedGenerate(rest);
    if (sub === '--help' || sub === '-h') {
      console.log(`${trainUsage('baseline')}\n\n${GENERATE_USAGE.replaceAll('zipper fuse generate', 'zipper baseline generate')}`);
      return 0;
    }
    throw new UsageError(
      `${sub === undefined ? 'which subcommand?' : `unknown subcommand "${sub}"`} (train or generate)\n\n${trainUsage('baseline')}`,
    );
  },
};
