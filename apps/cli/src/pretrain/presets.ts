/**
 * Pretraining presets: the tower's shape and the whole training recipe, per modality. `tiny` is
 * for tests (seconds); `small` is the shipped tower, sized by measured throughput to pretrain in
 * about 1-2 hours on 2 cores (docs/pretrain.md has the budget and the measurements).
 */
import { ConfigError, type TowerShape } from '@zipper/core';

export type Modality = 'text' | 'speech';

export interface PretrainPreset {
  readonly shape: TowerShape;
  /** Text: BPE vocabulary size (special tokens + 256 bytes + merges). Speech: from the tokenizer. */
  readonly vocab?: number;
  readonly seqLen: number;
  readonly batchSize: number;
  readonly steps: number;
  readonly peakLr: number;
  readonly minLr: number;
  readonly warmup: number;
  readonly weightDecay: number;
  /** Global gradient norm clip. */
  readonly clip: number;
  /** Checkpoint (and plot) every N steps; keep the newest `keep`. */
  readonly every: number;
  readonly keep: number;
  /** Held-out loss every N steps. */
  readonly evalEvery: number;
  /** Train on only the first N text-only lines / speech-only records (tiny presets). */
  readonly maxItems?: number;
  /** Speech: share of speech-only held out (the tail of the manifest, see @zipper/data holdOut). */
  readonly heldOutFraction?: number;
}

const TINY = {
  shape: { dModel: 64, nLayers: 2, nHeads: 2, maxSeqLen: 64 },
  seqLen: 64,
  batchSize: 8,
  steps: 60,
  peakLr: 3e-3,
  minLr: 3e-4,
  warmup: 5,
  weightDecay: 0.1,
  clip: 1,
  every: 10,
  keep: 2,
  evalEvery: 10,
} as const;

export const PRETRAIN_PRESETS: Readonly<Record<Modality, Readonly<Record<string, PretrainPreset>>>> = {
  text: {
    tiny: { ...TINY, vocab: 320, maxItems: 3000 },
    small: {
      shape: { dModel: 256, nLayers: 4, nHeads: 4, maxSeqLen: 128 },
      vocab: 4096,
      seqLen: 128,
      batchSize: 16,
      steps: 8_000,
      peakLr: 2e-3,
      minLr: 2e-4,
      warmup: 300,
      weightDecay: 0.1,
      clip: 1,
      every: 250,
      keep: 2,
      evalEvery: 250,
    },
    // A byte-level text tower (3 special tokens + 256 bytes, no merges) whose positions spell the
    // text, for speech <- text links that must say words they were never trained on (docs/eval.md,
    // "Rule AG"); windows of 192 bytes hold every aligned sentence of the full build (at most 160
    // bytes + <bos>/<eos>). 2,000 steps x 2,304 bytes = 4.6M bytes, about half an epoch of the full
    // build's text-only split: 17 minutes on 2 cores, measured (docs/pretrain.md, "Presets and budget").
    bytes: {
      shape: { dModel: 256, nLayers: 4, nHeads: 4, maxSeqLen: 192 },
      vocab: 259,
      seqLen: 192,
      batchSize: 12,
      steps: 2_000,
      peakLr: 2e-3,
      minLr: 2e-4,
      warmup: 100,
      weightDecay: 0.1,
      clip: 1,
      every: 250,
      keep: 2,
      evalEvery: 250,
    },
  },
  speech: {
    tiny: { ...TINY, heldOutFraction: 0.2 },
    small: {
      // Windows of 576 units (11.5 s): every position a zipped model meets is trained (the
      // longest aligned utterance of the full build is 10.89 s = 545 units + <bos>/<eos>).
      shape: { dModel: 256, nLayers: 4, nHeads: 4, maxSeqLen: 576 },
      seqLen: 576,
      batchSize: 4,
      steps: 6_700,
      peakLr: 2e-3,
      minLr: 2e-4,
      warmup: 300,
      weightDecay: 0.1,
      clip: 1,
      every: 250,
      keep: 2,
      evalEvery: 250,
      heldOutFraction: 0.02,
    },
  },
};

export function pretrainPreset(modality: Modality, name: string): PretrainPreset {
  const p = PRETRAIN_PRESETS[modality][name];
  if (!p)
    throw new ConfigError(`unknown ${modality} pretraining preset "${name}"; known: ${Object.keys(PRETRAIN_PRESETS[modality]).join(', ')}`);
  return p;
}
