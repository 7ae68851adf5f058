#!/usr/bin/env node
// Packs every publishable workspace package, installs the tarballs into an empty folder and
// imports each one, and each subpath export, under ESM (import) and CJS (require), checking that
// @zipper/core and @zipper/core/ops share one copy of the ops. Then, from the installed
// @zipper/core, under ESM and CJS: one training gradient of a tiny tower in-process and with
// one data-parallel worker (so the shipped worker script starts), and whether the shipped native
// GEMM binary loaded (expected on linux-x64). Then each tower package alone: an empty folder with
// only @zipper/text (or @zipper/speech), its dependencies and its checkpoint package continues a
// text prompt (an audio prompt into a WAV). Prints one JSON line per check and exits non-zero
// on the first failure. Run after `npm run build`: `node tools/pack-check.mjs`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packages = fs
  .readdirSync(path.join(root, 'packages'))
  .map((d) => path.join(root, 'packages', d))
  .filter((d) => fs.existsSync(path.join(d, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zipper-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** `npm pack` of the package in `dir` into the work folder; returns the tarball's path. */
const packDir = (dir) => path.join(work, JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], dir))[0].filename);
try {
  const tarballs = packages.map(({ dir, pkg }) => {
    if (!fs.existsSync(path.join(dir, 'dist'))) throw new Error(`${pkg.name}: no dist/; run \`npm run build\` first`);
    return packDir(dir);
  });
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'pack-check', private: true, version: '0.0.0' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], app);
  for (const { pkg } of packages) {
    const esm = run(
      'node',
      ['--input-type=module', '-e', `import * as m from '${pkg.name}'; console.log(Object.keys(m).length)`],
      app,
    ).trim();
    const cjs = run('node', ['-e', `console.log(Object.keys(require('${pkg.name}')).length)`], app).trim();
    const ok = Number(esm) > 0 && Number(esm) === Number(cjs);
    console.log(JSON.stringify({ package: pkg.name, version: pkg.version, esmExports: Number(esm), cjsExports: Number(cjs), ok }));
    if (!ok) throw new Error(`${pkg.name}: ESM exports ${esm}, CJS exports ${cjs}`);
    // Subpath exports (e.g. @zipper/core/ops): each loads under ESM and CJS with the same names.
    for (const sub of Object.keys(pkg.exports ?? {}).filter((k) => k !== '.' && !k.endsWith('.json'))) {
      const spec = pkg.name + sub.slice(1);
      const subEsm = run(
        'node',
        ['--input-type=module', '-e', `import * as m from '${spec}'; console.log(Object.keys(m).length)`],
        app,
      ).trim();
      const subCjs = run('node', ['-e', `console.log(Object.keys(require('${spec}')).length)`], app).trim();
      const subOk = Number(subEsm) > 0 && Number(subEsm) === Number(subCjs);
      console.log(JSON.stringify({ package: spec, esmExports: Number(subEsm), cjsExports: Number(subCjs), ok: subOk }));
      if (!subOk) throw new Error(`${spec}: ESM exports ${subEsm}, CJS exports ${subCjs}`);
    }
  }
  // @zipper/core and @zipper/core/ops share one copy of the ops (one watched-variable set).
  const shared = {
    esm: run(
      'node',
      [
        '--input-type=module',
        '-e',
        `import * as a from '@zipper/core'; import * as o from '@zipper/core/ops'; console.log(a.withWatchedVariables === o.withWatchedVariables)`,
      ],
      app,
    ).trim(),
    cjs: run(
      'node',
      ['-e', `console.log(require('@zipper/core').withWatchedVariables === require('@zipper/core/ops').withWatchedVariables)`],
      app,
    ).trim(),
  };
  console.log(
    JSON.stringify({
      package: '@zipper/core',
      check: 'one copy of the ops for @zipper/core and @zipper/core/ops',
      ...shared,
      ok: shared.esm === 'true' && shared.cjs === 'true',
    }),
  );
  if (shared.esm !== 'true' || shared.cjs !== 'true')
    throw new Error(`@zipper/core/ops loads a second copy of the ops: ${JSON.stringify(shared)}`);
  const body = `
    const info = await initBackend({ backend: 'wasm' });
    const tower = Tower.create({ vocabSize: 11, dModel: 8, nLayers: 1, nHeads: 2, maxSeqLen: 8 }, { seed: 1 });
    const n = 15;
    const batch = { batchSize: 3, seqLen: 5, inputs: Int32Array.from({ length: n }, (_, i) => i % 11), targets: Int32Array.from({ length: n }, (_, i) => (i * 3) % 11), mask: new Float32Array(n).fill(1) };
    const ctx = { trainable: [...tower.params.keys()], denominator: n };
    const a = new InProcessGradients(tower).computeGradients(batch, ctx);
    const dp = new DataParallelGradients(tower, { workers: 1 });
    const b = await dp.computeGradients(batch, ctx);
    const out = { native: info.native.used, isa: info.native.isa ?? null, reason: info.native.reason, lossInProcess: a.loss.dataSync()[0], lossWorkers: b.loss.dataSync()[0], workers: dp.config.workers };
    dp.dispose();
    console.log(JSON.stringify(out));`;
  const checks = {
    esm: [
      '--input-type=module',
      '-e',
      `import { initBackend, Tower, InProcessGradients, DataParallelGradients } from '@zipper/core';${body}`,
    ],
    cjs: [
      '-e',
      `const { initBackend, Tower, InProcessGradients, DataParallelGradients } = require('@zipper/core'); (async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });`,
    ],
  };
  const expectNative = process.platform === 'linux' && process.arch === 'x64';
  for (const [format, args] of Object.entries(checks)) {
    const r = JSON.parse(run('node', args, app).trim().split('\n').pop());
    const ok =
      r.workers === 1 &&
      Math.abs(r.lossInProcess - r.lossWorkers) <= 1e-5 * Math.abs(r.lossInProcess) &&
      (!expectNative || r.native === true);
    console.log(JSON.stringify({ package: '@zipper/core', check: `train step in-process vs 1 worker, native GEMM (${format})`, ...r, ok }));
    if (!ok) throw new Error(`@zipper/core ${format}: ${JSON.stringify(r)}`);
  }

  // Each tower package alone (issue 10): a folder with only @zipper/text (or @zipper/speech), what
  // it depends on, and its checkpoint package, installed from the tarballs, continues a prompt.
  const tarballOf = (name) => tarballs[packages.findIndex(({ pkg }) => pkg.name === name)];
  const sample = path.join(root, 'apps', 'cli', 'assets', 'sample.wav');
  const alone = {
    text: {
      deps: ['@zipper/common', '@zipper/core', '@zipper/tokenizers', '@zipper/text'],
      script: `import { initBackend } from '@zipper/core';
        import { TextTower } from '@zipper/text';
        await initBackend();
        const m = await TextTower.load('@zipper/checkpoint-text-small');
        const r = await m.complete('the weather today is', { maxNewTokens: 12 });
        console.log(JSON.stringify({ continuation: r.text, tokens: r.ids.length }));
        m.dispose();`,
      ok: (r) => r.tokens > 0 && r.continuation.trim().length > 0,
    },
    speech: {
      deps: ['@zipper/common', '@zipper/core', '@zipper/tokenizers', '@zipper/speech'],
      script: `import { readFileSync, writeFileSync } from 'node:fs';
        import { initBackend } from '@zipper/core';
        import { SpeechTower } from '@zipper/speech';
        import { prepareAudio, readWav, writeWav } from '@zipper/tokenizers';
        await initBackend();
        const m = await SpeechTower.load('@zipper/checkpoint-speech-small');
        const rate = m.tokenizer.features.sampleRate;
        const prompt = prepareAudio(readWav(readFileSync(${JSON.stringify(sample)})), rate).subarray(0, rate); // 1 s
        const r = await m.continue(prompt, { maxNewTokens: 50, minNewTokens: 50, temperature: 0.8, seed: 0 });
        writeFileSync('more.wav', writeWav(r.audio, rate));
        const back = readWav(readFileSync('more.wav'));
        console.log(JSON.stringify({ units: r.units.length, seconds: back.channels[0].length / back.sampleRate }));
        m.dispose();`,
      ok: (r) => r.units === 50 && Math.abs(r.seconds - 1) <= 0.02, // 50 units of 20 ms
    },
  };
  for (const [modality, a] of Object.entries(alone)) {
    const dir = path.join(work, `alone-${modality}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: `alone-${modality}`, private: true, version: '0.0.0', type: 'module' }),
    );
    const checkpoint = packDir(path.join(root, 'packages', 'checkpoints', `${modality}-small`));
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...a.deps.map(tarballOf), checkpoint], dir);
    const installed = fs.readdirSync(path.join(dir, 'node_modules', '@zipper')).sort();
    const r = JSON.parse(run('node', ['--input-type=module', '-e', a.script], dir).trim().split('\n').pop());
    const expected = [`checkpoint-${modality}-small`, ...a.deps.map((d) => d.slice('@zipper/'.length))].sort();
    const ok = JSON.stringify(installed) === JSON.stringify(expected) && a.ok(r);
    console.log(
      JSON.stringify({ package: `@zipper/${modality}`, check: `${modality} tower alone with its checkpoint package`, installed, ...r, ok }),
    );
    if (!ok) throw new Error(`@zipper/${modality} alone: ${JSON.stringify({ installed, expected, ...r })}`);
  }
} finally {
  if (!process.env.KEEP_PACK_DIR) fs.rmSync(work, { recursive: true, force: true });
}
