/** Speech tower sizes; the vocabulary size always comes from the speech tokenizer (units + 2). */
import { towerShapeOf, type TowerShape } from '@zipper/core';

export type SpeechTowerShape = TowerShape;

export const SPEECH_TOWER_PRESETS = {
  /** For tests: trains in seconds on 2 cores. */
  tiny: { dModel: 64, nLayers: 2, nHeads: 2, maxSeqLen: 512 },
  /** The reference preset of the speed benchmarks (d 256, 4 layers, 4 heads). */
  reference: { dModel: 256, nLayers: 4, nHeads: 4, maxSeqLen: 2048 },
} as const satisfies Record<string, SpeechTowerShape>;

export type SpeechTowerPreset = keyof typeof SPEECH_TOWER_PRESETS;

export function speechTowerShape(p: SpeechTowerPreset | SpeechTowerShape): SpeechTowerShape {
  return towerShapeOf(SPEECH_TOWER_PRESETS, p, 'speech');
}
