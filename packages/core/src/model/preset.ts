/**
 * Named tower shapes (presets) of a modality package. The vocabulary size always comes from that
 * modality's tokenizer, so a preset names only the decoder's shape.
 */
import { ConfigError } from '../errors.js';
import type { TowerConfigInput } from './config.js';

export type TowerShape = Omit<TowerConfigInput, 'vocabSize'>;

/** `p` itself if it is a shape, else the preset of that name; ConfigError naming the known ones. */
export function towerShapeOf(presets: Readonly<Record<string, TowerShape>>, p: string | TowerShape, kind: string): TowerShape {
  if (typeof p !== 'string') return p;
  const shape = presets[p];
  if (!shape) throw new ConfigError(`unknown ${kind} tower preset "${p}"; known: ${Object.keys(presets).join(', ')}`);
  return shape;
}
