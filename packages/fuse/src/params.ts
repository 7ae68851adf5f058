/**
 * The fusion weights as data (docs/zipper.md, "Weight keys"): the ordered key -> shape list of
 * the input projections and the cross-attention layers, and their seeded initialization
 * (linear weights normal from core's seeded initializer with a variance that keeps the
 * activations' scale: He, std sqrt(2 / D_in), for the ReLU layers of the projections, LeCun,
 * std sqrt(1 / D_in), for the attention and feed-forward weights; biases 0, norm scales 1,
 * gates 0). A fixed std of 0.02 (the towers' own init, made for a residual stream) shrinks a
 * 3-layer ReLU projection's output ~50x at width 256, so the cross-attention output and the
 * gates' gradient start ~1,000x below the residual stream's scale: in a 500-step run of the
 * small pair the attention gates stayed below 0.003 and the ASR loss did not fall. Tower weights are not listed here: they are the towers' own variables under
 * `towers.<X>.`.
 *
 * Legend: D_X reader width, D_Y source width. Linear weights are stored [in, out].
 */
import * as tf from '@tensorflow/tfjs-core';
import { initParam } from '@zipper/core';
import { ctcClasses, ctcHeadLink, ctcHeadName, feedingHead, towerSpec, type CtcHeadSpec, type ZipperConfig } from './config.js';
import { linkKey, type FusionLink } from './schedule.js';

export type FusionInit = { readonly kind: 'normal'; readonly std: number } | { readonly kind: 'ones' } | { readonly kind: 'zeros' };

export interface FusionParamSpec {
  readonly key: string;
  readonly shape: readonly number[];
  readonly init: FusionInit;
}

/** LeCun (gain 1) or He (gain 2, before a ReLU) normal init of a [D_in, D_out] weight. */
const normal = (key: string, shape: number[], gain: 1 | 2 = 1): FusionParamSpec => ({
  key,
  shape,
  init: { kind: 'normal', std: Math.sqrt(gain / shape[0]!) },
});
const zeros = (key: string, shape: number[]): FusionParamSpec => ({ key, shape, init: { kind: 'zeros' } });
const ones = (key: string, shape: number[]): FusionParamSpec => ({ key, shape, init: { kind: 'ones' } });

/** `inproj.<X>.*` of one tower (none for `inputProjection: 'none'`). */
export function inputProjectionSpecs(c: ZipperConfig, tower: string): FusionParamSpec[] {
  if (c.inputProjection === 'none') return [];
  const d = towerSpec(c, tower).config.dModel;
  const p = `inproj.${tower}`;
  const specs: FusionParamSpec[] = [];
  for (let i = 0; i < c.inputProjectionLayers; i++)
    specs.push(normal(`${p}.layers.${i}.weight`, [d, d], 2), zeros(`${p}.layers.${i}.bias`, [d]));
  if (c.inputProjection === 'gated') specs.push(zeros(`${p}.gate`, [1]));
  return specs;
}

/**
 * The layers of a link's own source projection: `projectionLayers`, but none for a link that reads
 * a CTC head's encoder (`feedLinks`) unless it is the head's own link, whose projection is the
 * encoder's input.
 */
export function linkProjectionLayers(c: ZipperConfig, link: FusionLink): number {
  const head = feedingHead(c, link);
  return head && linkKey(ctcHeadLink(c, head)) !== linkKey(link) ? 0 : c.projectionLayers;
}

/** `cross.<X>_from_<Y>.<l>.*` of one link. */
export function linkSpecs(c: ZipperConfig, link: FusionLink): FusionParamSpec[] {
  const dx = towerSpec(c, link.to).config.dModel;
  const dy = towerSpec(c, link.from).config.dModel;
  const f = towerSpec(c, link.to).config.mlpRatio * dx;
  const p = linkKey(link);
  const specs: FusionParamSpec[] = [];
  for (let i = 0; i < linkProjectionLayers(c, link); i++)
    specs.push(normal(`${p}.proj.layers.${i}.weight`, [i === 0 ? dy : dx, dx], 2), zeros(`${p}.proj.layers.${i}.bias`, [dx]));
  specs.push(
    ones(`${p}.norm_attn.scale`, [dx]),
    normal(`${p}.attn.q.weight`, [dx, dx]),
    normal(`${p}.attn.kv.weight`, [dx, 2 * dx]),
    normal(`${p}.attn.out.weight`, [dx, dx]),
    zeros(`${p}.gate_attn`, [1]),
    ones(`${p}.norm_ff.scale`, [dx]),
    normal(`${p}.ff.up.weight`, [dx, f]),
    normal(`${p}.ff.down.weight`, [f, dx]),
    zeros(`${p}.gate_ff`, [1]),
  );
  return specs;
}

