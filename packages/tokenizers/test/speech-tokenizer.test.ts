import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, ZipperError } from '@zipper/common';
import { sha256Hex } from '@zipper/common/node';
import { describe, expect, it } from 'vitest';
import {
  CENTROIDS_FILE,
  SPEECH_TOKENIZER_JSON,
  SpeechTokenizer,
  TokenIdError,
  TokenizerConfigError,
  TokenizerError,
  TokenizerFormatError,
  UnitLengthError,
  WavSampleRateError,
  griffinLim,
  invertMelFrame,
  loadSpeechTokenizer,
  logMel,
  melFilterbank,
  melPseudoInverse,
  resample,
  resolveLogMelConfig,
  saveSpeechTokenizer,
  deserializeSpeechTokenizer,
  serializeSpeechTokenizer,
  stft,
} from '@zipper/tokenizers';
import { speechLike } from './tone-helpers.js';

const clips = [16007, 12011, 14009, 13001, 15013].map((n, i) => speechLike(n, i + 1));
const train = () =>
  SpeechTokenizer.train(clips, {
    features: { nMels: 40 },
    units: { numUnits: 31, stack: 2 },
    vocoder: { griffinLimIterations: 32 },
    seed: 5,
    iterations: 10,
  });

describe('SpeechTokenizer', () => {
  const tok = train();

  it('trains deterministically from a seed; unit rate follows hop and stack', () => {
    expect(Array.from(train().centroids)).toEqual(Array.from(tok.centroids));
    expect(tok.unitRate).toBe(50);
    expect(tok.dim).toBe(80);
    const h = tok.training!.meanSquaredDistance;
    expect(h.at(-1)!).toBeLessThan(h[0]!);
  });

  it('encode gives ceil((1 + floor(n / hop)) / stack) ids in [0, K)', () => {
    const x = speechLike(9001, 99);
    const ids = tok.encode(x);
    expect(ids.length).toBe(Math.ceil((1 + Math.floor(9001 / 160)) / 2));
    for (const id of ids) expect(id).toBeLessThan(31);
    expect(new Set(ids).size).toBeGreaterThan(3);
  });

  it("audio -> units -> audio keeps the length within one unit and resynthesises the units' features", () => {
    const x = speechLike(11003, 77);
    const ids = tok.encode(x);
    const y = tok.decode(ids);
    expect(Math.abs(y.length - x.length)).toBeLessThanOrEqual(tok.samplesPerUnit);
    expect(tok.decode(ids, { length: x.length }).length).toBe(x.length);
    // the log-mel of the resynthesis vs the log-mel the units stand for
    const target = tok.unitsToLogMel(ids);
    const got = logMel(y, tok.features);
    const T = Math.min(got.frames, target.frames) - 1;
    const M = tok.features.nMels;
    const floor = Math.log(tok.features.logFloor);
    let err = 0;
    let errShifted = 0;
    let count = 0;
    for (let t = 1; t < T; t++) {
      for (let m = 0; m < M; m++) {
        const want = target.data[t * M + m]!;
        if (want < floor + 4) continue; // skip near-silent cells
        err += Math.abs(got.data[t * M + m]! - want);
        errShifted += Math.abs(got.data[((t + 17) % T) * M + m]! - want); // control: misaligned frames
        count++;
      }
    }
    expect(count).toBeGreaterThan(200);
    expect(err / count).toBeLessThan(0.3); // natural-log units (measured 0.08)
    expect(err / count).toBeLessThan(0.1 * (errShifted / count));
    // and units of the resynthesis mostly equal the input units
    const again = tok.encode(y);
    let same = 0;
    for (let u = 0; u < Math.min(again.length, ids.length); u++) if (again[u] === ids[u]) same++;
    expect(same / ids.length).toBeGreaterThan(0.9);
  });

  it('downmixes and resamples: stereo 44.1 kHz audio encodes like the 16 kHz original', () => {
    const x = clips[0]!;
    const x44 = resample(x, 16000, 44100);
    const ids = tok.encode(x);
    const ids44 = tok.encodeAudio({ sampleRate: 44100, channels: [x44, x44.map((v) => v * 0.5)], encoding: 'float32' });
    // the downmix is 0.75 x: a -0.58 nat shift of every log-mel value; most units survive it
    const ref = tok.encodeAudio({ sampleRate: 16000, channels: [x.map((v) => v * 0.75)], encoding: 'float32' });
    expect(ids44.length).toBe(ids.length);
    let same = 0;
    for (let u = 0; u < ids.length; u++) if (ids44[u] === ref[u]) same++;
    expect(same / ids.length).toBeGreaterThan(0.95);
  });

  it('saves to a directory (JSON + safetensors) and loads back identically', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zipper-units-'));
    saveSpeechTokenizer(tok, dir);
    const back = loadSpeechTokenizer(dir);
    expect(Array.from(back.centroids)).toEqual(Array.from(tok.centroids));
    expect(back.features).toEqual(tok.features);
    expect(back.units).toEqual(tok.units);
    expect(back.vocoder).toEqual(tok.vocoder);
    expect(Array.from(back.encode(clips[1]!))).toEqual(Array.from(tok.encode(clips[1]!)));
    const st = decodeSafetensors(readFileSync(join(dir, CENTROIDS_FILE)));
    expect(st.tensors.get('centroids')!.shape).toEqual([31, 80]);
    expect(st.metadata).toEqual({ format: 'zipper-speech-units' });
    const manifest = JSON.parse(readFileSync(join(dir, SPEECH_TOKENIZER_JSON), 'utf8'));
    expect([manifest.format, manifest.version, manifest.unitRate]).toEqual(['zipper-speech-units', 1, 50]);

    writeFileSync(join(dir, SPEECH_TOKENIZER_JSON), JSON.stringify({ ...manifest, version: 99 }));
    expect(() => loadSpeechTokenizer(dir)).toThrow(TokenizerFormatError);
    writeFileSync(join(dir, SPEECH_TOKENIZER_JSON), JSON.stringify({ ...manifest, units: { numUnits: 30, stack: 2 } }));
    expect(() => loadSpeechTokenizer(dir)).toThrow(/centroids hold 2480 values, expected .* = 2400/);
    expect(() => loadSpeechTokenizer(join(dir, 'missing'))).toThrow(/zipper units train/);

    // a damaged or non-float centroid file is a TokenizerFormatError naming the file
    writeFileSync(join(dir, SPEECH_TOKENIZER_JSON), JSON.stringify(manifest));
    const good = readFileSync(join(dir, CENTROIDS_FILE));
    writeFileSync(join(dir, CENTROIDS_FILE), good.subarray(0, good.length - 4));
    expect(() => loadSpeechTokenizer(dir)).toThrow(TokenizerFormatError);
    expect(() => loadSpeechTokenizer(dir)).toThrow(/centroids\.safetensors: tensor "centroids": data_offsets .* out of range/);
    writeFileSync(join(dir, CENTROIDS_FILE), encodeSafetensors({ centroids: { shape: [31, 80], data: new Int32Array(31 * 80) } }));
    expect(() => loadSpeechTokenizer(dir)).toThrow(/stored as I32/);
  });

  it('the committed default tokenizer re-serializes to its exact bytes (the shared safetensors writer keeps the asset)', () => {
    const asset = new URL('../../speech/assets/speech-units-default/', import.meta.url).pathname;
    const bytes = readFileSync(join(asset, CENTROIDS_FILE));
    // the sha256 its README quotes for a bit-identical rebuild
    expect(sha256Hex(bytes)).toBe('ec62ec78a88d5bf9e4f9077724d9afba9b10b596c2f505e67d128afff5c4daea');
    const { json, centroids } = serializeSpeechTokenizer(loadSpeechTokenizer(asset));
    expect(Buffer.from(centroids).equals(bytes)).toBe(true);
    expect(json).toBe(readFileSync(join(asset, SPEECH_TOKENIZER_JSON), 'utf8'));
    // a vocoder phaseInit other than the default is written and read back
    const loaded = loadSpeechTokenizer(asset);
    const pghi = new SpeechTokenizer({ ...loaded, vocoder: { ...loaded.vocoder, phaseInit: 'pghi' }, training: loaded.training });
    const written = serializeSpeechTokenizer(pghi);
    expect(JSON.parse(written.json).vocoder.phaseInit).toBe('pghi');
    expect(deserializeSpeechTokenizer(written.json, written.centroids).vocoder).toEqual(pghi.vocoder);
  });

  it('decode bounds `length` by what the units can stand for', () => {
    const ids = [1, 2, 3];
    const max = (ids.length + 1) * tok.samplesPerUnit;
    expect(tok.maxDecodeLength(ids.length)).toBe(max);
    expect(tok.decode(ids, { length: max }).length).toBe(max);
    for (const bad of [max + 1, 3e8, 1e12, -1, 2.5, Number.NaN]) {
      expect(() => tok.decode(ids, { length: bad })).toThrow(UnitLengthError);
    }
    expect(() => tok.decode(ids, { length: 1e12 })).toThrow(`3 units at ${tok.samplesPerUnit} samples each stand for at most ${max}`);
    expect(() => tok.decode([], { length: 1e12 })).toThrow(TokenizerError);
    expect(tok.decode([], { length: 5 }).length).toBe(5);
  });

  it('refuses audio whose sample rate no WAV can honestly have', () => {
    const x = speechLike(1600, 3);
    for (const sampleRate of [1, 999, 384_001]) {
      expect(() => tok.encodeAudio({ sampleRate, channels: [x], encoding: 'float32' })).toThrow(WavSampleRateError);
    }
    expect(() => tok.encodeAudio({ sampleRate: 1, channels: [x], encoding: 'float32' })).toThrow(ZipperError);
    expect(tok.encodeAudio({ sampleRate: 1000, channels: [x], encoding: 'float32' }).length).toBeGreaterThan(0);
  });

  it('rejects unit ids outside the codebook', () => {
    expect(() => tok.decode([1, 31])).toThrow(TokenIdError);
    expect(() => tok.decode([1, -1])).toThrow(/outside \[0, 31\)/);
    expect(() => new SpeechTokenizer({ features: {}, units: { numUnits: 3 }, centroids: new Float32Array(5) })).toThrow(
      TokenizerConfigError,
    );
  });
});

