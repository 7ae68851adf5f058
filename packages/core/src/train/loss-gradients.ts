/**
 * A gradient strategy built from any loss function over any parameter map: the Trainer,
 * data-parallel workers, checkpoints and exact resume serve any model this way (a lone tower,
 * a zipped multi-tower model, ...), as long as its weights are one flat `Map<key, tf.Variable>`.
 *
 *   const strategy = new LossGradients<MyBatch>({
 *     params: model.params,
 *     loss: (batch, ctx) => ({ streams: { text: { logits, targets, mask }, speech: { ... } } }),
 *     countTargets: (batch) => ({ text: nText, speech: nSpeech }),   // mask-1 targets per stream
 *     countTokens: (batch) => nInputs,                                // for tokens/s
 *     weights: { text: 1, speech: 0.5 },                              // default 1 per stream
 *   });
 *
 * The loss function runs inside `tf.variableGrads` (keep it synchronous and differentiable) and
 * returns either the streams' logits, from which the weighted per-stream cross-entropy of
 * streams.ts is formed with the step's per-stream denominators, or `{ loss, streams }` computed
 * by itself (e.g. `streamLoss(...)` plus an auxiliary term), with `context.denominators` at hand.
 * `InProcessGradients(model)` is the single-stream case: one stream `DEFAULT_STREAM` of a
 * `Batch`'s next-token logits.
 *
 * Frozen weights: only the trained keys are differentiated, inside the ops' watched-variable
 * scope (ops/tape.ts), so a frozen linear weight costs no weight-gradient product.
 *
 * Legend: B batch, T time, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { withWatchedVariables } from '../ops/tape.js';
import '../kernels/gradients.js';
import type { Batch } from './data.js';
import { batchTensors, countTargets, type GradientContext, type GradientResult, type GradientStrategy } from './gradients.js';
import type { LogitsModel, TrainableModel } from './model.js';
import { DEFAULT_STREAM, resolveStreamWeights, streamLoss, type LossStream, type StreamCounts, type StreamLossResult } from './streams.js';

/** What a loss function gets besides the batch. */
export interface LossContext {
  /** Per stream: the divisor of its summed masked NLL (training: the step's target count; evaluation: 1). */
  readonly denominators: StreamCounts;
  /** True inside a gradient computation, false in evaluation. */
  readonly training: boolean;
}

/** Either the streams' logits (core forms the weighted loss) or a loss the function formed itself. */
export type LossOutput = { readonly streams: Readonly<Record<string, LossStream>> } | StreamLossResult;

export type LossFunction<B> = (batch: B, context: LossContext) => LossOutput;

/** A loss and how to count a batch: all that training and held-out evaluation need of a model. */
export interface LossSpec<B> {
  readonly loss: LossFunction<B>;
  /** Mask-1 targets of each stream in a batch (must agree with the masks the loss uses). */
  readonly countTargets: (batch: B) => StreamCounts;
  /** Input tokens of a batch, for tokens/s (default: the total target count). */
  readonly countTokens?: (batch: B) => number;
  /** Per-stream loss weights (default 1 each). */
  readonly weights?: StreamCounts;
}

export interface LossGradientsOptions<B> extends LossSpec<B> {
  /** The weights; keys are module paths and checkpoint keys. */
  readonly params: ReadonlyMap<string, tf.Variable>;
}

/** Runs `spec.loss` on a batch and forms the total loss (call inside tf.tidy / tf.variableGrads). */
export function runLoss<B>(spec: LossSpec<B>, weights: StreamCounts, batch: B, context: LossContext): StreamLossResult {
  const out = spec.loss(batch, context);
  if (out && 'loss' in out) {
    if (!(out.loss instanceof tf.Tensor) || out.loss.rank !== 0)
      throw new ShapeError('a loss function returning { loss, streams } must give loss as a scalar tensor');
    return { loss: out.loss, streams: out.streams ?? {} };
  }
  if (!out || typeof out.streams !== 'object')
    throw new ShapeError('a loss function must return { streams: { name: { logits, targets, mask } } } or { loss, streams }');
  return streamLoss(out.streams, context.denominators, weights);
}

