/**
 * The decoder tower's configuration: a readonly type and `resolveTowerConfig`, which fills
 * defaults, never mutates its input and throws `ConfigError` naming the broken invariant.
 */
import { ConfigError } from '../errors.js';
import { showValue } from '@zipper/common';

export interface TowerConfig {
  /** V: vocabulary size (token ids are in [0, V)). */
  readonly vocabSize: number;
  /** D: model width. */
  readonly dModel: number;
  readonly nLayers: number;
  /** H: attention heads; the head width K = D / H must be even (rotary pairs). */
  readonly nHeads: number;
  /** F / D: the MLP width ratio (4 in the reference). */
  readonly mlpRatio: number;
  readonly normEps: number;
  readonly ropeBase: number;
  /** Longest sequence (prompt + generated) a forward or cache may reach. */
  readonly maxSeqLen: number;
  /** Logits use the embedding table (`emb.weight`); when false a separate `head.weight` [D, V]. */
  readonly tieEmbeddings: boolean;
}

export type TowerConfigInput = Pick<TowerConfig, 'vocabSize' | 'dModel' | 'nLayers' | 'nHeads'> & Partial<TowerConfig>;

export const TOWER_DEFAULTS = {
  mlpRatio: 4,
  normEps: 1e-6,
  ropeBase: 10000,
  maxSeqLen: 2048,
  tieEmbeddings: true,
} as const;

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${showValue(value)}`);
  }
  return value;
}

function positiveFinite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive finite number, got ${showValue(value)}`);
  }
  return value;
}

/** Fills defaults and checks every invariant; the result is frozen. */
export function resolveTowerConfig(partial: TowerConfigInput): TowerConfig {
  if (partial === null || typeof partial !== 'object')
    throw new ConfigError('tower config must be an object with vocabSize, dModel, nLayers, nHeads');
  const known = new Set(['vocabSize', 'dModel', 'nLayers', 'nHeads', ...Object.keys(TOWER_DEFAULTS)]);
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) throw new ConfigError(`unknown tower config field "${key}"; known fields: ${[...known].join(', ')}`);
  }
  const vocabSize = positiveInt('vocabSize', partial.vocabSize);
  const dModel = positiveInt('dModel', partial.dModel);
  const nLayers = positiveInt('nLayers', partial.nLayers);
  const nHeads = positiveInt('nHeads', partial.nHeads);
  const mlpRatio = positiveInt('mlpRatio', partial.mlpRatio ?? TOWER_DEFAULTS.mlpRatio);
  const normEps = positiveFinite('normEps', partial.normEps ?? TOWER_DEFAULTS.normEps);
  const ropeBase = positiveFinite('ropeBase', partial.ropeBase ?? TOWER_DEFAULTS.ropeBase);
  const maxSeqLen = positiveInt('maxSeqLen', partial.maxSeqLen ?? TOWER_DEFAULTS.maxSeqLen);
  const tieEmbeddings = partial.tieEmbeddings ?? TOWER_DEFAULTS.tieEmbeddings;
  if (typeof tieEmbeddings !== 'boolean') throw new ConfigError(`tieEmbeddings must be a boolean, got ${showValue(tieEmbeddings)}`);
  if (dModel % nHeads !== 0) {
    throw new ConfigError(`dModel % nHeads !== 0 (dModel ${dModel}, nHeads ${nHeads}); choose nHeads dividing dModel`);
  }
  if ((dModel / nHeads) % 2 !== 0) {
    throw new ConfigError(`head width dModel / nHeads = ${dModel / nHeads} must be even for rotary pairs; change dModel or nHeads`);
  }
  return Object.freeze({ vocabSize, dModel, nLayers, nHeads, mlpRatio, normEps, ropeBase, maxSeqLen, tieEmbeddings });
}

/** K: the head width. */
export function headDim(c: TowerConfig): number {
  return c.dModel / c.nHeads;
}