describe('vocoder pieces', () => {
  it('NNLS inversion is non-negative and fits the mel energies better than the clipped pseudo-inverse', () => {
    const c = resolveLogMelConfig({ nMels: 40 });
    const fb = melFilterbank(c);
    const pinv = melPseudoInverse(fb);
    const s = stft(speechLike(4001, 3), c);
    const t = 12;
    const F = fb.nBins;
    const power = new Float64Array(F).map((_, k) => s.re[t * F + k]! ** 2 + s.im[t * F + k]! ** 2);
    const mel = new Float64Array(40);
    for (let m = 0; m < 40; m++) for (let k = 0; k < F; k++) mel[m]! += fb.weights[m * F + k]! * power[k]!;
    const residual = (x: Float64Array) => {
      let r = 0;
      for (let m = 0; m < 40; m++) {
        let s2 = 0;
        for (let k = 0; k < F; k++) s2 += fb.weights[m * F + k]! * x[k]!;
        r += (s2 - mel[m]!) ** 2;
      }
      return Math.sqrt(r);
    };
    const scratch = { wty: new Float64Array(F), wx: new Float64Array(40), den: new Float64Array(F) };
    const xp = new Float64Array(F);
    const xn = new Float64Array(F);
    invertMelFrame(fb, pinv, mel, 0, 0, xp, 0, scratch);
    invertMelFrame(fb, pinv, mel, 0, 60, xn, 0, scratch);
    for (const v of xn) expect(v).toBeGreaterThanOrEqual(0);
    expect(residual(xn)).toBeLessThan(residual(xp));
    const norm = Math.hypot(...mel);
    expect(residual(xn) / norm).toBeLessThan(1e-3);
  });

  it('Griffin-Lim: more iterations give a spectrogram closer to the target (spectral convergence)', () => {
    const c = resolveLogMelConfig({ nFft: 256, winLength: 211, hopLength: 53 });
    const x = speechLike(5003, 11);
    const s = stft(x, c);
    const mag = new Float64Array(s.re.length).map((_, i) => Math.hypot(s.re[i]!, s.im[i]!));
    const length = (s.frames - 1) * c.hopLength;
    const sc = (iterations: number, momentum: number) => {
      const y = griffinLim(mag, s.frames, c, length, { iterations, momentum, seed: 1 });
      const r = stft(y, c);
      let num = 0;
      let den = 0;
      for (let i = 0; i < mag.length; i++) {
        num += (Math.hypot(r.re[i]!, r.im[i]!) - mag[i]!) ** 2;
        den += mag[i]! ** 2;
      }
      return Math.sqrt(num / den);
    };
    const s0 = sc(0, 0);
    const s8 = sc(8, 0);
    const s32 = sc(32, 0);
    const f32 = sc(32, 0.99);
    expect(s8).toBeLessThan(s0);
    expect(s32).toBeLessThan(s8);
    expect(f32).toBeLessThan(s32); // the fast (momentum) variant converges faster
    expect(f32).toBeLessThan(0.12);
    expect(sc(32, 0.99)).toBe(f32); // seeded: deterministic
  });
});
