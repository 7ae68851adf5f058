/** Reading WAV files from disk, refusing oversized ones before their bytes are loaded. */
import { readFileSync, statSync } from 'node:fs';
import { WavTooLargeError } from '../errors.js';
import { DEFAULT_MAX_WAV_BYTES, readWav, type ReadWavOptions, type WavAudio } from './wav.js';

export function readWavFile(path: string, options: ReadWavOptions = {}): WavAudio {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_WAV_BYTES;
  const size = statSync(path).size;
  if (size > maxBytes) {
    throw new WavTooLargeError(
      `${path} is ${size} bytes, above the limit of ${maxBytes}; split the audio (e.g. \`sox in.wav out.wav trim 0 600 : newfile : restart\`) or raise maxBytes`,
    );
  }
  return readWav(readFileSync(path), options);
}
