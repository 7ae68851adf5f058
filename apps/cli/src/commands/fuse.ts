/**
 * `zipper fuse train|generate`: zip a pretrained text tower and speech tower with gated
 * cross-attention (@zipper/fuse), fine-tune on the aligned pairs of a data build, and decode with
 * an output-modality schedule (docs/fuse-cli.md). `zipper baseline` is the same command body for
 * the single-decoder baseline.
 */
import { UsageError, type Command } from '../command.js';
import { GENERATE_USAGE, runFusedGenerate } from '../fuse/generate-command.js';
import { runFusedTraining, trainUsage } from '../fuse/train-command.js';

export const fuse: Command = {
  name: 'fuse',
  summary: 'zip a text and a speech tower: fine-tune on aligned pairs (train), decode across modalities (generate)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'train') return runFusedTraining('fuse', rest);
    if (sub === 'generate') return runFusedGenerate(rest);
    if (sub === '--help' || sub === '-h') {
      console.log(`${trainUsage('fuse')}\n\n${GENERATE_USAGE}`);
      return 0;
    }
    throw new UsageError(
      `${sub === undefined ? 'which subcommand?' : `unknown subcommand "${sub}"`} (train or generate)\n\n${trainUsage('fuse')}`,
    );
  },
};
