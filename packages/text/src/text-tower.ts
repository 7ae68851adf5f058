/**
 * A text tower: a decoder Tower bound to the byte-level BPE tokenizer it was trained with.
 *
 * Saved as one directory:
 *   DIR/tokenizer/  the tokenizer (tokenizer.json + zipper-tokenizer.json)
 *   DIR/tower/      the tower checkpoint; its metadata names the tokenizer (relative dir,
 *                   format version, vocabulary size, sha256), and loading refuses a tokenizer
 *                   that is not the one the tower was trained with.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  CheckpointError,
  generate,
  loadTower,
  readTowerCheckpointInfo,
  saveTower,
  Tower,
  type FinishReason,
  type GenerateOptions,
  resolveModelLocation,
} from '@zipper/core';
import { loadTextTokenizer, saveTextTokenizer, type BpeTokenizer, type TextTokenizerRef } from '@zipper/tokenizers';
import { textTowerShape, type TextTowerPreset, type TextTowerShape } from './presets.js';

export const TOWER_DIR = 'tower';
export const TOKENIZER_DIR = 'tokenizer';

export interface CompleteResult {
  readonly text: string;
  readonly ids: number[];
  readonly finishReason: FinishReason;
}

export class TextTower {
  private constructor(
    readonly tower: Tower,
    readonly tokenizer: BpeTokenizer,
  ) {
    if (tower.config.vocabSize !== tokenizer.vocabSize) {
      throw new ConfigError(
        `tower vocabSize ${tower.config.vocabSize} !== tokenizer vocabSize ${tokenizer.vocabSize}; build the tower from this tokenizer`,
      );
    }
  }

  /** A freshly initialized tower sized for `tokenizer`. */
  static create(tokenizer: BpeTokenizer, shape: TextTowerPreset | TextTowerShape = 'tiny', options: { seed?: number } = {}): TextTower {
    return new TextTower(Tower.create({ ...textTowerShape(shape), vocabSize: tokenizer.vocabSize }, options), tokenizer);
  }

  /** Binds an existing tower (e.g. converted from PyTorch) to its tokenizer. */
  static fromParts(tower: Tower, tokenizer: BpeTokenizer): TextTower {
    return new TextTower(tower, tokenizer);
  }

  /** From a model directory, or an installed checkpoint package's name (resolved from `options.from`, default the working directory). */
  static async load(nameOrDir: string, options: { from?: string } = {}): Promise<TextTower> {
    const dir = resolveModelLocation(nameOrDir, options);
    const { metadata } = await readTowerCheckpointInfo(path.join(dir, TOWER_DIR));
    const ref = metadata.user['tokenizer'] as TextTokenizerRef | undefined;
    if (!ref || typeof ref.dir !== 'string')
      throw new CheckpointError(`${dir}/${TOWER_DIR}/metadata.json names no tokenizer; save text towers with TextTower.save`);
    const { tokenizer } = await loadTextTokenizer(path.resolve(dir, TOWER_DIR, ref.dir), ref);
    return new TextTower(await loadTower(path.join(dir, TOWER_DIR)), tokenizer);
  }

  async save(dir: string, options: { dtype?: 'float32' | 'float16'; metadata?: Record<string, unknown> } = {}): Promise<void> {
    const ref = await saveTextTokenizer(this.tokenizer, path.join(dir, TOKENIZER_DIR));
    const tokenizer: TextTokenizerRef = { ...ref, dir: path.join('..', TOKENIZER_DIR) };
    await saveTower(path.join(dir, TOWER_DIR), this.tower, { ...options, metadata: { ...options.metadata, modality: 'text', tokenizer } });
  }

  /** `<bos> text <eos>` as ids: one pretraining document. */
  encodeDocument(text: string): number[] {
    return [this.tokenizer.roleId('bos'), ...this.tokenizer.encode(text), this.tokenizer.roleId('eos')];
  }

  /** Continues `prompt` (after `<bos>`) until `<eos>` or `maxNewTokens`. */
  async complete(prompt: string, options: Partial<GenerateOptions> & { maxNewTokens: number }): Promise<CompleteResult> {
    const ids = [this.tokenizer.roleId('bos'), ...this.tokenizer.encode(prompt)];
    const eos = this.tokenizer.roleId('eos');
    const r = await generate(this.tower, ids, { ...options, stopTokens: [eos, ...(options.stopTokens ?? [])] });
    const out = r.tokens[0] ?? [];
    return { text: this.tokenizer.decode(out, { skipSpecial: true }), ids: out, finishReason: r.finishReasons[0] ?? 'length' };
  }

  /** Mean next-token cross-entropy (nats) of `text` under the tower. */
  loss(text: string): number {
    const ids = this.encodeDocument(text);
    return tf.tidy(() => {
      const x = tf.tensor2d([ids.slice(0, -1)], undefined, 'int32');
      const logits = this.tower.forward(x).logits; // [1, T, V]
      const logp = tf.logSoftmax(tf.squeeze(logits, [0])); // [T, V]
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(ids.slice(1), 'int32'), this.tower.config.vocabSize)), 1);
      return -(tf.mean(picked).dataSync()[0] as number);
    });
  }

  dispose(): void {
    this.tower.dispose();
  }
}