/**
 * `ctc.<to>_from_<from>.*` of one CTC head: with `encoderLayers` N > 0, `encoder.<i>.{ln1.scale,
 * qkv.weight, out.weight, ln2.scale, up.weight, down.weight}` (core's block layout, the `to`
 * tower's width and MLP ratio) and `encoder_norm.scale`; then `weight` [D_to, C + 1] (C classes,
 * the blank last) and `bias`.
 */
export function ctcHeadSpecs(c: ZipperConfig, head: CtcHeadSpec): FusionParamSpec[] {
  const to = towerSpec(c, head.to).config;
  const d = to.dModel;
  const f = to.mlpRatio * d;
  const n = ctcClasses(c, head) + 1;
  const p = `ctc.${ctcHeadName(head)}`;
  const encoder: FusionParamSpec[] = [];
  for (let i = 0; i < (head.encoderLayers ?? 0); i++) {
    const e = `${p}.encoder.${i}`;
    encoder.push(
      ones(`${e}.ln1.scale`, [d]),
      normal(`${e}.qkv.weight`, [d, 3 * d]),
      normal(`${e}.out.weight`, [d, d]),
      ones(`${e}.ln2.scale`, [d]),
      normal(`${e}.up.weight`, [d, f]),
      normal(`${e}.down.weight`, [f, d]),
    );
  }
  if (encoder.length > 0) encoder.push(ones(`${p}.encoder_norm.scale`, [d]));
  return [...encoder, normal(`${p}.weight`, [d, n]), zeros(`${p}.bias`, [n])];
}

/** Every fusion weight in module order: input projections (tower order), links (schedule order), CTC heads. */
export function fusionParamSpecs(c: ZipperConfig): FusionParamSpec[] {
  return [
    ...c.towers.flatMap((t) => inputProjectionSpecs(c, t.name)),
    ...c.schedule.links.flatMap((l) => linkSpecs(c, l)),
    ...(c.ctc ?? []).flatMap((h) => ctcHeadSpecs(c, h)),
  ];
}

/** Whether `key` is a cross-attention gate (`gate_attn` / `gate_ff`; the input projections' gates are not). */
export const isCrossGate = (key: string): boolean => key.startsWith('cross.') && (key.endsWith('.gate_attn') || key.endsWith('.gate_ff'));

/** Whether `key` is a cross-attention layer's output weight (`attn.out.weight` / `ff.down.weight`). */
export const isCrossOutput = (key: string): boolean =>
  key.startsWith('cross.') && (key.endsWith('.attn.out.weight') || key.endsWith('.ff.down.weight'));

/** How the fusion weights start besides the seed (Zipper.create's `init`). */
export interface FusionInitOptions {
  /**
   * The initial value of every cross-attention gate (default 0, Flamingo's and the paper's). A
   * non-zero value (e.g. 0.1, tanh 0.0997) lets the cross-attention change the output from step 0.
   */
  readonly crossGate?: number;
  /**
   * Start each cross-attention layer's output weights (`attn.out`, `ff.down`) at 0 (default
   * false; CALM's zero-initialized output projection, LoRA's zero B). With a non-zero `crossGate`
   * the model still starts as the lone towers, and the gates then need not cross 0: with gates at 0,
   * tanh(gate) random-walks around 0 and flips the sign of every attention weight's gradient.
   */
  readonly zeroOutput?: boolean;
}

/** A new trainable variable with the spec's initial value; the values depend only on (seed, key) and `init`. */
export function initFusionParam(spec: FusionParamSpec, seed: number, init: FusionInitOptions | number = {}): tf.Variable {
  const o = typeof init === 'number' ? { crossGate: init } : init;
  const n = spec.shape.reduce((a, b) => a * b, 1);
  let values: Float32Array;
  if (isCrossGate(spec.key)) values = new Float32Array(n).fill(o.crossGate ?? 0);
  else if (spec.init.kind === 'zeros' || (o.zeroOutput && isCrossOutput(spec.key))) values = new Float32Array(n);
  else if (spec.init.kind === 'ones') values = new Float32Array(n).fill(1);
  else values = initParam({ key: spec.key, shape: spec.shape, init: spec.init }, seed);
  return tf.tidy(() => tf.variable(tf.tensor(values, [...spec.shape], 'float32'), true, undefined));
}
