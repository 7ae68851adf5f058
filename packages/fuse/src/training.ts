/**
 * Fine-tuning a zipped model through core's Trainer (docs/zipper.md, "Training loss"): one loss
 * stream per tower, named after it (`text`, `speech`, ...), each with its own weight and its
 * own denominator (its targets in the whole step), via core's `LossGradients`.
 *
 *   const trainer = new Trainer(zipper, new TaskMixture(zipper.config, items, { batchSize: 8, tasks }), {
 *     strategy: fusedGradients(zipper), freezePrefixes: freezePrefixes(zipper), schedule: { ... },
 *   });
 *
 * Frozen towers (`config.freeze`) are left out of the trained keys, so their weights stay
 * bit-identical and, inside core's watched-variable scope, cost no weight-gradient work.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, LossGradients, streamLoss, type LossSpec, type StreamCounts } from '@zipper/core';
import { ctcLoss, ctcMinFrames } from '@zipper/core/ops';
import { ctcClasses, ctcHeadName, ctcStreamName, towerSpec, type CtcHeadSpec, type ZipperConfig } from './config.js';
import { crossMaskHost } from './masks.js';
import { isCrossGate } from './params.js';
import { countStreamTargets, type FusedBatch, type TowerStream } from './segments.js';
import { resolveSelfFeed, selfFedBatch, type SelfFeed } from './self-feed.js';
import type { Zipper } from './zipper.js';

export interface FusedLossOptions {
  /**
   * Weight of each CTC head's loss (config.ctc; stream `<to>_ctc`, its mean NLL per label; default
   * 0: the heads are not trained). ESPnet's hybrid CTC/attention ASR uses 0.3.
   */
  readonly ctcWeight?: number;
  /**
   * Weight of the alignment prior (beyond the paper; DC-TTS's guided attention): stream `align`,
   * the mean over links, heads and reader positions of the attention mass far from the diagonal
   * of (reader position / reader length, source position / source length) (masks.ts
   * `alignPriorHost`). Default 0: off. It pushes the cross-attention to read the source in order,
   * which a small model on little paired data may not find from the next-token loss alone.
   */
  readonly alignWeight?: number;
  /** The prior's width (default 0.2, DC-TTS's g). */
  readonly alignWidth?: number;
  /**
   * Self-feeding (self-feed.ts; not in the paper): in training steps (not in evaluation), the fed
   * tokens of these towers' target segments partly replaced by the model's own greedy predictions.
   * Default none.
   */
  readonly selfFeed?: SelfFeed;
}

/** Stream name of the alignment prior's penalty (FusedLossOptions.alignWeight). */
export const ALIGN_STREAM = 'align';

/**
 * The alignment prior's denominator: per link, the reader positions that see a source position,
 * times the reader's heads, summed over links (what `RunResult.align` sums over).
 */
export function alignTargets(config: ZipperConfig, batch: FusedBatch): number {
  let n = 0;
  const visible = new Map<string, number>();
  for (const link of config.schedule.links) {
    const key = `${link.to}<-${link.from}`;
    let v = visible.get(key);
    if (v === undefined) {
      const r = batch.streams[link.to];
      const src = batch.streams[link.from];
      v = 0;
      if (r && src) for (const x of crossMaskHost(r.global, src.global, batch.batchSize, r.length, src.length).visible) v += x;
      visible.set(key, v);
    }
    n += v * towerSpec(config, link.to).config.nHeads;
  }
  return n;
}

/** One CTC head's targets in a batch: the rows holding both towers, their source frames and the reader tower's tokens. */
export interface CtcTargets {
  readonly rows: number[];
  readonly frames: number[];
  readonly labels: number[][];
}

/**
 * Per row with positions of both towers: the `from` stream's length (its frames) and the content
 * tokens of the `to` stream (every real position except the tower's bos and eos; the true tokens,
 * not corrupted fed ones), in order, or
 * with `head.labels` their label sequences concatenated. A row
 * whose tokens cannot align to its frames (fewer frames than core's ctcMinFrames) is left out, and
 * so is a row whose source frames were fed corrupted tokens (`Segment.fed`: the head learns from
 * true input only).
 */
