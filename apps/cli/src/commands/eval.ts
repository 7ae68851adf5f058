/**
 * `zipper eval asr|tts|peer|report|record`: the evaluation of trained fused models (docs/results.md is
 * its output): ASR WER/CER against the gold text, TTS judged by pocketsphinx (with the oracle and
 * target rows), pocketsphinx's own ASR as the peer row, the report regenerated from saved runs, and a run's
 * results copied into a record small enough to commit.
 */
import { UsageError, type Command } from '../command.js';
import { ASR_USAGE, runEvalAsr } from '../eval/asr.js';
import { PEER_USAGE, runEvalPeer } from '../eval/peer.js';
import { RECORD_USAGE, runEvalRecord } from '../eval/record.js';
import { REPORT_USAGE, runEvalReport } from '../eval/report.js';
import { runEvalTts, TTS_USAGE } from '../eval/tts.js';

const USAGE = [ASR_USAGE, TTS_USAGE, PEER_USAGE, REPORT_USAGE, RECORD_USAGE].join('\n\n');

export const evaluate: Command = {
  name: 'eval',
  summary:
    'evaluate trained fused models: ASR and TTS WER (asr, tts), the pocketsphinx peer row (peer), docs/results.md (report), results kept small enough to commit (record)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'asr') return runEvalAsr(rest);
    if (sub === 'tts') return runEvalTts(rest);
    if (sub === 'peer') return runEvalPeer(rest);
    if (sub === 'report') return runEvalReport(rest);
    if (sub === 'record') return runEvalRecord(rest);
    if (sub === '--help' || sub === '-h') {
      console.log(USAGE);
      return 0;
    }
    throw new UsageError(
      `${sub === undefined ? 'which subcommand?' : `unknown subcommand "${sub}"`} (asr, tts, peer, report or record)\n\n${USAGE}`,
    );
  },
};
