/**
 * The workload of `zipper bench fuse`, built the same way on our side and described in the same
 * words to the PyTorch twin (tools/fuse/bench_twin.py), so both run identical shapes:
 *
 *   model   a text and a speech tower of the reference preset (vocab + bos + eos tokens, D, L, H),
 *           zipped by `cross` gated cross-attention layers per direction (the paper's every-n-th
 *           schedule: `{ every: cross }` = bench_twin.py's every_nth), gated input projections
 *           (2 layers), source projections of 3 layers (the defaults on both sides).
 *   train   one batch of `batch` rows alternating ASR [speech bos S eos][text bos T eos] (text is
 *           the target) and TTS [text][speech] (speech is the target): B * (S + T + 4) tokens a step.
 *   decode  ASR, batch 1: the prompt [speech bos S eos], then `tokens` greedy text tokens.
 *
 * Token ids are seeded random draws (Mulberry32 here, torch.randint there): the speed does not
 * depend on them. Legend: B batch rows, S speech units, T text tokens per example.
 */
import { Tower, type BatchSource } from '@zipper/core';
import { Mulberry32 } from '@zipper/common';
import { layoutBatch, Zipper, type Example, type FusedBatch, type Segment } from '@zipper/fuse';

export interface FuseBenchShape {
  /** Content tokens of each tower (bos = vocab, eos = vocab + 1 come on top). */
  readonly vocab: number;
  readonly d: number;
  readonly layers: number;
  readonly heads: number;
  /** Cross-attention layers per direction. */
  readonly cross: number;
  /** S: speech units per example. */
  readonly speechLen: number;
  /** T: text tokens per example. */
  readonly textLen: number;
  /** B: rows per training step. */
  readonly batch: number;
}

export const TOWERS = ['text', 'speech'] as const;

/** The zipped pair, fresh weights (seeded), `freeze` towers left out of training. */
export function createBenchZipper(s: FuseBenchShape, freeze: readonly string[]): Zipper {
  const entries = TOWERS.map((name, i) => ({
    name,
    tower: Tower.create({ vocabSize: s.vocab + 2, dModel: s.d, nLayers: s.layers, nHeads: s.heads }, { seed: 1 + i }),
    bos: s.vocab,
    eos: s.vocab + 1,
  }));
  return Zipper.create(entries, { schedule: { every: s.cross }, freeze }, { seed: 0 });
}

function segment(s: FuseBenchShape, tower: string, n: number, rng: Mulberry32, target: boolean): Segment {
  return { tower, ids: [s.vocab, ...Array.from({ length: n }, () => rng.int(s.vocab)), s.vocab + 1], ...(target ? { target } : {}) };
}

/** The training batch: rows alternate ASR and TTS (row 0 ASR), every row of the same lengths. */
export function trainBatch(zipper: Zipper, s: FuseBenchShape, seed = 0): FusedBatch {
  const rng = new Mulberry32(seed);
  const rows: Example[] = Array.from({ length: s.batch }, (_, i) =>
    i % 2 === 0
      ? [segment(s, 'speech', s.speechLen, rng, false), segment(s, 'text', s.textLen, rng, true)]
      : [segment(s, 'text', s.textLen, rng, false), segment(s, 'speech', s.speechLen, rng, true)],
  );
  return layoutBatch(zipper.config, rows);
}

/** Tokens one training step processes (bos and eos included), as bench_twin.py counts them. */
export const tokensPerStep = (s: FuseBenchShape): number => s.batch * (s.speechLen + s.textLen + 4);

/** The ASR prompt of one decode call: [speech bos S eos]. */
export function decodePrompt(s: FuseBenchShape, seed = 0): Example {
  return [segment(s, 'speech', s.speechLen, new Mulberry32(seed), false)];
}

/** A data source that yields the same batch every step (as bench_twin.py reuses its batch). */
export function repeatBatch(batch: FusedBatch): BatchSource<FusedBatch, number> {
  return { next: () => batch, state: 0, restore: () => undefined };
}

/** bench_twin.py's options for this shape. */
export function twinArgs(s: FuseBenchShape): string[] {
  return [
    ['--text-vocab', s.vocab],
    ['--speech-vocab', s.vocab],
    ['--d', s.d],
    ['--layers', s.layers],
    ['--heads', s.heads],
    ['--cross', s.cross],
    ['--speech-len', s.speechLen],
    ['--text-len', s.textLen],
    ['--batch', s.batch],
  ].flatMap(([k, v]) => [String(k), String(v)]);
}