export function ctcTargets(config: ZipperConfig, batch: FusedBatch, head: CtcHeadSpec): CtcTargets {
  const src = batch.streams[head.from];
  const dst = batch.streams[head.to];
  const out: CtcTargets = { rows: [], frames: [], labels: [] };
  if (!src || !dst) return out;
  const { bos, eos } = towerSpec(config, head.to);
  for (let b = 0; b < batch.batchSize; b++) {
    const n = src.lengths[b] as number;
    if (n === 0 || fedDiffers(src, b)) continue;
    const labels: number[] = [];
    for (let i = 0; i < dst.length; i++) {
      const j = b * dst.length + i;
      const id = trueId(dst, j, i);
      if ((dst.global[j] as number) >= 0 && id !== bos && id !== eos) {
        if (head.labels) labels.push(...(head.labels.map[id] as readonly number[]));
        else labels.push(id);
      }
    }
    if (labels.length === 0 || ctcMinFrames(labels) > n) continue;
    out.rows.push(b);
    out.frames.push(n);
    out.labels.push(labels);
  }
  return out;
}

/**
 * The true token at position i (flat index j) of stream `s`: in a target segment, its
 * predecessor's target (the fed id may be corrupted: Segment.fed); elsewhere the fed id.
 */
function trueId(s: TowerStream, j: number, i: number): number {
  return (i > 0 && s.mask[j - 1] !== 0 ? s.targets[j - 1] : s.ids[j]) as number;
}

/** Whether row b of `s` was fed a token other than the true one (a target segment's `fed`, e.g. input noise). */
function fedDiffers(s: TowerStream, b: number): boolean {
  for (let i = 1; i < s.length; i++) {
    const j = b * s.length + i;
    if (s.ids[j] !== trueId(s, j, i)) return true;
  }
  return false;
}

