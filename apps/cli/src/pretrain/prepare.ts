/**
 * What a pretraining run trains on, per modality, built from a data directory (`@zipper/data`):
 *
 * - text: a byte-level BPE of `vocab` tokens trained on the text-only split (saved to
 *   OUT/tokenizer before training; a resumed run loads it, checked by sha256), documents
 *   `<bos> ids <eos>` per sentence; held out: the dev split's transcripts.
 * - speech: the speech-only split's audio -> units with the speech tokenizer (default: the one
 *   shipped in @zipper/speech; copied to OUT/tokenizer), documents `<bos> units <eos>` per
 *   utterance, every voice; held out: the last `heldOutFraction` of the manifest (`holdOut`).
 *   Unit sequences are cached under DATA/.cache/units (keyed by audio and tokenizer hashes).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { countTokens, holdOut, textDocuments, speechDocument } from '@zipper/data';
import type { AudioRecordBase } from '@zipper/data';
import { SpeechUnitEncoder, type DataDir } from '@zipper/data/node';
import { SpeechTower, speechTokenizerHash } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import {
  loadSpeechTokenizer,
  loadTextTokenizer,
  saveSpeechTokenizer,
  saveTextTokenizer,
  TEXT_TOKENIZER_FORMAT_VERSION,
  trainBpe,
  type BpeTokenizer,
  type SpeechTokenizer,
} from '@zipper/tokenizers';
import { CheckpointError, type Tower } from '@zipper/core';
import type { Modality, PretrainPreset } from './presets.js';

export const TOKENIZER_DIR = 'tokenizer';

/** The tokenizer a run used, as run.json records it. */
export interface TokenizerRecord {
  readonly kind: 'byte-level-bpe' | 'speech-units';
  readonly vocabSize: number;
  /** sha256 of tokenizer.json (text) or of the speech tokenizer's files (speechTokenizerHash). */
  readonly sha256: string;
  /** Speech: where it was loaded from when the run started. */
  readonly source?: string;
}

export interface PreparedData {
  readonly train: Int32Array[];
  readonly heldOut: Int32Array[];
  /** Speech: the records behind `heldOut`, in the same order (their audio prompts `zipper quality speech`). */
  readonly heldOutRecords?: readonly AudioRecordBase[];
  readonly tokenizer: TokenizerRecord;
  readonly counts: {
    readonly trainItems: number;
    readonly heldOutItems: number;
    readonly trainTokens: number;
    readonly heldOutTokens: number;
  };
  /** A freshly initialized tower of the preset's shape for this tokenizer. */
  createTower(seed: number): Tower;
  /** Saves tower + tokenizer as one directory (TextTower / SpeechTower layout: OUT/tower, OUT/tokenizer). */
  saveModel(tower: Tower, dir: string, metadata: Record<string, unknown>): Promise<void>;
}

/** The speech tokenizer shipped with @zipper/speech. */
export function defaultSpeechTokenizerDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@zipper/speech/package.json');
  return path.join(path.dirname(pkg), 'assets', 'speech-units-default');
}

export interface PrepareOptions {
  readonly out: string;
  /** A resumed run: load the tokenizer saved in OUT/tokenizer and check it against `expected`. */
  readonly resume?: TokenizerRecord;
  /** Speech: the tokenizer to use for a new run (default: defaultSpeechTokenizerDir()). */
  readonly speechTokenizer?: string;
  readonly log: (line: string) => void;
}

export async function prepareData(modality: Modality, data: DataDir, preset: PretrainPreset, o: PrepareOptions): Promise<PreparedData> {
  return modality === 'text' ? prepareText(data, preset, o) : prepareSpeech(data, preset, o);
}

