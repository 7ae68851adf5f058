#!/usr/bin/env node
// Packs every publishable workspace package, installs the tarballs into an empty folder and
// imports each one under ESM (import) and CJS (require). Prints one JSON line per package and
// exits non-zero on the first failure. Run after `npm run build`: `node tools/pack-check.mjs`.
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
try {
  const tarballs = packages.map(({ dir, pkg }) => {
    if (!fs.existsSync(path.join(dir, 'dist'))) throw new Error(`${pkg.name}: no dist/; run \`npm run build\` first`);
    const out = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], dir));
    return path.join(work, out[0].filename);
  });
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'pack-check', private: true, version: '0.0.0' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], app);
  for (const { pkg } of packages) {
    const esm = run('node', ['--input-type=module', '-e', `import * as m from '${pkg.name}'; console.log(Object.keys(m).length)`], app).trim();
    const cjs = run('node', ['-e', `console.log(Object.keys(require('${pkg.name}')).length)`], app).trim();
    const ok = Number(esm) > 0 && Number(esm) === Number(cjs);
    console.log(JSON.stringify({ package: pkg.name, version: pkg.version, esmExports: Number(esm), cjsExports: Number(cjs), ok }));
    if (!ok) throw new Error(`${pkg.name}: ESM exports ${esm}, CJS exports ${cjs}`);
  }
} finally {
  if (!process.env.KEEP_PACK_DIR) fs.rmSync(work, { recursive: true, force: true });
}
