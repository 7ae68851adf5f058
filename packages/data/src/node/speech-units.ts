/**
 * Speech records -> unit sequences with a speech tokenizer: read the WAV (checked against its
 * record), downmix / resample to the tokenizer's rate, featurize and quantize. With a cache
 * (default `<data dir>/.cache/units`), each audio file is featurized once per tokenizer.
 */
import path from 'node:path';
import { speechTokenizerHash } from '@zipper/speech';
import { prepareAudio, type SpeechTokenizer } from '@zipper/tokenizers';
import type { AudioRecordBase } from '../records.js';
import type { DataDir } from './data-dir.js';
import { UnitCache } from './unit-cache.js';

export interface SpeechUnitOptions {
  /** Cache root, or false for none (default `<data dir>/.cache/units`). */
  readonly cacheDir?: string | false;
  /** Called after each record (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SpeechUnitStats {
  /** Records featurized (cache misses) and read from the cache, since construction. */
  readonly featurized: number;
  readonly cached: number;
  /** Units produced or read. */
  readonly units: number;
}

export class SpeechUnitEncoder {
  readonly tokenizerSha256: string;
  readonly cache: UnitCache | undefined;
  private counts = { featurized: 0, cached: 0, units: 0 };

  constructor(
    readonly data: DataDir,
    readonly tokenizer: SpeechTokenizer,
    private readonly options: SpeechUnitOptions = {},
  ) {
    this.tokenizerSha256 = speechTokenizerHash(tokenizer);
    const root = options.cacheDir === undefined ? path.join(data.dir, '.cache', 'units') : options.cacheDir;
    this.cache = root === false ? undefined : new UnitCache(root, this.tokenizerSha256);
  }

  get stats(): SpeechUnitStats {
    return { ...this.counts };
  }

  /** Units of one record: from the cache when present (keyed by the record's verified sha256). */
  encode(r: AudioRecordBase): Uint16Array {
    const hit = this.cache?.get(r.sha256);
    if (hit) {
      this.counts.cached++;
      this.counts.units += hit.length;
      return hit;
    }
    const units = this.tokenizer.encode(prepareAudio(this.data.audio(r), this.tokenizer.features.sampleRate));
    this.cache?.put(r.sha256, units);
    this.counts.featurized++;
    this.counts.units += units.length;
    return units;
  }

  encodeAll(records: readonly AudioRecordBase[]): Uint16Array[] {
    return records.map((r, i) => {
      const u = this.encode(r);
      this.options.onProgress?.(i + 1, records.length);
      return u;
    });
  }
}
