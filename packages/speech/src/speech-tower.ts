/**
 * A speech tower: a decoder Tower over discrete speech units, bound to the speech tokenizer
 * (audio <-> units) it was trained with.
 *
 * Saved as one directory:
 *   DIR/tokenizer/  the speech tokenizer (speech-tokenizer.json + centroids.safetensors)
 *   DIR/tower/      the tower checkpoint; its metadata names the tokenizer (relative dir,
 *                   number of units, sha256 of its files); loading refuses any other tokenizer.
 */
import path from 'node:path';
import { sha256Hex } from '@zipper/common/node';
import {
  CheckpointError,
  ConfigError,
  generate,
  loadTower,
  readTowerCheckpointInfo,
  saveTower,
  Tower,
  type FinishReason,
  type GenerateOptions,
  resolveModelLocation,
} from '@zipper/core';
import { loadSpeechTokenizer, saveSpeechTokenizer, serializeSpeechTokenizer, type SpeechTokenizer } from '@zipper/tokenizers';
import { speechTowerShape, type SpeechTowerPreset, type SpeechTowerShape } from './presets.js';
import { speechVocab, tokensToUnits, unitsToTokens, type SpeechVocab } from './vocab.js';

export const TOWER_DIR = 'tower';
export const TOKENIZER_DIR = 'tokenizer';

/** What a speech tower checkpoint stores to name its tokenizer. */
export interface SpeechTokenizerRef {
  readonly dir: string;
  readonly numUnits: number;
  /** sha256 over speech-tokenizer.json followed by centroids.safetensors. */
  readonly sha256: string;
}

export function speechTokenizerHash(tok: SpeechTokenizer): string {
  const { json, centroids } = serializeSpeechTokenizer(tok);
  return sha256Hex([json, centroids]);
}

export interface ContinueResult {
  readonly units: Uint16Array;
  readonly audio: Float32Array;
  readonly sampleRate: number;
  readonly finishReason: FinishReason;
}

export class SpeechTower {
  readonly vocab: SpeechVocab;

  private constructor(
    readonly tower: Tower,
    readonly tokenizer: SpeechTokenizer,
  ) {
    this.vocab = speechVocab(tokenizer.units.numUnits);
    if (tower.config.vocabSize !== this.vocab.size) {
      throw new ConfigError(
        `tower vocabSize ${tower.config.vocabSize} !== ${this.vocab.numUnits} units + <bos> + <eos> = ${this.vocab.size}; build the tower from this tokenizer`,
      );
    }
  }

  static create(
    tokenizer: SpeechTokenizer,
    shape: SpeechTowerPreset | SpeechTowerShape = 'tiny',
    options: { seed?: number } = {},
  ): SpeechTower {
    return new SpeechTower(
      Tower.create({ ...speechTowerShape(shape), vocabSize: speechVocab(tokenizer.units.numUnits).size }, options),
      tokenizer,
    );
  }

  static fromParts(tower: Tower, tokenizer: SpeechTokenizer): SpeechTower {
    return new SpeechTower(tower, tokenizer);
  }

  /** From a model directory, or an installed checkpoint package's name (resolved from `options.from`, default the working directory). */
  static async load(nameOrDir: string, options: { from?: string } = {}): Promise<SpeechTower> {
    const dir = resolveModelLocation(nameOrDir, options);
    const { metadata } = await readTowerCheckpointInfo(path.join(dir, TOWER_DIR));
    const ref = metadata.user['tokenizer'] as SpeechTokenizerRef | undefined;
    if (!ref || typeof ref.dir !== 'string' || typeof ref.sha256 !== 'string')
      throw new CheckpointError(`${dir}/${TOWER_DIR}/metadata.json names no speech tokenizer; save speech towers with SpeechTower.save`);
    const tokenizer = loadSpeechTokenizer(path.resolve(dir, TOWER_DIR, ref.dir));
    const hash = speechTokenizerHash(tokenizer);
    if (hash !== ref.sha256) {
      throw new CheckpointError(
        `the speech tokenizer in ${path.resolve(dir, TOWER_DIR, ref.dir)} (sha256 ${hash.slice(0, 12)}...) is not the one this tower was trained with (${ref.sha256.slice(0, 12)}...); point it at the original tokenizer`,
      );
    }
    return new SpeechTower(await loadTower(path.join(dir, TOWER_DIR)), tokenizer);
  }

  async save(dir: string, options: { dtype?: 'float32' | 'float16'; metadata?: Record<string, unknown> } = {}): Promise<void> {
    saveSpeechTokenizer(this.tokenizer, path.join(dir, TOKENIZER_DIR));
    const tokenizer: SpeechTokenizerRef = {
      dir: path.join('..', TOKENIZER_DIR),
      numUnits: this.vocab.numUnits,
      sha256: speechTokenizerHash(this.tokenizer),
    };
    await saveTower(path.join(dir, TOWER_DIR), this.tower, {
      ...options,
      metadata: { ...options.metadata, modality: 'speech', tokenizer },
    });
  }

  /** Mono samples at the tokenizer's rate -> `<bos> units <eos>`: one pretraining document. */
  encodeDocument(samples: Float32Array): number[] {
    return unitsToTokens(this.vocab, this.tokenizer.encode(samples));
  }

  /** Continues an audio prompt (or starts from `<bos>` alone) and vocodes the generated units. */
  async continue(prompt: Float32Array | undefined, options: Partial<GenerateOptions> & { maxNewTokens: number }): Promise<ContinueResult> {
    const ids = prompt ? this.encodeDocument(prompt).slice(0, -1) : [this.vocab.bos];
    const r = await generate(this.tower, ids, { ...options, stopTokens: [this.vocab.eos, this.vocab.bos, ...(options.stopTokens ?? [])] });
    const units = tokensToUnits(this.vocab, r.tokens[0] ?? []);
    const audio = units.length > 0 ? this.tokenizer.decode(units) : new Float32Array(0);
    return { units, audio, sampleRate: this.tokenizer.features.sampleRate, finishReason: r.finishReasons[0] ?? 'length' };
  }

  dispose(): void {
    this.tower.dispose();
  }
}
