/**
 * A speech tower: a decoder Tower over discrete speech units, bound to the speech tokenizer
 * (audio <-> units) it was trained with.
 *
 * Saved as one directory:
 *   DIR/tokenizer/  the speech tokenizer (speech-tokenizer.json + centroids.safetensors)
 *   DIR/tower/      the tower checkpoint; its metadata names the tokenizer (relative dir,
 *                   number of units, sha256 of its files); loading refuses any other tokenizer.
 * Loaded from a directory or checkpoint package name (Node) or from ModelFiles (e.g.
 * `fetchModelFiles(url)` in a browser): one loader for both.
 */
import { sha256HexAsync } from '@zipper/common';
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
import {
  CENTROIDS_FILE,
  deserializeSpeechTokenizer,
  serializeSpeechTokenizer,
  SPEECH_TOKENIZER_JSON,
  TokenizerFormatError,
  type SpeechTokenizer,
} from '@zipper/tokenizers';
import { speechTowerShape, type SpeechTowerPreset, type SpeechTowerShape } from './presets.js';
import { speechVocab, tokensToUnits, unitsToTokens, type SpeechVocab } from './vocab.js';

export { TOWER_DIR };
export const TOKENIZER_DIR = 'tokenizer';

/** What a speech tower checkpoint stores to name its tokenizer. */
export interface SpeechTokenizerRef {
  readonly dir: string;
  readonly numUnits: number;
  /** sha256 over speech-tokenizer.json followed by centroids.safetensors. */
  readonly sha256: string;
}

/** sha256 over the tokenizer's speech-tokenizer.json followed by centroids.safetensors (what SpeechTokenizerRef stores). */
export async function speechTokenizerSha256(tok: SpeechTokenizer): Promise<string> {
  const { json, centroids } = serializeSpeechTokenizer(tok);
  return sha256HexAsync([json, centroids]);
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

  /**
   * From a model directory or an installed checkpoint package's name (resolved from
   * `options.from`, default the working directory; Node), or from ModelFiles (any platform).
   */
  static async load(source: string | ModelFiles, options: { from?: string } = {}): Promise<SpeechTower> {
    const { tokenizer, tower } = await SpeechTower.readTokenizer(source, options);
    return new SpeechTower(await towerFromCheckpoint(tower), tokenizer);
  }

  /** The speech tokenizer a saved speech tower was trained with (checked by sha256), without the tower's weights. */
  static async loadTokenizer(source: string | ModelFiles, options: { from?: string } = {}): Promise<SpeechTokenizer> {
    return (await SpeechTower.readTokenizer(source, options)).tokenizer;
  }

  private static async readTokenizer(
    source: string | ModelFiles,
    options: { from?: string },
  ): Promise<{ tokenizer: SpeechTokenizer; tower: TowerCheckpointInfo }> {
    const files = openModelFiles(source, options);
    const tower = await readTowerCheckpointInfo(towerDirIn(source, files));
    const ref = tower.metadata.user['tokenizer'] as SpeechTokenizerRef | undefined;
    if (!ref || typeof ref.dir !== 'string' || typeof ref.sha256 !== 'string')
      throw new CheckpointError(
        `${files.location}/${TOWER_DIR}/metadata.json names no speech tokenizer; save speech towers with SpeechTower.save`,
      );
    const tokFiles = tower.files.at(ref.dir);
    let json: string;
    let centroids: Uint8Array;
    try {
      json = await readModelText(tokFiles, SPEECH_TOKENIZER_JSON);
      centroids = await tokFiles.read(CENTROIDS_FILE);
    } catch (e) {
      throw new TokenizerFormatError(
        tokFiles.location,
        `cannot read a speech tokenizer here (${(e as Error).message}); train one with \`zipper units train\``,
      );
    }
    const tokenizer = deserializeSpeechTokenizer(json, centroids);
    const hash = await sha256HexAsync([json, centroids]);
    if (hash !== ref.sha256) {
      throw new CheckpointError(
        `the speech tokenizer in ${tokFiles.location} (sha256 ${hash.slice(0, 12)}...) is not the one this tower was trained with (${ref.sha256.slice(0, 12)}...); point it at the original tokenizer`,
      );
    }
    return { tokenizer, tower };
  }

  /** Writes DIR/tokenizer and DIR/tower (Node). */
  async save(dir: string, options: { dtype?: 'float32' | 'float16'; metadata?: Record<string, unknown> } = {}): Promise<void> {
    const { json, centroids } = serializeSpeechTokenizer(this.tokenizer);
    await modelFileSystem().writeFiles(joinLocation(dir, TOKENIZER_DIR), [
      { name: CENTROIDS_FILE, data: centroids },
      { name: SPEECH_TOKENIZER_JSON, data: new TextEncoder().encode(json) },
    ]);
    const tokenizer: SpeechTokenizerRef = {
      dir: `../${TOKENIZER_DIR}`,
      numUnits: this.vocab.numUnits,
      sha256: await sha256HexAsync([json, centroids]),
    };
    await saveTower(joinLocation(dir, TOWER_DIR), this.tower, {
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
