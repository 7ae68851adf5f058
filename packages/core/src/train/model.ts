/**
 * What the trainer needs from a model, and which of its parameters it trains.
 *
 * Legend: B batch, T time, V vocabulary.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/**
 * What the optimizer and the checkpoints need: a flat ordered weight map. Enough for the Trainer
 * when a `GradientStrategy` computes the loss (e.g. @zipper/fuse: several towers plus
 * cross-attention parameters trained through `LossGradients` with a loss per modality stream).
 */
export interface TrainableParams {
  /** Ordered weights; keys are module paths and checkpoint keys. */
  readonly params: ReadonlyMap<string, tf.Variable>;
}

/** A next-token forward pass (a Tower, any `Decoder`): what held-out evaluation of `Batch`es needs. */
export interface LogitsModel {
  /** ids: int32 [B, T] -> logits [B, T, V]; must be usable inside `tf.variableGrads`. */
  forward(ids: tf.Tensor2D): { readonly logits: tf.Tensor3D };
}

/** A weight map plus a next-token forward pass: what the default `InProcessGradients` trains (a Tower). */
export interface TrainableModel extends TrainableParams, LogitsModel {}

/** Which parameters train: a predicate on the key, or key prefixes to freeze, or both. */
export interface ParamSelection {
  /** Train only keys for which this returns true (default: all). */
  readonly trainable?: (name: string) => boolean;
  /** Freeze every key that starts with one of these prefixes (e.g. `emb.`, `blocks.0.`). */
  readonly freezePrefixes?: readonly string[];
}

/** The keys that train, in model order. Throws ConfigError when a prefix matches nothing or nothing trains. */
export function selectTrainable(params: ReadonlyMap<string, tf.Variable>, selection: ParamSelection = {}): readonly string[] {
  const prefixes = selection.freezePrefixes ?? [];
  for (const p of prefixes) {
    if (![...params.keys()].some((k) => k.startsWith(p))) {
      throw new ConfigError(`freeze prefix "${p}" matches no parameter; keys start like ${[...params.keys()].slice(0, 3).join(', ')}`);
    }
  }
  const names = [...params.keys()].filter(
    (k) => !prefixes.some((p) => k.startsWith(p)) && (selection.trainable ? selection.trainable(k) : true),
  );
  if (names.length === 0) throw new ConfigError('no trainable parameter left after freezing; loosen `trainable` / `freezePrefixes`');
  for (const n of names) {
    const v = params.get(n)!;
    if (v.dtype !== 'float32')
      throw new ConfigError(`parameter "${n}" has dtype ${v.dtype}; only float32 parameters can be trained, freeze it`);
  }
  return names;
}
