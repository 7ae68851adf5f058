#!/usr/bin/env node
// Builds the native GEMM addon (gemm.c + adamw.c + sumsq.c + addon.c, Node-API) with gcc, no node-gyp:
//   node packages/core/native/build.mjs
// Writes prebuilt/linux-x64/zipper_gemm.node and prebuilt/linux-x64/manifest.json (sha256 of
// every source file, of the sources together, of the binary, and the compiler used). The binary
// is committed and shipped in the npm package; test/native-build.test.ts fails when the sources
// change without a rebuild. Depends on glibc only (libgcc linked statically).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Everything the binary is built from, this script (compiler flags) included. */
export const SOURCES = ['adamw.c', 'addon.c', 'build.mjs', 'gemm.c', 'gemm.h', 'kernel.inc', 'sumsq.c'];
const NODE_INCLUDE = process.env.NODE_INCLUDE ?? '/usr/include/node';
const FLAGS = [
  '-O3',
  '-std=gnu11',
  '-shared',
  '-fPIC',
  '-pthread',
  '-static-libgcc',
  '-fvisibility=hidden',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-s',
];

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** sha256 over (name NUL content NUL) of each source in SOURCES order. */
export function sourceHash(dir = here) {
  const h = createHash('sha256');
  for (const name of SOURCES)
    h.update(name)
      .update('\0')
      .update(fs.readFileSync(path.join(dir, name)))
      .update('\0');
  return h.digest('hex');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`build.mjs builds linux-x64 only (this is ${process.platform}-${process.arch})`);
  if (!fs.existsSync(path.join(NODE_INCLUDE, 'node_api.h')))
    throw new Error(`${NODE_INCLUDE}/node_api.h not found; set NODE_INCLUDE to Node's include folder`);
  const outDir = path.join(here, 'prebuilt', 'linux-x64');
  fs.mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, 'zipper_gemm.node');
  execFileSync('gcc', [...FLAGS, `-I${NODE_INCLUDE}`, 'addon.c', 'gemm.c', 'adamw.c', 'sumsq.c', '-o', out], {
    cwd: here,
    stdio: 'inherit',
  });
  const manifest = {
    binary: 'zipper_gemm.node',
    sourceSha256: sourceHash(),
    sources: Object.fromEntries(SOURCES.map((n) => [n, sha256(fs.readFileSync(path.join(here, n)))])),
    binarySha256: sha256(fs.readFileSync(out)),
    compiler: execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    flags: FLAGS.join(' '),
    napiVersion: 8,
  };
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(
    JSON.stringify({ out: path.relative(process.cwd(), out), bytes: fs.statSync(out).size, sourceSha256: manifest.sourceSha256 }),
  );
}