/** The per-tower next-token loss of a zipped model on `FusedBatch`es, plus its CTC heads' with `ctcWeight` > 0. */
export function fusedLoss(zipper: Zipper, weights?: StreamCounts, options: FusedLossOptions = {}): LossSpec<FusedBatch> {
  const ctcWeight = options.ctcWeight ?? 0;
  if (!(ctcWeight >= 0)) throw new ConfigError(`ctcWeight must be >= 0, got ${ctcWeight}`);
  const alignWeight = options.alignWeight ?? 0;
  if (!(alignWeight >= 0) || !Number.isFinite(alignWeight)) throw new ConfigError(`alignWeight must be >= 0, got ${alignWeight}`);
  const alignWidth = options.alignWidth ?? 0.2;
  if (!(alignWidth > 0) || !Number.isFinite(alignWidth)) throw new ConfigError(`alignWidth must be > 0, got ${alignWidth}`);
  const align = alignWeight > 0;
  if (ctcWeight > 0 && zipper.config.ctc.length === 0)
    throw new ConfigError('ctcWeight > 0 needs a CTC head in the zipper config (ctc: [{ from, to }])');
  const heads = ctcWeight > 0 ? zipper.config.ctc : [];
  const selfFeed = options.selfFeed ? resolveSelfFeed(zipper.config, options.selfFeed) : undefined;
  const allWeights: StreamCounts = {
    ...Object.fromEntries(heads.map((h) => [ctcStreamName(h), ctcWeight])),
    ...(align ? { [ALIGN_STREAM]: alignWeight } : {}),
    ...(weights ?? {}),
  };
  return {
    loss: (given, context) => {
      // self-feeding changes the fed ids of training steps only; targets, masks and counts stay
      const batch = selfFeed && context.training ? selfFedBatch(zipper, given, selfFeed) : given;
      const counts = countStreamTargets(batch);
      const names = Object.keys(counts).filter((n) => (counts[n] as number) > 0);
      const run = zipper.run(batch.streams, batch.batchSize, {
        logits: names,
        ...(heads.length > 0 ? { ctc: true } : {}),
        ...(align ? { align: { width: alignWidth } } : {}),
      });
      const logits = run.logits;
      const streams = Object.fromEntries(
        names.map((n) => {
          const s = batch.streams[n]!;
          const shape: [number, number] = [batch.batchSize, s.length];
          return [
            n,
            {
              logits: logits[n] as tf.Tensor3D,
              targets: tf.tensor2d(s.targets, shape, 'int32'),
              mask: tf.tensor2d(s.mask, shape, 'float32'),
            },
          ];
        }),
      );
      if (heads.length === 0 && !align) return { streams };
      const base = streamLoss(streams, context.denominators, allWeights);
      let loss = base.loss;
      const shares: Record<string, tf.Scalar> = { ...base.streams };
      for (const head of heads) {
        const name = ctcStreamName(head);
        const d = context.denominators[name] ?? 0;
        // the rows and labels counted (countTargets sees the batch as given); with self-feeding the
        // head reads the run as fed
        const t = ctcTargets(zipper.config, given, head);
        if (d === 0 || t.rows.length === 0) continue;
        const all = (run.ctc as Record<string, tf.Tensor3D>)[ctcHeadName(head)] as tf.Tensor3D; // [B, S, C + 1], C the head's classes
        const x = t.rows.length === batch.batchSize ? all : (tf.gather(all, tf.tensor1d(t.rows, 'int32'), 0) as tf.Tensor3D);
        const blank = ctcClasses(zipper.config, head);
        const share = tf.div(tf.sum(ctcLoss(x, t.labels, { blank, frameLengths: t.frames })), d) as tf.Scalar;
        shares[name] = share;
        loss = tf.add(loss, tf.mul(share, ctcWeight)) as tf.Scalar;
      }
      const d = context.denominators[ALIGN_STREAM] ?? 0;
      if (align && d > 0) {
        const share = tf.div(run.align as tf.Scalar, d) as tf.Scalar;
        shares[ALIGN_STREAM] = share;
        loss = tf.add(loss, tf.mul(share, alignWeight)) as tf.Scalar;
      }
      return { loss, streams: shares };
    },
    countTargets: (batch) => {
      const counts = countStreamTargets(batch);
      const out: Record<string, number> = Object.fromEntries(zipper.config.towers.map((t) => [t.name, counts[t.name] ?? 0]));
      for (const head of heads) out[ctcStreamName(head)] = ctcTargets(zipper.config, batch, head).labels.reduce((n, l) => n + l.length, 0);
      if (align) out[ALIGN_STREAM] = alignTargets(zipper.config, batch);
      return out;
    },
    countTokens: (batch) => Object.values(batch.streams).reduce((n, s) => n + s.lengths.reduce((a, b) => a + b, 0), 0),
    ...(heads.length > 0 || align || weights ? { weights: allWeights } : {}),
  };
}

/** A core gradient strategy for the zipped model (loss streams = tower names, plus `<to>_ctc` per trained CTC head). */
export function fusedGradients(zipper: Zipper, weights?: StreamCounts, options: FusedLossOptions = {}): LossGradients<FusedBatch> {
  return new LossGradients<FusedBatch>({ params: zipper.params, ...fusedLoss(zipper, weights, options) });
}

/**
 * Trainer `freezePrefixes` for the towers the config freezes (`towers.<X>.`); with `gates`, also
 * every cross-attention gate (`cross.*.gate_attn` / `gate_ff`), which then keep their initial
 * value (`zipper fuse train --freeze-gates`; not in the paper: with trained gates and Adam, the
 * gates of our runs, started at 1, were at about 0.02 by step 800, shutting the cross-attention
 * before it had learned to read anything; docs/zipper.md).
 */
export function freezePrefixes(zipper: Zipper, options: { readonly gates?: boolean } = {}): string[] {
  return [...zipper.config.freeze.map((n) => `towers.${n}.`), ...(options.gates ? [...zipper.params.keys()].filter(isCrossGate) : [])];
}

/**
 * AdamW `lrScale` (core's parameter groups): the towers' own weights (`towers.<X>.`) at `scale`
 * times the learning rate, the fusion weights at 1 (`zipper fuse train --tower-lr-scale`).
 * Frozen towers do not train at all (`freezePrefixes`), whatever their scale.
 */
export function towerLrScale(scale: number): (name: string) => number {
  return (name) => (name.startsWith('towers.') ? scale : 1);
}