export class LossGradients<B> implements GradientStrategy<B> {
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly spec: LossSpec<B>;
  readonly weights: StreamCounts;

  constructor(options: LossGradientsOptions<B>) {
    if (!(options.params instanceof Map)) throw new ShapeError('LossGradients needs params: a Map<string, tf.Variable>');
    if (typeof options.loss !== 'function' || typeof options.countTargets !== 'function')
      throw new ShapeError('LossGradients needs loss(batch, context) and countTargets(batch) functions');
    this.params = options.params;
    this.spec = options;
    this.weights = resolveStreamWeights(options.weights);
  }

  countTargets(batch: B): StreamCounts {
    return this.spec.countTargets(batch);
  }

  countTokens(batch: B): number {
    if (this.spec.countTokens) return this.spec.countTokens(batch);
    let n = 0;
    for (const v of Object.values(this.spec.countTargets(batch))) n += v;
    return n;
  }

  computeGradients(batch: B, context: GradientContext): GradientResult {
    const vars = context.trainable.map((k) => {
      const v = this.params.get(k);
      if (!v) throw new ShapeError(`no parameter "${k}" in the model`);
      return v;
    });
    const lossContext: LossContext = {
      denominators: context.denominators ?? this.singleDenominator(batch, context.denominator),
      training: true,
    };
    let shares: Record<string, tf.Scalar> = {};
    let out: { loss: tf.Scalar; grads: tf.Tensor[] };
    try {
      out = tf.tidy(() => {
        // only `vars` are differentiated: the ops skip the weight gradient of every other variable
        const r = withWatchedVariables(vars, () =>
          tf.variableGrads(() => {
            const l = runLoss(this.spec, this.weights, batch, lossContext);
            // kept past variableGrads' scope to be read below (one of them may be the loss itself)
            shares = Object.fromEntries(Object.entries(l.streams).map(([s, t]) => [s, tf.keep(t)]));
            return l.loss;
          }, vars),
        );
        return { loss: r.value, grads: vars.map((v) => r.grads[v.name] ?? tf.zerosLike(v)) };
      });
    } catch (e) {
      for (const t of Object.values(shares)) t.dispose();
      throw e;
    }
    const streams: Record<string, number> = {};
    for (const [s, t] of Object.entries(shares)) {
      streams[s] = t.dataSync()[0]!;
      if (t !== out.loss) t.dispose();
    }
    const grads = new Map(context.trainable.map((k, i) => [k, out.grads[i]!]));
    return { loss: out.loss, grads, streams };
  }

  /** A context without per-stream denominators: only a single-stream batch can use `denominator`. */
  private singleDenominator(batch: B, denominator: number): StreamCounts {
    const names = Object.keys(this.spec.countTargets(batch));
    if (names.length !== 1)
      throw new ShapeError(
        `this loss has ${names.length} streams (${names.join(', ')}); pass context.denominators with each stream's step target count`,
      );
    return { [names[0]!]: denominator };
  }
}

/** The next-token loss of a `Batch` through `model.forward(inputs)`: one stream, `DEFAULT_STREAM`. */
export function nextTokenLoss(model: LogitsModel): LossSpec<Batch> {
  return {
    loss: (batch) => {
      const { inputs, targets, mask } = batchTensors(batch);
      return { streams: { [DEFAULT_STREAM]: { logits: model.forward(inputs).logits, targets, mask } } };
    },
    countTargets: (batch) => ({ [DEFAULT_STREAM]: countTargets([batch]) }),
    countTokens: (batch) => batch.batchSize * batch.seqLen,
  };
}

/** Masked next-token cross-entropy of `model` on `Batch`es, differentiated in this process. */
export class InProcessGradients extends LossGradients<Batch> {
  constructor(model: TrainableModel) {
    super({ params: model.params, ...nextTokenLoss(model) });
  }
}
