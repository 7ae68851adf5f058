/**
 * Input noise for teacher forcing (docs/zipper.md, "Unit noise"; not in the paper): in the target
 * segments of chosen towers, each fed token after the bos is replaced, with probability `rate`, by
 * a token drawn uniformly from the tower's vocabulary other than its bos and eos. The targets stay
 * the true next tokens (`Segment.fed`), so the model must predict them from less of their own
 * past and more of the other modality: the role Tacotron's pre-net dropout plays for attention.
 * The "unit masking" in the form a pretrained tower allows (it has no mask token).
 */
import { ConfigError, type Rng } from '@zipper/core';
import { towerSpec, type ZipperConfig } from './config.js';
import { UnknownTowerError } from './errors.js';
import type { Example } from './segments.js';

export interface InputNoise {
  /** Probability of replacing each fed token after the bos, in [0, 1). */
  readonly rate: number;
  /** The towers whose target segments are corrupted (e.g. ['speech']: TTS's units). */
  readonly towers: readonly string[];
}

/** Checks `noise` against `config`; returns it frozen. */
export function resolveInputNoise(config: ZipperConfig, noise: InputNoise): InputNoise {
  if (noise === null || typeof noise !== 'object') throw new ConfigError('input noise must be { rate, towers }');
  const { rate, towers } = noise;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1))
    throw new ConfigError(`input noise rate must be a number in [0, 1), got ${String(rate)}`);
  if (!Array.isArray(towers) || towers.length === 0) throw new ConfigError('input noise needs at least one tower');
  for (const t of towers) {
    if (!config.towers.some((x) => x.name === t))
      throw new UnknownTowerError(
        `input noise names tower "${String(t)}"; this model's towers are ${config.towers.map((x) => x.name).join(', ')}`,
      );
    const spec = towerSpec(config, t);
    if (spec.config.vocabSize < 3) throw new ConfigError(`tower "${t}" has no token besides its bos and eos to draw input noise from`);
  }
  return Object.freeze({ rate, towers: Object.freeze([...towers]) });
}

/**
 * `example` with its target segments of `noise.towers` corrupted (`fed`), drawn from `rng` in
 * token order (the same rng state gives the same example); the other segments unchanged.
 */
export function withInputNoise(config: ZipperConfig, example: Example, noise: InputNoise, rng: Rng): Example {
  return example.map((seg) => {
    if (!seg.target || !noise.towers.includes(seg.tower)) return seg;
    const fed = seg.ids.map((id, k) => (k === 0 ? id : noisyToken(config, seg.tower, id, noise.rate, rng)));
    return { ...seg, fed };
  });
}

/**
 * `id`, or with probability `rate` a token of `tower` drawn uniformly from its vocabulary without
 * its bos and eos: one draw of `rng` (`next`), and a second (`int`) when replaced. The training
 * examples' noise (withInputNoise) and decoding's (generateZipped's `inputNoise`) both draw here.
 */
export function noisyToken(config: ZipperConfig, tower: string, id: number, rate: number, rng: Rng): number {
  if (rng.next() >= rate) return id;
  const { bos, eos, config: spec } = towerSpec(config, tower);
  const [lo, hi] = bos < eos ? [bos, eos] : [eos, bos];
  // uniform over the vocabulary without bos and eos: draw among V - 2 and skip past them
  let x = rng.int(spec.vocabSize - 2);
  if (x >= lo) x++;
  if (x >= hi) x++;
  return x;
}
