/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, step for step the arithmetic
 * of PyTorch's `torch.optim.AdamW` (single-tensor path):
 *
 *   p <- p * (1 - lr * wd)                         (only where the decay filter says so)
 *   m <- m + (1 - beta1) * (g - m)
 *   v <- beta2 * v + (1 - beta2) * g^2
 *   p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * The learning rate is an argument of `apply` (the schedule lives outside). `lrScale` gives a
 * parameter its own multiple of it, like a PyTorch param group with lr = scale * lr (weight decay
 * too then uses the scaled lr, as PyTorch's does); default 1 for every parameter. State (`m`, `v`) is
 * created at construction for every trained parameter, so the tensor count does not grow while
 * training. `apply` computes every new value before assigning any, so a failure leaves the
 * parameters and the state untouched. Deterministic: plain element-wise ops in a fixed order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, ShapeError } from '../errors.js';
import { canFuseAdamW, fusedAdamW } from '../kernels/adamw.js';
import { keySetProblems, shapesOf } from '../model/keys.js';

export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Which parameters decay (default `defaultDecayFilter`: rank >= 2 and not a norm scale / bias / gate). */
  readonly decay: (name: string, shape: readonly number[]) => boolean;
  /** Each parameter's learning-rate multiple (default 1: one group). Finite and >= 0. */
  readonly lrScale: (name: string, shape: readonly number[]) => number;
}

/** Decay matrices (linear and embedding weights); never norm scales, biases or gates. */
export function defaultDecayFilter(name: string, shape: readonly number[]): boolean {
  return shape.length >= 2 && !/(^|\.)(scale|bias|gate[\w]*)$/.test(name);
}

export function resolveAdamWConfig(partial: Partial<AdamWConfig> = {}): AdamWConfig {
  const c: AdamWConfig = {
    beta1: partial.beta1 ?? 0.9,
    beta2: partial.beta2 ?? 0.95,
    eps: partial.eps ?? 1e-8,
    weightDecay: partial.weightDecay ?? 0.1,
    decay: partial.decay ?? defaultDecayFilter,
    lrScale: partial.lrScale ?? (() => 1),
  };
  for (const k of ['beta1', 'beta2'] as const) {
    if (!(c[k] >= 0 && c[k] < 1)) throw new ConfigError(`adamw.${k} must be in [0, 1), got ${c[k]}`);
  }
  if (!(c.eps > 0 && Number.isFinite(c.eps))) throw new ConfigError(`adamw.eps must be a finite number > 0, got ${c.eps}`);
  if (!(c.weightDecay >= 0 && Number.isFinite(c.weightDecay)))
    throw new ConfigError(`adamw.weightDecay must be finite and >= 0, got ${c.weightDecay}`);
  return c;
}

/** Safetensors key suffixes of the state (PyTorch's names). */
export const EXP_AVG = 'exp_avg';
export const EXP_AVG_SQ = 'exp_avg_sq';

