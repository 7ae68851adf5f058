// The data contract on a real tiny build: every manifest reads and validates, counts equal
// build.json, and a malformed manifest is rejected with its file, line and field.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allManifestFiles, AudioMismatchError, buildArgs, buildHasSplit, buildName, buildRef, DataDirError, hasText, holdOut, ManifestError, MissingSplitError, manifestFileName, parseBuildInfo, parseManifestFileName, recordKindOf, splitFlag, SPLITS, type AudioSplit } from '@zipper/data';
import { sha256Hex } from '@zipper/common/node';
import { DataDir, readManifest } from '@zipper/data/node';
import { buildTinyData } from './tiny-build.js';

let dir = '';
beforeAll(() => {
  dir = buildTinyData();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DataDir on a tiny build', () => {
  it('reads every manifest of build.json with the counts, kinds and voices it states', () => {
    const data = DataDir.open(dir);
    expect(data.build.manifests.map((m) => m.file)).toEqual(allManifestFiles());
    for (const m of data.build.manifests) {
      const { split, fraction } = parseManifestFileName(m.file)!;
      const records = data.records(split as AudioSplit, fraction);
      expect(records.length).toBe(m.utterances);
      const read = data.manifest(split as AudioSplit, fraction); // the records and the sha256 of the bytes they came from
      expect([read.file, read.records, read.sha256]).toEqual([m.file, records, sha256Hex(readFileSync(path.join(dir, m.file)))]);
      expect([...new Set(records.map((r) => r.voice))].sort()).toEqual(m.voices);
      expect(records.every((r) => hasText(r))).toBe(split !== 'speech-only');
      const hours = records.reduce((s, r) => s + r.samples, 0) / data.build.sampleRate / 3600;
      expect(hours).toBeCloseTo(m.hours, 10);
    }
    expect(data.records('test-other').every((r) => r.tempo > 0 && (r.noise === 'white' || r.noise === 'pink'))).toBe(true);
    const text = data.textOnly();
    expect(text.length).toBe(data.build.textOnly.sentences);
    expect(data.buildSha256).toMatch(/^[0-9a-f]{64}$/);
    // aligned fractions are nested: 1% ⊂ 10% ⊂ 100%
    const ids = (f: number) => data.records('aligned-tts', f).map((r) => r.id);
    expect(ids(100).slice(0, ids(10).length)).toEqual(ids(10));
    expect(ids(10).slice(0, ids(1).length)).toEqual(ids(1));
    // a build made without --noisy: its noisy splits are named as missing for that reason
    expect(data.build.noisy).toBeUndefined();
    expect(() => data.records('dev-noisy')).toThrow(DataDirError);
    expect(() => data.manifest('aligned-noisy', 10)).toThrow(/has no aligned-noisy split: it was built without --noisy/);
    // likewise without --tts-voice-sets
    expect(data.build.ttsVoiceSets).toBeUndefined();
    expect(() => data.records('dev-tts-voice')).toThrow(/has no dev-tts-voice split: it was built without --tts-voice-sets/);
    expect(() => data.records('test-clean-tts-voice')).toThrow(DataDirError);
    // and without --dev-other
    expect(data.build.devOther).toBeUndefined();
    expect(() => data.records('dev-other')).toThrow(/has no dev-other split: it was built without --dev-other/);
    // and without --fresh-dev FILE
    expect(data.build.freshDev).toBeUndefined();
    expect(() => data.records('fresh-dev')).toThrow(/has no fresh-dev split: it was built without --fresh-dev/);
    expect(() => data.manifest('fresh-dev-tts-voice')).toThrow(MissingSplitError);
    // one typed error, naming the split and the flag that makes it (the CLI reports it as a usage error)
    const missing = (() => {
      try {
        data.manifest('test-clean-tts-voice');
      } catch (e) {
        return e;
      }
    })();
    expect(missing).toBeInstanceOf(MissingSplitError);
    expect({ ...(missing as MissingSplitError) }).toMatchObject({ dir: data.dir, split: 'test-clean-tts-voice', flag: '--tts-voice-sets' });
  });

  it('rejects a malformed manifest, naming file, line and field', () => {
    const bad = path.join(dir, 'bad');
    mkdirSync(bad);
    copyFileSync(path.join(dir, 'build.json'), path.join(bad, 'build.json'));
    const copy = (from: string, name: string, edit: (lines: string[]) => void) => {
      const lines = readFileSync(path.join(dir, from), 'utf8').trimEnd().split('\n');
      edit(lines);
      const file = path.join(bad, name);
      writeFileSync(file, lines.join('\n') + '\n');
      return file;
    };
    const expectError = (file: string, line: number, field: string | undefined, message: RegExp) => {
      let err: unknown;
      try {
        readManifest(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ManifestError);
      const m = err as ManifestError;
      expect({ file: m.file, line: m.line, field: m.field }).toEqual({ file, line, field });
      expect(m.message).toContain(`${file}:${line}`);
      expect(m.message).toMatch(message);
    };
    // a missing field on line 2
    let f = copy('dev.jsonl', 'dev.jsonl', (l) => {
      const o = JSON.parse(l[1]!);
      delete o.voice;
      l[1] = JSON.stringify(o);
    });
    expectError(f, 2, 'voice', /is missing/);
    f = copy('dev.jsonl', 'dev.jsonl', (l) => {
      l[2] = l[2]!.slice(0, 20); // torn JSON on line 3
    });
    expectError(f, 3, undefined, /not valid JSON/);
    // speech-only must not carry a transcript
    f = copy('speech-only.jsonl', 'speech-only.jsonl', (l) => {
      l[4] = JSON.stringify({ ...JSON.parse(l[4]!), text: 'a leaked transcript' });
    });
    expectError(f, 5, 'text', /must not be present in speech-only/);
    // a duplicate id, a bad noise kind, a sha256 that is not hex, duration inconsistent with samples
    f = copy('test-other.jsonl', 'test-other.jsonl', (l) => {
      l[3] = l[0]!;
    });
    expectError(f, 4, 'id', /repeats line 1/);
    f = copy('test-other.jsonl', 'test-other.jsonl', (l) => {
      l[1] = JSON.stringify({ ...JSON.parse(l[1]!), noise: 'brown' });
    });
    expectError(f, 2, 'noise', /"white" or "pink"/);
    f = copy('test-clean.jsonl', 'test-clean.jsonl', (l) => {
      l[0] = JSON.stringify({ ...JSON.parse(l[0]!), sha256: 'XYZ' });
    });
    expectError(f, 1, 'sha256', /64 lowercase hex/);
    f = copy('test-clean.jsonl', 'test-clean.jsonl', (l) => {
      l[2] = JSON.stringify({ ...JSON.parse(l[2]!), duration: 99 });
    });
    expectError(f, 3, 'duration', /samples \/ sampleRate/);
    f = copy('test-clean.jsonl', 'test-clean.jsonl', (l) => {
      l[1] = JSON.stringify({ ...JSON.parse(l[1]!), path: '../../etc/passwd' });
    });
    expectError(f, 2, 'path', /stay inside/);
    // DataDir.records goes through the same reader
    expect(() => DataDir.open(bad).records('test-clean')).toThrow(/test-clean\.jsonl:2 field "path"/);
  });

  it('checks audio against its record', () => {
    const data = DataDir.open(dir);
    const r = data.records('dev')[0]!;
    const wav = data.audio(r);
    expect(wav.sampleRate).toBe(r.sampleRate);
    expect(wav.channels[0]!.length).toBe(r.samples);
    const file = data.audioPath(r);
    copyFileSync(file, `${file}.orig`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(file, bytes);
    expect(() => data.audioBytes(r)).toThrow(AudioMismatchError);
    expect(() => data.audioBytes(r)).toThrow(/sha256 .* differs from its record dev-000000/);
    copyFileSync(`${file}.orig`, file);
  });
});

describe('splits and hold-out', () => {
  it('maps every split and fraction to its file and back', () => {
    expect(SPLITS).toContain('text-only');
    for (const file of allManifestFiles({ noisy: true })) {
      const p = parseManifestFileName(file)!;
      expect(manifestFileName(p.split, p.fraction)).toBe(file);
    }
    expect(allManifestFiles({ noisy: true }).slice(0, -4)).toEqual(allManifestFiles());
    expect(allManifestFiles({ noisy: true }).slice(-4)).toEqual(['aligned-noisy.1pct.jsonl', 'aligned-noisy.10pct.jsonl', 'aligned-noisy.100pct.jsonl', 'dev-noisy.jsonl']);
    expect(recordKindOf('aligned-noisy')).toBe('test-other'); // records with tempo, snrDb, noise
    expect(recordKindOf('dev-noisy')).toBe('test-other');
    expect(recordKindOf('dev')).toBe('transcribed');
    expect(() => manifestFileName('dev-noisy', 10)).toThrow(/has no fractions/);
    const both = allManifestFiles({ noisy: true, ttsVoiceSets: true });
    expect(both.slice(0, -2)).toEqual(allManifestFiles({ noisy: true }));
    expect(both.slice(-2)).toEqual(['dev-tts-voice.jsonl', 'test-clean-tts-voice.jsonl']);
    for (const file of both.slice(-2)) expect(manifestFileName(parseManifestFileName(file)!.split)).toBe(file);
    expect(splitFlag('dev-tts-voice')).toBe('--tts-voice-sets');
    expect(splitFlag('aligned-noisy')).toBe('--noisy');
    expect(splitFlag('test-clean')).toBeUndefined();
    expect(buildHasSplit({}, 'dev')).toBe(true);
    expect(buildHasSplit({}, 'dev-noisy')).toBe(false);
    expect(buildHasSplit({ noisy: true }, 'dev-noisy')).toBe(true);
    expect(buildHasSplit({ noisy: true }, 'dev-tts-voice')).toBe(false);
    expect(buildHasSplit({ ttsVoiceSets: true }, 'test-clean-tts-voice')).toBe(true);
    expect(recordKindOf('dev-tts-voice')).toBe('transcribed'); // no effects
    expect(recordKindOf('test-clean-tts-voice')).toBe('transcribed');
    const all = allManifestFiles({ noisy: true, ttsVoiceSets: true, devOther: true });
    expect(all).toEqual([...both, 'dev-other.jsonl']);
    expect(manifestFileName(parseManifestFileName('dev-other.jsonl')!.split)).toBe('dev-other.jsonl');
    expect(splitFlag('dev-other')).toBe('--dev-other');
    expect(buildHasSplit({ noisy: true, ttsVoiceSets: true }, 'dev-other')).toBe(false);
    expect(buildHasSplit({ devOther: true }, 'dev-other')).toBe(true);
    expect(buildHasSplit({ devOther: true }, 'dev-noisy')).toBe(false);
    expect(recordKindOf('dev-other')).toBe('test-other'); // tempo, snrDb, noise
    const fresh = allManifestFiles({ noisy: true, ttsVoiceSets: true, devOther: true, freshDev: true });
    expect(fresh).toEqual([...all, 'fresh-dev.jsonl', 'fresh-dev-tts-voice.jsonl']);
    expect(allManifestFiles({ freshDev: { file: 'f', sha256: 'x', sentences: 3, chosen: 3 } }).slice(-2)).toEqual(['fresh-dev.jsonl', 'fresh-dev-tts-voice.jsonl']);
    for (const file of fresh.slice(-2)) expect(manifestFileName(parseManifestFileName(file)!.split)).toBe(file);
    expect(splitFlag('fresh-dev')).toBe('--fresh-dev');
    expect(splitFlag('fresh-dev-tts-voice')).toBe('--fresh-dev');
    expect(buildHasSplit({ noisy: true, ttsVoiceSets: true, devOther: true }, 'fresh-dev')).toBe(false);
    expect(buildHasSplit({ freshDev: { file: 'f', sha256: 'x', sentences: 3, chosen: 3 } }, 'fresh-dev-tts-voice')).toBe(true);
    expect(buildHasSplit({ freshDev: { file: 'f', sha256: 'x', sentences: 3, chosen: 3 } }, 'dev-other')).toBe(false);
    expect(recordKindOf('fresh-dev')).toBe('transcribed'); // no effects
    expect(recordKindOf('fresh-dev-tts-voice')).toBe('transcribed');
    expect(() => manifestFileName('aligned-noisy')).toThrow(/needs a fraction/);
    expect(manifestFileName('aligned-asr', 10)).toBe('aligned-asr.10pct.jsonl');
    expect(() => manifestFileName('aligned-asr', 50)).toThrow(/fraction of 1, 10, 100/);
    expect(() => manifestFileName('dev', 10)).toThrow(/has no fractions/);
    expect(parseManifestFileName('dev.10pct.jsonl')).toBeUndefined();
    expect(parseManifestFileName('notes.jsonl')).toBeUndefined();
  });

  it('holds out the tail: 2% of 9000 = 180, at least 1, never everything', () => {
    const n = (k: number) => Array.from({ length: k }, (_, i) => i);
    const a = holdOut(n(9000));
    expect(a.heldOut.length).toBe(180);
    expect(a.heldOut[0]).toBe(8820);
    expect(a.train.length).toBe(8820);
    expect(holdOut(n(11)).heldOut).toEqual([10]);
    expect(holdOut(n(2), { fraction: 0.9 }).heldOut).toEqual([1]);
    expect(() => holdOut(n(1))).toThrow(/at least 2 items/);
  });
});

describe('build identity', () => {
  it('names a build by its command and a dataset name; --aligned only when the counts changed', () => {
    const data = DataDir.open(dir);
    expect(data.build.counts).toBeUndefined(); // a build without --aligned writes no counts
    expect(buildArgs(data.build)).toBe('--size tiny --seed 0');
    expect(buildName(data.build)).toBe('zipper-data-build-tiny-seed0');
    const grown = { size: 'full', seed: 0, counts: { aligned: 15_000 } };
    expect(buildArgs(grown)).toBe('--size full --seed 0 --aligned 15000');
    expect(buildName(grown)).toBe('zipper-data-build-full-seed0-aligned15000');
    expect(buildArgs({ size: 'tiny', seed: 3, counts: { dev: 5 } })).toBe('--size tiny --seed 3 (buildData counts {"dev":5})');
    const text = readFileSync(path.join(dir, 'build.json'), 'utf8');
    const withCounts = JSON.stringify({ ...JSON.parse(text), counts: { aligned: 20 } });
    expect(parseBuildInfo(withCounts, 'build.json').counts).toEqual({ aligned: 20 });
    const bad = JSON.stringify({ ...JSON.parse(text), counts: { aligned: 0 } });
    expect(() => parseBuildInfo(bad, 'build.json')).toThrow(DataDirError);
    expect(() => parseBuildInfo(bad, 'build.json')).toThrow(/field "counts"/);
    const noisy = { ...grown, noisy: true as const };
    expect(buildArgs(noisy)).toBe('--size full --seed 0 --aligned 15000 --noisy');
    expect(buildName(noisy)).toBe('zipper-data-build-full-seed0-aligned15000-noisy');
    expect(buildRef('D', { ...data.build, noisy: true }, 'abc')).toMatchObject({ noisy: true, buildSha256: 'abc' });
    expect(buildRef('D', data.build, 'abc')).not.toHaveProperty('noisy');
    expect(parseBuildInfo(JSON.stringify({ ...JSON.parse(text), noisy: true }), 'build.json').noisy).toBe(true);
    expect(() => parseBuildInfo(JSON.stringify({ ...JSON.parse(text), noisy: false }), 'build.json')).toThrow(/field "noisy"/);
    const voiced = { ...noisy, ttsVoiceSets: true as const };
    expect(buildArgs(voiced)).toBe('--size full --seed 0 --aligned 15000 --noisy --tts-voice-sets');
    expect(buildName(voiced)).toBe('zipper-data-build-full-seed0-aligned15000-noisy-ttsvoice');
    expect(buildRef('D', { ...data.build, ttsVoiceSets: true }, 'abc')).toMatchObject({ ttsVoiceSets: true });
    expect(buildRef('D', data.build, 'abc')).not.toHaveProperty('ttsVoiceSets');
    expect(() => parseBuildInfo(JSON.stringify({ ...JSON.parse(text), ttsVoiceSets: 1 }), 'build.json')).toThrow(/field "ttsVoiceSets"/);
    const other = { ...voiced, devOther: true as const };
    expect(buildArgs(other)).toBe('--size full --seed 0 --aligned 15000 --noisy --tts-voice-sets --dev-other');
    expect(buildName(other)).toBe('zipper-data-build-full-seed0-aligned15000-noisy-ttsvoice-devother');
    expect(buildRef('D', { ...data.build, devOther: true }, 'abc')).toMatchObject({ devOther: true });
    expect(buildRef('D', data.build, 'abc')).not.toHaveProperty('devOther');
    expect(() => parseBuildInfo(JSON.stringify({ ...JSON.parse(text), devOther: false }), 'build.json')).toThrow(/field "devOther"/);
    // --fresh-dev FILE: build.json records the file (base name, sha256 of its bytes, usable and chosen sentences)
    const freshDev = { file: 'anarchism', sha256: 'ab'.repeat(32), sentences: 412, chosen: 200 };
    const fresh = { ...other, freshDev };
    expect(buildArgs(fresh)).toBe('--size full --seed 0 --aligned 15000 --noisy --tts-voice-sets --dev-other --fresh-dev anarchism');
    expect(buildName(fresh)).toBe('zipper-data-build-full-seed0-aligned15000-noisy-ttsvoice-devother-freshdev');
    expect(buildArgs({ size: 'tiny', seed: 0, freshDev })).toBe('--size tiny --seed 0 --fresh-dev anarchism');
    expect(buildRef('D', { ...data.build, freshDev }, 'abc').freshDev).toEqual(freshDev);
    expect(buildRef('D', data.build, 'abc')).not.toHaveProperty('freshDev');
    expect(parseBuildInfo(JSON.stringify({ ...JSON.parse(text), freshDev }), 'build.json').freshDev).toEqual(freshDev);
    for (const [value, problem] of [
      [true, 'not an object'],
      [{ ...freshDev, file: '' }, '"file" is not a non-empty string'],
      [{ ...freshDev, sha256: 'abc' }, '"sha256" is not 64 hex digits'],
      [{ ...freshDev, chosen: 0 }, '"chosen" is not an integer >= 1'],
      [{ ...freshDev, sentences: 199 }, '"sentences" is not an integer >= chosen'],
    ] as const) {
      const bad = () => parseBuildInfo(JSON.stringify({ ...JSON.parse(text), freshDev: value }), 'build.json');
      expect(bad).toThrow(DataDirError);
      expect(bad).toThrow(`build.json: field "freshDev" must be { file, sha256, sentences, chosen } when present (${problem})`);
    }
  });
});
