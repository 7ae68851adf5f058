/**
 * Text tower sizes. The vocabulary size always comes from the tokenizer, so a preset names only
 * the decoder's shape. `reference` is the preset of ../shared/bench/torch_reference.py.
 */
import { towerShapeOf, type TowerShape } from '@zipper/core';

export type TextTowerShape = TowerShape;

export const TEXT_TOWER_PRESETS = {
  /** For tests and the demo: trains in seconds on 2 cores. */
  tiny: { dModel: 64, nLayers: 2, nHeads: 2, maxSeqLen: 256 },
  /** The reference preset of the speed benchmarks (d 256, 4 layers, 4 heads). */
  reference: { dModel: 256, nLayers: 4, nHeads: 4, maxSeqLen: 1024 },
  /** A text tower worth zipping: hours of CPU pretraining here. */
  small: { dModel: 384, nLayers: 8, nHeads: 6, maxSeqLen: 1024 },
} as const satisfies Record<string, TextTowerShape>;

export type TextTowerPreset = keyof typeof TEXT_TOWER_PRESETS;

/** A preset by name, or a shape as given; throws ConfigError for an unknown name. */
export function textTowerShape(p: TextTowerPreset | TextTowerShape): TextTowerShape {
  return towerShapeOf(TEXT_TOWER_PRESETS, p, 'text');
}