export class AdamW {
  readonly config: AdamWConfig;
  /** The trained keys, in model order. */
  readonly names: readonly string[];
  /** The keys that get weight decay. */
  readonly decayed: ReadonlySet<string>;
  /** The keys whose learning rate is scaled, with their scale (keys at scale 1 are absent). */
  readonly lrScales: ReadonlyMap<string, number>;
  private readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  constructor(params: ReadonlyMap<string, tf.Variable>, names: readonly string[], config: Partial<AdamWConfig> = {}) {
    this.config = resolveAdamWConfig(config);
    this.params = params;
    this.names = [...names];
    const decayed = new Set<string>();
    const lrScales = new Map<string, number>();
    for (const n of names) {
      const p = params.get(n);
      if (!p) throw new ConfigError(`AdamW: no parameter "${n}" in the model`);
      this.m.set(
        n,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        n,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      if (this.config.weightDecay > 0 && this.config.decay(n, p.shape)) decayed.add(n);
      const scale = this.config.lrScale(n, p.shape);
      if (!(scale >= 0 && Number.isFinite(scale))) throw new ConfigError(`AdamW: lrScale of "${n}" must be finite and >= 0, got ${scale}`);
      if (scale !== 1) lrScales.set(n, scale);
    }
    this.decayed = decayed;
    this.lrScales = lrScales;
  }

  /** Updates applied so far (PyTorch's `state['step']`). */
  get step(): number {
    return this.t;
  }

  /**
   * One update with learning rate `lr`. `grads` must hold every trained key with its parameter's
   * shape. `gradScale` multiplies every gradient first (float32), as `g * gradScale` would: the
   * global-norm clipping's coefficient (train/clip.ts `clipCoefficient`) without a pass of its own.
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number, gradScale = 1): void {
    if (!(lr >= 0 && Number.isFinite(lr))) throw new ConfigError(`AdamW: learning rate must be finite and >= 0, got ${lr}`);
    if (!(gradScale >= 0 && Number.isFinite(gradScale)))
      throw new ConfigError(`AdamW: gradScale must be finite and >= 0, got ${gradScale}`);
    for (const n of this.names) {
      const g = grads.get(n);
      const p = this.params.get(n)!;
      if (!g) throw new ShapeError(`AdamW: no gradient for trained parameter "${n}"`);
      if (!tf.util.arraysEqual(g.shape, p.shape))
        throw new ShapeError(`AdamW: gradient of "${n}" is [${g.shape}], parameter is [${p.shape}]`);
    }
    const { beta1, beta2, eps, weightDecay } = this.config;
    const t = this.t + 1;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    // The update's scalars as float32 values, each computed once: the fused kernel takes the
    // numbers, the ops tensors of the same values. Per learning-rate scale s (lr_s = s * lr):
    // -lr_s / (1 - beta1^t) and 1 - lr_s * wd.
    const f = Math.fround;
    const gscale = f(gradScale);
    const shared = { b1c: f(1 - beta1), b2: f(beta2), b2c: f(1 - beta2), sqrtBc2: f(bc2Sqrt), eps: f(eps), gscale };
    const groups = new Map<number, { negStep: number; keep: number }>();
    const group = (scale: number) => {
      let g = groups.get(scale);
      if (!g) groups.set(scale, (g = { negStep: f(-stepSize * scale), keep: f(1 - lr * scale * weightDecay) }));
      return g;
    };
    tf.tidy(() => {
      // the ops' scalar tensors, made on first use (none when every parameter takes the fused kernel)
      const tensors = new Map<number, tf.Scalar>();
      const scalar = (x: number) => {
        let t = tensors.get(x);
        if (!t) tensors.set(x, (t = tf.scalar(x)));
        return t;
      };
      const updates: [tf.Variable, tf.Tensor][] = [];
      // with the native addon on wasm: one kernel per parameter (kernels/adamw.ts), bit-identical to the ops below
      const fuse = canFuseAdamW();
      for (const n of this.names) {
        const p = this.params.get(n)!;
        const g0 = grads.get(n)!;
        const m = this.m.get(n)!;
        const v = this.v.get(n)!;
        const { negStep, keep } = group(this.lrScales.get(n) ?? 1);
        const decayed = this.decayed.has(n);
        if (fuse && p.dtype === 'float32' && g0.dtype === 'float32') {
          const [p1, m1, v1] = fusedAdamW(p, g0, m, v, { ...shared, negStep, keep: decayed ? keep : null });
          updates.push([m, m1], [v, v1], [p, p1]);
          continue;
        }
        const g = gscale === 1 ? g0 : tf.mul(g0, scalar(gscale));
        const decayedP = decayed ? tf.mul(p, scalar(keep)) : p;
        const m1 = tf.add(m, tf.mul(tf.sub(g, m), scalar(shared.b1c)));
        const v1 = tf.add(tf.mul(v, scalar(shared.b2)), tf.mul(tf.mul(g, g), scalar(shared.b2c)));
        const denom = tf.add(tf.div(tf.sqrt(v1), scalar(shared.sqrtBc2)), scalar(shared.eps));
        const p1 = tf.add(decayedP, tf.mul(tf.div(m1, denom), scalar(negStep)));
        updates.push([m, m1], [v, v1], [p, p1]);
      }
      for (const [variable, value] of updates) variable.assign(value);
    });
    this.t = t;
  }

  /** State as a flat map `${name}.exp_avg` / `${name}.exp_avg_sq` (the tensors are owned by the optimizer). */
  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const n of this.names) {
      out.set(`${n}.${EXP_AVG}`, this.m.get(n)!);
      out.set(`${n}.${EXP_AVG_SQ}`, this.v.get(n)!);
    }
    return out;
  }

  /** Restore state saved by `stateTensors` after `step` updates. Checks the whole key set and every shape before assigning. */
  loadState(tensors: ReadonlyMap<string, tf.Tensor>, step: number): void {
    if (!Number.isInteger(step) || step < 0) throw new CheckpointError(`optimizer step must be an integer >= 0, got ${step}`);
    const expected = this.stateTensors();
    const problems = keySetProblems(shapesOf(expected), shapesOf(tensors));
    if (problems.length > 0)
      throw new CheckpointError(
        `optimizer state does not match the trained parameters: ${problems.join('; ')}; resume with the same model and trainable selection`,
      );
    tf.tidy(() => {
      for (const [k, target] of expected) (target as tf.Variable).assign(tf.cast(tensors.get(k)!, 'float32'));
    });
    this.t = step;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}
