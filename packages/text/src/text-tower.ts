/**
 * A text tower: a decoder Tower bound to the byte-level BPE tokenizer it was trained with.
 *
 * Saved as one directory:
 *   DIR/tokenizer/  the tokenizer (tokenizer.json + zipper-tokenizer.json)
 *   DIR/tower/      the tower checkpoint; its metadata names the tokenizer (relative dir,
 *                   format version, vocabulary size, sha256), and loading refuses a tokenizer
 *                   that is not the one the tower was trained with.
 * Loaded from a directory or checkpoint package name (Node) or from ModelFiles (e.g.
 * `fetchModelFiles(url)` in a browser): one loader for both.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  ConfigError,
  generate,
  joinLocation,
  modelFileSystem,
  openModelFiles,
  readModelText,
  readTowerCheckpointInfo,
  towerDirIn,
  towerFromCheckpoint,
  type TowerCheckpointInfo,
  saveTower,
  Tower,
  TOWER_DIR,
  type FinishReason,
  type GenerateOptions,
  type ModelFiles,
} from '@zipper/core';
import { readTextTokenizer, textTokenizerFiles, type BpeTokenizer, type TextTokenizerRef } from '@zipper/tokenizers';
import { WORD_LM_FILE, WordLm } from './word-lm.js';
import { textTowerShape, type TextTowerPreset, type TextTowerShape } from './presets.js';

export { TOWER_DIR };
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

  /**
   * From a model directory or an installed checkpoint package's name (resolved from
   * `options.from`, default the working directory; Node), or from ModelFiles (any platform).
   */
  static async load(source: string | ModelFiles, options: { from?: string } = {}): Promise<TextTower> {
    const { tokenizer, tower } = await TextTower.readTokenizer(source, options);
    return new TextTower(await towerFromCheckpoint(tower), tokenizer);
  }

  /** The tokenizer a saved text tower was trained with (checked against its ref), without the tower's weights. */
  static async loadTokenizer(source: string | ModelFiles, options: { from?: string } = {}): Promise<BpeTokenizer> {
    return (await TextTower.readTokenizer(source, options)).tokenizer;
  }

  /**
   * The word LM a text tower package ships next to its tower/ (WORD_LM_FILE, built by
   * `zipper lm build`), or undefined when it ships none; what lexicon decoding searches.
   */
  static async loadWordLm(source: string | ModelFiles, options: { from?: string } = {}): Promise<WordLm | undefined> {
    const files = openModelFiles(source, options);
    let bytes: Uint8Array;
    try {
      bytes = await files.read(WORD_LM_FILE);
    } catch (e) {
      if (e instanceof CheckpointError) return undefined; // ModelFiles.read's error for a missing file
      throw e;
    }
    return WordLm.decode(bytes, joinLocation(files.location, WORD_LM_FILE));
  }

  private static async readTokenizer(
    source: string | ModelFiles,
    options: { from?: string },
  ): Promise<{ tokenizer: BpeTokenizer; tower: TowerCheckpointInfo }> {
    const files = openModelFiles(source, options);
    const tower = await readTowerCheckpointInfo(towerDirIn(source, files));
    const ref = tower.metadata.user['tokenizer'] as TextTokenizerRef | undefined;
    if (!ref || typeof ref.dir !== 'string')
      throw new CheckpointError(`${files.location}/${TOWER_DIR}/metadata.json names no tokenizer; save text towers with TextTower.save`);
    const tokFiles = tower.files.at(ref.dir);
    const { tokenizer } = await readTextTokenizer((file) => readModelText(tokFiles, file), tokFiles.location, ref);
    return { tokenizer, tower };
  }

  /** Writes DIR/tokenizer and DIR/tower (Node). */
  async save(dir: string, options: { dtype?: 'float32' | 'float16'; metadata?: Record<string, unknown> } = {}): Promise<void> {
    const { files, ref } = await textTokenizerFiles(this.tokenizer, `../${TOKENIZER_DIR}`);
    await modelFileSystem().writeFiles(joinLocation(dir, TOKENIZER_DIR), files);
    await saveTower(joinLocation(dir, TOWER_DIR), this.tower, {
      ...options,
      metadata: { ...options.metadata, modality: 'text', tokenizer: ref },
    });
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