async function prepareText(data: DataDir, preset: PretrainPreset, o: PrepareOptions): Promise<PreparedData> {
  const all = data.textOnly();
  const lines = preset.maxItems !== undefined ? all.slice(0, preset.maxItems) : all;
  const dir = path.join(o.out, TOKENIZER_DIR);
  let tok: BpeTokenizer;
  let sha256: string;
  if (o.resume) {
    tok = (
      await loadTextTokenizer(dir, { formatVersion: TEXT_TOKENIZER_FORMAT_VERSION, vocabSize: o.resume.vocabSize, sha256: o.resume.sha256 })
    ).tokenizer;
    sha256 = o.resume.sha256;
  } else {
    const t0 = performance.now();
    tok = trainBpe(lines, { vocabSize: preset.vocab ?? 4096 });
    o.log(
      `BPE: ${tok.vocabSize} tokens trained on ${lines.length.toLocaleString('en-US')} text-only sentences in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    sha256 = (await saveTextTokenizer(tok, dir)).sha256;
  }
  const t1 = performance.now();
  const train = textDocuments(lines, tok);
  const dev = data.records('dev').map((r) => r.text);
  const heldOut = textDocuments(dev, tok);
  o.log(
    `text: ${train.length.toLocaleString('en-US')} sentences -> ${countTokens(train).toLocaleString('en-US')} tokens (${((performance.now() - t1) / 1000).toFixed(1)} s); held out: ${heldOut.length} dev sentences, ${countTokens(heldOut)} tokens`,
  );
  return {
    train,
    heldOut,
    tokenizer: { kind: 'byte-level-bpe', vocabSize: tok.vocabSize, sha256 },
    counts: {
      trainItems: train.length,
      heldOutItems: heldOut.length,
      trainTokens: countTokens(train),
      heldOutTokens: countTokens(heldOut),
    },
    createTower: (seed) => TextTower.create(tok, preset.shape, { seed }).tower,
    saveModel: (tower, out, metadata) => TextTower.fromParts(tower, tok).save(out, { metadata }),
  };
}

async function prepareSpeech(data: DataDir, preset: PretrainPreset, o: PrepareOptions): Promise<PreparedData> {
  const dir = path.join(o.out, TOKENIZER_DIR);
  let tok: SpeechTokenizer;
  let source: string;
  if (o.resume) {
    if (!existsSync(dir))
      throw new CheckpointError(`${dir} is missing; the run directory is incomplete (restore it, or start a new run in another --out)`);
    tok = loadSpeechTokenizer(dir);
    source = o.resume.source ?? dir;
  } else {
    source = path.resolve(o.speechTokenizer ?? defaultSpeechTokenizerDir());
    tok = loadSpeechTokenizer(source);
    saveSpeechTokenizer(tok, dir);
  }
  const sha256 = speechTokenizerHash(tok);
  if (o.resume && sha256 !== o.resume.sha256)
    throw new CheckpointError(
      `${dir}: speech tokenizer sha256 ${sha256.slice(0, 12)}... is not the run's (${o.resume.sha256.slice(0, 12)}...); restore the run directory`,
    );
  const all = data.records('speech-only');
  const records = preset.maxItems !== undefined ? all.slice(0, preset.maxItems) : all;
  const split = holdOut(records, { fraction: preset.heldOutFraction ?? 0.02 });
  const t0 = performance.now();
  const encoder = new SpeechUnitEncoder(data, tok, {
    onProgress: (done, total) => {
      if (done % 1000 === 0 || done === total) o.log(`speech units: ${done}/${total} utterances`);
    },
  });
  const units = encoder.encodeAll(records);
  const s = encoder.stats;
  o.log(
    `speech units: ${records.length} utterances, ${s.units.toLocaleString('en-US')} units (${s.featurized} featurized, ${s.cached} from ${encoder.cache?.dir}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const K = tok.units.numUnits;
  const docs = units.map((u) => speechDocument(u, K));
  const train = docs.slice(0, split.train.length);
  const heldOut = docs.slice(split.train.length);
  return {
    train,
    heldOut,
    heldOutRecords: split.heldOut,
    tokenizer: { kind: 'speech-units', vocabSize: K + 2, sha256, source },
    counts: {
      trainItems: train.length,
      heldOutItems: heldOut.length,
      trainTokens: countTokens(train),
      heldOutTokens: countTokens(heldOut),
    },
    createTower: (seed) => SpeechTower.create(tok, preset.shape, { seed }).tower,
    saveModel: (tower, out, metadata) => SpeechTower.fromParts(tower, tok).save(out, { metadata }),
  };
}
