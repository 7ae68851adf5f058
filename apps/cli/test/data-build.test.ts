import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex as sha } from '@zipper/common/node';
import { MissingSplitError } from '@zipper/data';
import { DataDir } from '@zipper/data/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildData,
  chooseFreshDev,
  DEV_OTHER_VOICES,
  freshDevRawSentences,
  FreshDevError,
  loadCorpus,
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

  /** The fresh-dev fixture's new sentences, normalized: in no split of the corpus, 8..24 words. */
  const NEW = [
    'the quantum toaster refused to brown the bagel before midnight on tuesday',
    'the three robots counted two hundred fifty pebbles along the shore of the quiet lake',
    'a purple giraffe wrote a bold letter to the city council about parking',
    'seven clockwork owls debated whether the moon tastes of lemon sherbet',
    'nobody expected the lighthouse keeper to win the regional yodelling contest twice',
    "my neighbour's cactus has started collecting stamps from forgotten island nations",
  ];
  /** Sentences of the base build (text-only, dev, test-clean) with 8..24 words, written as raw text: in the corpus. */
  const seenSentences = () => {
    const words = (x: string) => x.split(' ').length;
    const textOnly = read(dirB, 'text-only.txt')
      .toString()
      .trim()
      .split('\n')
      .filter((x) => words(x) >= 8 && words(x) <= 24);
    return [textOnly[0]!, textOnly[1]!, manifest(dirB, 'dev.jsonl')[0]!.text!, manifest(dirB, 'test-clean.jsonl')[0]!.text!];
  };
  const raw = (normalized: string) => `${normalized[0]!.toUpperCase()}${normalized.slice(1)}.`;
  /**
   * A fortune-mod cookie file: the 6 new sentences (one with an attribution line that must be cut,
   * one with backspace overstrikes, two joined over lines), a repeat of one in other case, two too
   * short for audio, one code-like, and 4 sentences of the corpus.
   */
  const fortuneFixture = () =>
    [
      'The quantum toaster refused to brown the bagel before midnight on Tuesday.\n\t\t-- Professor Emeritus of Applied Breakfast Studies at the University of Nowhere',
      'The 3 robots counted 250 pebbles along the shore of the quiet lake.',
      'A purple giraffe wrote a _\bb_\bo_\bl_\bd letter to the city council about parking.',
      'Seven clockwork owls debated whether\nthe moon tastes of lemon sherbet. Nobody expected the lighthouse\nkeeper to win the regional yodelling contest twice.',
      "My neighbour's cactus has started collecting stamps from forgotten island nations.",
      'THE QUANTUM TOASTER refused to brown the bagel before midnight on Tuesday!',
      'Too short to use. Far too brief for audio here.',
      'Send mail to root@localhost before the server melts down again tonight.',
      ...seenSentences().map(raw),
    ].join('\n%\n') + '\n%\n';
  const fixture = (name: string, text: string) => {
    const file = join(root, name);
    writeFileSync(file, text);
    return file;
  };

  it('--fresh-dev FILE parses a fortune file as the corpus does, plain text line by line, and keeps only new sentences in range', () => {
    const corpus = loadCorpus(process.env).sentences;
    const inCorpus = new Set(corpus);
    expect(NEW.filter((x) => inCorpus.has(x))).toEqual([]);
    const seen = seenSentences();
    expect(seen.every((x) => inCorpus.has(x))).toBe(true);
    const cookie = fixture('fresh.cookie', fortuneFixture());
    // the raw sentences: attribution cut, overstrikes removed, lines joined, then split
    const rawCookie = freshDevRawSentences(readFileSync(cookie, 'utf8'));
    expect(rawCookie.slice(0, 7)).toEqual([
      'The quantum toaster refused to brown the bagel before midnight on Tuesday.',
      'The 3 robots counted 250 pebbles along the shore of the quiet lake.',
      'A purple giraffe wrote a bold letter to the city council about parking.',
      'Seven clockwork owls debated whether the moon tastes of lemon sherbet.',
      'Nobody expected the lighthouse keeper to win the regional yodelling contest twice.',
      "My neighbour's cactus has started collecting stamps from forgotten island nations.",
      'THE QUANTUM TOASTER refused to brown the bagel before midnight on Tuesday!',
    ]);
    expect(rawCookie).toHaveLength(7 + 2 + 1 + 4);
    const cfg = resolveDataBuildConfig({ out: root, seed: SEED, freshDev: cookie });
    const f = chooseFreshDev(corpus, cfg);
    expect(f.info).toEqual({ file: 'fresh.cookie', sha256: sha(readFileSync(cookie)), sentences: 6, chosen: 3 });
    expect(f.sentences).toHaveLength(3);
    expect(new Set(f.sentences).size).toBe(3);
    expect(f.sentences.every((x) => NEW.includes(x))).toBe(true);
    // plain text: the same sentences, several on a line, one split over none: the same choice
    const plain = fixture(
      'fresh.txt',
      `${NEW.slice(0, 3).map(raw).join(' ')}\n${NEW.slice(3).map(raw).join('\n')}\n${seen.map(raw).join(' ')}\nToo short to use.\n`,
    );
    expect(freshDevRawSentences(readFileSync(plain, 'utf8'))).toHaveLength(6 + 4 + 1);
    const p = chooseFreshDev(corpus, { ...cfg, freshDev: plain });
    expect(p.sentences).toEqual(f.sentences); // the usable set is sorted before the seeded shuffle
    expect(p.info).toEqual({ file: 'fresh.txt', sha256: sha(readFileSync(plain)), sentences: 6, chosen: 3 });
    // another seed chooses by another shuffle of the same 6
    const other = chooseFreshDev(corpus, { ...cfg, seed: SEED + 1 });
    expect(other.info.sentences).toBe(6);
    expect(other.sentences.every((x) => NEW.includes(x))).toBe(true);
  });

  it('--fresh-dev with too few usable sentences is a FreshDevError naming both counts, before any work', async () => {
    const few = fixture(
      'few.cookie',
      [raw(NEW[0]!), raw(NEW[1]!), raw(NEW[1]!), 'Too short to use.', ...seenSentences().map(raw)].join('\n%\n'),
    );
    const out = join(root, 'few');
    const build = buildData({ out, size: 'tiny', seed: SEED, freshDev: few });
    await expect(build).rejects.toBeInstanceOf(FreshDevError);
    await expect(buildData({ out, size: 'tiny', seed: SEED, freshDev: few })).rejects.toThrow(
      /few\.cookie: 2 usable sentences .*, 3 needed \(dev's count\)/,
    );
    await expect(buildData({ out, size: 'tiny', seed: SEED, freshDev: join(root, 'missing.txt') })).rejects.toThrow(/no such file/);
    expect(() => readdirSync(out)).toThrow(); // nothing written
  });

  it('--fresh-dev adds fresh-dev and fresh-dev-tts-voice (new sentences, seen voices, then the TTS voice), leaves every other file as it was, and resumes', async () => {
    const cookie = fixture('fresh.cookie', fortuneFixture());
    const added = ['fresh-dev.jsonl', 'fresh-dev-tts-voice.jsonl'];
    const { dir: dirF, info } = await buildAgain('f', { freshDev: cookie }, 2 * 3, added);
    expect(info.freshDev).toEqual({ file: 'fresh.cookie', sha256: sha(readFileSync(cookie)), sentences: 6, chosen: 3 });
    expect(info.manifests.slice(-2).map((m: { file: string; utterances: number }) => [m.file, m.utterances])).toEqual([
      ['fresh-dev.jsonl', 3],
      ['fresh-dev-tts-voice.jsonl', 3],
    ]);
    const fresh = manifest(dirF, 'fresh-dev.jsonl');
    const voiced = manifest(dirF, 'fresh-dev-tts-voice.jsonl');
    expect(fresh.map((x) => x.id)).toEqual(['fresh-dev-000000', 'fresh-dev-000001', 'fresh-dev-000002']);
    expect(voiced.map((x) => x.text)).toEqual(fresh.map((x) => x.text));
    expect(fresh.map((x) => x.text)).toEqual(
      chooseFreshDev(loadCorpus(process.env).sentences, resolveDataBuildConfig({ out: dirF, seed: SEED, freshDev: cookie })).sentences,
    );
    expect(new Set(voiced.map((x) => x.voice))).toEqual(new Set([TTS_VOICE.id]));
    const seen = SEEN_VOICES.map((v) => v.id);
    expect(fresh.every((x) => seen.includes(x.voice))).toBe(true);
    expect(new Set(fresh.map((x) => x.voice)).size).toBe(3); // dealt round-robin
    expect([...fresh, ...voiced].every((x) => x.tempo === undefined && x.samples > 0)).toBe(true);
    const corpus = new Set(loadCorpus(process.env).sentences);
    expect(fresh.filter((x) => corpus.has(x.text!))).toEqual([]);
    expect(fresh.every((x) => NEW.includes(x.text!))).toBe(true);
    const md = read(dirF, 'README.md').toString();
    expect(md).toContain(`--size tiny --seed ${SEED} --fresh-dev fresh.cookie`);
    expect(md).toContain(info.freshDev.sha256);
    const data = DataDir.open(dirF);
    expect(data.records('fresh-dev-tts-voice').map((r) => r.sha256)).toEqual(voiced.map((x) => x.sha256));

    const freshBytes = read(dirF, 'fresh-dev.jsonl');
    // rebuilt without the flag, as for the other sets: the base build's build.json, the split refused by name
    const without = await buildData({ out: dirF, size: 'tiny', seed: SEED });
    expect([without.synthesized, without.reused]).toEqual([0, a.synthesized]);
    expect(read(dirF, 'build.json').equals(read(dirB, 'build.json'))).toBe(true);
    expect(() => DataDir.open(dirF).records('fresh-dev')).toThrow(MissingSplitError);
    expect(() => DataDir.open(dirF).records('fresh-dev')).toThrow(/has no fresh-dev split: it was built without --fresh-dev/);
    // and with it again: the journal's audio, nothing synthesized
    const again = await buildData({ out: dirF, size: 'tiny', seed: SEED, freshDev: cookie });
    expect([again.synthesized, again.reused]).toEqual([0, a.synthesized + 2 * 3]);
    expect(read(dirF, 'fresh-dev.jsonl').equals(freshBytes)).toBe(true);
    expect(read(dirF, 'build.json').toString()).toContain('"freshDev"');
  });
});
