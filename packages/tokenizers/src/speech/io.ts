/**
 * A speech tokenizer on disk is one directory that a tower checkpoint can name:
 *
 *   speech-tokenizer.json    format + version, feature / unit / vocoder configs, training info
 *   centroids.safetensors    the [K, stack * nMels] float32 codebook, tensor "centroids"
 *
 * This module is browser-safe (bytes in, bytes out); reading and writing directories on disk is
 * io-node.ts.
 */
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type DecodedTensor } from '@zipper/common';
import { TokenizerFormatError } from '../errors.js';
import { SpeechTokenizer, type SpeechTrainingInfo } from './tokenizer.js';

export const SPEECH_TOKENIZER_FORMAT = 'zipper-speech-units';
export const SPEECH_TOKENIZER_VERSION = 1;
export const SPEECH_TOKENIZER_JSON = 'speech-tokenizer.json';
export const CENTROIDS_FILE = 'centroids.safetensors';

/** The JSON manifest and the centroid file's bytes (what `saveSpeechTokenizer` writes). */
export function serializeSpeechTokenizer(tok: SpeechTokenizer): { json: string; centroids: Uint8Array } {
  // phaseInit came later: at its default it is left out, so a tokenizer written before it
  // serializes (and hashes, speechTokenizerHash) byte for byte as it did
  const { phaseInit, ...vocoder } = tok.vocoder;
  const manifest = {
    format: SPEECH_TOKENIZER_FORMAT,
    version: SPEECH_TOKENIZER_VERSION,
    unitRate: tok.unitRate,
    features: tok.features,
    units: tok.units,
    vocoder: phaseInit === 'random' ? vocoder : tok.vocoder,
    centroids: { file: CENTROIDS_FILE, tensor: 'centroids', shape: [tok.units.numUnits, tok.dim], dtype: 'float32' },
    training: tok.training,
  };
  const centroids = encodeSafetensors(
    { centroids: { shape: [tok.units.numUnits, tok.dim], data: tok.centroids } },
    { metadata: { format: SPEECH_TOKENIZER_FORMAT } },
  );
  return { json: `${JSON.stringify(manifest, null, 2)}\n`, centroids };
}

/** Rebuilds a tokenizer from the manifest text and centroid bytes, checking every field. */
export function deserializeSpeechTokenizer(json: string, centroidBytes: Uint8Array): SpeechTokenizer {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(json) as Record<string, unknown>;
  } catch (e) {
    throw new TokenizerFormatError(SPEECH_TOKENIZER_JSON, `not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== SPEECH_TOKENIZER_FORMAT)
    throw new TokenizerFormatError(
      'format',
      `expected "${SPEECH_TOKENIZER_FORMAT}", got ${JSON.stringify(m.format)}; is this a speech tokenizer directory?`,
    );
  if (m.version !== SPEECH_TOKENIZER_VERSION)
    throw new TokenizerFormatError(
      'version',
      `this build reads version ${SPEECH_TOKENIZER_VERSION}, got ${JSON.stringify(m.version)}; upgrade @zipper/tokenizers or retrain`,
    );
  for (const key of ['features', 'units'] as const) {
    if (typeof m[key] !== 'object' || m[key] === null) throw new TokenizerFormatError(key, 'missing or not an object');
  }
  let c: DecodedTensor | undefined;
  try {
    c = decodeSafetensors(centroidBytes, CENTROIDS_FILE).tensors.get('centroids');
  } catch (e) {
    if (e instanceof SafetensorsError)
      throw new TokenizerFormatError(CENTROIDS_FILE, `${e.message.replace(`${CENTROIDS_FILE}: `, '')}; retrain or restore the tokenizer`, {
        cause: e,
      });
    throw e;
  }
  if (!c) throw new TokenizerFormatError('centroids', `no tensor "centroids" in ${CENTROIDS_FILE}`);
  if (!(c.data instanceof Float32Array))
    throw new TokenizerFormatError('centroids', `stored as ${c.stored}; the codebook must be a float tensor (F32, F16 or BF16)`);
  const tok = new SpeechTokenizer({
    features: m.features as Record<string, number>,
    units: m.units as Record<string, number>,
    vocoder: (m.vocoder ?? {}) as Record<string, never>,
    centroids: c.data,
    training: m.training as SpeechTrainingInfo | undefined,
  });
  if (c.shape.length !== 2 || c.shape[0] !== tok.units.numUnits || c.shape[1] !== tok.dim) {
    throw new TokenizerFormatError(
      'centroids',
      `shape [${c.shape.join(', ')}] does not match [numUnits, stack * nMels] = [${tok.units.numUnits}, ${tok.dim}]`,
    );
  }
  return tok;
}
