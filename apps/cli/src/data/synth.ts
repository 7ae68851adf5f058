import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DataBuildConfig } from './config.js';
import { addNoise } from './effects.js';
import { SynthesisError } from './errors.js';
import type { AudioItem } from './plan.js';
import { prngFor } from './prng.js';
import { run, type ToolName } from './tools.js';
import { readPcm16Wav, s16leToSamples } from './wav.js';

/**
 * Renders one item to 16-bit mono samples at `cfg.sampleRate`:
 *   synthesizer -> temporary WAV -> sox (resample, mono, 16-bit, no dither, optional tempo)
 *   -> raw samples -> optional additive noise from the item's own seeded PRNG.
 * sox runs with -D (no dither), so it adds no randomness of its own; the output is a pure
 * function of the item and the seed. When the synthesizer's WAV is already 16-bit mono at the
 * target rate and no tempo change is asked for (flite's 16 kHz voices), sox would copy the
 * samples unchanged (a test checks this), so that run is skipped to save a process per item.
 */
export async function synthesize(item: AudioItem, cfg: DataBuildConfig, tools: Record<ToolName, string>, tmpDir: string): Promise<Int16Array> {
  const tmp = join(tmpDir, `${item.id}.synth.wav`);
  try {
    if (item.voice.engine === 'flite') {
      await run(tools.flite, ['-voice', item.voice.name, '-t', item.text, '-o', tmp], cfg.env);
    } else {
      await run(tools['espeak-ng'], ['-v', item.voice.name, '-w', tmp, item.text], cfg.env);
    }
    const direct = passThrough(readFileSync(tmp), item, cfg);
    if (direct) return finish(direct, item, cfg);
    const effects = item.tempo !== undefined && item.tempo !== 1 ? ['tempo', '-s', String(item.tempo)] : [];
    const raw = await run(tools.sox, ['-D', '-V1', tmp, '-t', 'raw', '-r', String(cfg.sampleRate), '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-', ...effects], cfg.env);
    return finish(s16leToSamples(raw), item, cfg);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The synthesizer's samples if they need no conversion at all, else undefined. */
function passThrough(wav: Buffer, item: AudioItem, cfg: DataBuildConfig): Int16Array | undefined {
  if (item.tempo !== undefined && item.tempo !== 1) return undefined;
  const w = readPcm16Wav(wav);
  return w.sampleRate === cfg.sampleRate && w.channels === 1 ? w.samples : undefined;
}

function finish(samples: Int16Array, item: AudioItem, cfg: DataBuildConfig): Int16Array {
  if (samples.length < cfg.sampleRate / 10) {
    throw new SynthesisError(`${item.voice.id} produced ${samples.length} samples for "${item.text}" (item ${item.id}); check that the voice is installed (flite -lv, espeak-ng --voices=en)`);
  }
  if (item.snrDb === undefined) return samples;
  return addNoise(samples, item.snrDb, item.noise ?? 'white', prngFor(cfg.seed, `noise/${item.id}`));
}
