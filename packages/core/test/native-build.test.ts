/**
 * The prebuilt native GEMM binary (native/prebuilt/linux-x64) cannot go stale or go missing:
 * its manifest's source hash equals the hash of the current sources (recomputed here, the same
 * way native/build.mjs does), every C source in native/ is listed, the binary's sha256 equals the
 * manifest's, the npm package ships the folder, and on linux-x64 the binary loads and reports a
 * micro-kernel. After editing native/*, run `node packages/core/native/build.mjs`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex as sha256 } from '@zipper/common/node';
import { describe, expect, it } from 'vitest';
import { loadNativeGemm, nativeBinaryPath } from '../src/kernels/native.js';

const core = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(core, 'native');
const prebuilt = path.join(nativeDir, 'prebuilt', 'linux-x64');

interface Manifest {
  binary: string;
  sourceSha256: string;
  sources: Record<string, string>;
  binarySha256: string;
}
const manifest = JSON.parse(fs.readFileSync(path.join(prebuilt, 'manifest.json'), 'utf8')) as Manifest;

describe('native GEMM prebuilt binary', () => {
  it('was built from the current sources (rebuild: node packages/core/native/build.mjs)', () => {
    const names = Object.keys(manifest.sources);
    const onDisk = fs
      .readdirSync(nativeDir)
      .filter((f) => /\.(c|h|inc|mjs)$/.test(f))
      .sort();
    expect(names).toEqual(onDisk);
    const parts: (string | Uint8Array)[] = []; // name \0 text \0 of every source, as build.mjs hashes them
    for (const name of names) {
      const text = fs.readFileSync(path.join(nativeDir, name));
      expect(sha256(text), name).toBe(manifest.sources[name]);
      parts.push(name, '\0', text, '\0');
    }
    expect(sha256(parts)).toBe(manifest.sourceSha256);
  });

  it('is the binary the manifest describes, and the package ships it', () => {
    expect(sha256(fs.readFileSync(path.join(prebuilt, manifest.binary)))).toBe(manifest.binarySha256);
    const pkg = JSON.parse(fs.readFileSync(path.join(core, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('native/prebuilt');
  });

  const where = nativeBinaryPath();
  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('loads on linux-x64 and names its micro-kernel', () => {
    expect(where.path).toBe(path.join(prebuilt, 'zipper_gemm.node'));
    const g = loadNativeGemm();
    expect(g, 'the prebuilt binary failed to load').toBeDefined();
    expect(['avx512f', 'avx2+fma', 'generic']).toContain(g!.isa());
  });
  if (process.platform !== 'linux' || process.arch !== 'x64') console.log(`native-build: load test skipped: ${where.error}`);
});
