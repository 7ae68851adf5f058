/** @zipper/common/node: atomic writes under injected failures, and sha256 against known vectors. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZipperError } from '../src/errors.js';
import {
  previousDir,
  replaceDirAtomic,
  sha256,
  sha256File,
  sha256Hex,
  writeDirAtomic,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../src/node/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'zipper-common-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bytes = (s: string) => new TextEncoder().encode(s);

describe('sha256', () => {
  it('matches the FIPS 180-2 vectors, over concatenated parts, and of a file', async () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Hex('abc')).toBe(abc);
    expect(sha256Hex(['a', bytes('b'), 'c'])).toBe(abc);
    expect(['abc', 'abc'].map(sha256Hex)).toEqual([abc, abc]); // one argument: safe to map
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(Buffer.from(sha256('abc')).toString('hex')).toBe(abc);
    const file = path.join(root, 'abc.txt');
    writeFileSync(file, 'abc');
    expect(await sha256File(file)).toBe(abc);
  });
});

describe('atomic writes', () => {
  it('writeFileAtomic replaces a file; a failure mid-write keeps the old one and leaves no temp file', async () => {
    const dir = mkdtempSync(path.join(root, 'f-'));
    const file = path.join(dir, 'state.bin');
    await writeFileAtomic(file, bytes('first'));
    await writeFileAtomic(file, 'second');
    expect(readFileSync(file, 'utf8')).toBe('second');
    const stages: string[] = [];
    await expect(
      writeFileAtomic(file, bytes('third!'), (s) => {
        stages.push(s);
        if (s.startsWith('partial:')) throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(stages).toEqual(['write:state.bin', 'partial:state.bin']);
    expect(readFileSync(file, 'utf8')).toBe('second');
    expect(readdirSync(dir)).toEqual(['state.bin']);
  });

  it('writeFileAtomicSync creates the parent directory and replaces the file', () => {
    const file = path.join(root, 's', 'deep', 'a.txt');
    writeFileAtomicSync(file, 'one');
    writeFileAtomicSync(file, bytes('two'));
    expect(readFileSync(file, 'utf8')).toBe('two');
    writeFileAtomicSync(file, 'three', { fsync: false });
    expect(readFileSync(file, 'utf8')).toBe('three');
    expect(readdirSync(path.dirname(file))).toEqual(['a.txt']);
  });

  it('writeDirAtomic swaps a directory in; a crash mid-swap leaves the old one in .prev', async () => {
    const dir = path.join(root, 'ckpt');
    await writeDirAtomic(dir, [
      { name: 'a', data: bytes('1') },
      { name: 'b', data: bytes('2') },
    ]);
    await writeDirAtomic(dir, [{ name: 'a', data: bytes('3') }]);
    expect(readdirSync(dir)).toEqual(['a']);
    expect(readFileSync(path.join(dir, 'a'), 'utf8')).toBe('3');
    await expect(
      writeDirAtomic(dir, [{ name: 'a', data: bytes('4') }], (s) => {
        if (s === 'swap') throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    expect(readFileSync(path.join(previousDir(dir), 'a'), 'utf8')).toBe('3');
    expect(readdirSync(root).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await writeDirAtomic(dir, [{ name: 'a', data: bytes('5') }]); // also removes the stale .prev
    expect(readFileSync(path.join(dir, 'a'), 'utf8')).toBe('5');
    expect(readdirSync(root).filter((f) => f.startsWith('.ckpt'))).toEqual([]);
  });

  it('writeDirAtomic writes files in subfolders and refuses names outside the directory', async () => {
    const dir = path.join(root, 'record');
    await writeDirAtomic(dir, [
      { name: 'run.json', data: bytes('{}') },
      { name: 'eval/test-clean/asr/metrics.json', data: bytes('{"wer":0.5}') },
      { name: 'eval/test-clean/tts/wav/a.wav', data: bytes('RIFF') },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['eval', 'run.json']);
    expect(readFileSync(path.join(dir, 'eval/test-clean/asr/metrics.json'), 'utf8')).toBe('{"wer":0.5}');
    expect(readFileSync(path.join(dir, 'eval/test-clean/tts/wav/a.wav'), 'utf8')).toBe('RIFF');
    for (const name of ['../x', 'a/../../x', '/etc/x', 'a//b', './a', 'a\\b', ''])
      await expect(writeDirAtomic(dir, [{ name, data: bytes('1') }])).rejects.toThrow(ZipperError);
    expect(readFileSync(path.join(dir, 'run.json'), 'utf8')).toBe('{}'); // a refused write leaves the old directory
    expect(readdirSync(root).filter((f) => f.includes('.tmp-') || f === 'x')).toEqual([]);
  });

  it('replaceDirAtomic swaps in what another writer put in the temp directory; a failing fill leaves the old one', async () => {
    const dir = path.join(root, 'best');
    await replaceDirAtomic(dir, async (tmp) => {
      await writeDirAtomic(path.join(tmp, 'model'), [{ name: 'w.bin', data: bytes('step 1') }]);
      await writeFileAtomic(path.join(tmp, 'run.json'), '{"step":1}');
    });
    expect(readdirSync(dir).sort()).toEqual(['model', 'run.json']);
    await expect(
      replaceDirAtomic(dir, async (tmp) => {
        await writeFileAtomic(path.join(tmp, 'run.json'), '{"step":2}');
        throw new Error('model write failed');
      }),
    ).rejects.toThrow('model write failed');
    expect(readFileSync(path.join(dir, 'run.json'), 'utf8')).toBe('{"step":1}');
    expect(readFileSync(path.join(dir, 'model', 'w.bin'), 'utf8')).toBe('step 1');
    await replaceDirAtomic(dir, async (tmp) => writeFileAtomic(path.join(tmp, 'run.json'), '{"step":3}'));
    expect(readdirSync(dir)).toEqual(['run.json']); // the whole directory is replaced, not merged
    expect(readdirSync(root).filter((f) => f.includes('.tmp-') || f.startsWith('.best'))).toEqual([]);
  });
});
