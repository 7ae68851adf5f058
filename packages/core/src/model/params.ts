/**
 * The tower's weights as data: the ordered key -> shape list (keys = module paths = checkpoint
 * keys = the PyTorch reference's state-dict keys), seeded init, and a key/shape check that names
 * the offending key.
 *
 * Legend: V vocabulary, D model width, F MLP width (mlpRatio * D).
 * Linear weights are stored [in, out] (PyTorch's nn.Linear is [out, in]).
 */
import type { TowerConfig } from './config.js';
import { keySetProblems } from './keys.js';
import { Mulberry32, hashSeed } from '@zipper/common';

export type ParamInit =
  { readonly kind: 'normal'; readonly std: number } | { readonly kind: 'uniform'; readonly bound: number } | { readonly kind: 'ones' };

export interface ParamSpec {
  readonly key: string;
  readonly shape: readonly number[];
  readonly init: ParamInit;
}

/** Every parameter of a tower, in module order. */
export function towerParamSpecs(c: TowerConfig): ParamSpec[] {
  const d = c.dModel;
  const f = c.mlpRatio * d;
  const lin = (key: string, inDim: number, outDim: number): ParamSpec => ({
    key,
    shape: [inDim, outDim],
    init: { kind: 'uniform', bound: 1 / Math.sqrt(inDim) },
  });
  const scale = (key: string): ParamSpec => ({ key, shape: [d], init: { kind: 'ones' } });
  const specs: ParamSpec[] = [{ key: 'emb.weight', shape: [c.vocabSize, d], init: { kind: 'normal', std: 0.02 } }];
  for (let i = 0; i < c.nLayers; i++) {
    specs.push(
      scale(`blocks.${i}.ln1.scale`),
      lin(`blocks.${i}.qkv.weight`, d, 3 * d), // output columns ordered [3][H][K]
      lin(`blocks.${i}.out.weight`, d, d),
      scale(`blocks.${i}.ln2.scale`),
      lin(`blocks.${i}.up.weight`, d, f),
      lin(`blocks.${i}.down.weight`, f, d),
    );
  }
  specs.push(scale('norm.scale'));
  if (!c.tieEmbeddings) specs.push(lin('head.weight', d, c.vocabSize));
  return specs;
}

/** Initial values of one parameter; the stream depends only on (seed, key). */
export function initParam(spec: ParamSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const init = spec.init;
  if (init.kind === 'ones') return out.fill(1);
  const rng = new Mulberry32(hashSeed(seed, spec.key));
  if (init.kind === 'normal') for (let i = 0; i < n; i++) out[i] = rng.normal() * init.std;
  else for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * init.bound;
  return out;
}

/**
 * Compares a set of named shapes with the expected specs (keys.ts's `keySetProblems`). Returns a
 * list of problems (empty if none), each naming its key: missing keys, unexpected keys, wrong shapes.
 */
export function paramSetProblems(specs: readonly ParamSpec[], actual: ReadonlyMap<string, readonly number[]>): string[] {
  return keySetProblems(new Map(specs.map((s) => [s.key, s.shape])), actual);
}
