import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex as sha } from '@zipper/common/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildData,
  DEV_OTHER_VOICES,
  parseJsonl,
  power,
  readPcm16Wav,
  requireTools,
  resolveDataBuildConfig,
  run,
  SEEN_VOICES,
  synthesize,
  TTS_VOICE,
  UNSEEN_VOICES,
  type AudioItem,
  type BuildResult,
  type ManifestRecord,
} from '../src/data/index.js';

// Two tiny builds with the same seed (A and B), then A is damaged and resumed.
const root = mkdtempSync(join(tmpdir(), 'zipper-data-'));
const dirA = join(root, 'a');
const dirB = join(root, 'b');
const SEED = 7;
let a: BuildResult;

const read = (dir: string, f: string) => readFileSync(join(dir, f));
const manifest = (dir: string, f: string): ManifestRecord[] => parseJsonl(read(dir, f).toString());
const jsonl = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl') && !f.startsWith('.'))
    .sort();
/** Every file of a build (relative path -> sha256), audio included. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name.startsWith('.')) continue;
    const p = join(e.parentPath, e.name);
    out.set(p.slice(dir.length + 1), sha(readFileSync(p)));
  }
  return out;
}

beforeAll(async () => {
  a = await buildData({ out: dirA, size: 'tiny', seed: SEED });
  await buildData({ out: dirB, size: 'tiny', seed: SEED });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('zipper data build --size tiny', () => {
  it('is deterministic: same seed, same manifests and byte-identical audio', () => {
    const ta = tree(dirA);
    const tb = tree(dirB);
    expect(ta.size).toBe(tb.size);
    const wavs = [...ta.keys()].filter((k) => k.endsWith('.wav'));
    expect(wavs.length).toBe(11 + 2 * 13 + 3 + 3 + 5);
    for (const [k, v] of ta) expect(tb.get(k), k).toBe(v);
    expect(a.synthesized).toBe(wavs.length);
  });

  it('manifests are consistent with the audio files', () => {
    for (const f of jsonl(dirA)) {
      for (const r of manifest(dirA, f)) {
        const bytes = read(dirA, r.path);
        expect(sha(bytes)).toBe(r.sha256);
        const w = readPcm16Wav(bytes);
        expect(w.sampleRate).toBe(16000);
        expect(r.sampleRate).toBe(16000);
        expect(w.samples.length).toBe(r.samples);
        expect(r.duration).toBeCloseTo(r.samples / 16000, 9);
        expect(r.duration).toBeGreaterThan(0.5);
        expect(Object.keys(r).slice(0, 2)).toEqual(f === 'speech-only.jsonl' ? ['id', 'textSha256'] : ['id', 'text']);
      }
    }
  });

  it('no sentence is shared between any two splits; speech-only keeps only hashes', () => {
    const splits = new Map<string, Set<string>>();
    splits.set('text-only', new Set(read(dirA, 'text-only.txt').toString().trim().split('\n').map(sha)));
    const so = manifest(dirA, 'speech-only.jsonl');
    expect(so.every((r) => r.text === undefined && /^[0-9a-f]{64}$/.test(r.textSha256!))).toBe(true);
    splits.set('speech-only', new Set(so.map((r) => r.textSha256!)));
    for (const s of ['aligned-asr.100pct', 'dev', 'test-clean', 'test-other'])
      splits.set(s, new Set(manifest(dirA, `${s}.jsonl`).map((r) => sha(r.text!))));
    const tts = new Set(manifest(dirA, 'aligned-tts.100pct.jsonl').map((r) => sha(r.text!)));
    expect(tts).toEqual(splits.get('aligned-asr.100pct')); // same sentences, two renderings
    const names = [...splits.keys()];
    let total = 0;
    for (const s of splits.values()) total += s.size;
    const union = new Set([...splits.values()].flatMap((s) => [...s]));
    expect(union.size).toBe(total); // pairwise disjoint
    expect(splits.get('speech-only')!.size).toBe(11);
    expect(splits.get('text-only')!.size).toBe(a.summary.corpusSentences - 11 - 13 - 3 - 3 - 5);
    expect(names).toHaveLength(6);
  });

  it('aligned subsets are nested: 1% within 10% within 100%, TTS all in the target voice', () => {
    for (const kind of ['asr', 'tts']) {
      const [p1, p10, p100] = [1, 10, 100].map((p) => manifest(dirA, `aligned-${kind}.${p}pct.jsonl`));
      expect([p1!.length, p10!.length, p100!.length]).toEqual([1, 2, 13]); // ceil(1% of 13), ceil(10% of 13)
      const ids100 = new Set(p100!.map((r) => r.id));
      const ids10 = new Set(p10!.map((r) => r.id));
      expect(p10!.every((r) => ids100.has(r.id))).toBe(true);
      expect(p1!.every((r) => ids10.has(r.id))).toBe(true);
    }
    expect(new Set(manifest(dirA, 'aligned-tts.100pct.jsonl').map((r) => r.voice))).toEqual(new Set([TTS_VOICE.id]));
    expect(manifest(dirA, 'aligned-asr.100pct.jsonl').some((r) => r.voice === TTS_VOICE.id)).toBe(false);
  });

  it('test-other uses only unseen voices, with tempo and noise in range; test-clean only seen voices', () => {
    const seen = new Set(SEEN_VOICES.map((v) => v.id));
    const unseen = new Set(UNSEEN_VOICES.map((v) => v.id));
    const training = ['speech-only.jsonl', 'aligned-asr.100pct.jsonl', 'aligned-tts.100pct.jsonl', 'dev.jsonl'].flatMap((f) =>
      manifest(dirA, f).map((r) => r.voice),
    );
    expect(training.every((v) => seen.has(v))).toBe(true);
    expect(manifest(dirA, 'test-clean.jsonl').every((r) => seen.has(r.voice))).toBe(true);
    const other = manifest(dirA, 'test-other.jsonl');
    expect(other.every((r) => unseen.has(r.voice) && !training.includes(r.voice))).toBe(true);
    for (const r of other) {
      expect(r.tempo).toBeGreaterThanOrEqual(0.85);
      expect(r.tempo).toBeLessThanOrEqual(1.15);
      expect(r.snrDb).toBeGreaterThanOrEqual(5);
      expect(r.snrDb).toBeLessThanOrEqual(15);
    }
  });

  it('test-other noise is at the recorded SNR (clean re-render vs stored file)', async () => {
    const cfg = resolveDataBuildConfig({ out: dirA, seed: SEED });
    const tools = requireTools(['flite', 'espeak-ng', 'sox']);
    for (const r of manifest(dirA, 'test-other.jsonl').slice(0, 2)) {
      const voice = UNSEEN_VOICES.find((v) => v.id === r.voice)!;
      const item: AudioItem = { id: r.id, split: 'test-other', text: r.text!, voice, path: r.path, tempo: r.tempo! };
      const clean = await synthesize(item, cfg, tools, root);
      const noisy = readPcm16Wav(read(dirA, r.path)).samples;
      expect(noisy.length).toBe(clean.length);
      const diff = new Float64Array(clean.length);
      for (let i = 0; i < clean.length; i++) diff[i] = noisy[i]! - clean[i]!;
      expect(10 * Math.log10(power(clean) / power(diff))).toBeCloseTo(r.snrDb!, 1);
    }
  });

  it('flite output needs no sox conversion: sox at 16 kHz returns the same samples', async () => {
    const tools = requireTools(['flite', 'sox']);
    const wav = join(root, 'slt.wav');
    await run(tools.flite, ['-voice', 'slt', '-t', 'seven eleven thirteen', '-o', wav], process.env);
    const direct = readPcm16Wav(readFileSync(wav));
    const viaSox = await run(
      tools.sox,
      ['-D', '-V1', wav, '-t', 'raw', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-'],
      process.env,
    );
    expect(direct.sampleRate).toBe(16000);
    expect(Buffer.from(direct.samples.buffer).equals(viaSox)).toBe(true);
  });

  it('the data README lists counts, hours, voices and the split rule', () => {
    const md = read(dirA, 'README.md').toString();
    expect(md).toMatch(/\| speech-only\.jsonl \| 11 \| 0\.\d{3} \|/);
    expect(md).toMatch(/TTS target voice: flite\/slt/);
    expect(md).toMatch(/## Split rule/);
    for (const v of UNSEEN_VOICES) expect(md).toContain(v.id);
  });

  it('resumes: only missing or corrupted files are synthesized again, output unchanged', async () => {
    const before = tree(dirB);
    const dev = manifest(dirA, 'dev.jsonl');
    rmSync(join(dirA, dev[0]!.path));
    const corrupt = join(dirA, dev[1]!.path);
    const bytes = readFileSync(corrupt);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(corrupt, bytes);
    const r = await buildData({ out: dirA, size: 'tiny', seed: SEED });
    expect(r.synthesized).toBe(2);
    expect(r.reused).toBe(a.synthesized - 2);
    const after = tree(dirA);
    for (const [k, v] of before) expect(after.get(k), k).toBe(v);
  });

  /**
   * Builds `dirB` again with `flags` in a copy named `name` (with its journal: the base audio is
   * reused): `added` new files synthesized, every file of the base but build.json and README.md
   * byte-identical, build.json's manifests the base's followed by `added` more.
   */
  const buildAgain = async (name: string, flags: Partial<Parameters<typeof buildData>[0]>, synthesized: number, added: string[]) => {
    const dir = join(root, name);
    cpSync(dirB, dir, { recursive: true });
    const base = tree(dirB);
    const r = await buildData({ out: dir, size: 'tiny', seed: SEED, ...flags });
    expect(r.synthesized).toBe(synthesized);
    expect(r.reused).toBe(a.synthesized);
    const after = tree(dir);
    for (const [k, v] of base) if (k !== 'build.json' && k !== 'README.md') expect(after.get(k), k).toBe(v);
    const info = JSON.parse(read(dir, 'build.json').toString());
    expect(info.manifests.slice(0, -added.length)).toEqual(JSON.parse(read(dirB, 'build.json').toString()).manifests);
    expect(jsonl(dir)).toEqual([...jsonl(dirB), ...added].sort());
    return { dir, info };
  };

  it('--noisy adds aligned-noisy and dev-noisy (same sentences and voices, with effects) and leaves every other file as it was', async () => {
    const added = ['aligned-noisy.1pct.jsonl', 'aligned-noisy.10pct.jsonl', 'aligned-noisy.100pct.jsonl', 'dev-noisy.jsonl'];
    const { dir: dirC, info } = await buildAgain('c', { noisy: true }, 13 + 3, added);
    expect(info.noisy).toBe(true);
    for (const [noisy, clean] of [
      ...[1, 10, 100].map((p) => [`aligned-noisy.${p}pct.jsonl`, `aligned-asr.${p}pct.jsonl`]),
      ['dev-noisy.jsonl', 'dev.jsonl'],
    ] as const) {
      const n = manifest(dirC, noisy);
      const c = manifest(dirC, clean);
      expect(n.map((x) => [x.text, x.voice])).toEqual(c.map((x) => [x.text, x.voice]));
      for (const x of n) {
        expect(x.tempo).toBeGreaterThanOrEqual(0.85);
        expect(x.tempo).toBeLessThanOrEqual(1.15);
        expect(x.snrDb).toBeGreaterThanOrEqual(5);
        expect(x.snrDb).toBeLessThanOrEqual(15);
      }
      expect(n.some((x, i) => x.samples !== c[i]!.samples)).toBe(true); // the tempo changed the lengths
    }
    expect(read(dirC, 'README.md').toString()).toContain('--noisy');
  });

  it('--tts-voice-sets adds dev-tts-voice and test-clean-tts-voice (same sentences, all by the TTS voice) and leaves every other file as it was', async () => {
    const { dir: dirD, info } = await buildAgain('d', { ttsVoiceSets: true }, 3 + 3, ['dev-tts-voice.jsonl', 'test-clean-tts-voice.jsonl']);
    expect(info.ttsVoiceSets).toBe(true);
    expect(info.noisy).toBeUndefined();
    for (const [voiced, source] of [
      ['dev-tts-voice.jsonl', 'dev.jsonl'],
      ['test-clean-tts-voice.jsonl', 'test-clean.jsonl'],
    ] as const) {
      const v = manifest(dirD, voiced);
      const s = manifest(dirD, source);
      expect(v.map((x) => x.text)).toEqual(s.map((x) => x.text));
      expect(new Set(v.map((x) => x.voice))).toEqual(new Set([TTS_VOICE.id]));
      expect(v.every((x) => x.tempo === undefined && x.samples > 0)).toBe(true);
      // where the source item is in the TTS voice already, the same sentence gives the same audio
      s.forEach((x, i) => {
        if (x.voice === TTS_VOICE.id) expect(v[i]!.sha256).toBe(x.sha256);
      });
    }
    expect(read(dirD, 'README.md').toString()).toContain('--tts-voice-sets');
  });

  it('--dev-other adds dev-other (the dev sentences, by voices no other split uses, with effects) and leaves every other file as it was', async () => {
    const { dir: dirE, info } = await buildAgain('e', { devOther: true }, 3, ['dev-other.jsonl']);
    expect(info.devOther).toBe(true);
    expect(info.ttsVoiceSets).toBeUndefined();
    const other = manifest(dirE, 'dev-other.jsonl');
    const dev = manifest(dirE, 'dev.jsonl');
    expect(other.map((x) => x.text)).toEqual(dev.map((x) => x.text));
    const elsewhere = new Set([...SEEN_VOICES, ...UNSEEN_VOICES].map((v) => v.id));
    for (const x of other) {
      expect(DEV_OTHER_VOICES.map((v) => v.id)).toContain(x.voice);
      expect(elsewhere.has(x.voice)).toBe(false);
      expect(x.tempo).toBeGreaterThanOrEqual(0.85);
      expect(x.tempo).toBeLessThanOrEqual(1.15);
      expect(x.snrDb).toBeGreaterThanOrEqual(5);
      expect(x.snrDb).toBeLessThanOrEqual(15);
    }
    expect(new Set(other.map((x) => x.voice)).size).toBe(Math.min(other.length, DEV_OTHER_VOICES.length)); // dealt round-robin
    const md = read(dirE, 'README.md').toString();
    expect(md).toContain('--dev-other');
    for (const v of DEV_OTHER_VOICES) expect(md).toContain(v.id);
  });
});
